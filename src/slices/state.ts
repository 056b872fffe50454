// A SliceTable's insides as its compilers read them (TableState, groups in image order) and the
// packed input form of already validated slices. Used by table.ts, compile.ts, diff.ts and the key kinds.
import { FAMILY_V4, type Prefix } from './address.js';
import type { AddressService } from './address-services.js';
import type { FlowService } from './services.js';
import type { Group } from './slice.js';
import type { OwnerSpec } from './types.js';

export type V4Maps = (Map<number, Group> | undefined)[];
export type V6Maps = (Map<bigint, Group> | undefined)[];

/** A table's insides, for compile.ts and diff.ts only (not exported from src/index.ts). */
export interface TableState {
  readonly v4: V4Maps;
  readonly v6: V6Maps;
  /** Owner id -> name; undefined once removed. Slices store ids, so renaming is never needed. */
  readonly names: readonly (string | undefined)[];
  readonly specs: ReadonlyMap<string, OwnerSpec>;
  /** Slices per owner id. */
  readonly uses: readonly number[];
  /** The arena's numbers: group g's slices are data[g.at] to data[g.at + 2 * g.n - 1]. */
  readonly data: Float64Array;
  /** Flow-hash services (services.ts), in the order they were added. */
  readonly services: readonly FlowService[];
  /** Address-slice services (address-services.ts), in the order they were added. */
  readonly addressServices: readonly AddressService[];
}

/** Slices of one destination: indices `first` (inclusive) to `end` of a PackedInput's arrays. */
export interface PackedRun {
  readonly prefix: Prefix;
  readonly first: number;
  readonly end: number;
}

/**
 * Slices as numbers, for a caller that validated them already (config/perspective.ts: a router's table
 * from a Config): `ports` from * 65536 + to, `bits` SU_PROTO_*, `owners` indices into `names`,
 * each a name given to defineOwner(). No object per slice; overlaps are still checked.
 */
export interface PackedInput {
  readonly ports: ArrayLike<number>;
  readonly bits: ArrayLike<number>;
  readonly owners: ArrayLike<number>;
  readonly names: readonly string[];
  readonly runs: readonly PackedRun[];
}

/**
 * Every group of one family in a fixed order, by address and then prefix length (so a prefix
 * comes right before the prefixes inside it): equal tables give equal images whatever order
 * their slices were assigned in.
 */
export function sortedGroups(state: Pick<TableState, 'v4' | 'v6'>, family: number): Group[] {
  const out: Group[] = [];
  if (family === FAMILY_V4) {
    const lens = state.v4.flatMap((map, len) => (map !== undefined && map.size > 0 ? [len] : []));
    if (lens.length === 1) {
      const map = state.v4[lens[0]!]!;
      // Groups usually arrive in address order; sort only when they did not.
      let last = -1;
      let sorted = true;
      for (const key of map.keys()) {
        if (key < last) {
          sorted = false;
          break;
        }
        last = key;
      }
      if (sorted) return [...map.values()];
    }
    // address * 64 + length (below 2^38): a Float64Array sorts it numerically and natively,
    // much faster than Array#sort with a comparator.
    let count = 0;
    for (const len of lens) count += state.v4[len]!.size;
    const keys = new Float64Array(count);
    let i = 0;
    for (const len of lens) for (const addr of state.v4[len]!.keys()) keys[i++] = addr * 64 + len;
    keys.sort();
    for (const key of keys) out.push(state.v4[key % 64]!.get(Math.floor(key / 64))!);
    return out;
  }
  for (const map of state.v6) if (map !== undefined) for (const g of map.values()) out.push(g);
  return out.sort((a, b) => (a.prefix.v6 < b.prefix.v6 ? -1 : a.prefix.v6 > b.prefix.v6 ? 1 : a.prefix.len - b.prefix.len));
}
