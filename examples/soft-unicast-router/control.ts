// The router's control socket: a unix socket (mode 0600, root or the router's user only) that
// answers one JSON request per line with one JSON answer per line. Commands: owner, explain,
// stats, capture (start, stop, status). Served by main.ts; client.ts is the other end.
import { chmodSync, existsSync, mkdirSync, unlinkSync } from 'node:fs';
import { connect, createServer, isIPv4, isIPv6, type Server, type Socket } from 'node:net';
import { dirname } from 'node:path';

import { IPv4, IPv6 } from 'ip-num';

import { ABI } from '../../src/generated/abi.js';
import type { DropCaptureOptions, OwnerSpec, Router, SoftunicastError } from '../../src/index.js';
import type { Logger } from './log.js';

/** A request's answer: `ok` and the command's fields, or `ok: false` and what went wrong. */
export type Answer = { ok: true } & Record<string, unknown> | { ok: false; error: { code: string; message: string } };

export interface ControlContext {
  /** The running router, or undefined while it starts or stops. */
  router(): Router | undefined;
  log: Logger;
}

/** A request that cannot be served: the message names the bad field and what was expected. */
class BadRequest extends Error {}

const bad = (field: string, expected: string, received: unknown): never => {
  const text = typeof received === 'string' ? `'${received.length > 80 ? `${received.slice(0, 77)}...` : received}'` : JSON.stringify(received) ?? 'nothing';
  throw new BadRequest(`Expected ${expected} for ${field} but received ${text}`);
};

function addressOf(value: unknown): IPv4 | IPv6 {
  if (typeof value === 'string' && isIPv4(value)) return IPv4.fromString(value);
  if (typeof value === 'string' && isIPv6(value) && !value.includes('%')) return IPv6.fromString(value);
  return bad('address', "an IPv4 or IPv6 address such as '192.0.2.1'", value);
}

/** An owner's definition as JSON: addresses as text. */
function ownerJson(spec: OwnerSpec): Record<string, unknown> {
  return Object.fromEntries(Object.entries(spec).map(([k, v]) => [k, Array.isArray(v) ? v.map(String) : typeof v === 'object' && v !== null ? String(v) : v]));
}

function owner(router: Router, req: Record<string, unknown>): Answer {
  const address = addressOf(req.address);
  if (req.protocol !== 'tcp' && req.protocol !== 'udp') bad('protocol', "'tcp' or 'udp'", req.protocol);
  const port = req.port;
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 0 || port > 65535) bad('port', 'a port from 0 to 65535', port);
  const counters = router.counters();
  const found = router.lookup(address, req.protocol as 'tcp' | 'udp', port as number);
  if (found === undefined) return { ok: true, generation: counters.generation, owner: null };
  const { slice, owner: spec } = found;
  return {
    ok: true,
    generation: counters.generation,
    owner: { name: slice.owner, ...ownerJson(spec) },
    slice: { destination: slice.destination.toString(), protocols: slice.protocols, ports: slice.ports },
    counters: counters.owners[slice.owner] ?? {},
    unresolved: counters.unresolvedOwners[slice.owner] ?? null,
  };
}

function explain(router: Router, req: Record<string, unknown>): Answer {
  const hex = req.frame;
  if (typeof hex !== 'string' || !/^([0-9a-fA-F]{2})+$/.test(hex)) bad('frame', 'an Ethernet frame as an even number of hex digits', hex);
  const e = router.explain(Buffer.from(hex as string, 'hex'));
  const doc = ABI.routeCounters.find((c) => c.name === e.fate)?.doc ?? '';
  // Who finishes it: the XDP program in the kernel, or an AF_XDP worker.
  const stage = e.stage === 'xdp' ? 'XDP program' : 'AF_XDP worker';
  return { ok: true, stage, fate: e.fate, doc, owner: e.owner, output: e.output === null ? null : Buffer.from(e.output).toString('hex') };
}

function capture(router: Router, req: Record<string, unknown>, log: Logger): Answer {
  const running = router.dropCapture;
  if (req.action === 'status') return { ok: true, running: running === undefined ? null : { path: running.path, packets: running.packets } };
  if (req.action === 'stop') {
    if (running === undefined) return { ok: true, summary: null };
    // The answer waits for nothing: the summary is logged when the file is closed.
    void running.stop().then((s) => log.info('drop capture ended', { ...s }));
    return { ok: true, stopping: running.path };
  }
  if (req.action !== 'start') bad('action', "'start', 'stop' or 'status'", req.action);
  const { action: _, cmd: __, id: ___, ...options } = req;
  const c = router.startDropCapture(options as unknown as DropCaptureOptions);
  log.info('drop capture started', { path: c.path });
  void c.done.then((s) => log.info('drop capture ended', { ...s }));
  return { ok: true, path: c.path };
}

function handle(ctx: ControlContext, line: string): Answer {
  let req: Record<string, unknown>;
  try {
    req = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return { ok: false, error: { code: 'ERR_INVALID_OPTION', message: 'Expected one JSON object per line' } };
  }
  const router = ctx.router();
  if (router === undefined || router.closed) return { ok: false, error: { code: 'ERR_CLOSED', message: 'The router is not running (starting or stopping)' } };
  try {
    switch (req.cmd) {
      case 'owner':
        return owner(router, req);
      case 'explain':
        return explain(router, req);
      case 'stats':
        return { ok: true, counters: router.counters() };
      case 'capture':
        return capture(router, req, ctx.log);
      default:
        return bad('cmd', "'owner', 'explain', 'stats' or 'capture'", req.cmd);
    }
  } catch (error) {
    const e = error as SoftunicastError;
    return { ok: false, error: { code: e instanceof BadRequest ? 'ERR_INVALID_OPTION' : (e.code ?? 'ERR_INTERNAL'), message: e.message } };
  }
}

function serve(ctx: ControlContext, socket: Socket): void {
  let buffered = '';
  socket.setEncoding('utf8');
  socket.on('error', () => undefined); // a client gone mid-answer is not the router's problem
  socket.on('data', (chunk: string) => {
    buffered += chunk;
    // A request is small; anything this long is not one.
    if (buffered.length > 1 << 20) return socket.destroy();
    let nl: number;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      if (line.trim() !== '') socket.write(`${JSON.stringify(handle(ctx, line))}\n`);
    }
  });
}

/** Whether a router answers on `path` (a socket file left by a router that died does not). */
function answering(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(path);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/**
 * Listens on `path` (its directory created 0700 if missing), mode 0600. Refuses when another
 * router answers there; a stale socket file is replaced.
 */
export async function serveControl(path: string, ctx: ControlContext): Promise<Server> {
  if (!existsSync(dirname(path))) mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  if (existsSync(path)) {
    if (await answering(path)) throw new Error(`Expected no other router on the control socket ${path} but one answers there: give this one another --socket`);
    unlinkSync(path);
  }
  const server = createServer((socket) => serve(ctx, socket));
  // 0600 from the first moment: the socket is created under this umask, then chmod'ed to be sure.
  const umask = process.umask(0o177);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', (e) => reject(new Error(`Could not listen on the control socket ${path}: ${e.message}`)));
      server.listen(path, () => resolve());
    });
  } finally {
    process.umask(umask);
  }
  chmodSync(path, 0o600);
  server.unref();
  return server;
}

/** Closes the server and removes its socket file. */
export function closeControl(server: Server, path: string): void {
  server.close();
  try {
    unlinkSync(path);
  } catch {
    // Already gone.
  }
}
