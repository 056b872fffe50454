// Per-owner counters of the fast path, by owner name: the native side counts per owner record
// of each table (softunicast/abi.h, SU_OWNER_STATS) and hands back a table's final counts once
// no worker reads it; this adds them up across tables, so that an owner's counts survive every
// publish. Used by Router.counters().
import { ABI } from '../generated/abi.js';

/** Packets and bytes of one fate. */
export interface PacketsAndBytes {
  packets: number;
  bytes: number;
}

/**
 * Per owner name, per fate (abi.h route counter names), what the fast path did with packets
 * whose owner it knew: sent to it (bytes as sent, outer headers included) or dropped (bytes as
 * received). Fates that never happened are left out.
 */
export type OwnerCounters = Record<string, Partial<Record<(typeof ABI.routeCounters)[number]['name'], PacketsAndBytes>>>;

const PER_OWNER = ABI.ownerStats.perOwner;

function add(into: OwnerCounters, names: readonly string[], values: Float64Array): void {
  names.forEach((name, owner) => {
    const base = owner * PER_OWNER;
    ABI.routeCounters.forEach(({ name: fate }, f) => {
      const packets = values[base + f * 2 + ABI.ownerStats.packets] ?? 0;
      if (packets === 0) return;
      const bytes = values[base + f * 2 + ABI.ownerStats.bytes] ?? 0;
      const slot = (into[name] ??= {});
      const now = slot[fate];
      slot[fate] = { packets: (now?.packets ?? 0) + packets, bytes: (now?.bytes ?? 0) + bytes };
    });
  });
}

/** The owner names of each table generation still counting, and the totals of finished ones. */
export class OwnerTotals {
  readonly #names = new Map<number, readonly string[]>();
  readonly #totals: OwnerCounters = {};

  /**
   * Remembers the owner record names of table `generation`: record i is named by every owner
   * name compiled to it (identical owners share a record, and then their counts).
   */
  published(generation: number, ownerIndex: ReadonlyMap<string, number>): void {
    const names: string[] = [];
    for (const [name, index] of ownerIndex) names[index] = names[index] === undefined ? name : `${names[index]}+${name}`;
    this.#names.set(generation, names);
  }

  /** The name of owner record `index` of table `generation`, while that table counts. */
  name(generation: number, index: number): string | undefined {
    return this.#names.get(generation)?.[index];
  }

  /** Adds the final counts of tables no worker reads any more (each handed over once). */
  finished(tables: readonly { generation: number; counters: Float64Array }[]): void {
    for (const t of tables) {
      const names = this.#names.get(t.generation);
      this.#names.delete(t.generation);
      if (names !== undefined) add(this.#totals, names, t.counters);
    }
  }

  /** Totals so far plus the live counts of the table in use (a fresh object). */
  snapshot(current: { generation: number; counters: Float64Array }): OwnerCounters {
    const out: OwnerCounters = {};
    for (const [name, fates] of Object.entries(this.#totals)) {
      out[name] = {};
      for (const [fate, v] of Object.entries(fates)) out[name][fate as keyof (typeof out)[string]] = { ...v! };
    }
    const names = this.#names.get(current.generation);
    if (names !== undefined) add(out, names, current.counters);
    return out;
  }
}
