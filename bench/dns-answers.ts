// DNS answers per second of the policy responder (src/dns) over UDP on loopback, with 100,000 and
// 10,000,000 hostnames (and with none: the baseline), and its memory. The responder runs in a child
// process (one core), the load generator here (the other core).
//   node dist/bench/dns-answers.js [--sizes 0,100000,10000000] [--rounds 5] [--seconds 3] [--window 64]
// Reports only; asserts nothing. bench/RESULTS.md quotes it.
import { fork, type ChildProcess } from 'node:child_process';
import * as dgram from 'node:dgram';
import { readFileSync } from 'node:fs';
import { cpus, release, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import * as packet from 'dns-packet';
import { IPv4CidrRange, IPv6CidrRange } from 'ip-num';

import { markdownTable, median } from './report.js';
import { DnsNameSet } from '../src/dns/names.js';
import { DnsResponder } from '../src/dns/responder.js';

const ORIGIN = 'bench.test';
const PLANS = ['free', 'pro', 'biz'];
const nameOf = (i: number): string => `h${i}.${PLANS[i % 3]}.${ORIGIN}`;

interface Ready {
  port: number;
  names: number;
  buildSeconds: number;
  rss: number;
  heapUsed: number;
  arrayBuffers: number;
  setBytes: number;
}

/** The child: builds the name set, starts the responder, reports its memory after a full GC. */
async function serve(count: number): Promise<void> {
  const t = performance.now();
  const hostnames = count === 0 ? undefined : DnsNameSet.build(ORIGIN, (function* () {
    for (let i = 0; i < count; i++) yield nameOf(i);
  })());
  const buildSeconds = (performance.now() - t) / 1000;
  const policies = [
    { name: 'all', ipv4: IPv4CidrRange.fromCidr('198.18.0.0/20'), ipv6: IPv6CidrRange.fromCidr('2001:db8:100::/44') },
    { name: 'pro', labels: ['pro'], ipv4: IPv4CidrRange.fromCidr('198.18.16.0/24') },
  ];
  const responder = await DnsResponder.start({ zones: [{ origin: ORIGIN, policies, ...(hostnames ? { hostnames } : {}) }] });
  (globalThis as { gc?: () => void }).gc?.();
  const m = process.memoryUsage();
  const ready: Ready = { port: responder.port, names: hostnames?.size ?? 0, buildSeconds, rss: m.rss, heapUsed: m.heapUsed, arrayBuffers: m.arrayBuffers, setBytes: hostnames?.bytes ?? 0 };
  process.send!(ready);
}

/** CPU seconds (user + system) the process has used, from /proc/PID/stat (fields 14 and 15, in clock ticks of 1/100 s). */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** Queries for names drawn uniformly from the set (the name's index picks the plan), pre-encoded. */
function queries(count: number): Buffer[] {
  return Array.from({ length: 4096 }, (_, k) => {
    const i = count === 0 ? k : Math.floor(Math.random() * count);
    return packet.encode({ id: 0, type: 'query', questions: [{ name: nameOf(i), type: 'A' }] });
  });
}

interface Round {
  answers: number;
  bad: number;
  lost: number;
  seconds: number;
  cpu: number;
}

/** Keeps `window` queries in flight for `seconds`; a query unanswered after 1 s is counted lost and replaced. */
async function load(port: number, pid: number, qs: Buffer[], window: number, seconds: number): Promise<Round> {
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const sentAt = new Float64Array(65536);
  let next = 0;
  let answers = 0;
  let bad = 0;
  let lost = 0;
  let running = true;
  const send = (): void => {
    const id = next++ & 0xffff;
    const q = qs[id % qs.length]!;
    q.writeUInt16BE(id, 0);
    sentAt[id] = performance.now();
    socket.send(q, port, '127.0.0.1');
  };
  socket.on('message', (m) => {
    const id = m.readUInt16BE(0);
    if (sentAt[id] === 0) return;
    sentAt[id] = 0;
    // NOERROR with one answer, or the name set and the generator disagree.
    if ((m.readUInt16BE(2) & 0xf) === 0 && m.readUInt16BE(6) === 1) answers++;
    else bad++;
    if (running) send();
  });
  const sweep = setInterval(() => {
    const now = performance.now();
    for (let id = 0; id < 65536; id++) {
      if (sentAt[id] !== 0 && now - sentAt[id]! > 1000) {
        sentAt[id] = 0;
        lost++;
        if (running) send();
      }
    }
  }, 250);
  for (let i = 0; i < window; i++) send();
  // One second of warm-up, then the measured span.
  await new Promise((r) => setTimeout(r, 1000));
  const [a0, c0, t0] = [answers, cpuSeconds(pid), performance.now()];
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const [a1, c1, t1] = [answers, cpuSeconds(pid), performance.now()];
  running = false;
  clearInterval(sweep);
  socket.close();
  return { answers: a1 - a0, bad, lost, seconds: (t1 - t0) / 1000, cpu: c1 - c0 };
}

async function start(count: number): Promise<{ child: ChildProcess; ready: Ready }> {
  const child = fork(fileURLToPath(import.meta.url), ['--serve', String(count)], { execArgv: ['--expose-gc', '--max-old-space-size=4096'] });
  const ready = await new Promise<Ready>((resolve, reject) => {
    child.once('message', (m) => resolve(m as Ready));
    child.once('exit', (code) => reject(new Error(`responder child exited with ${code}`)));
  });
  return { child, ready };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      serve: { type: 'string' },
      sizes: { type: 'string', default: '0,100000,10000000' },
      rounds: { type: 'string', default: '5' },
      seconds: { type: 'string', default: '3' },
      window: { type: 'string', default: '64' },
    },
  });
  if (values.serve !== undefined) return await serve(Number(values.serve));
  const MB = (b: number): string => (b / 2 ** 20).toFixed(0);
  console.log(`machine: ${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, ${MB(totalmem())} MiB, Linux ${release()}, Node ${process.version}`);
  // Every responder up at once, then rounds that visit each in turn (the order reversed every other
  // round): the machine is shared, so sizes are compared within a round, and medians quoted.
  const sizes = values.sizes.split(',').map(Number);
  const servers = [];
  for (const count of sizes) servers.push({ count, ...(await start(count)), qs: queries(count), rounds: [] as Round[] });
  for (let r = 0; r < Number(values.rounds); r++) {
    for (const server of r % 2 === 0 ? servers : [...servers].reverse()) {
      server.rounds.push(await load(server.ready.port, server.child.pid!, server.qs, Number(values.window), Number(values.seconds)));
    }
    console.log(`round ${r + 1}: ${servers.map((x) => `${x.count} names ${(x.rounds.at(-1)!.answers / x.rounds.at(-1)!.seconds).toFixed(0)}/s`).join(', ')}`);
  }
  for (const server of servers) server.child.kill();
  const rows = servers.map(({ count, ready, rounds }) => {
    const rates = rounds.map((x) => x.answers / x.seconds);
    const perCpu = rounds.map((x) => (x.cpu > 0 ? x.answers / x.cpu : NaN));
    return {
      hostnames: count.toLocaleString('en'),
      'build s': ready.buildSeconds.toFixed(1),
      'name set MiB': MB(ready.setBytes),
      'RSS MiB': MB(ready.rss),
      'heap MiB': MB(ready.heapUsed),
      'answers/s (median)': median(rates).toFixed(0),
      'min-max': `${Math.min(...rates).toFixed(0)}-${Math.max(...rates).toFixed(0)}`,
      'answers per responder CPU-second': median(perCpu).toFixed(0),
      'bad / lost': `${rounds.reduce((sum, x) => sum + x.bad, 0)} / ${rounds.reduce((sum, x) => sum + x.lost, 0)}`,
    };
  });
  console.log(markdownTable(rows, Object.keys(rows[0]!)));
}

await main();
