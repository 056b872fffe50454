// Backend health (src/lb/health.ts) against real servers on 127.0.0.1: a TCP listener and
// node:http. Waits are for events, never for a length of time.
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer, type Server } from 'node:net';

import { afterEach, describe, expect, it } from 'vitest';

import { BackendHealth, type BackendChange } from '../../src/lb/health.js';
import { probeHttp, probeTcp } from '../../src/lb/probes.js';

const closers: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

async function listen<S extends Server | HttpServer>(server: S, port = 0): Promise<{ server: S; port: number }> {
  closers.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return { server, port: address.port };
}

/** A TCP port on which nothing listens now: a listener's, after it closed. */
async function closedPort(): Promise<number> {
  const server = createServer();
  const { port } = await new Promise<{ port: number }>((resolve) => server.listen(0, '127.0.0.1', () => resolve(server.address() as { port: number })));
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function health(...args: ConstructorParameters<typeof BackendHealth>): { h: BackendHealth; changes: BackendChange[]; next: (pred: (c: BackendChange) => boolean) => Promise<BackendChange> } {
  const h = new BackendHealth(...args);
  closers.push(() => h.close());
  const changes: BackendChange[] = [];
  const waiting: { pred: (c: BackendChange) => boolean; resolve: (c: BackendChange) => void }[] = [];
  h.onChange((c) => {
    changes.push(c);
    for (const w of waiting.splice(0)) (w.pred(c) ? w.resolve(c) : waiting.push(w));
  });
  const next = (pred: (c: BackendChange) => boolean) =>
    new Promise<BackendChange>((resolve) => {
      const seen = changes.find(pred);
      if (seen) resolve(seen);
      else waiting.push({ pred, resolve });
    });
  return { h, changes, next };
}

describe('health probes', () => {
  it('TCP: connects to a listener; reports a refused connection', async () => {
    const { port } = await listen(createServer((s) => s.destroy()));
    expect(await probeTcp({ address: '127.0.0.1', port }, 1000)).toEqual({ ok: true, detail: 'connected' });
    expect(await probeTcp({ address: '127.0.0.1', port: await closedPort() }, 1000)).toEqual({ ok: false, detail: 'connect failed: ECONNREFUSED' });
  });

  it('HTTP: passes on the expected status, fails on another or on silence', async () => {
    let status = 204;
    const { port } = await listen(createHttpServer((req, res) => {
      if (req.url === '/hang') return;
      res.statusCode = req.url === '/healthz' ? status : 404;
      res.end();
    }));
    const target = { address: '127.0.0.1', port };
    expect(await probeHttp(target, { path: '/healthz', status: 204 }, 1000)).toEqual({ ok: true, detail: 'HTTP 204' });
    status = 503;
    expect(await probeHttp(target, { path: '/healthz', status: 204 }, 1000)).toEqual({ ok: false, detail: 'HTTP 503, expected 204' });
    expect(await probeHttp(target, { path: '/hang' }, 50)).toEqual({ ok: false, detail: 'no answer within 50 ms' });
  });
});

describe('BackendHealth', () => {
  it('takes a backend up after `rise` passed probes and down after `fall` failed ones', async () => {
    const tcp = createServer((s) => s.destroy());
    const { port } = await listen(tcp);
    const { h, next, changes } = health([{ name: 'b1', address: '127.0.0.1', port }], { intervalMs: 20, timeoutMs: 20, rise: 2, fall: 3 });
    expect(h.newFlowBackends()).toEqual([]);
    h.start();
    const up = await next((c) => c.to === 'up');
    expect(up).toMatchObject({ name: 'b1', what: 'health', from: 'down', to: 'up', reason: '2 probes passed (connected)' });
    expect(new Date(up.at).getTime()).toBe(up.atMs);
    expect(h.newFlowBackends()).toEqual(['b1']);
    await new Promise<void>((resolve) => tcp.close(() => resolve()));
    const down = await next((c) => c.to === 'down');
    expect(down.reason).toBe('3 probes failed (last: connect failed: ECONNREFUSED)');
    expect(down.atMs).toBeGreaterThanOrEqual(up.atMs);
    expect(h.newFlowBackends()).toEqual([]);
    expect(changes.map((c) => c.to)).toEqual(['up', 'down']);
    expect(h.status('b1')).toMatchObject({ health: 'down', drain: 'none', since: down.at });
  });

  it('checks HTTP backends for their status and counts probes by hand with checkNow', async () => {
    let status = 200;
    const { port } = await listen(createHttpServer((_req, res) => {
      res.statusCode = status;
      res.end('ok');
    }));
    const { h, changes } = health([{ name: 'web', address: '127.0.0.1', port, check: { kind: 'http', path: '/ready' } }], { rise: 1, fall: 2 });
    expect(await h.checkNow('web')).toEqual({ ok: true, detail: 'HTTP 200' });
    expect(h.status('web').health).toBe('up');
    status = 500;
    await h.checkNow('web');
    expect(h.status('web').health).toBe('up');
    await h.checkNow('web');
    expect(h.status('web')).toMatchObject({ health: 'down', probes: 3, failures: 2, lastProbe: { ok: false, detail: 'HTTP 500, expected 200' } });
    expect(changes.map((c) => `${c.from}->${c.to}: ${c.reason}`)).toEqual([
      'down->up: 1 probes passed (HTTP 200)',
      'up->down: 2 probes failed (last: HTTP 500, expected 200)',
    ]);
  });

  it('drains: no new flows at once, drained at the deadline or when the caller says so', async () => {
    const { port } = await listen(createServer((s) => s.destroy()));
    const { h, next } = health(
      [{ name: 'a', address: '127.0.0.1', port }, { name: 'b', address: '127.0.0.1', port }],
      { rise: 1 },
    );
    await h.checkNow('a');
    await h.checkNow('b');
    expect(h.newFlowBackends()).toEqual(['a', 'b']);
    h.drain('a', { deadlineMs: 20 });
    expect(h.newFlowBackends()).toEqual(['b']);
    expect(h.forgotten()).toEqual([]);
    expect(h.status('a').drain).toBe('draining');
    const drained = await next((c) => c.name === 'a' && c.to === 'drained');
    expect(drained.reason).toBe('deadline of 20 ms passed');
    expect(h.forgotten()).toEqual(['a']);
    h.drain('b', { deadlineMs: 3_600_000 });
    h.endDrain('b');
    expect(h.status('b')).toMatchObject({ drain: 'drained', drainDeadline: undefined });
    h.undrain('a');
    expect(h.newFlowBackends()).toEqual(['a']);
    expect(() => h.endDrain('a')).toThrow("Expected a draining backend for endDrain(\"a\") but received 'none'");
    expect(() => h.drain('b', { deadlineMs: 1 })).toThrow("for drain(\"b\") but received 'drained'");
  });

  it('refuses bad options and unknown backends, naming the value', () => {
    const t = [{ name: 'a', address: '127.0.0.1', port: 80 }];
    expect(() => new BackendHealth(t, { intervalMs: 100, timeoutMs: 200 })).toThrow('Expected an integer from 1 to 100 for options.timeoutMs but received 200');
    expect(() => new BackendHealth(t, { rise: 0 })).toThrow('Expected an integer from 1 to 100 for options.rise but received 0');
    expect(() => new BackendHealth(t, { every: 1 } as never)).toThrow('Expected no such option (known: intervalMs, timeoutMs, rise, fall, check, initial) for options.every but received 1');
    expect(() => new BackendHealth(t, { check: { kind: 'http', status: 99 } })).toThrow('Expected an integer from 100 to 599 for options.check.status but received 99');
    expect(() => new BackendHealth(t, { initial: 'maybe' } as never)).toThrow("Expected 'up' or 'down' for options.initial but received 'maybe'");
    expect(new BackendHealth(t, { initial: 'up' }).newFlowBackends()).toEqual(['a']);
    expect(() => new BackendHealth(t, { check: { kind: 'udp' } as never })).toThrow("Expected 'tcp' or 'http' for options.check.kind but received 'udp'");
    expect(() => new BackendHealth([{ ...t[0]!, address: 'localhost' }])).toThrow("Expected an IPv4 or IPv6 address for targets[0].address but received 'localhost'");
    expect(() => new BackendHealth([...t, ...t])).toThrow("Expected a name no other target has for targets[1].name but received 'a'");
    expect(() => new BackendHealth(t).status('z')).toThrow("Expected one of the checked backends (a) for name but received 'z'");
    expect(() => new BackendHealth(t).drain('a', { deadlineMs: -1 })).toThrow('Expected an integer from 0 to 604800000 (a week) for options.deadlineMs but received -1');
  });
});
