// An agility demo client: in a loop, draws a name by popularity (Zipf), resolves it at the policy
// responder (Node's dns.Resolver, or `dig` for the dig clients), fetches http://<address>/ over real
// TCP and checks that the server saw that very address, and every few requests sends a UDP echo
// to it. Counts requests per phase (the phase current when each one began). argv[2]: ClientConfig.
// Commands: start { phase }, phase { phase } (a new generation), progress, stop.
import { execFile } from 'node:child_process';
import * as dgram from 'node:dgram';
import { Resolver } from 'node:dns/promises';
import * as http from 'node:http';

import { Zipf } from '../zipf.js';
import { failStart, serve } from './lines.js';

interface ClientConfig {
  name: string;
  resolver: 'node' | 'dig';
  dns: string;
  dnsPort: number;
  /** dig only: the local address, and the first of `concurrency` source ports (one per worker). */
  bind?: string;
  bindPort?: number;
  origin: string;
  names: number;
  zipf: number;
  concurrency: number;
  /** Every n-th request asks AAAA (the /44), the others A. */
  aaaaEvery: number;
  /** Every n-th request also sends a UDP echo. */
  udpEvery: number;
  httpPort: number;
  echoPort: number;
}

/** What the client counted in one phase; phases.ts reads it from the client's progress lines. */
export interface PhaseCounts {
  ok: number;
  failed: number;
  a: number;
  aaaa: number;
  udp: number;
  viaDig: number;
  errors: string[];
}

const config = JSON.parse(process.argv[2] ?? '{}') as ClientConfig;
const TIMEOUT_MS = 5_000;
const zipf = new Zipf(config.names, config.zipf);
// c-ares (1.32 and later; Node 20.20 has 1.34) times a query out after 5 times the server's average
// latency, at least 250 ms (c-ares src/lib/ares_metrics.c); `timeout` only sets the first try's. Against a
// responder that answers in a millisecond that is 250 ms, which a loaded machine exceeds: one
// try failed 3 lookups with ETIMEOUT in 1 of 12 runs beside two busy loops (and a probe with
// timeout 5000, tries 1 and an answer 1 s late got ETIMEOUT). Each further try doubles the
// wait: 5 tries give up after about 9 s (measured), so a responder that does not answer still fails.
const resolver = new Resolver({ timeout: TIMEOUT_MS, tries: 5 });
resolver.setServers([`${config.dns}:${config.dnsPort}`]);
// One connection per request: each SYN is a new lookup for sk_lookup to steer and count.
const agent = new http.Agent({ keepAlive: false });

function dig(name: string, type: 'A' | 'AAAA', worker: number): Promise<string[]> {
  const bind = config.bind === undefined ? [] : ['-b', `${config.bind}#${config.bindPort! + worker}`];
  // A source port of its own per worker: concurrent digs with random ports were seen to take each
  // other's answers (test/netns/dns-policy.test.ts).
  const args = [`@${config.dns}`, '-p', String(config.dnsPort), ...bind, '+short', '+time=5', '+tries=1', name, type];
  return new Promise((resolve, reject) => {
    execFile('dig', args, { timeout: TIMEOUT_MS * 2 }, (error, stdout, stderr) => {
      if (error !== null) reject(new Error(`dig ${args.join(' ')}: ${stderr.trim() || error.message}`));
      else resolve(stdout.split('\n').filter((l) => l !== ''));
    });
  });
}

async function resolve(name: string, family: 4 | 6, worker: number): Promise<string> {
  const answers = config.resolver === 'dig' ? await dig(name, family === 4 ? 'A' : 'AAAA', worker) : family === 4 ? await resolver.resolve4(name) : await resolver.resolve6(name);
  if (answers.length !== 1) throw new Error(`${name}: expected one address but received ${JSON.stringify(answers)}`);
  return answers[0]!;
}

function fetch(name: string, address: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: address, port: config.httpPort, path: '/', agent, timeout: TIMEOUT_MS, headers: { host: name } }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d));
      res.on('end', () => (res.statusCode === 200 ? resolve(body) : reject(new Error(`HTTP ${res.statusCode} from ${address}`))));
    });
    req.on('timeout', () => req.destroy(new Error(`no answer from ${address} in ${TIMEOUT_MS} ms`)));
    req.on('error', reject);
  });
}

function echo(address: string, payload: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = dgram.createSocket(address.includes(':') ? 'udp6' : 'udp4');
    const timer = setTimeout(() => (socket.close(), reject(new Error(`no UDP echo from ${address} in ${TIMEOUT_MS} ms`))), TIMEOUT_MS);
    socket.on('message', (msg) => {
      if (String(msg) !== payload) return;
      clearTimeout(timer);
      socket.close();
      resolve();
    });
    socket.send(payload, config.echoPort, address);
  });
}

// ---- the loop --------------------------------------------------------------------------------

const phases = new Map<string, PhaseCounts>();
let phase = '';
let generation = 0;
/** Requests in flight per generation: the demo waits for the old ones before it shrinks steering. */
const inflight = new Map<number, number>();
let stopping = false;
let started = 0;
let workers: Promise<void>[] = [];

function countsOf(name: string): PhaseCounts {
  let c = phases.get(name);
  if (c === undefined) phases.set(name, (c = { ok: 0, failed: 0, a: 0, aaaa: 0, udp: 0, viaDig: 0, errors: [] }));
  return c;
}

async function request(n: number, worker: number, counts: PhaseCounts): Promise<void> {
  const name = `h${zipf.draw()}.${config.origin}`;
  const family = n % config.aaaaEvery === 0 ? 6 : 4;
  const address = await resolve(name, family, worker);
  const body = await fetch(name, address);
  const expected = `${name} ${family === 4 ? `::ffff:${address}` : address}`;
  if (body !== expected) throw new Error(`expected '${expected}' from the server but received '${body}'`);
  if (family === 4) counts.a++;
  else counts.aaaa++;
  if (config.resolver === 'dig') counts.viaDig++;
  if (n % config.udpEvery === 0) {
    await echo(address, `${config.name} ${n}`);
    counts.udp++;
  }
}

async function work(worker: number): Promise<void> {
  while (!stopping) {
    const n = started++;
    const gen = generation;
    const counts = countsOf(phase);
    inflight.set(gen, (inflight.get(gen) ?? 0) + 1);
    try {
      await request(n, worker, counts);
      counts.ok++;
    } catch (e) {
      counts.failed++;
      if (counts.errors.length < 5) counts.errors.push((e as Error).message);
    } finally {
      inflight.set(gen, inflight.get(gen)! - 1);
    }
  }
}

const progress = (): Record<string, unknown> => ({ generation, phases: Object.fromEntries(phases), inflight: Object.fromEntries(inflight) });

try {
  if (config.names < 1 || config.concurrency < 1) throw new Error(`Expected names and concurrency of at least 1 but received ${config.names} and ${config.concurrency}`);
} catch (e) {
  failStart(e);
}
serve({
  start: (c) => {
    phase = c.phase as string;
    workers = Array.from({ length: config.concurrency }, (_, i) => work(i));
    return {};
  },
  phase: (c) => {
    phase = c.phase as string;
    generation++;
    return { generation };
  },
  progress,
  stop: async () => {
    stopping = true;
    await Promise.all(workers);
    return progress();
  },
});
