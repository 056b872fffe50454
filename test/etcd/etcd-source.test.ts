// The etcd table source and store against a real etcd (Debian's etcd-server, started here on
// loopback with its own ports and data directory, stopped after): a deployment loaded, read as a
// router reads it and followed revision by revision; moves and splits as compare-and-swap
// transactions (two operators, one winner); a bad value refused by key; a bulk load taken whole;
// etcd killed and brought back, with changes made meanwhile taken on return. No root needed.
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { IPv4 } from 'ip-num';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  EtcdSource, EtcdTableStore, SliceConflictError, StoreUnavailableError, UnknownOwnerError,
  type SourceHealth, type SourceUpdate, type SourcedTable,
} from '../../src/index.js';
import { EtcdServer } from '../fixtures/etcd-server.js';
import { waitFor } from '../../src/netns/index.js';

const DEPLOYMENT = `version: 1
datacenters:
  dc1:
    servers:
      r1: { ipv4: 10.8.0.1, interface: eth0 }
      r2: { ipv4: 10.8.0.2, interface: eth0 }
      r3: { ipv4: 10.8.0.3, interface: eth0 }
egress:
  - address: 192.0.2.1
    protocols: [udp]
    tags: { country: de }
    slices:
      - { ports: 10000-10999, owner: r1 }
      - { ports: 20000-20999, owner: r2 }
      - { ports: 30000-30999, owner: r3 }
  - { address: 192.0.2.2, slices: { size: 4096, owners: [r1, r2, r3] } }
`;

let etcd: EtcdServer;
let dir: string;
let file: string;
let prefixes = 0;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'su-etcd-test-'));
  file = join(dir, 'deploy.yaml');
  writeFileSync(file, DEPLOYMENT);
  etcd = await EtcdServer.start();
});
afterAll(async () => {
  await etcd?.stop();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

/** A store on a prefix of its own, the deployment loaded. */
async function loadedStore(): Promise<{ store: EtcdTableStore; prefix: string; revision: number }> {
  const prefix = `/su/test${++prefixes}`;
  const store = new EtcdTableStore({ endpoints: etcd.url, prefix });
  const { revision } = await store.load(file);
  return { store, prefix, revision };
}

/** A router's source on `prefix`, its updates and health changes recorded. */
function follower(prefix: string, host = 'r2') {
  const source = new EtcdSource({ endpoints: [etcd.url], prefix, host, probeIntervalMs: 200, retryMaxMs: 200 });
  const updates: SourceUpdate[] = [];
  const health: SourceHealth[] = [];
  source.subscribe({ update: async (u) => void updates.push(u), health: (h) => void health.push(h) });
  const tables = () => updates.flatMap((u) => (u.kind === 'table' ? [u.table] : []));
  const tableAt = (generation: number) => waitFor(() => tables().find((t) => t.generation >= generation), { what: `a table of generation ${generation} or later`, timeoutMs: 15_000 });
  return { source, updates, health, tables, tableAt };
}

const owner = (t: SourcedTable, address: string, protocol: 'tcp' | 'udp', port: number) => t.options.table.lookup(IPv4.fromString(address), protocol, port);

describe('a deployment in etcd', () => {
  it('loads a file under the prefix, one key per destination, and refuses a second load without --replace', async () => {
    const { store, prefix, revision } = await loadedStore();
    const { revision: at, slices } = await store.list();
    expect(at).toBe(revision);
    expect(slices.map((s) => [s.key, s.destination, s.protocols.join('+'), `${s.ports.from}-${s.ports.to}`, s.owner])).toEqual([
      [`${prefix}/egress/192.0.2.1`, '192.0.2.1', 'udp', '10000-10999', 'r1'],
      [`${prefix}/egress/192.0.2.1`, '192.0.2.1', 'udp', '20000-20999', 'r2'],
      [`${prefix}/egress/192.0.2.1`, '192.0.2.1', 'udp', '30000-30999', 'r3'],
      [`${prefix}/egress/192.0.2.2`, '192.0.2.2', 'tcp+udp', '4096-8191', 'r1'],
      [`${prefix}/egress/192.0.2.2`, '192.0.2.2', 'tcp+udp', '8192-12287', 'r2'],
      [`${prefix}/egress/192.0.2.2`, '192.0.2.2', 'tcp+udp', '12288-16383', 'r3'],
    ]);
    await expect(store.load(file)).rejects.toThrow(`Expected an empty prefix ${prefix} to load ${file} into but it holds 3 keys at revision ${revision} (replace them with --replace)`);
    store.close();
  });

  it('gives a router its table at the revision it read: the revision is the generation', async () => {
    const { store, prefix, revision } = await loadedStore();
    const { source } = follower(prefix, 'r2');
    const table = await source.load();
    expect(table.generation).toBe(revision);
    expect(owner(table, '192.0.2.1', 'udp', 10500)).toBe('r1');
    expect(table.options.table.ownerSpec('r1')).toMatchObject({ kind: 'server', address: IPv4.fromString('10.8.0.1') });
    expect(table.options.table.ownerSpec('r2')).toEqual({ kind: 'local' });
    expect(table.options.host.ipv4?.toString()).toBe('10.8.0.2');
    await source.close();
    store.close();
  });

  it('follows a move and a split: each arrives as a table of the revision that wrote it', async () => {
    const { store, prefix } = await loadedStore();
    const f = follower(prefix);
    await f.source.load();
    f.source.watch();
    const move = await store.move({ destination: '192.0.2.1', ports: '10000-10999' }, 'r3');
    expect(move).toMatchObject({ changed: true, previousOwner: 'r1', slices: [{ owner: 'r3', ports: { from: 10000, to: 10999 } }] });
    const moved = await f.tableAt(move.revision);
    expect(moved.generation).toBe(move.revision);
    expect(owner(moved, '192.0.2.1', 'udp', 10500)).toBe('r3');
    const split = await store.split({ destination: '192.0.2.2', ports: { from: 4096, to: 8191 } }, 6000);
    expect(split.slices.map((s) => [s.ports, s.owner])).toEqual([[{ from: 4096, to: 5999 }, 'r1'], [{ from: 6000, to: 8191 }, 'r1']]);
    const cut = await f.tableAt(split.revision);
    expect(cut.options.table.find(IPv4.fromString('192.0.2.2'), 'tcp', 6000)?.ports).toEqual({ from: 6000, to: 8191 });
    expect(f.updates.filter((u) => u.kind === 'refused')).toEqual([]);
    // A move to the owner it has writes nothing.
    const again = await store.move({ destination: '192.0.2.1', ports: '10000-10999' }, 'r3');
    expect(again).toMatchObject({ changed: false, previousOwner: 'r3' });
    await f.source.close();
    store.close();
  });

  it('lets one of two operators moving one slice win; the other gets SliceConflictError', async () => {
    const { store, prefix } = await loadedStore();
    const other = new EtcdTableStore({ endpoints: etcd.url, prefix });
    const slice = { destination: '192.0.2.1', ports: '20000-20999' };
    const results = await Promise.allSettled([store.move(slice, 'r1', { from: 'r2' }), other.move(slice, 'r3', { from: 'r2' })]);
    const won = results.filter((r) => r.status === 'fulfilled');
    const lost = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as Error] : []));
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(1);
    const winner = (won[0] as PromiseFulfilledResult<{ slices: { owner: string }[] }>).value.slices[0]!.owner;
    expect(lost[0]).toBeInstanceOf(SliceConflictError);
    expect(lost[0]).toMatchObject({ code: 'ERR_SLICE_CONFLICT' });
    expect(lost[0]!.message).toMatch(new RegExp(`^Slice 192\\.0\\.2\\.1 udp 20000-20999 is owned by '${winner}' in etcd at revision \\d+ \\(key ${prefix}/egress/192\\.0\\.2\\.1\\), not by 'r2' as expected`));
    expect((await store.list({ destination: '192.0.2.1' })).slices.find((s) => s.ports.from === 20000)?.owner).toBe(winner);
    // Two operators moving two slices of one destination both win: a lost race on the key's
    // revision alone is tried again.
    const both = await Promise.all([store.move({ destination: '192.0.2.1', ports: '10000-10999' }, 'r2'), other.move({ destination: '192.0.2.1', ports: '30000-30999' }, 'r1')]);
    expect(both.map((r) => r.changed)).toEqual([true, true]);
    expect((await store.list({ destination: '192.0.2.1' })).slices.map((s) => s.owner)).toEqual(['r2', winner, 'r1']);
    other.close();
    store.close();
  });

  it('refuses an unknown owner, an unknown slice and a split outside the slice before writing anything', async () => {
    const { store, revision } = await loadedStore();
    await expect(store.move({ destination: '192.0.2.1', ports: '10000-10999' }, 'r9')).rejects.toThrow(UnknownOwnerError);
    await expect(store.move({ destination: '192.0.2.1', ports: '10000-10998' }, 'r2')).rejects.toThrow(
      'Expected a slice of the deployment for 192.0.2.1 ports 10000-10998 but there is none (192.0.2.1 has udp 10000-10999, udp 20000-20999, udp 30000-30999)',
    );
    await expect(store.split({ destination: '192.0.2.1', ports: '10000-10999' }, 10000)).rejects.toThrow(
      "Expected a port from 10001 to 10999 (where the second half starts) for at but received 10000",
    );
    expect((await store.list()).revision).toBe(revision);
    store.close();
  });

  it('refuses a bad value by its key and keeps the table; the fixed value is taken', async () => {
    const { store, prefix } = await loadedStore();
    const f = follower(prefix);
    await f.source.load();
    f.source.watch();
    const key = `${prefix}/egress/192.0.2.1`;
    const client = new (await import('../../src/sources/etcd/client.js')).EtcdClient({ endpoints: etcd.url });
    const bad = await client.txn([], [{ put: { key, value: JSON.stringify([{ address: '192.0.2.1', slices: [{ ports: '10000-10999', owner: 'nobody' }] }]) } }]);
    const refusal = await waitFor(() => f.updates.find((u) => u.kind === 'refused'), { what: 'a refusal', timeoutMs: 15_000 });
    expect(refusal.reason).toBe(`etcd revision ${bad.header.revision}`);
    expect((refusal as { error: Error }).error.message).toBe([
      `The configuration etcd ${prefix} at revision ${bad.header.revision} has 1 problem:`,
      `Expected the name of a server of the configuration (r1, r2, r3) for egress[0] (key ${key}).slices[0].owner but received 'nobody'`,
    ].join('\n'));
    expect(f.tables()).toEqual([]);
    const good = await client.txn([], [{ put: { key, value: JSON.stringify([{ address: '192.0.2.1', slices: [{ ports: '10000-10999', owner: 'r3' }] }]) } }]);
    expect(owner(await f.tableAt(good.header.revision), '192.0.2.1', 'udp', 10500)).toBe('r3');
    client.close();
    await f.source.close();
    store.close();
  });

  it('holds the table while a bulk load runs, then takes the new deployment whole', async () => {
    const { store, prefix } = await loadedStore();
    const f = follower(prefix);
    const first = await f.source.load();
    f.source.watch();
    const replaced = join(dir, 'replaced.yaml');
    writeFileSync(replaced, DEPLOYMENT.replace('{ ports: 10000-10999, owner: r1 }', '{ ports: 10000-10999, owner: r2 }').replace(/  - \{ address: 192\.0\.2\.2.*\n/, '  - { address: 192.0.2.3, slices: [{ ports: 5000-5999, owner: r1 }] }\n'));
    const load = await store.load(replaced, { replace: true });
    expect(load).toMatchObject({ keys: 2, slices: 4, removed: 1 });
    const taken = await f.tableAt(load.revision);
    expect(owner(taken, '192.0.2.1', 'udp', 10500)).toBe('r2');
    expect(owner(taken, '192.0.2.3', 'tcp', 5500)).toBe('r1');
    expect(owner(taken, '192.0.2.2', 'tcp', 5000)).toBeUndefined();
    // Nothing between the old table and the whole new one: every revision of the load was held.
    expect(f.tables().map((t) => t.generation)).toEqual([load.revision]);
    expect(f.tables()[0]!.generation).toBeGreaterThan(first.generation + 1);
    const held = f.updates.filter((u) => u.kind === 'refused').map((u) => (u as { error: Error }).error.message);
    expect(held.length).toBeLessThanOrEqual(1);
    for (const m of held) expect(m).toMatch(new RegExp(`^Expected a deployment ready to use but a bulk load into ${prefix} is under way`));
    await f.source.close();
    store.close();
  });

  it('keeps its table while etcd is gone, says so once, and takes on return what changed meanwhile', async () => {
    const { store, prefix } = await loadedStore();
    const f = follower(prefix);
    const first = await f.source.load();
    f.source.watch();
    await etcd.kill();
    const down = await waitFor(() => f.health.find((h) => h.state === 'unreachable'), { what: 'the source to see etcd gone', timeoutMs: 15_000 });
    expect(down).toMatchObject({ disconnects: 1, generation: first.generation });
    expect(f.source.health().state).toBe('unreachable');
    expect(f.tables()).toEqual([]);
    await expect(store.move({ destination: '192.0.2.1', ports: '10000-10999' }, 'r3')).rejects.toThrow(StoreUnavailableError);
    await etcd.resume();
    // A change made as soon as etcd answers again, before or after the source is back: either
    // way the source ends up with it, and with no table older than the one it had.
    const move = await store.move({ destination: '192.0.2.1', ports: '10000-10999' }, 'r3');
    const back = await f.tableAt(move.revision);
    expect(owner(back, '192.0.2.1', 'udp', 10500)).toBe('r3');
    await waitFor(() => f.health.find((h) => h.state === 'ok'), { what: 'the source to see etcd back', timeoutMs: 15_000 });
    expect(f.health.map((h) => h.state)).toEqual(['unreachable', 'ok']);
    expect(f.tables().every((t) => t.generation > first.generation)).toBe(true);
    expect(f.source.health()).toMatchObject({ state: 'ok', disconnects: 1 });
    await f.source.close();
    store.close();
  });

  it('reads the revisions etcd compacted away whole, and follows on from there', async () => {
    const { store, prefix } = await loadedStore();
    const f = follower(prefix);
    const first = await f.source.load();
    await store.move({ destination: '192.0.2.1', ports: '10000-10999' }, 'r2');
    const last = await store.move({ destination: '192.0.2.1', ports: '10000-10999' }, 'r3');
    const client = new (await import('../../src/sources/etcd/client.js')).EtcdClient({ endpoints: etcd.url });
    await client.post('/v3/kv/compaction', { revision: String(last.revision), physical: true }, 'compaction');
    // The watch starts after the first table's revision, which etcd no longer has.
    f.source.watch();
    const table = await f.tableAt(last.revision);
    expect(table.generation).toBeGreaterThan(first.generation);
    expect(owner(table, '192.0.2.1', 'udp', 10500)).toBe('r3');
    expect(f.updates[0]).toMatchObject({ kind: 'table', reason: `etcd compacted to revision ${last.revision}` });
    client.close();
    await f.source.close();
    store.close();
  });

  // Last: it puts etcd back to an older state, which the prefixes of earlier tests do not survive.
  it('never goes back to an older revision of the same etcd (a member restored from an old backup)', async () => {
    const { store, prefix } = await loadedStore();
    const f = follower(prefix);
    await f.source.load();
    f.source.watch();
    // A copy of etcd's data as it is now (etcd stopped for a consistent copy).
    await etcd.kill();
    const backup = join(dir, 'backup');
    cpSync(join(etcd.dir, 'data'), backup, { recursive: true });
    await etcd.resume();
    const move = await store.move({ destination: '192.0.2.1', ports: '10000-10999' }, 'r3');
    await f.tableAt(move.revision);
    await etcd.kill();
    rmSync(join(etcd.dir, 'data'), { recursive: true });
    cpSync(backup, join(etcd.dir, 'data'), { recursive: true });
    await etcd.resume();
    const refusal = await waitFor(() => f.updates.find((u) => u.kind === 'refused'), { what: 'the older revision refused', timeoutMs: 15_000 });
    expect((refusal as { error: Error }).error.message).toMatch(new RegExp(`^Expected etcd at revision ${move.revision} or later but it answers at revision \\d+; keeping the newer table$`));
    expect(f.tables().map((t) => t.generation)).toEqual([move.revision]);
    expect(owner(f.tables()[0]!, '192.0.2.1', 'udp', 10500)).toBe('r3');
    await f.source.close();
    store.close();
  });
});
