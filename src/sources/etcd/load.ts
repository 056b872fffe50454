// Putting a configuration file's deployment into etcd: every egress destination under a key of its
// own, in transactions of etcd's size limits, between a `loading` marker and a last transaction
// that writes the deployment key and removes the marker, so that routers hold their table while
// the keys arrive and take the new one whole (docs/table-sources.md, "Loading").
import { hostname } from 'node:os';

import { InvalidOptionError, StoreUnavailableError } from '../../errors.js';
import { readText } from '../../config/read.js';
import { formatOf } from '../../config/source.js';
import { readConfigText } from '../file.js';
import type { EtcdClient, Operation } from './client.js';
import { destinationsOf, entryJson } from './entries.js';
import type { Layout, StoredEntryJson } from './layout.js';
import { readSnapshot } from './snapshot.js';

export interface LoadOptions {
  /** Overwrite what the prefix holds (default: refuse a prefix that holds any key). */
  replace?: boolean;
  /** After every transaction: keys written (or removed) so far and in all. */
  onProgress?: (done: number, total: number) => void;
}

export interface LoadResult {
  /** The revision of the last transaction: the generation the routers take. */
  readonly revision: number;
  /** Egress keys written. */
  readonly keys: number;
  readonly slices: number;
  /** Keys of an earlier deployment removed (with replace). */
  readonly removed: number;
}

/** etcd's --max-txn-ops default. */
const MAX_OPS = 128;
/** Under etcd's --max-request-bytes default (1.5 MiB) with room for the request's own fields. */
const MAX_BYTES = 1024 * 1024;
/** Transactions in flight at once: enough to keep etcd's disk busy, few enough not to swamp it. */
const IN_FLIGHT = 4;

/** The values to write, one per destination key, in the file's order. */
function valuesOf(layout: Layout, config: Awaited<ReturnType<typeof readConfigText>>['config']): Map<string, StoredEntryJson[]> {
  const byKey = new Map<string, StoredEntryJson[]>();
  const destinations = destinationsOf(config);
  config.egress.forEach((entry, i) => {
    const key = `${layout.egress}${destinations[i]!}`;
    let list = byKey.get(key);
    if (list === undefined) byKey.set(key, (list = []));
    list.push(entryJson(entry, destinations[i]!));
  });
  return byKey;
}

/** Splits operations into transactions within etcd's limits. */
function batches(ops: readonly Operation[]): Operation[][] {
  const out: Operation[][] = [];
  let batch: Operation[] = [];
  let bytes = 0;
  for (const op of ops) {
    const size = 'put' in op ? op.put.key.length + op.put.value.length : 200;
    if (batch.length === MAX_OPS || (batch.length > 0 && bytes + size > MAX_BYTES)) {
      out.push(batch);
      batch = [];
      bytes = 0;
    }
    batch.push(op);
    bytes += size;
  }
  if (batch.length > 0) out.push(batch);
  return out;
}

/** Validates the file whole, then writes it; see LoadOptions. Throws InvalidConfigError, InvalidOptionError, StoreUnavailableError. */
export async function loadDeployment(client: EtcdClient, layout: Layout, path: string, options: LoadOptions): Promise<LoadResult> {
  const { text, config } = await readConfigText(path);
  const read = readText(text.startsWith('\uFEFF') ? text.slice(1) : text, formatOf(path));
  if (!read.ok) throw new InvalidOptionError(read.message); // parseConfig read it above: cannot happen
  const { egress: _egress, ...deployment } = read.value as Record<string, unknown>;
  const values = valuesOf(layout, config);

  const existing = await readSnapshot(client, layout, { keysOnly: true });
  if (existing.kvs.length > 0 && options.replace !== true) {
    throw new InvalidOptionError(`Expected an empty prefix ${layout.prefix} to load ${path} into but it holds ${existing.kvs.length} keys at revision ${existing.revision} (replace them with --replace)`);
  }
  const marker = JSON.stringify({ by: hostname(), pid: process.pid, at: new Date().toISOString(), file: path });
  const begin = await client.txn(
    [{ key: layout.loading, target: 'CREATE', result: 'EQUAL', revision: 0 }, ...(options.replace === true ? [] : [{ key: layout.deployment, target: 'CREATE', result: 'EQUAL', revision: 0 } as const])],
    [{ put: { key: layout.loading, value: marker } }],
  );
  if (!begin.succeeded) throw new StoreUnavailableError(`Expected no other load into ${layout.prefix} but one is under way (key ${layout.loading}) or the prefix was written meanwhile: try again once it has finished`);
  const held = [{ key: layout.loading, target: 'MOD', result: 'EQUAL', revision: begin.header.revision } as const];

  const stale = existing.kvs.map((kv) => kv.key).filter((k) => k !== layout.deployment && k !== layout.loading && !values.has(k));
  const ops: Operation[] = [
    ...stale.map((key) => ({ delete: { key } })),
    ...[...values].map(([key, list]) => ({ put: { key, value: JSON.stringify(list) } })),
  ];
  let done = 0;
  const queue = batches(ops);
  // A failure leaves the marker: routers keep their tables until a load finishes.
  const worker = async () => {
    for (let batch = queue.shift(); batch !== undefined; batch = queue.shift()) {
      const r = await client.txn(held, batch);
      if (!r.succeeded) throw new StoreUnavailableError(`The key ${layout.loading} changed while ${path} was loaded into ${layout.prefix}: another load took over; routers keep their tables until one finishes`);
      done += batch.length;
      options.onProgress?.(done, ops.length);
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
  const end = await client.txn(held, [{ put: { key: layout.deployment, value: JSON.stringify(deployment) } }, { delete: { key: layout.loading } }]);
  if (!end.succeeded) throw new StoreUnavailableError(`The key ${layout.loading} changed before ${path} was fully loaded into ${layout.prefix}: another load took over`);
  let slices = 0;
  for (const list of values.values()) for (const e of list) slices += e.slices.length;
  return { revision: end.header.revision, keys: values.size, slices, removed: stale.length };
}
