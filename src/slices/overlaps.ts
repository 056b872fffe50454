// The overlap check of a change to a SliceTable's slices (slice-store.ts): slices of different owners must not
// cover the same packets. A change's slices come as a Batch, checked against each other and the table.
import { SliceOverlapError } from '../errors.js';
import { containsPrefix, FAMILY_V4, mask4, mask6 } from './address.js';
import { formatSlice, fromOf, ownerOf, protoOf, toOf, type Group } from './slice.js';
import type { V4Maps, V6Maps } from './state.js';

/** What the check reads of the table: its groups, its slices' numbers, its owner names. */
export interface CheckedTable {
  readonly v4: V4Maps;
  readonly v6: V6Maps;
  /** The arena's numbers (read when needed: it may be replaced between changes). */
  data(): Float64Array;
  readonly names: readonly (string | undefined)[];
}

/** Pairs of new x all slices above this count are checked by sorting, not pairwise. */
const PAIRWISE_LIMIT = 4096;

/** Two slices share packets and owners differ: protocol bits meet, port ranges meet. */
function conflicts(pa: number, ma: number, pb: number, mb: number): boolean {
  return (ma & mb & 3) !== 0 && ma >>> 2 !== mb >>> 2 && pa >>> 16 <= (pb & 0xffff) && pb >>> 16 <= (pa & 0xffff);
}

/**
 * The slices of one change while it is checked: parallel arrays indexed by input position,
 * linked per group through `next` (-1 ends a list). `ports` -1 marks an exact duplicate of an
 * earlier slice, which is then skipped.
 */
export interface Batch {
  ports: Float64Array;
  meta: Float64Array;
  next: Int32Array;
  /** Where slice i came from, for messages: "slices[3]", "being assigned", "selector, moved to 'b'". */
  where: (i: number) => string;
  /** Group keys of one family and length, sorted, for finding nested prefixes (family * 256 + length). */
  sorted: Map<number, Float64Array | bigint[]>;
}

export function newBatch(size: number, where: (i: number) => string): Batch {
  return { ports: new Float64Array(size), meta: new Float64Array(size), next: new Int32Array(size).fill(-1), where, sorted: new Map() };
}

export function link(b: Batch, g: Group, i: number, touched: Group[]): void {
  if (g.head < 0) {
    g.head = i;
    touched.push(g);
  } else {
    b.next[g.tail] = i;
  }
  g.tail = i;
  g.pending++;
}

/** One slice for the sorting overlap check and for messages; `index` -1: already in the table. */
interface Side {
  group: Group;
  ports: number;
  meta: number;
  index: number;
}

function sides(g: Group, d: Float64Array, b: Batch, existing: boolean, out: Side[]): void {
  if (existing) for (let i = g.at; i < g.at + g.n * 2; i += 2) out.push({ group: g, ports: d[i]!, meta: d[i + 1]!, index: -1 });
  for (let i = g.head; i >= 0; i = b.next[i]!) if (b.ports[i]! >= 0) out.push({ group: g, ports: b.ports[i]!, meta: b.meta[i]!, index: i });
}

/**
 * Some pair of `all` that overlaps with different owners, or undefined. Per protocol, sorted by
 * first port, keeping the range that reaches furthest: a later range starting inside it with
 * another owner is an overlap; if one exists, the first such range in this order meets it
 * (had it the same owner, the furthest range and the true partner would overlap earlier).
 */
function sweep(all: Side[]): [Side, Side] | undefined {
  for (const bit of [1, 2]) {
    const list = all.filter((s) => (s.meta & bit) !== 0).sort((a, b) => a.ports - b.ports);
    let reach: Side | undefined;
    for (const s of list) {
      if (reach !== undefined && fromOf(s.ports) <= toOf(reach.ports) && ownerOf(s.meta) !== ownerOf(reach.meta)) return [s, reach];
      if (reach === undefined || toOf(s.ports) > toOf(reach.ports)) reach = s;
    }
  }
  return undefined;
}

/** Throws SliceOverlapError if a slice of batch `b` overlaps a slice (new or not) of another owner. */
export function checkBatch(t: CheckedTable, b: Batch, touched: Group[]): void {
  for (const g of touched) checkWithin(t, b, g);
  const lens4: number[] = [];
  const lens6: number[] = [];
  for (let len = 0; len <= 32; len++) if (t.v4[len]?.size) lens4.push(len);
  for (let len = 0; len <= 128; len++) if (t.v6[len]?.size) lens6.push(len);
  for (const g of touched) {
    const v4 = g.prefix.family === FAMILY_V4;
    for (const len of v4 ? lens4 : lens6) {
      if (len === g.prefix.len) continue;
      if (v4) checkNesting(t, b, g, len, t.v4[len]!, mask4);
      else checkNesting(t, b, g, len, t.v6[len]!, mask6);
    }
  }
}

/**
 * Checks g's new slices against g's other slices, and marks exact duplicates (ports -1) so
 * that they are stored once. Small groups pairwise; big ones by sorting.
 */
function checkWithin(t: CheckedTable, b: Batch, g: Group): void {
  const s = t.data();
  const end = g.at + g.n * 2;
  // The common case, an address split into port slices in order: every slice starts after the
  // one before it ends, so none overlaps another and none repeats. One pass proves it.
  let reach = -1;
  let ascending = true;
  for (let j = g.at; j < end && ascending; j += 2) {
    ascending = fromOf(s[j]!) > reach;
    reach = toOf(s[j]!);
  }
  for (let a = g.head; a >= 0 && ascending; a = b.next[a]!) {
    ascending = fromOf(b.ports[a]!) > reach;
    reach = toOf(b.ports[a]!);
  }
  if (ascending) return;
  if (g.pending * (g.pending + g.n) <= PAIRWISE_LIMIT) {
    for (let a = g.head; a >= 0; a = b.next[a]!) {
      const pa = b.ports[a]!;
      const ma = b.meta[a]!;
      let duplicate = false;
      for (let j = g.at; j < end; j += 2) {
        if (conflicts(pa, ma, s[j]!, s[j + 1]!)) overlap(t, b, { group: g, ports: pa, meta: ma, index: a }, { group: g, ports: s[j]!, meta: s[j + 1]!, index: -1 });
        if (pa === s[j] && ma === s[j + 1]) duplicate = true;
      }
      for (let c = g.head; c !== a; c = b.next[c]!) {
        const pc = b.ports[c]!;
        if (pc < 0) continue; // a duplicate: its first copy is checked instead
        if (conflicts(pa, ma, pc, b.meta[c]!)) overlap(t, b, { group: g, ports: pa, meta: ma, index: a }, { group: g, ports: pc, meta: b.meta[c]!, index: c });
        if (pa === pc && ma === b.meta[c]) duplicate = true;
      }
      if (duplicate) b.ports[a] = -1;
    }
    return;
  }
  const all: Side[] = [];
  sides(g, s, b, true, all);
  const pair = sweep(all);
  if (pair !== undefined) overlap(t, b, pair[0], pair[1]);
  // Duplicates through a set of what is there, in input order (the first copy stays).
  const seen = new Set<string>();
  for (let j = g.at; j < end; j += 2) seen.add(`${s[j]}:${s[j + 1]}`);
  for (let a = g.head; a >= 0; a = b.next[a]!) {
    const key = `${b.ports[a]}:${b.meta[a]}`;
    if (seen.has(key)) b.ports[a] = -1;
    else seen.add(key);
  }
}

/** Checks g's new slices against every group of length `len` nesting with g's prefix. */
function checkNesting<K extends number | bigint>(
  t: CheckedTable,
  b: Batch,
  g: Group,
  len: number,
  table: Map<K, Group>,
  mask: (addr: K, len: number) => K,
): void {
  const prefix = g.prefix;
  const addr = (prefix.family === FAMILY_V4 ? prefix.v4 : prefix.v6) as K;
  if (len < prefix.len) {
    const key = mask(addr, len);
    const h = table.get(key);
    if (h !== undefined) checkPair(t, b, g, h);
    return;
  }
  // Longer prefixes inside g's. Few candidates or few groups: look each candidate up, or walk
  // the groups. Otherwise search the length's keys, sorted once per change: a bulk change
  // would else cost (its prefixes) x (groups of that length).
  const span = len - prefix.len;
  const count = table.size;
  const bits = prefix.family === FAMILY_V4 ? 32 : 128;
  if (span <= 6 && 2 ** span <= count) {
    for (let k = 0; k < 2 ** span; k++) {
      const key = (prefix.family === FAMILY_V4 ? (addr as number) + k * 2 ** (bits - len) : (addr as bigint) + (BigInt(k) << BigInt(bits - len))) as K;
      const h = table.get(key);
      if (h !== undefined) checkPair(t, b, g, h);
    }
    return;
  }
  if (count <= 64) {
    for (const h of table.values()) if (containsPrefix(prefix, h.prefix)) checkPair(t, b, g, h);
    return;
  }
  const cacheKey = prefix.family * 256 + len;
  let keys = b.sorted.get(cacheKey) as K[] | Float64Array | undefined;
  if (keys === undefined) {
    keys = prefix.family === FAMILY_V4 ? Float64Array.from(table.keys() as Iterable<number>).sort() : [...table.keys()].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0));
    b.sorted.set(cacheKey, keys as Float64Array | bigint[]);
  }
  // Keys from addr (inclusive) to the end of g's prefix (exclusive).
  const end = (prefix.family === FAMILY_V4 ? (addr as number) + 2 ** (32 - prefix.len) : (addr as bigint) + (1n << BigInt(128 - prefix.len))) as K;
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((keys[mid] as K) < addr) lo = mid + 1;
    else hi = mid;
  }
  for (let i = lo; i < keys.length && (keys[i] as K) < end; i++) checkPair(t, b, g, table.get(keys[i] as K)!);
}

/** g's new slices against every slice of h, a group whose prefix nests with g's. */
function checkPair(t: CheckedTable, b: Batch, g: Group, h: Group): void {
  const hs = t.data();
  const end = h.at + h.n * 2;
  if (g.pending * (h.pending + h.n) <= PAIRWISE_LIMIT) {
    for (let a = g.head; a >= 0; a = b.next[a]!) {
      const pa = b.ports[a]!;
      const ma = b.meta[a]!;
      if (pa < 0) continue;
      for (let j = h.at; j < end; j += 2) {
        if (conflicts(pa, ma, hs[j]!, hs[j + 1]!)) overlap(t, b, { group: g, ports: pa, meta: ma, index: a }, { group: h, ports: hs[j]!, meta: hs[j + 1]!, index: -1 });
      }
      for (let c = h.head; c >= 0; c = b.next[c]!) {
        const pc = b.ports[c]!;
        if (pc >= 0 && conflicts(pa, ma, pc, b.meta[c]!)) overlap(t, b, { group: g, ports: pa, meta: ma, index: a }, { group: h, ports: pc, meta: b.meta[c]!, index: c });
      }
    }
    return;
  }
  // Conflicts inside g or inside h were ruled out by #checkWithin: any pair found crosses.
  const all: Side[] = [];
  sides(g, hs, b, false, all);
  sides(h, hs, b, true, all);
  const pair = sweep(all);
  if (pair !== undefined) overlap(t, b, pair[0], pair[1]);
}

function overlap(t: CheckedTable, b: Batch, x: Side, y: Side): never {
  // Name the new slice first; of two new ones, the later (the one that broke the table).
  const [first, second] = y.index > x.index ? [y, x] : [x, y];
  const text = (s: Side) =>
    `${formatSlice(s.group.prefix, protoOf(s.meta), fromOf(s.ports), toOf(s.ports))} of owner '${t.names[ownerOf(s.meta)]}' (${s.index < 0 ? 'in the table' : b.where(s.index)})`;
  throw new SliceOverlapError(`Slice ${text(first)} overlaps slice ${text(second)}; slices of different owners must not cover the same packets`);
}
