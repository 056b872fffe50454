// The clients of the structured-addressing world (examples/ssa-demo, test/netns/ssa-demo.test.ts):
// resolves a service's APL and rule from the DNS host with the library's client, chooses each
// destination by the rule, and holds long-lived TCP connections that keep checking their bytes.
// argv[2]: { dns, port }. stdin, JSON lines with an id:
//   {"cmd":"open","conns":[{key,service,source,objectKey?}]}  connect from `source` to the rule's
//        destination; answers each connection's endpoint (its first line) and destination
//   {"cmd":"fetch","items":[...same...]}  a short connection each: its endpoint, then closed
//   {"cmd":"check"}  one more round of bytes on every open connection; answers the rounds each
//        completed and the keys of broken ones (closed, reset, or an echo that differs)
import { randomBytes } from 'node:crypto';
import * as net from 'node:net';
import { createInterface } from 'node:readline';

import { IPv6 } from 'ip-num';

import { ssa } from '../../../src/index.js';

interface ClientConfig {
  dns: string;
  port: number;
}
interface ConnSpec {
  key: string;
  service: string;
  source: string;
  objectKey?: string;
}
interface Held {
  key: string;
  socket: net.Socket;
  endpoint: string;
  rounds: number;
  broken?: string;
  /** Resolves when the echo of the round in flight has come back whole. */
  pending?: { expect: Buffer; got: Buffer; done: () => void } | undefined;
}

const config = JSON.parse(process.argv[2] ?? '{}') as ClientConfig;
const say = (event: Record<string, unknown>): void => void process.stdout.write(`${JSON.stringify(event)}\n`);
const services = new Map<string, Promise<ssa.Service>>();
const held: Held[] = [];

function serviceNamed(name: string): Promise<ssa.Service> {
  let s = services.get(name);
  if (s === undefined) {
    s = ssa.resolveService(name, { server: { host: config.dns, port: 53 } });
    services.set(name, s);
  }
  return s;
}

/** Connects from the spec's source to its rule's destination; resolves at the endpoint's first line. */
async function connect(spec: ConnSpec): Promise<{ socket: net.Socket; endpoint: string; destination: string; rest: Buffer }> {
  const service = await serviceNamed(spec.service);
  const destination = ssa.chooseDestination(service, { source: IPv6.fromString(spec.source), ...(spec.objectKey !== undefined && { objectKey: spec.objectKey }) }).toString();
  const socket = net.connect({ host: destination, port: config.port, localAddress: spec.source, family: 6 });
  return await new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      buf = Buffer.concat([buf, chunk]);
      const nl = buf.indexOf(10);
      if (nl < 0) return;
      socket.off('data', onData);
      socket.off('error', reject);
      resolve({ socket, endpoint: buf.subarray(0, nl).toString().split(' ')[0]!, destination, rest: buf.subarray(nl + 1) });
    };
    socket.on('data', onData);
    socket.once('error', reject);
    socket.once('close', () => reject(new Error(`Expected a first line from ${destination} but the connection closed`)));
  });
}

function hold(key: string, socket: net.Socket, endpoint: string): Held {
  const h: Held = { key, socket, endpoint, rounds: 0 };
  const fail = (why: string): void => {
    h.broken ??= why;
    h.pending?.done();
  };
  socket.on('data', (chunk: Buffer) => {
    const p = h.pending;
    if (p === undefined) return fail('bytes nobody asked for');
    p.got = Buffer.concat([p.got, chunk]);
    if (p.got.length < p.expect.length) return;
    if (!p.got.equals(p.expect)) fail('the echo differs');
    else h.rounds++;
    p.done();
  });
  socket.on('error', (e) => fail(e.message));
  socket.on('close', () => fail('closed'));
  return h;
}

/** A round whose echo has not come back after this long counts the connection broken: TCP would
 * still be retransmitting into a hole (a silent drop), which no user waits out. */
const ROUND_LIMIT_MS = 15_000;

/** One round on a held connection: 256 random bytes out, the same back. */
function round(h: Held): Promise<void> {
  if (h.broken !== undefined) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      h.broken ??= `no echo within ${ROUND_LIMIT_MS} ms`;
      h.pending?.done();
    }, ROUND_LIMIT_MS);
    h.pending = { expect: randomBytes(256), got: Buffer.alloc(0), done: () => { clearTimeout(timer); h.pending = undefined; resolve(); } };
    h.socket.write(h.pending.expect);
  });
}

async function open(conns: ConnSpec[]): Promise<Record<string, unknown>> {
  const opened = await Promise.all(conns.map(async (spec) => {
    const c = await connect(spec);
    held.push(hold(spec.key, c.socket, c.endpoint));
    return { key: spec.key, endpoint: c.endpoint, destination: c.destination };
  }));
  return { opened };
}

async function fetch(items: ConnSpec[]): Promise<Record<string, unknown>> {
  const fetched = await Promise.all(items.map(async (spec) => {
    const c = await connect(spec);
    c.socket.destroy();
    return { key: spec.key, endpoint: c.endpoint, destination: c.destination };
  }));
  return { fetched };
}

async function check(): Promise<Record<string, unknown>> {
  await Promise.all(held.map(round));
  return { open: held.length, rounds: held.map((h) => h.rounds), broken: held.filter((h) => h.broken !== undefined).map((h) => ({ key: h.key, why: h.broken })) };
}

const commands: Record<string, (msg: Record<string, unknown>) => Promise<Record<string, unknown>>> = {
  open: (m) => open(m.conns as ConnSpec[]),
  fetch: (m) => fetch(m.items as ConnSpec[]),
  check: () => check(),
};

createInterface({ input: process.stdin }).on('line', (line) => {
  const msg = JSON.parse(line) as Record<string, unknown>;
  const run = commands[String(msg.cmd)];
  const answer = run === undefined ? Promise.reject(new Error(`Expected a command (${Object.keys(commands).join(', ')}) but received ${String(msg.cmd)}`)) : run(msg);
  answer.then(
    (a) => say({ event: String(msg.cmd), id: msg.id, ...a }),
    (e: Error) => say({ event: 'error', id: msg.id, error: { name: e.name, message: e.message } }),
  );
});
say({ event: 'ready' });
