// SliceTable: where slices are decided. Owners, slices, validation (ports, prefixes, overlaps
// between owners), moves and releases; compileTable (compile.ts) turns it into the native image.
import type { IPv4, IPv6 } from 'ip-num';

import { describe, invalid, InvalidSliceError, SliceOverlapError, UnknownOwnerError } from '../errors.js';
import { isAddress, isIPv4 } from '../ip.js';
import { isPort } from '../fields.js';
import { containsPrefix, FAMILY_V4, FAMILY_V6, mask4, mask6, parsePrefix, toDestination, type Prefix } from './address.js';
import { checkOwnerName, normalizeOwner } from './owner.js';
import {
  formatSlice, fromOf, newGroup, ownerOf, parsePorts, parseProtocols, parseSelector, protocolNames, protoOf, sliceFail, toOf,
  type Arena, type Group, type Selector,
} from './slice.js';
import type { OwnerSpec, SliceEntry, SliceSelector, SliceSpec } from './types.js';
import type { Protocol } from '../fields.js';

type V4Maps = (Map<number, Group> | undefined)[];
type V6Maps = (Map<bigint, Group> | undefined)[];

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
}

let stateOf: (table: SliceTable) => TableState;
let packedInto: (table: SliceTable, input: PackedInput) => void;

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

/** Adds packed slices to `table` (all or none), as assignMany() would the same slices as specs. */
export function assignPacked(table: SliceTable, input: PackedInput): void {
  packedInto(table, input);
}

/** The insides of `table` (compile.ts, diff.ts). */
export function tableState(table: SliceTable): TableState {
  return stateOf(table);
}

/**
 * Every group of one family in a fixed order, by address and then prefix length (so a prefix
 * comes right before the prefixes inside it): equal tables give equal images whatever order
 * their slices were assigned in.
 */
export function sortedGroups(state: TableState, family: number): Group[] {
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
interface Batch {
  ports: Float64Array;
  meta: Float64Array;
  next: Int32Array;
  /** Where slice i came from, for messages: "slices[3]", "being assigned", "selector, moved to 'b'". */
  where: (i: number) => string;
  /** Group keys of one family and length, sorted, for finding nested prefixes (family * 256 + length). */
  sorted: Map<number, Float64Array | bigint[]>;
}

function newBatch(size: number, where: (i: number) => string): Batch {
  return { ports: new Float64Array(size), meta: new Float64Array(size), next: new Int32Array(size).fill(-1), where, sorted: new Map() };
}

function link(b: Batch, g: Group, i: number, touched: Group[]): void {
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

/** Keeps, in place, the slices of `g` at whose offset (into the arena) `keep` holds. */
function filterGroup(g: Group, d: Float64Array, keep: (offset: number) => boolean): void {
  let to = g.at;
  for (let i = g.at; i < g.at + g.n * 2; i += 2) {
    if (!keep(i)) continue;
    d[to++] = d[i]!;
    d[to++] = d[i + 1]!;
  }
  g.n = (to - g.at) / 2;
}

/**
 * A table of slices: (destination prefix, protocol set, inclusive port range) -> owner name.
 * Slices of different owners never overlap (their prefixes nest, protocols meet and ports meet);
 * slices of one owner may. Every change is checked whole and applied whole, or not at all.
 */
export class SliceTable {
  // Built for a million slices: prefixes in per-length maps (IPv4 keyed by a uint32 number),
  // each prefix's slices as number pairs in one table-wide Float64Array, the arena (slice.ts).
  #v4: V4Maps = new Array<Map<number, Group> | undefined>(33).fill(undefined);
  #v6: V6Maps = new Array<Map<bigint, Group> | undefined>(129).fill(undefined);
  #names: (string | undefined)[] = [];
  #ids = new Map<string, number>();
  #specs = new Map<string, OwnerSpec>();
  #uses: number[] = [];
  #size = 0;
  #arena: Arena = { data: new Float64Array(0), used: 0, holes: 0 };

  static {
    stateOf = (t) => ({ v4: t.#v4, v6: t.#v6, names: t.#names, specs: t.#specs, uses: t.#uses, data: t.#arena.data });
    packedInto = (t, input) => t.#assignPacked(input);
  }

  /** Defines owner `name`, or replaces its definition (its slices follow the new one). */
  defineOwner(name: string, spec: OwnerSpec): this {
    const n = checkOwnerName(name, 'name');
    const normalized = normalizeOwner(spec, `owners['${n}']`);
    if (normalized.kind !== 'local' && normalized.fallback === n) invalid(`owners['${n}'].fallback`, 'another owner than the owner itself', n);
    if (!this.#ids.has(n)) {
      this.#ids.set(n, this.#names.length);
      this.#names.push(n);
      this.#uses.push(0);
    }
    this.#specs.set(n, normalized);
    return this;
  }

  /** Removes owner `name`; refused while slices still belong to it. */
  removeOwner(name: string): this {
    if (typeof name !== 'string') invalid('name', 'an owner name', name);
    const id = this.#ownerId(name, 'name');
    const uses = this.#uses[id]!;
    if (uses > 0) invalid('name', `an owner no slice belongs to (${uses} slice${uses === 1 ? ' belongs' : 's belong'} to it: move or release them first)`, name);
    this.#ids.delete(name);
    this.#specs.delete(name);
    this.#names[id] = undefined;
    return this;
  }

  /**
   * Adds one slice. Throws InvalidSliceError (bad destination, protocols or ports),
   * UnknownOwnerError, or SliceOverlapError naming both slices and both owners.
   */
  assign(slice: SliceSpec): this {
    this.#assign([slice], true);
    return this;
  }

  /** Adds many slices with the checks of assign(), all or none; the fast path for big tables. */
  assignMany(slices: Iterable<SliceSpec>): this {
    if (slices === null || typeof slices !== 'object' || typeof (slices as Iterable<unknown>)[Symbol.iterator] !== 'function') {
      invalid('slices', 'an iterable of slice specs', slices);
    }
    this.#assign(slices, false);
    return this;
  }

  /**
   * Gives the slices `selector` matches to `newOwner`. Throws InvalidSliceError if none matches,
   * UnknownOwnerError, or SliceOverlapError if they would overlap another owner's slices.
   */
  move(selector: SliceSelector, newOwner: string): this {
    const sel = parseSelector(selector, 'selector');
    const id = this.#ownerId(newOwner, 'newOwner');
    const { g, offsets: matched } = this.#match(sel);
    const d = this.#arena.data;
    const saved = d.slice(g.at, g.at + g.n * 2);
    const savedN = g.n;
    const b = newBatch(matched.length, () => `selector, moved to '${newOwner}'`);
    const touched: Group[] = [];
    const oldOwners = matched.map((offset) => ownerOf(d[offset + 1]!));
    matched.forEach((offset, i) => {
      b.ports[i] = d[offset]!;
      b.meta[i] = id * 4 + protoOf(d[offset + 1]!);
      link(b, g, i, touched);
    });
    const gone = new Set(matched);
    filterGroup(g, d, (offset) => !gone.has(offset));
    try {
      this.#check(b, touched);
    } catch (error) {
      d.set(saved, g.at);
      g.n = savedN;
      g.head = g.tail = -1;
      g.pending = 0;
      throw error;
    }
    try {
      for (const owner of oldOwners) {
        this.#uses[owner]!--;
        this.#size--;
      }
      this.#commit(b, touched);
    } finally {
      g.head = g.tail = -1;
      g.pending = 0;
    }
    return this;
  }

  /**
   * Gives every slice of owner `from` to owner `to`; `from` stays defined, with no slice. Never
   * an overlap: slices of different owners never overlap, and one owner's may. One pass over
   * the table, whatever its size: what a router does while an owner is down (its fallback).
   */
  moveOwner(from: string, to: string): this {
    const a = this.#ownerId(from, 'from');
    const b = this.#ownerId(to, 'to');
    if (a === b || this.#uses[a] === 0) return this;
    const d = this.#arena.data;
    for (const maps of [this.#v4, this.#v6] as (Map<unknown, Group> | undefined)[][]) {
      for (const map of maps) {
        if (map === undefined) continue;
        for (const g of map.values()) {
          for (let i = g.at + 1; i < g.at + g.n * 2; i += 2) if (ownerOf(d[i]!) === a) d[i] = b * 4 + protoOf(d[i]!);
        }
      }
    }
    this.#uses[b]! += this.#uses[a]!;
    this.#uses[a] = 0;
    return this;
  }

  /** Removes the slices `selector` matches; throws InvalidSliceError if none matches. */
  release(selector: SliceSelector): this {
    const sel = parseSelector(selector, 'selector');
    const { g, offsets } = this.#match(sel);
    const d = this.#arena.data;
    const gone = new Set(offsets);
    for (const offset of gone) {
      this.#uses[ownerOf(d[offset + 1]!)]!--;
      this.#size--;
    }
    filterGroup(g, d, (offset) => !gone.has(offset));
    if (g.n === 0) {
      this.#remove(g.prefix);
      this.#arena.holes += g.cap * 2;
    }
    return this;
  }

  /**
   * The owner of packets to `destination`, `protocol`, `port`, or undefined: the reference for
   * what the compiled image answers (longest prefix first, then the range holding the port).
   */
  lookup(destination: IPv4 | IPv6, protocol: Protocol, port: number): string | undefined {
    return this.find(destination, protocol, port)?.owner;
  }

  /** The slice that decides packets to `destination`, `protocol`, `port` (as lookup()), or undefined. */
  find(destination: IPv4 | IPv6, protocol: Protocol, port: number): SliceEntry | undefined {
    if (!isAddress(destination)) invalid('destination', 'an ip-num IPv4 or IPv6 address', destination);
    if (protocol !== 'tcp' && protocol !== 'udp') invalid('protocol', "'tcp' or 'udp'", protocol);
    if (!isPort(port)) invalid('port', 'a port from 0 to 65535', port);
    const bit = protocol === 'tcp' ? 1 : 2;
    const v4 = isIPv4(destination);
    const addr4 = v4 ? Number(destination.getValue()) : 0;
    const addr6 = v4 ? 0n : destination.getValue();
    for (let len = v4 ? 32 : 128; len >= 0; len--) {
      const g = v4 ? this.#v4[len]?.get(mask4(addr4, len)) : this.#v6[len]?.get(mask6(addr6, len));
      if (g === undefined) continue;
      const d = this.#arena.data;
      for (let i = g.at; i < g.at + g.n * 2; i += 2) {
        const ports = d[i]!;
        const meta = d[i + 1]!;
        if ((meta & bit) !== 0 && fromOf(ports) <= port && port <= toOf(ports)) {
          return { destination: toDestination(g.prefix), protocols: protocolNames(protoOf(meta)), ports: { from: fromOf(ports), to: toOf(ports) }, owner: this.#names[ownerOf(meta)]! };
        }
      }
    }
    return undefined;
  }

  /** How many slices each owner holds, owners without slices included. */
  sliceCounts(): Map<string, number> {
    const out = new Map<string, number>();
    this.#names.forEach((name, id) => {
      if (name !== undefined) out.set(name, this.#uses[id]!);
    });
    return out;
  }

  /** Every slice with its owner: IPv4 then IPv6, by address, a prefix before the prefixes inside it. */
  *slices(): IterableIterator<SliceEntry> {
    const state = stateOf(this);
    for (const family of [FAMILY_V4, FAMILY_V6]) {
      for (const g of sortedGroups(state, family)) {
        const destination = toDestination(g.prefix);
        for (let i = g.at; i < g.at + g.n * 2; i += 2) {
          const d = this.#arena.data;
          const ports = d[i]!;
          const meta = d[i + 1]!;
          yield { destination, protocols: protocolNames(protoOf(meta)), ports: { from: fromOf(ports), to: toOf(ports) }, owner: this.#names[ownerOf(meta)]! };
        }
      }
    }
  }

  /** The definition of owner `name`, defaults filled in, or undefined. */
  ownerSpec(name: string): OwnerSpec | undefined {
    return this.#specs.get(name);
  }

  /** Owner names and their specs, defaults filled in (a copy). */
  owners(): ReadonlyMap<string, OwnerSpec> {
    return new Map(this.#specs);
  }

  /** How many slices the table holds (exact duplicates of one owner count once). */
  get size(): number {
    return this.#size;
  }

  /** An independent copy. */
  clone(): SliceTable {
    const t = new SliceTable();
    const copy = <K>(m: Map<K, Group> | undefined) => {
      if (m === undefined) return undefined;
      const out = new Map<K, Group>();
      for (const [k, g] of m) out.set(k, { ...newGroup(g.prefix), at: g.at, cap: g.cap, n: g.n });
      return out;
    };
    t.#v4 = this.#v4.map(copy);
    t.#v6 = this.#v6.map(copy);
    t.#names = this.#names.slice();
    t.#ids = new Map(this.#ids);
    t.#specs = new Map(this.#specs);
    t.#uses = this.#uses.slice();
    t.#size = this.#size;
    t.#arena = { data: this.#arena.data.slice(0, this.#arena.used), used: this.#arena.used, holes: this.#arena.holes };
    return t;
  }

  #ownerId(name: unknown, path: string): number {
    const id = typeof name === 'string' ? this.#ids.get(name) : undefined;
    if (id !== undefined) return id;
    if (typeof name !== 'string') sliceFail(path, 'an owner name', name);
    const known = [...this.#ids.keys()];
    const list = known.length === 0 ? 'none defined yet' : `known: ${known.slice(0, 10).join(', ')}${known.length > 10 ? ', ...' : ''}`;
    throw new UnknownOwnerError(`Expected an owner defined with defineOwner() (${list}) for ${path} but received ${describe(name)}`);
  }

  #find(p: Prefix): Group | undefined {
    return p.family === FAMILY_V4 ? this.#v4[p.len]?.get(p.v4) : this.#v6[p.len]?.get(p.v6);
  }

  #remove(p: Prefix): void {
    if (p.family === FAMILY_V4) this.#v4[p.len]?.delete(p.v4);
    else this.#v6[p.len]?.delete(p.v6);
  }

  /** The group of `sel` and the arena offsets of the slices `sel` picks; throws InvalidSliceError when none. */
  #match(sel: Selector): { g: Group; offsets: number[] } {
    const g = this.#find(sel.prefix);
    const offsets: number[] = [];
    if (g !== undefined) {
      const d = this.#arena.data;
      for (let i = g.at; i < g.at + g.n * 2; i += 2) {
        if (d[i] === sel.ports && (sel.bits === undefined || protoOf(d[i + 1]!) === sel.bits)) offsets.push(i);
      }
    }
    if (g === undefined || offsets.length === 0) {
      const text = formatSlice(sel.prefix, sel.bits ?? 3, fromOf(sel.ports), toOf(sel.ports));
      throw new InvalidSliceError(
        `Expected a slice of the table for selector but received ${text}${sel.bits === undefined ? ' (any protocols)' : ''}, which matches none`,
      );
    }
    return { g, offsets };
  }

  /** The group of `p`, filed right away (and listed in `created`) when new. */
  #groupFor(p: Prefix, created: Group[]): Group {
    let group = this.#find(p);
    if (group === undefined) {
      // Filed right away, empty, so that later slices and the checks find it; taken out again
      // if the change fails.
      group = newGroup(p);
      if (p.family === FAMILY_V4) (this.#v4[p.len] ??= new Map()).set(p.v4, group);
      else (this.#v6[p.len] ??= new Map()).set(p.v6, group);
      created.push(group);
    }
    return group;
  }

  #assignPacked(input: PackedInput): void {
    let n = 0;
    for (const run of input.runs) n += run.end - run.first;
    const b = newBatch(n, (i) => `slices[${i}]`);
    const ids = input.names.map((name) => this.#ownerId(name, 'owner'));
    const touched: Group[] = [];
    const created: Group[] = [];
    const { ports, bits, owners } = input;
    try {
      let i = 0;
      for (const run of input.runs) {
        const group = this.#groupFor(run.prefix, created);
        for (let k = run.first; k < run.end; k++, i++) {
          b.ports[i] = ports[k]!;
          b.meta[i] = ids[owners[k]!]! * 4 + bits[k]!;
          link(b, group, i, touched);
        }
      }
      this.#check(b, touched);
      this.#commit(b, touched);
      created.length = 0;
    } finally {
      for (const g of created) this.#remove(g.prefix);
      for (const g of touched) {
        g.head = g.tail = -1;
        g.pending = 0;
      }
    }
  }

  #assign(input: Iterable<unknown>, single: boolean): void {
    const at = (i: number) => (single ? 'slice' : `slices[${i}]`);
    const list = Array.isArray(input) ? input : [...input];
    const b = newBatch(list.length, single ? () => 'being assigned' : at);
    const touched: Group[] = [];
    const created: Group[] = [];
    const ids = this.#ids;
    let lastDest: unknown = undefined;
    let group: Group | undefined;

    try {
      // One loop with everything in locals: this is the path a million slices take.
      for (let i = 0; i < list.length; i++) {
        const spec: unknown = list[i];
        if (typeof spec !== 'object' || spec === null) sliceFail(at(i), 'a slice spec { destination, protocols?, ports, owner }', spec);
        const s = spec as Record<string, unknown>;
        for (const key in s) {
          if (key !== 'destination' && key !== 'protocols' && key !== 'ports' && key !== 'owner') {
            sliceFail(`${at(i)}.${key}`, 'no such option (destination, protocols, ports, owner)', s[key]);
          }
        }
        // Slices come in runs per destination (an address split into port slices): parse the
        // destination object once per run.
        const dest = s.destination;
        if (dest !== lastDest || group === undefined) {
          group = this.#groupFor(parsePrefix(dest, `${at(i)}.destination`, sliceFail), created);
          lastDest = dest;
        }
        const protocols = s.protocols;
        const bits = protocols === undefined ? 3 : parseProtocols(protocols, `${at(i)}.protocols`);
        const value = s.ports;
        let ports: number;
        if (typeof value === 'object' && value !== null) {
          const { from, to } = value as { from: unknown; to: unknown };
          ports = isPort(from) && isPort(to) && from <= to ? from * 65536 + to : parsePorts(value, `${at(i)}.ports`);
        } else {
          ports = parsePorts(value, `${at(i)}.ports`);
        }
        const owner = s.owner;
        let id = typeof owner === 'string' ? ids.get(owner) : undefined;
        if (id === undefined) id = this.#ownerId(owner, `${at(i)}.owner`);
        b.ports[i] = ports;
        b.meta[i] = id * 4 + bits;
        link(b, group, i, touched);
      }
      this.#check(b, touched);
      this.#commit(b, touched);
      created.length = 0;
    } finally {
      for (const g of created) this.#remove(g.prefix);
      for (const g of touched) {
        g.head = g.tail = -1;
        g.pending = 0;
      }
    }
  }

  /** Throws SliceOverlapError if a slice of batch `b` overlaps a slice (new or not) of another owner. */
  #check(b: Batch, touched: Group[]): void {
    for (const g of touched) this.#checkWithin(b, g);
    const lens4: number[] = [];
    const lens6: number[] = [];
    for (let len = 0; len <= 32; len++) if (this.#v4[len]?.size) lens4.push(len);
    for (let len = 0; len <= 128; len++) if (this.#v6[len]?.size) lens6.push(len);
    for (const g of touched) {
      const v4 = g.prefix.family === FAMILY_V4;
      for (const len of v4 ? lens4 : lens6) {
        if (len === g.prefix.len) continue;
        if (v4) this.#checkNesting(b, g, len, this.#v4[len]!, mask4);
        else this.#checkNesting(b, g, len, this.#v6[len]!, mask6);
      }
    }
  }

  /**
   * Checks g's new slices against g's other slices, and marks exact duplicates (ports -1) so
   * that they are stored once. Small groups pairwise; big ones by sorting.
   */
  #checkWithin(b: Batch, g: Group): void {
    const s = this.#arena.data;
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
          if (conflicts(pa, ma, s[j]!, s[j + 1]!)) this.#overlap(b, { group: g, ports: pa, meta: ma, index: a }, { group: g, ports: s[j]!, meta: s[j + 1]!, index: -1 });
          if (pa === s[j] && ma === s[j + 1]) duplicate = true;
        }
        for (let c = g.head; c !== a; c = b.next[c]!) {
          const pc = b.ports[c]!;
          if (pc < 0) continue; // a duplicate: its first copy is checked instead
          if (conflicts(pa, ma, pc, b.meta[c]!)) this.#overlap(b, { group: g, ports: pa, meta: ma, index: a }, { group: g, ports: pc, meta: b.meta[c]!, index: c });
          if (pa === pc && ma === b.meta[c]) duplicate = true;
        }
        if (duplicate) b.ports[a] = -1;
      }
      return;
    }
    const all: Side[] = [];
    sides(g, s, b, true, all);
    const pair = sweep(all);
    if (pair !== undefined) this.#overlap(b, pair[0], pair[1]);
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
  #checkNesting<K extends number | bigint>(
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
      if (h !== undefined) this.#checkPair(b, g, h);
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
        if (h !== undefined) this.#checkPair(b, g, h);
      }
      return;
    }
    if (count <= 64) {
      for (const h of table.values()) if (containsPrefix(prefix, h.prefix)) this.#checkPair(b, g, h);
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
    for (let i = lo; i < keys.length && (keys[i] as K) < end; i++) this.#checkPair(b, g, table.get(keys[i] as K)!);
  }

  /** g's new slices against every slice of h, a group whose prefix nests with g's. */
  #checkPair(b: Batch, g: Group, h: Group): void {
    const hs = this.#arena.data;
    const end = h.at + h.n * 2;
    if (g.pending * (h.pending + h.n) <= PAIRWISE_LIMIT) {
      for (let a = g.head; a >= 0; a = b.next[a]!) {
        const pa = b.ports[a]!;
        const ma = b.meta[a]!;
        if (pa < 0) continue;
        for (let j = h.at; j < end; j += 2) {
          if (conflicts(pa, ma, hs[j]!, hs[j + 1]!)) this.#overlap(b, { group: g, ports: pa, meta: ma, index: a }, { group: h, ports: hs[j]!, meta: hs[j + 1]!, index: -1 });
        }
        for (let c = h.head; c >= 0; c = b.next[c]!) {
          const pc = b.ports[c]!;
          if (pc >= 0 && conflicts(pa, ma, pc, b.meta[c]!)) this.#overlap(b, { group: g, ports: pa, meta: ma, index: a }, { group: h, ports: pc, meta: b.meta[c]!, index: c });
        }
      }
      return;
    }
    // Conflicts inside g or inside h were ruled out by #checkWithin: any pair found crosses.
    const all: Side[] = [];
    sides(g, hs, b, false, all);
    sides(h, hs, b, true, all);
    const pair = sweep(all);
    if (pair !== undefined) this.#overlap(b, pair[0], pair[1]);
  }

  #overlap(b: Batch, x: Side, y: Side): never {
    // Name the new slice first; of two new ones, the later (the one that broke the table).
    const [first, second] = y.index > x.index ? [y, x] : [x, y];
    const text = (s: Side) =>
      `${formatSlice(s.group.prefix, protoOf(s.meta), fromOf(s.ports), toOf(s.ports))} of owner '${this.#names[ownerOf(s.meta)]}' (${s.index < 0 ? 'in the table' : b.where(s.index)})`;
    throw new SliceOverlapError(`Slice ${text(first)} overlaps slice ${text(second)}; slices of different owners must not cover the same packets`);
  }

  /** Stores every new slice not marked a duplicate. */
  #commit(b: Batch, touched: Group[]): void {
    this.#makeRoom(touched);
    const d = this.#arena.data;
    for (const g of touched) {
      let at = g.at + g.n * 2;
      for (let a = g.head; a >= 0; a = b.next[a]!) {
        const ports = b.ports[a]!;
        if (ports < 0) continue;
        const meta = b.meta[a]!;
        d[at++] = ports;
        d[at++] = meta;
        this.#uses[ownerOf(meta)]!++;
      }
      const added = (at - g.at) / 2 - g.n;
      g.n += added;
      this.#size += added;
    }
  }

  /**
   * Gives every touched group room for its pending slices. A group that outgrows its place moves
   * to the arena's end (new groups with exactly their size, growing ones doubling, so appends
   * stay amortized O(1)); the arena itself doubles, dropping abandoned places when it does.
   */
  #makeRoom(touched: Group[]): void {
    const arena = this.#arena;
    const newCap = (g: Group) => (g.n === 0 ? g.n + g.pending : Math.max(g.n + g.pending, g.cap * 2));
    let extra = 0;
    for (const g of touched) if (g.n + g.pending > g.cap) extra += newCap(g) * 2;
    if (arena.used + extra > arena.data.length) {
      const live = arena.used - arena.holes;
      // Twice what is live, so that growing stays amortized; a first big assign gets its size.
      const data = new Float64Array(Math.max(live + extra, 2 * live, 1024));
      let used = 0;
      for (const maps of [this.#v4, this.#v6] as (Map<unknown, Group> | undefined)[][]) {
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
      this.#arena = { data, used, holes: 0 };
    }
    const a = this.#arena;
    for (const g of touched) {
      if (g.n + g.pending <= g.cap) continue;
      const cap = newCap(g);
      a.data.copyWithin(a.used, g.at, g.at + g.n * 2);
      a.holes += g.cap * 2;
      g.at = a.used;
      g.cap = cap;
      a.used += cap * 2;
    }
  }
}
