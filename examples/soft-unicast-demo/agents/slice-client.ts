// A server's applications in the soft-unicast world (demo and test/netns/soft-unicast*.test.ts):
// HTTP downloads and uploads and UDP request/response streams from the server's slice of the shared address
// (connectFromSlice, udpFromSlice), driven by JSON lines on stdin; every answer carries the
// command's id. Runs compiled, importing the built library as a user would.
//   {"cmd":"get", id, source, host, port, from, to, path, count, timeoutMs?}
//       `count` concurrent GETs, each on its own connection from the slice
//       -> { results: [{ status, length, sha256, local: {address, port} }] }
//   {"cmd":"put", id, source, host, port, from, to, size, deadlineMs, timeoutMs?}
//       one POST /upload of `size` deterministic bytes from the slice, given up (an error)
//       after deadlineMs
//       -> { status, sent: sha256 of what was sent, answer: { bytes, sha256 } as the server
//          received it, local }
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

interface Exchange {
  status: number | undefined;
  length: number;
  sha256: string;
  body: Buffer;
  local: Local | undefined;
}

/** One HTTP request over a connection from the slice (http's createConnection may hand the
 * socket over later); `upload`, when given, is the request body. */
function requestOnce(c: EgressCommand, method: string, path: string, upload?: Buffer, deadlineMs?: number): Promise<Exchange> {
  return new Promise((resolve, reject) => {
    let local: Local | undefined;
    const req = http.request({
      host: c.host,
      port: c.port,
      path,
      method,
      ...(upload !== undefined && { headers: { 'content-length': upload.length } }),
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
    if (deadlineMs !== undefined) {
      const timer = setTimeout(() => req.destroy(new Error(`${method} ${path} unfinished after ${deadlineMs} ms`)), deadlineMs);
      req.on('close', () => clearTimeout(timer));
    }
    req.on('response', (res) => {
      const hash = createHash('sha256');
      const chunks: Buffer[] = [];
      let length = 0;
      res.on('data', (chunk: Buffer) => {
        hash.update(chunk);
        length += chunk.length;
        // Only uploads keep the (small) answer; a download is hashed as it streams.
        if (upload !== undefined) chunks.push(chunk);
      });
      res.on('error', reject);
      res.on('end', () => resolve({ status: res.statusCode, length, sha256: hash.digest('hex'), body: Buffer.concat(chunks), local }));
    });
    req.end(upload);
  });
}

const getOnce = async (c: GetCommand) => {
  const { status, length, sha256, local } = await requestOnce(c, 'GET', c.path);
  return { status, length, sha256, local };
};

/** `size` deterministic bytes, different from the server's blobs. */
function uploadBody(size: number): Buffer {
  const out = Buffer.alloc(size);
  for (let i = 0, at = 0; at < size; i++, at += 32) createHash('sha256').update(`softunicast upload ${i}`).digest().copy(out, at);
  return out;
}

async function put(c: EgressCommand & { size: number; deadlineMs: number }): Promise<Record<string, unknown>> {
  const body = uploadBody(c.size);
  const { status, body: answer, local } = await requestOnce(c, 'POST', '/upload', body, c.deadlineMs);
  return { status, sent: createHash('sha256').update(body).digest('hex'), answer: JSON.parse(answer.toString('utf8')) as unknown, local };
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
  put,
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
