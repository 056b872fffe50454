// The arena a SliceTable keeps its slices in (slice.ts, Arena): room for a change's new slices,
// filtering a group in place, giving one owner's slices to another, copying the groups. Used by slice-store.ts.
import { newGroup, ownerOf, protoOf, type Arena, type Group } from './slice.js';

/** Gives every slice of owner id `from` in `families`' groups to owner id `to`, in place: one pass over the arena. */
export function renumberOwner(families: readonly (Map<unknown, Group> | undefined)[][], d: Float64Array, from: number, to: number): void {
  for (const maps of families) {
    for (const map of maps) {
      if (map === undefined) continue;
      for (const g of map.values()) {
        for (let i = g.at + 1; i < g.at + g.n * 2; i += 2) if (ownerOf(d[i]!) === from) d[i] = to * 4 + protoOf(d[i]!);
      }
    }
  }
}

/** A copy of one prefix length's groups (SliceTable.clone): same places in a copied arena, nothing pending. */
export function copyGroups<K>(m: Map<K, Group> | undefined): Map<K, Group> | undefined {
  if (m === undefined) return undefined;
  const out = new Map<K, Group>();
  for (const [k, g] of m) out.set(k, { ...newGroup(g.prefix), at: g.at, cap: g.cap, n: g.n });
  return out;
}

/** Keeps, in place, the slices of `g` at whose offset (into the arena) `keep` holds. */
export function filterGroup(g: Group, d: Float64Array, keep: (offset: number) => boolean): void {
  let to = g.at;
  for (let i = g.at; i < g.at + g.n * 2; i += 2) {
    if (!keep(i)) continue;
    d[to++] = d[i]!;
    d[to++] = d[i + 1]!;
  }
  g.n = (to - g.at) / 2;
}

/**
 * Gives every touched group room for its pending slices. A group that outgrows its place moves
 * to the arena's end (new groups with exactly their size, growing ones doubling, so appends
 * stay amortized O(1)); the arena itself doubles, dropping abandoned places when it does. The
 * arena to use from now on (`arena`, or its larger copy).
 */
export function makeRoom(arena: Arena, families: readonly (Map<unknown, Group> | undefined)[][], touched: Group[]): Arena {
  const newCap = (g: Group) => (g.n === 0 ? g.n + g.pending : Math.max(g.n + g.pending, g.cap * 2));
  let extra = 0;
  for (const g of touched) if (g.n + g.pending > g.cap) extra += newCap(g) * 2;
  if (arena.used + extra > arena.data.length) {
    const live = arena.used - arena.holes;
    // Twice what is live, so that growing stays amortized; a first big assign gets its size.
    const data = new Float64Array(Math.max(live + extra, 2 * live, 1024));
    let used = 0;
    for (const maps of families) {
      for (const map of maps) {
        if (map === undefined) continue;
        for (const g of map.values()) {
          data.set(arena.data.subarray(g.at, g.at + g.n * 2), used);
          g.at = used;
          g.cap = g.n;
          used += g.n * 2;
        }
      }
    }
    arena = { data, used, holes: 0 };
  }
  const a = arena;
  for (const g of touched) {
    if (g.n + g.pending <= g.cap) continue;
    const cap = newCap(g);
    a.data.copyWithin(a.used, g.at, g.at + g.n * 2);
    a.holes += g.cap * 2;
    g.at = a.used;
    g.cap = cap;
    a.used += cap * 2;
  }
  return a;
}
