// A server's applications in the soft-unicast world (demo and test/netns/soft-unicast.test.ts):
// HTTP downloads and UDP request/response streams from the server's slice of the shared address
// (connectFromSlice, udpFromSlice), driven by JSON lines on stdin; every answer carries the
// command's id. Runs compiled, importing the built library as a user would.
//   {"cmd":"get", id, source, host, port, from, to, path, count, timeoutMs?}
//       `count` concurrent GETs, each on its own connection from the slice
//       -> { results: [{ status, length, sha256, local: {address, port} }] }
//   {"cmd":"udp-start", id, source, host, port, from, to, intervalMs}
//       a connected UDP socket from the slice sends request n (n = 0, 1, ...) every intervalMs;
//       the peer echoes it -> { local }
//   {"cmd":"udp-status", id, target} -> { next, replies }: the next sequence number to be sent
//       (every later request leaves after this answer), and how many distinct replies came
//   {"cmd":"udp-stop", id, target, graceMs}
//       stops sending, waits until every reply is in or graceMs passes
//       -> { sent, received: sorted distinct sequence numbers of replies, duplicates }
import { createHash } from 'node:crypto';
import type * as dgram from 'node:dgram';
import * as http from 'node:http';
import type { Socket } from 'node:net';
import { createInterface } from 'node:readline';

import { IPv4, IPv6 } from 'ip-num';

import { connectFromSlice, udpFromSlice, type EgressOptions } from '../../../src/index.js';

interface Command {
  cmd: string;
  id: string;
  [key: string]: unknown;
}

interface EgressCommand extends Command {
  source: string;
  host: string;
  port: number;
  from: number;
  to: number;
  timeoutMs?: number;
}

interface GetCommand extends EgressCommand {
  path: string;
  count: number;
}

interface Local {
  address: string | undefined;
  port: number | undefined;
}

const say = (event: Record<string, unknown>): void => void process.stdout.write(`${JSON.stringify(event)}\n`);
const address = (text: string): IPv4 | IPv6 => (text.includes(':') ? IPv6.fromString(text) : IPv4.fromString(text));
const errorOf = (e: unknown) => {
  const x = e as Error & { code?: string; errno?: number; syscall?: string };
  return { name: x.name, code: x.code, errno: x.errno, syscall: x.syscall, message: x.message };
};
const egress = (c: EgressCommand): EgressOptions => ({
  source: address(c.source),
  ports: { from: c.from, to: c.to },
  host: address(c.host),
  port: c.port,
  ...(c.timeoutMs !== undefined && { timeoutMs: c.timeoutMs }),
});

/** One GET over a connection from the slice; http's createConnection may hand the socket over later. */
function getOnce(c: GetCommand): Promise<{ status: number | undefined; length: number; sha256: string; local: Local | undefined }> {
  return new Promise((resolve, reject) => {
    let local: Local | undefined;
    const req = http.request({
      host: c.host,
      port: c.port,
      path: c.path,
      // No `agent` at all: `agent: false` would make a fresh Agent, which opens its own
      // connection and ignores createConnection.
      createConnection: (_options, done) => {
        connectFromSlice(egress(c)).then(
          (socket: Socket) => {
            local = { address: socket.localAddress, port: socket.localPort };
            done(null, socket);
          },
          (error: Error) => done(error, undefined as unknown as Socket),
        );
        return undefined;
      },
    });
    req.on('error', reject);
    req.on('response', (res) => {
      const hash = createHash('sha256');
      let length = 0;
      res.on('data', (chunk: Buffer) => {
        hash.update(chunk);
        length += chunk.length;
      });
      res.on('error', reject);
      res.on('end', () => resolve({ status: res.statusCode, length, sha256: hash.digest('hex'), local }));
    });
    req.end();
  });
}

async function get(c: GetCommand): Promise<Record<string, unknown>> {
  const results = await Promise.all(Array.from({ length: c.count }, () => getOnce(c)));
  return { results };
}

interface Stream {
  socket: dgram.Socket;
  next: number;
  received: Set<number>;
  duplicates: number;
  timer: NodeJS.Timeout | undefined;
  onReply: (() => void) | undefined;
}

const streams = new Map<string, Stream>();
const REQUEST_BYTES = 64;

async function udpStart(c: EgressCommand & { intervalMs: number }): Promise<Record<string, unknown>> {
  const socket = await udpFromSlice(egress(c));
  const stream: Stream = { socket, next: 0, received: new Set(), duplicates: 0, timer: undefined, onReply: undefined };
  socket.on('message', (msg) => {
    if (msg.length !== REQUEST_BYTES) return;
    const seq = msg.readUInt32BE(0);
    if (stream.received.has(seq)) stream.duplicates++;
    stream.received.add(seq);
    stream.onReply?.();
  });
  stream.timer = setInterval(() => {
    const msg = Buffer.alloc(REQUEST_BYTES);
    msg.writeUInt32BE(stream.next++, 0);
    socket.send(msg);
  }, c.intervalMs);
  streams.set(c.id, stream);
  return { local: socket.address() };
}

function stream(target: string): Stream {
  const s = streams.get(target);
  if (s === undefined) throw new Error(`no UDP stream ${target}`);
  return s;
}

async function udpStop(c: Command & { target: string; graceMs: number }): Promise<Record<string, unknown>> {
  const s = stream(c.target);
  clearInterval(s.timer);
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, c.graceMs);
    s.onReply = () => {
      if (s.received.size >= s.next) {
        clearTimeout(timer);
        resolve();
      }
    };
    s.onReply();
  });
  s.socket.close();
  streams.delete(c.target);
  return { sent: s.next, received: [...s.received].sort((a, b) => a - b), duplicates: s.duplicates };
}

// The command's fields come from the driving process; each handler reads its own.
const handlers: Record<string, (c: never) => Promise<Record<string, unknown>>> = {
  get,
  'udp-start': udpStart,
  'udp-status': async (c: Command & { target: string }) => ({ next: stream(c.target).next, replies: stream(c.target).received.size }),
  'udp-stop': udpStop,
};

createInterface({ input: process.stdin }).on('line', (line) => {
  const c = JSON.parse(line) as Command;
  void (async () => {
    try {
      const handler = handlers[c.cmd];
      if (handler === undefined) throw new Error(`unknown command ${c.cmd}`);
      say({ event: c.cmd, id: c.id, ...(await handler(c as never)) });
    } catch (e) {
      say({ event: c.cmd, id: c.id, error: errorOf(e) });
    }
  })();
});
say({ event: 'ready' });
