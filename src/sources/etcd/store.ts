// EtcdTableStore: what operators do to a deployment in etcd. list its slices; move one to another
// server and split one in two, each a compare-and-swap transaction on the slice's key (its owner
// as read, the key's revision): of two operators moving one slice, one wins and the other gets
// SliceConflictError. load (load.ts) puts a configuration file there. Used by the router binary's
// `slices` command and by users of the library.
import { describe, InvalidOptionError, InvalidSliceError, SliceConflictError, StoreUnavailableError, UnknownOwnerError } from '../../errors.js';
import type { Config, EgressConfig, EgressSlice } from '../../config/types.js';
import type { Protocol } from '../../fields.js';
import { EtcdClient, type KeyValue } from './client.js';
import { destinationsOf, entryJson, findSlice, refPorts, sliceName, type SliceRef, type StoredSlice } from './entries.js';
import { destinationOf, egressKey, layoutOf, type Layout } from './layout.js';
import { loadDeployment, type LoadOptions, type LoadResult } from './load.js';
import { readSnapshot } from './snapshot.js';
import { StoreState } from './state.js';

export interface EtcdStoreOptions {
  /** Client URLs of the etcd cluster, a list or comma-separated. */
  endpoints: string | readonly string[];
  /** The deployment's key prefix, '/softunicast/prod'. */
  prefix: string;
  /** Milliseconds a request may take. Default 5000. */
  timeoutMs?: number;
}

/** What a move or a split did: the revision it was written at (the routers' next generation). */
export interface ChangeResult {
  /** The revision of the write, or of the read when nothing had to change. */
  readonly revision: number;
  readonly changed: boolean;
  /** The slices the change wrote (a move: one; a split: two). */
  readonly slices: readonly StoredSlice[];
  /** The owner the slice had when the change was decided. */
  readonly previousOwner: string;
}

/** Rounds of read-and-write a change makes while other slices of the same key change under it. */
const ATTEMPTS = 8;

interface Read {
  revision: number;
  deployment: KeyValue | undefined;
  entry: KeyValue | undefined;
  loading: KeyValue | undefined;
}

export class EtcdTableStore {
  readonly layout: Layout;
  readonly #client: EtcdClient;

  constructor(options: EtcdStoreOptions) {
    this.layout = layoutOf(options.prefix, 'options.prefix');
    this.#client = new EtcdClient({ endpoints: options.endpoints, ...(options.timeoutMs !== undefined && { timeoutMs: options.timeoutMs }) });
  }

  /** Every slice of the deployment (or of one destination), validated as a router reads them. */
  async list(filter: { destination?: string; owner?: string } = {}): Promise<{ revision: number; slices: StoredSlice[] }> {
    const under = filter.destination === undefined ? undefined : egressKey(this.layout, destinationOf(filter.destination, 'destination'));
    let state: StoreState;
    if (under === undefined) {
      const snap = await readSnapshot(this.#client, this.layout);
      state = new StoreState(this.layout, snap.kvs, snap.revision, snap.clusterId);
    } else {
      const read = await this.#read(under);
      state = this.#stateOf(read);
    }
    const { config, keys } = state.validated();
    const slices: StoredSlice[] = [];
    const destinations = destinationsOf(config);
    config.egress.forEach((entry, i) => {
      const key = keys[i]!;
      for (const s of entry.slices) {
        if (filter.owner !== undefined && s.owner !== filter.owner) continue;
        slices.push({ destination: destinations[i]!, protocols: s.protocols, ports: s.ports, owner: s.owner, key, modRevision: state.modOf(key) });
      }
    });
    return { revision: state.revision, slices };
  }

  /**
   * Gives the slice `ref` names to server `to`, if it is still owned by `options.from` (default:
   * the owner read first). Throws SliceConflictError when another writer moved it meanwhile,
   * UnknownOwnerError for a server the deployment lacks, InvalidSliceError when no slice matches.
   */
  async move(ref: SliceRef, to: string, options: { from?: string } = {}): Promise<ChangeResult> {
    return await this.#change(ref, options.from, (found, config) => {
      if (typeof to !== 'string' || !config.servers.has(to)) {
        const known = [...config.servers.keys()];
        throw new UnknownOwnerError(`Expected the name of a server of the deployment (${known.slice(0, 10).join(', ')}${known.length > 10 ? ', ...' : ''}) for the new owner but received ${describe(to)}`);
      }
      return found.owner === to ? undefined : [{ ...found, owner: to }];
    });
  }

  /** Cuts the slice `ref` names in two at port `at` (the second half starts there), same owner. */
  async split(ref: SliceRef, at: number, options: { from?: string } = {}): Promise<ChangeResult> {
    return await this.#change(ref, options.from, (found) => {
      const { from, to } = found.ports;
      if (!Number.isInteger(at) || at <= from || at > to) {
        throw new InvalidSliceError(`Expected a port from ${from + 1} to ${to} (where the second half starts) for at but received ${describe(at)}`);
      }
      return [{ ...found, ports: { from, to: at - 1 } }, { ...found, ports: { from: at, to } }];
    });
  }

  /** Puts a configuration file's deployment into the prefix (load.ts). */
  async load(path: string, options: LoadOptions = {}): Promise<LoadResult> {
    return await loadDeployment(this.#client, this.layout, path, options);
  }

  close(): void {
    this.#client.close();
  }

  /**
   * Reads the slice's key, decides the new slices, and writes them if neither the key, the
   * deployment nor a bulk load changed since the read. A lost race on another slice of the key
   * is tried again; a slice whose owner changed meanwhile is a conflict.
   */
  async #change(ref: SliceRef, from: string | undefined, decide: (found: EgressSlice, config: Config) => EgressSlice[] | undefined): Promise<ChangeResult> {
    if (typeof ref !== 'object' || ref === null) throw new InvalidSliceError(`Expected a slice { destination, ports, protocols? } for ref but received ${describe(ref)}`);
    const destination = destinationOf(ref.destination, 'destination');
    const key = egressKey(this.layout, destination);
    const ports = refPorts(ref.ports);
    let expected = from;
    for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
      const read = await this.#read(key);
      const state = this.#stateOf(read);
      const held = state.held();
      if (held !== undefined) throw new StoreUnavailableError(`Expected no bulk load under way to change a slice but ${held}`);
      const { config } = state.validated();
      const text = key.slice(this.layout.egress.length);
      let found;
      try {
        found = findSlice(config.egress, text, ports, ref.protocols as Protocol[] | undefined);
      } catch (error) {
        // Gone since the first read: someone else's change (a split, a removal) won.
        if (attempt === 1 || expected === undefined) throw error;
        throw new SliceConflictError(`Slice ${refText(ref)} is no longer in etcd at revision ${read.revision} (key ${key}): another writer changed it first; list the slices again and decide`);
      }
      expected ??= found.slice.owner;
      if (found.slice.owner !== expected) {
        throw new SliceConflictError(`Slice ${sliceName(text, found.slice)} is owned by '${found.slice.owner}' in etcd at revision ${read.revision} (key ${key}), not by '${expected}' as expected: another writer moved it first; list the slices again and decide`);
      }
      const replacement = decide(found.slice, config);
      if (replacement === undefined) return { revision: read.revision, changed: false, slices: [this.#stored(text, found.slice, key, read.entry!.modRevision)], previousOwner: found.slice.owner };
      const value = JSON.stringify(config.egress.map((e: EgressConfig, i) => entryJson(e, text, i === found.entry ? e.slices.flatMap((s, j) => (j === found.index ? replacement : [s])) : e.slices)));
      // The new value checked as the routers will check it, before anything is written.
      this.#stateOf({ ...read, entry: { ...read.entry!, value: Buffer.from(value) } }).validated();
      const txn = await this.#client.txn([
        { key, target: 'MOD', result: 'EQUAL', revision: read.entry!.modRevision },
        { key: this.layout.deployment, target: 'MOD', result: 'EQUAL', revision: read.deployment!.modRevision },
        { key: this.layout.loading, target: 'CREATE', result: 'EQUAL', revision: 0 },
      ], [{ put: { key, value } }]);
      if (txn.succeeded) {
        return { revision: txn.header.revision, changed: true, slices: replacement.map((s) => this.#stored(text, s, key, txn.header.revision)), previousOwner: found.slice.owner };
      }
    }
    throw new SliceConflictError(`The key ${key} changed ${ATTEMPTS} times while a change of ${refText(ref)} was being written: too many writers at once; try again`);
  }

  /** The deployment, the slice's key and the bulk-load marker, read together at one revision. */
  async #read(key: string): Promise<Read> {
    const { layout } = this;
    const txn = await this.#client.txn([], [{ range: { key: layout.deployment } }, { range: { key } }, { range: { key: layout.loading } }]);
    const [d, e, l] = txn.ranges;
    if (d?.kvs[0] === undefined) {
      throw new InvalidOptionError(`Expected a deployment under the key ${layout.deployment} but etcd has none at revision ${txn.header.revision} (load one with: soft-unicast-router slices load --config FILE)`);
    }
    return { revision: txn.header.revision, deployment: d.kvs[0], entry: e?.kvs[0], loading: l?.kvs[0] };
  }

  #stateOf(read: Read): StoreState {
    const kvs = [read.deployment, read.entry, read.loading].filter((kv): kv is KeyValue => kv !== undefined);
    return new StoreState(this.layout, kvs, read.revision, '');
  }

  #stored(destination: string, s: EgressSlice, key: string, modRevision: number): StoredSlice {
    return { destination, protocols: s.protocols, ports: s.ports, owner: s.owner, key, modRevision };
  }
}

const refText = (ref: SliceRef) => `${ref.destination} ports ${typeof ref.ports === 'object' ? `${ref.ports.from}-${ref.ports.to}` : ref.ports}`;
