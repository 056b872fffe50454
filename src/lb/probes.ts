// One health probe of a backend: a TCP connect, or an HTTP GET expecting a status. Used by
// src/lb/health.ts on every interval; each resolves (never rejects) with what it saw.
import { request } from 'node:http';
import { connect } from 'node:net';

/** How a backend is checked: a TCP connect, or an HTTP GET whose answer must have `status`. */
export type HealthCheck =
  | { readonly kind: 'tcp' }
  | { readonly kind: 'http'; readonly path?: string; readonly status?: number; readonly host?: string };

/** Where to probe. */
export interface ProbeTarget {
  readonly address: string;
  readonly port: number;
}

/** A probe's outcome: `detail` says what was seen ('connected', 'HTTP 503, expected 200', ...). */
export interface ProbeResult {
  readonly ok: boolean;
  readonly detail: string;
}

/** Connects and closes: ok when the backend accepts within `timeoutMs`. */
export function probeTcp(target: ProbeTarget, timeoutMs: number): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const socket = connect({ host: target.address, port: target.port });
    const finish = (result: ProbeResult) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(result);
    };
    const timer = setTimeout(() => finish({ ok: false, detail: `no connection within ${timeoutMs} ms` }), timeoutMs);
    socket.once('connect', () => finish({ ok: true, detail: 'connected' }));
    socket.once('error', (e: NodeJS.ErrnoException) => finish({ ok: false, detail: `connect failed: ${e.code ?? e.message}` }));
  });
}

/** GETs `path`: ok when the whole answer arrives within `timeoutMs` with the expected status. */
export function probeHttp(target: ProbeTarget, check: { path?: string; status?: number; host?: string }, timeoutMs: number): Promise<ProbeResult> {
  const expected = check.status ?? 200;
  return new Promise((resolve) => {
    let done = false;
    const finish = (result: ProbeResult) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      req.destroy();
      resolve(result);
    };
    const req = request({
      host: target.address,
      port: target.port,
      path: check.path ?? '/',
      method: 'GET',
      // A fresh connection per probe: a kept-alive socket would hide a backend that no longer accepts.
      agent: false,
      headers: { host: check.host ?? `${target.address.includes(':') ? `[${target.address}]` : target.address}:${target.port}`, 'user-agent': 'softunicast-health', connection: 'close' },
    });
    const timer = setTimeout(() => finish({ ok: false, detail: `no answer within ${timeoutMs} ms` }), timeoutMs);
    req.once('response', (res) => {
      res.resume();
      res.once('end', () =>
        finish(res.statusCode === expected ? { ok: true, detail: `HTTP ${expected}` } : { ok: false, detail: `HTTP ${res.statusCode}, expected ${expected}` }),
      );
      res.once('error', (e) => finish({ ok: false, detail: `answer cut: ${e.message}` }));
    });
    req.once('error', (e: NodeJS.ErrnoException) => finish({ ok: false, detail: `request failed: ${e.code ?? e.message}` }));
    req.end();
  });
}

/** Runs `check` once against `target`. */
export function probe(target: ProbeTarget, check: HealthCheck, timeoutMs: number): Promise<ProbeResult> {
  return check.kind === 'tcp' ? probeTcp(target, timeoutMs) : probeHttp(target, check, timeoutMs);
}
