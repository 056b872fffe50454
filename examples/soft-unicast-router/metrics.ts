// The router's metrics in a prom-client registry: every counter of Router.counters() under the
// names of abi.h (docs/metrics.md lists them), per-owner packets and bytes, reloads, slices per
// owner, and prom-client's process metrics. Served by prometheus.ts; main.ts feeds reloads.
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';

import { ABI } from '../../src/generated/abi.js';
import type { RouterCounters, SliceTable, SourceHealth } from '../../src/index.js';

export type ReloadResult = 'applied' | 'unchanged' | 'refused';

/** Router.counters(), or undefined while no router runs (then only process metrics show). */
export type CounterSource = () => RouterCounters | undefined;

export class RouterMetrics {
  readonly registry = new Registry();
  readonly #reloads: Counter<'result'>;
  readonly #lastReload: Gauge;
  readonly #slices: Gauge<'owner'>;
  readonly #source: CounterSource;
  #table: { kind: string; health: () => SourceHealth } | undefined;
  #snapshot: { at: number; counters: RouterCounters | undefined } | undefined;

  constructor(source: CounterSource) {
    this.#source = source;
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    // Every collect() of one scrape reads the same snapshot: the families agree with each other.
    const snap = () => this.#counters();

    new Gauge({ name: 'softunicast_table_generation', help: 'Generation of the slice table the fast path is using', registers, collect() {
      const c = snap();
      if (c !== undefined) this.set(c.generation);
    } });
    counterFamily(registers, 'softunicast_route_packets_total', 'Packets by fate and by the lane that finished them, the XDP program (xdp) or an AF_XDP worker (worker), summed over CPUs and queues (SU_ROUTE_COUNTERS, abi.h; docs/metrics.md)', ['fate', 'lane'], (set) => {
      const c = snap();
      if (c === undefined) return;
      for (const { name } of ABI.routeCounters) {
        set({ fate: name, lane: 'xdp' }, c.xdp[name]);
        set({ fate: name, lane: 'worker' }, c.queues.reduce((sum, q) => sum + q.fates[name], 0));
      }
    });
    counterFamily(registers, 'softunicast_xdp_packets_total', 'Packets the XDP program handled, by counter, summed over CPUs (SU_STEER_COUNTERS, abi.h; docs/metrics.md)', ['counter'], (set) => {
      const c = snap();
      if (c !== undefined) for (const { name } of ABI.steerCounters) set({ counter: name }, c.program[name]);
    });
    for (const { name, doc } of ABI.queueCounters) {
      counterFamily(registers, `softunicast_queue_${name}_total`, `Per RX queue: ${doc}`, ['queue'], (set) => {
        for (const q of snap()?.queues ?? []) set({ queue: String(q.queue) }, q[name]);
      });
    }
    for (const { name, doc } of ABI.kernelXdpStats) {
      counterFamily(registers, `softunicast_socket_${name}_total`, `Per RX queue, the kernel's XDP_STATISTICS of its AF_XDP socket: ${doc}`, ['queue'], (set) => {
        for (const q of snap()?.queues ?? []) set({ queue: String(q.queue) }, q.kernel[name]);
      });
    }
    for (const unit of ['packets', 'bytes'] as const) {
      const what = unit === 'packets' ? 'Packets' : 'Bytes (as sent, outer headers included; as received when dropped)';
      counterFamily(registers, `softunicast_owner_${unit}_total`, `${what} the fast path sent to each owner, or dropped once its owner was known, by fate`, ['owner', 'fate'], (set) => {
        for (const [owner, fates] of Object.entries(snap()?.owners ?? {})) {
          for (const [fate, v] of Object.entries(fates)) set({ owner, fate }, v![unit]);
        }
      });
    }
    new Gauge({ name: 'softunicast_retired_tables', help: 'Replaced tables still waiting for a worker to finish a batch that may read them', registers, collect() {
      const c = snap();
      if (c !== undefined) this.set(c.retiredTables);
    } });
    new Gauge({ name: 'softunicast_unresolved_owner', help: 'Owners the fast path cannot send to (no next-hop MAC address); the reason is in the log', labelNames: ['owner'], registers, collect() {
      this.reset();
      for (const owner of Object.keys(snap()?.unresolvedOwners ?? {})) this.set({ owner }, 1);
    } });
    new Gauge({ name: 'softunicast_owner_up', help: 'Peer health: 1 while an owner this router probes (or the operator set) is up, 0 while it is down and its slices go to its fallback', labelNames: ['owner'], registers, collect() {
      this.reset();
      for (const [owner, h] of Object.entries(snap()?.health ?? {})) this.set({ owner }, h.up ? 1 : 0);
    } });
    for (const [unit, key, what] of [['probes', 'probes', 'Health probes sent'], ['probe_replies', 'replies', 'Answers to health probes received']] as const) {
      counterFamily(registers, `softunicast_owner_${unit}_total`, `${what}, per probed owner`, ['owner'], (set) => {
        for (const [owner, h] of Object.entries(snap()?.health ?? {})) set({ owner }, h[key]);
      });
    }
    this.#reloads = new Counter({ name: 'softunicast_reloads_total', help: 'Reloads of the configuration by result: applied (a new table published), unchanged (nothing to publish), refused (an invalid file; the running table stays)', labelNames: ['result'], registers });
    for (const result of ['applied', 'unchanged', 'refused'] as const) this.#reloads.inc({ result }, 0);
    this.#lastReload = new Gauge({ name: 'softunicast_last_reload_timestamp_seconds', help: 'When the last reload finished, applied or not (Unix time)', registers });
    this.#slices = new Gauge({ name: 'softunicast_slices', help: 'Slices per owner in the table in use', labelNames: ['owner'], registers });
    this.#sourceMetrics(registers);
  }

  /** The table source's families: up, generation, disconnects (all read at each scrape). */
  #sourceMetrics(registers: Registry[]): void {
    const health = () => this.#table;
    new Gauge({ name: 'softunicast_source_up', help: 'Whether the table source answers (0 while etcd is unreachable: the router forwards with its last table meanwhile)', labelNames: ['source'], registers, collect() {
      const t = health();
      if (t !== undefined) this.set({ source: t.kind }, t.health().state === 'unreachable' ? 0 : 1);
    } });
    new Gauge({ name: 'softunicast_source_generation', help: 'Generation of the last table the source yielded: the etcd revision, or the count of file loads', labelNames: ['source'], registers, collect() {
      const t = health();
      if (t !== undefined) this.set({ source: t.kind }, t.health().generation);
    } });
    counterFamily(registers, 'softunicast_source_disconnects_total', 'Times the table source lost its store (etcd unreachable or its watch broken)', ['source'], (set) => {
      const t = health();
      if (t !== undefined) set({ source: t.kind }, t.health().disconnects);
    });
  }

  /** Where the table comes from ('file', 'etcd') and how it is doing, read at every scrape. */
  source(kind: string, health: () => SourceHealth): void {
    this.#table = { kind, health };
  }

  /** Counts a reload; `table` is the table in use after it. */
  reloaded(result: ReloadResult, table?: SliceTable): void {
    this.#reloads.inc({ result });
    this.#lastReload.set(Date.now() / 1000);
    if (table !== undefined) this.tableInUse(table);
  }

  /** Slices per owner of the table in use. */
  tableInUse(table: SliceTable): void {
    this.#slices.reset();
    for (const [owner, n] of table.sliceCounts()) this.#slices.set({ owner }, n);
  }

  #counters(): RouterCounters | undefined {
    const now = performance.now();
    if (this.#snapshot === undefined || now - this.#snapshot.at > 100) {
      let counters: RouterCounters | undefined;
      try {
        counters = this.#source();
      } catch {
        counters = undefined; // closing: the scrape shows process metrics only
      }
      this.#snapshot = { at: now, counters };
    }
    return this.#snapshot.counters;
  }
}

/** A counter family whose values come from elsewhere: reset and filled at every scrape. */
function counterFamily<L extends string>(
  registers: Registry[], name: string, help: string, labelNames: L[],
  fill: (set: (labels: Record<L, string>, value: number) => void) => void,
): void {
  new Counter({ name, help, labelNames, registers, collect() {
    this.reset();
    fill((labels, value) => this.inc(labels as never, value));
  } });
}
