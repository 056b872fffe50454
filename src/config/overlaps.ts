// Slices of two servers that cover the same packets, found all at once: in one destination (one
// entry or several entries of one address), and between nested prefixes. Used by egress.ts.
import { FAMILY_V4, mask4, mask6, type Prefix } from '../slices/address.js';
import { formatSlice } from '../slices/slice.js';
import { entryOf, slicePath, type PackedSlices } from './packed.js';
import { formatPath } from './path.js';
import type { Problems } from './problems.js';

/** The entries of one destination prefix. */
interface Group {
  readonly prefix: Prefix;
  readonly entries: number[];
}

type Groups = { v4: (Map<number, Group> | undefined)[]; v6: (Map<bigint, Group> | undefined)[] };

function groupsOf(prefixes: readonly (Prefix | undefined)[]): Groups {
  const groups: Groups = { v4: new Array(33).fill(undefined), v6: new Array(129).fill(undefined) };
  prefixes.forEach((p, e) => {
    if (p === undefined) return;
    const map = (p.family === FAMILY_V4 ? (groups.v4[p.len] ??= new Map()) : (groups.v6[p.len] ??= new Map())) as Map<number | bigint, Group>;
    const key = p.family === FAMILY_V4 ? p.v4 : p.v6;
    const g = map.get(key);
    if (g === undefined) map.set(key, { prefix: p, entries: [e] });
    else g.entries.push(e);
  });
  return groups;
}

class Reporter {
  readonly #reported: Uint8Array;

  constructor(
    readonly p: Problems,
    readonly packed: PackedSlices,
    readonly prefixes: readonly (Prefix | undefined)[],
  ) {
    this.#reported = new Uint8Array(packed.count);
  }

  #text(k: number): string {
    const { packed } = this;
    const ports = packed.ports[k]!;
    const slice = formatSlice(this.prefixes[entryOf(packed, k)]!, packed.bits[k]!, ports >>> 16, ports & 0xffff);
    return `${slice} of owner '${packed.servers[packed.owners[k]!]}' (${formatPath(slicePath(packed, k))})`;
  }

  /** Slices a and b overlap: named later one first, the problem is about it; once per slice. */
  overlap(a: number, b: number): void {
    const [later, earlier] = a > b ? [a, b] : [b, a];
    if (this.#reported[later] === 1) return;
    this.#reported[later] = 1;
    this.p.error(
      slicePath(this.packed, later),
      'ERR_SLICE_OVERLAP',
      `Slice ${this.#text(later)} overlaps slice ${this.#text(earlier)}; slices of different owners must not cover the same packets`,
    );
  }
}

/**
 * Sweeps `ids` (sorted by first port) for one protocol bit. Every slice still open (its last
 * port not below the new first port) overlaps the new one, so keeping the furthest-reaching
 * open slice per owner (and side, for two groups) finds a partner of another owner whenever
 * there is one, in O(slices x owners) at worst.
 */
function sweep(r: Reporter, ids: readonly number[], bit: number, side: ((k: number) => number) | undefined): void {
  const { ports, bits, owners } = r.packed;
  const open: number[] = [];
  for (const k of ids) {
    if ((bits[k]! & bit) === 0) continue;
    const from = ports[k]! >>> 16;
    let w = 0;
    for (const o of open) if ((ports[o]! & 0xffff) >= from) open[w++] = o;
    open.length = w;
    let same = -1;
    for (let i = 0; i < open.length; i++) {
      const o = open[i]!;
      const mine = owners[o] === owners[k] && (side === undefined || side(o) === side(k));
      if (mine) same = i;
      else if (owners[o] !== owners[k] && (side === undefined || side(o) !== side(k))) r.overlap(k, o);
    }
    if (same < 0) open.push(k);
    else if ((ports[k]! & 0xffff) > (ports[open[same]!]! & 0xffff)) open[same] = k;
  }
}

function idsOf(packed: PackedSlices, entries: readonly number[]): number[] {
  const ids: number[] = [];
  for (const e of entries) for (let k = packed.starts[e]!; k < packed.starts[e + 1]!; k++) ids.push(k);
  return ids;
}

/** Whether the slices, in this order, each start after the one before ends: no overlap at all. */
function ascending(packed: PackedSlices, ids: readonly number[]): boolean {
  let reach = -1;
  for (const k of ids) {
    const p = packed.ports[k]!;
    if (p >>> 16 <= reach) return false;
    reach = p & 0xffff;
  }
  return true;
}

function sortByPorts(packed: PackedSlices, ids: number[]): number[] {
  return ids.sort((a, b) => packed.ports[a]! - packed.ports[b]! || a - b);
}

/** Slices of one destination against each other. */
function within(r: Reporter, g: Group): void {
  const ids = idsOf(r.packed, g.entries);
  // The usual case, an address cut into slices in order, needs no sort.
  if (ascending(r.packed, ids)) return;
  sortByPorts(r.packed, ids);
  sweep(r, ids, 1, undefined);
  sweep(r, ids, 2, undefined);
}

/** Slices of `inner` against those of `outer`, a shorter prefix containing it. */
function across(r: Reporter, inner: Group, outer: Group): void {
  const a = idsOf(r.packed, inner.entries);
  const b = idsOf(r.packed, outer.entries);
  const innerIds = new Set(a);
  const ids = sortByPorts(r.packed, a.concat(b));
  const side = (k: number) => (innerIds.has(k) ? 0 : 1);
  sweep(r, ids, 1, side);
  sweep(r, ids, 2, side);
}

/** Records an ERR_SLICE_OVERLAP problem for each slice that overlaps another owner's. */
export function checkOverlaps(p: Problems, prefixes: readonly (Prefix | undefined)[], packed: PackedSlices): void {
  const r = new Reporter(p, packed, prefixes);
  const groups = groupsOf(prefixes);
  const lens4 = groups.v4.flatMap((m, len) => (m !== undefined ? [len] : []));
  const lens6 = groups.v6.flatMap((m, len) => (m !== undefined ? [len] : []));
  for (const map of [...groups.v4, ...groups.v6]) {
    if (map === undefined) continue;
    for (const g of map.values()) {
      within(r, g);
      const v4 = g.prefix.family === FAMILY_V4;
      // Each nested pair once, from its longer prefix: look up the shorter ones containing it.
      for (const len of v4 ? lens4 : lens6) {
        if (len >= g.prefix.len) break;
        const outer = v4 ? groups.v4[len]!.get(mask4(g.prefix.v4, len)) : groups.v6[len]!.get(mask6(g.prefix.v6, len));
        if (outer !== undefined) across(r, g, outer);
      }
    }
  }
}
