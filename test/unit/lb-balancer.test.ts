// lb.Balancer: health, drain and reloads of a SliceTable's flow-hash service, against real TCP
// listeners on loopback addresses (probes of 500 ms: a loaded machine must not fail a live one);
// each change publishes a table whose rows keep second chance.
import { createServer, type Server } from 'node:net';

import { afterEach, describe, expect, it } from 'vitest';

import { lb, SliceTable, type FlowService } from '../../src/index.js';
import { v4 } from './helpers.js';

const VIP = v4('192.0.2.80');
const ADDRESSES = { b1: '127.0.0.11', b2: '127.0.0.12', b3: '127.0.0.13' } as const;
type Name = keyof typeof ADDRESSES;

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
});

async function listen(address: string, port = 0): Promise<Server> {
  const server = createServer((s) => s.destroy());
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, address, () => resolve()));
  servers.push(server);
  return server;
}

function table(names: readonly Name[]): SliceTable {
  const t = new SliceTable();
  for (const n of Object.keys(ADDRESSES)) t.defineOwner(n, { kind: 'server', address: v4(`10.0.1.${n.slice(1)}`) });
  return t.addService({ address: VIP, protocol: 'tcp', port: 80, rows: 251, backends: names.map((owner) => ({ owner })) });
}

function service(port: number, names: readonly Name[], drain: readonly Name[] = []): lb.BalancedService {
  return {
    name: 'web', address: VIP, protocol: 'tcp', port: 80,
    health: { check: { kind: 'tcp' }, port, intervalMs: 500, timeoutMs: 500, rise: 1, fall: 1, drainDeadlineMs: 3_600_000 },
    backends: names.map((owner) => ({ owner, address: ADDRESSES[owner], drain: drain.includes(owner) })),
  };
}

function rowsOf(t: SliceTable): FlowService['maglev'] {
  return t.services()[0]!.maglev;
}

/** A balancer whose publishes are recorded, and a wait for an event whose message matches. */
function balancer(choose?: lb.ChooseBackends) {
  const published: SliceTable[] = [];
  const events: lb.BalancerEvent[] = [];
  const waiters: { re: RegExp; resolve: () => void }[] = [];
  const b = new lb.Balancer({ publish: async (t) => void published.push(t), ...(choose && { choose }) });
  b.onEvent((e) => {
    events.push(e);
    for (const w of waiters.filter((w) => w.re.test(e.message))) w.resolve();
  });
  const seen = (re: RegExp) => (events.some((e) => re.test(e.message)) ? Promise.resolve() : new Promise<void>((resolve) => waiters.push({ re, resolve })));
  return { b, published, events, seen };
}

describe('lb.Balancer', () => {
  it('starts from the rows it is given, and takes a backend whose probes fail out of every row', async () => {
    const port = (((await listen(ADDRESSES.b1)).address()) as { port: number }).port;
    const b2 = await listen(ADDRESSES.b2, port);
    await listen(ADDRESSES.b3, port);
    const { b, published, seen } = balancer();
    try {
      const start = table(['b1', 'b2', 'b3']);
      await b.load(start, [service(port, ['b1', 'b2', 'b3'])]);
      expect(published.length).toBe(1);
      expect([...rowsOf(published[0]!).primary]).toEqual([...rowsOf(start).primary]);
      expect(b.status()[0]!.digest).toBe(lb.tableDigest(rowsOf(start)));
      await new Promise((resolve) => b2.close(resolve));
      await seen(/^rows rebuilt/);
      const after = rowsOf(published.at(-1)!);
      // Dead is forgotten: no second chance to a backend taken to hold no connection.
      expect(after.names).toEqual(['b1', 'b3']);
      const status = b.status()[0]!;
      expect(status.backends.map((x) => [x.owner, x.health, x.primaryRows > 0, x.secondaryRows > 0])).toEqual([
        ['b1', 'up', true, true], ['b2', 'down', false, false], ['b3', 'up', true, true],
      ]);
      expect(b.counters()).toMatchObject({ healthDown: 1, rebuilds: 1 });
    } finally {
      await b.close();
    }
  });

  it('drains on reload (rows keep it as secondary), forgets it once drained, and forgets a backend the reload removes', async () => {
    const port = (((await listen(ADDRESSES.b1)).address()) as { port: number }).port;
    await listen(ADDRESSES.b2, port);
    await listen(ADDRESSES.b3, port);
    const { b, published, seen } = balancer();
    try {
      await b.load(table(['b1', 'b2', 'b3']), [service(port, ['b1', 'b2', 'b3'])]);
      const first = rowsOf(published[0]!);
      // The file now says b3 drains: tableFor leaves it out, the balancer starts from its own rows.
      await b.load(table(['b1', 'b2']), [service(port, ['b1', 'b2', 'b3'], ['b3'])]);
      const drained = rowsOf(published.at(-1)!);
      expect(drained.active.map((x) => x.name)).toEqual(['b1', 'b2']);
      for (let r = 0; r < 251; r++) if (first.names[first.primary[r]!] === 'b3') expect(drained.names[drained.secondary[r]!]).toBe('b3');
      expect(b.status()[0]!.backends.find((x) => x.owner === 'b3')).toMatchObject({ drain: 'draining', primaryRows: 0 });
      // Removed from the file: forgotten at once, no row names it.
      await b.load(table(['b1', 'b2']), [service(port, ['b1', 'b2'])]);
      expect(rowsOf(published.at(-1)!).names).toEqual(['b1', 'b2']);
      expect(b.status()[0]!.lingering).toEqual([]);
      await seen(/b3 drain none -> draining/);
    } finally {
      await b.close();
    }
  });

  it('asks the choose hook which candidates take new flows, and refuses an answer outside them', async () => {
    const port = (((await listen(ADDRESSES.b1)).address()) as { port: number }).port;
    await listen(ADDRESSES.b2, port);
    const { b, published } = balancer((_, candidates) => candidates.filter((n) => n !== 'b2'));
    try {
      await b.load(table(['b1', 'b2']), [service(port, ['b1', 'b2'])]);
      expect(rowsOf(published[0]!).active.map((x) => x.name)).toEqual(['b1']);
    } finally {
      await b.close();
    }
    const bad = balancer(() => ['b9']);
    await expect(bad.b.load(table(['b1', 'b2']), [service(port, ['b1', 'b2'])])).rejects.toThrow(
      "Expected a non-empty subset of the candidates (b1, b2) for options.choose() but received an array of 1",
    );
    await bad.b.close();
  });
});
