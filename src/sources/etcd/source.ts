// EtcdSource: a router's tables from a deployment in etcd, shared by a fleet. The revision is the
// generation; a watch stream brings every change, each revision's table handed over whole; while
// etcd is away the router keeps its last table, the source says so and resynchronises (a fresh
// snapshot, then the watch from there: no change missed, none older applied over a newer one).
import { invalid, StoreUnavailableError } from '../../errors.js';
import { Serial } from '../serial.js';
import type { SourceHealth, SourceSubscriber, SourcedTable, TableSource } from '../types.js';
import { EtcdClient, prefixEnd } from './client.js';
import { layoutOf, type Layout } from './layout.js';
import { readSnapshot } from './snapshot.js';
import { StoreState } from './state.js';
import { openWatch, type Watch, type WatchEnd } from './watch.js';

export interface EtcdSourceOptions {
  /** Client URLs of the etcd cluster ('http://10.0.0.1:2379'), a list or comma-separated. */
  endpoints: string | readonly string[];
  /** The deployment's key prefix, '/softunicast/prod' (docs/table-sources.md, "Key layout"). */
  prefix: string;
  /** The server whose table this source yields. */
  host: string;
  /** Milliseconds a request may take. Default 5000. */
  timeoutMs?: number;
  /** Milliseconds between checks that etcd still answers (a partition closes no socket). Default 1000. */
  probeIntervalMs?: number;
  /** Longest wait between attempts to reach etcd again (they start at 100 ms and double). Default 2000. */
  retryMaxMs?: number;
}

interface Look {
  reason: string;
  force: boolean;
  /** Read a whole snapshot first (start, SIGHUP, etcd back, a compaction) rather than use the watched state. */
  resync: boolean;
}

const merge = (a: Look, b: Look): Look => ({ reason: b.reason, force: a.force || b.force, resync: a.resync || b.resync });

function checkMs(value: unknown, path: string, fallback: number): number {
  const v = value ?? fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) invalid(path, 'a whole number of milliseconds above 0', v);
  return v;
}

export class EtcdSource implements TableSource {
  readonly kind = 'etcd';
  readonly name: string;
  readonly #client: EtcdClient;
  readonly #layout: Layout;
  readonly #host: string;
  readonly #probeMs: number;
  readonly #retryMaxMs: number;
  readonly #serial = new Serial<Look>((look) => this.#look(look), merge);
  #subscriber: SourceSubscriber | undefined;
  #state: StoreState | undefined;
  /** The generation (revision) of the last table handed over: nothing older goes out after it. */
  #published = 0;
  #held = false;
  #health: SourceHealth = { state: 'ok', since: Date.now(), disconnects: 0, generation: 0, detail: '' };
  #watching = false;
  #stream: Watch | undefined;
  /** Counts streams: events of a stream already replaced are dropped. */
  #epoch = 0;
  #probe: NodeJS.Timeout | undefined;
  #retry: NodeJS.Timeout | undefined;
  #retryMs = 100;
  #closed = false;

  constructor(options: EtcdSourceOptions) {
    if (typeof options !== 'object' || options === null) invalid('options', 'etcd source options { endpoints, prefix, host }', options);
    this.#layout = layoutOf(options.prefix, 'options.prefix');
    if (typeof options.host !== 'string' || options.host === '') invalid('options.host', 'the name of a server of the deployment', options.host);
    this.#client = new EtcdClient({ endpoints: options.endpoints, ...(options.timeoutMs !== undefined && { timeoutMs: options.timeoutMs }) });
    this.#host = options.host;
    this.#probeMs = checkMs(options.probeIntervalMs, 'options.probeIntervalMs', 1000);
    this.#retryMaxMs = checkMs(options.retryMaxMs, 'options.retryMaxMs', 2000);
    this.name = `etcd ${this.#client.endpoints.join(',')} ${this.#layout.prefix}`;
  }

  /** Reads the deployment at the current revision. Throws StoreUnavailableError, InvalidConfigError, InvalidOptionError. */
  async load(): Promise<SourcedTable> {
    const snap = await readSnapshot(this.#client, this.#layout);
    const state = new StoreState(this.#layout, snap.kvs, snap.revision, snap.clusterId);
    const built = state.build(this.#host);
    if (built.kind === 'held') throw new StoreUnavailableError(`Expected a deployment ready to use in ${this.name} but ${built.detail}; start again once it has finished`);
    this.#state = state;
    this.#published = built.table.generation;
    this.#health = { ...this.#health, generation: this.#published };
    return built.table;
  }

  subscribe(subscriber: SourceSubscriber): void {
    this.#subscriber = subscriber;
  }

  /** Follows etcd from the revision loaded (or from a fresh snapshot when nothing was loaded). */
  watch(): void {
    if (this.#closed || this.#watching) return;
    this.#watching = true;
    if (this.#state === undefined) void this.#serial.request({ reason: 'start', force: false, resync: true });
    else this.#openStream(this.#state.revision + 1);
    this.#probe = setInterval(() => void this.#check(), this.#probeMs);
    this.#probe.unref();
  }

  /** Reads a fresh snapshot (SIGHUP); `force` hands the table over even when nothing changed. */
  refresh(reason: string, force: boolean): Promise<void> {
    return this.#serial.request({ reason, force, resync: true });
  }

  health(): SourceHealth {
    return this.#health;
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#probe);
    clearTimeout(this.#retry);
    this.#stream?.close();
    this.#stream = undefined;
    await this.#serial.close();
    this.#client.close();
  }

  #openStream(startRevision: number): void {
    const epoch = ++this.#epoch;
    const all = `${this.#layout.prefix}/`;
    this.#stream = openWatch(this.#client, { key: all, rangeEnd: prefixEnd(all), startRevision }, {
      onCreated: () => undefined,
      onEvents: (events, revision) => {
        if (epoch !== this.#epoch || this.#state === undefined) return;
        // Events the state holds already (a snapshot read after the stream began) are skipped:
        // applying them would put older values over newer ones.
        const fresh = events.filter((e) => e.kv.modRevision > this.#state!.revision);
        if (fresh.length === 0) return;
        this.#state.apply(fresh, revision);
        void this.#serial.request({ reason: `etcd revision ${revision}`, force: false, resync: false });
      },
      onEnd: (end) => {
        if (epoch !== this.#epoch) return;
        this.#stream = undefined;
        this.#ended(end);
      },
    });
  }

  #ended(end: WatchEnd): void {
    if (this.#closed) return;
    if (end.kind === 'compacted') {
      // etcd no longer has the revisions between ours and now: read them whole instead.
      void this.#serial.request({ reason: `etcd compacted to revision ${end.compactRevision}`, force: false, resync: true });
      return;
    }
    this.#lost(end.error);
  }

  /** A probe: a small read that must answer within the probe interval (at least a second). */
  async #check(): Promise<void> {
    if (this.#closed || this.#health.state === 'unreachable') return;
    try {
      await this.#client.range({ key: this.#layout.deployment, countOnly: true }, Math.max(1000, this.#probeMs));
    } catch (error) {
      // Also when the stream's end said so meanwhile: #lost says it once.
      this.#lost(error as Error);
    }
  }

  /** etcd is gone: say so once, drop the stream, and try again until it answers. */
  #lost(error: Error): void {
    if (this.#closed) return;
    this.#epoch++;
    this.#stream?.close();
    this.#stream = undefined;
    if (this.#health.state !== 'unreachable') {
      this.#setHealth({ state: 'unreachable', disconnects: this.#health.disconnects + 1, detail: error.message });
      this.#retryMs = 100;
    }
    clearTimeout(this.#retry);
    this.#retry = setTimeout(() => void this.#serial.request({ reason: 'etcd is back', force: false, resync: true }), this.#retryMs);
    this.#retry.unref();
    this.#retryMs = Math.min(this.#retryMs * 2, this.#retryMaxMs);
  }

  async #look(look: Look): Promise<void> {
    if (look.resync && !(await this.#resync(look.reason))) return;
    const state = this.#state!;
    const subscriber = this.#subscriber;
    let built;
    try {
      built = state.build(this.#host);
    } catch (error) {
      this.#held = false;
      return await subscriber?.update({ kind: 'refused', reason: look.reason, error: error as Error });
    }
    if (built.kind === 'held') {
      // Said once per bulk load: its writes arrive as hundreds of revisions.
      const first = !this.#held;
      this.#held = true;
      if (first) return await subscriber?.update({ kind: 'refused', reason: look.reason, error: new StoreUnavailableError(`Expected a deployment ready to use but ${built.detail}; waiting for it to finish`) });
      return await subscriber?.update({ kind: 'unchanged', reason: look.reason });
    }
    this.#held = false;
    const { table } = built;
    if (table.generation < this.#published) {
      // The same cluster behind what was applied (a member restored from an old backup): going
      // back would undo changes every other router keeps.
      const error = new StoreUnavailableError(`Expected etcd at revision ${this.#published} or later but it answers at revision ${table.generation}; keeping the newer table`);
      return await subscriber?.update({ kind: 'refused', reason: look.reason, error });
    }
    if (table.generation === this.#published && !look.force) return await subscriber?.update({ kind: 'unchanged', reason: look.reason });
    this.#published = Math.max(this.#published, table.generation);
    this.#health = { ...this.#health, generation: table.generation };
    await subscriber?.update({ kind: 'table', reason: look.reason, table });
  }

  /** Replaces the state with a fresh snapshot; false when etcd could not be read (then it retries). */
  async #resync(reason: string): Promise<boolean> {
    let snap;
    try {
      snap = await readSnapshot(this.#client, this.#layout);
    } catch (error) {
      if (this.#watching || this.#health.state === 'unreachable') this.#lost(error as Error);
      else await this.#subscriber?.update({ kind: 'refused', reason, error: error as Error });
      return false;
    }
    const before = this.#state;
    const state = new StoreState(this.#layout, snap.kvs, snap.revision, snap.clusterId);
    if (before !== undefined && before.clusterId !== state.clusterId) {
      // Another cluster (etcd replaced or restored): its revisions start anew.
      this.#published = 0;
    } else if (before !== undefined && before.sameKeys(state)) {
      // Nothing of ours changed: keep the revision the table in use was read at.
      state.revision = Math.max(before.revision, state.revision);
      this.#published = Math.max(this.#published, state.revision);
    }
    this.#state = state;
    if (this.#health.state === 'unreachable') this.#setHealth({ state: 'ok', detail: '' });
    if (this.#watching && this.#stream === undefined) this.#openStream(state.revision + 1);
    return true;
  }

  #setHealth(change: Partial<SourceHealth>): void {
    this.#health = { ...this.#health, ...change, since: Date.now() };
    this.#subscriber?.health?.(this.#health);
  }
}
