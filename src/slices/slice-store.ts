// SliceStore: the port slices of one SliceTable (table.ts): prefixes in per-length maps, each prefix's slices
// in one table-wide arena (slice.ts, arena.ts); adds (the bulk loop), moves and releases, each checked whole
// (overlaps.ts) and applied whole. Owners are ids of the table's OwnerBook (owner-book.ts), which it counts into.
import { InvalidSliceError } from '../errors.js';
import { isPort } from '../fields.js';
import { FAMILY_V4, parsePrefix, type Prefix } from './address.js';
import { copyGroups, filterGroup, makeRoom, renumberOwner } from './arena.js';
import { checkBatch, link, newBatch, type Batch, type CheckedTable } from './overlaps.js';
import type { OwnerBook } from './owner-book.js';
import {
  formatSlice, fromOf, newGroup, ownerOf, parsePorts, parseProtocols, protoOf, sliceFail, toOf,
  type Arena, type Group, type Selector,
} from './slice.js';
import type { PackedInput, V4Maps, V6Maps } from './state.js';

/** The table's check of a change's new prefixes against its other key kinds (kinds-apart.ts); throws to refuse. */
export type Apart = (created: readonly Group[], b: Batch) => void;

/** A table's slices; a copy (`from`, with the copy's `book`) is independent of its original. */
export class SliceStore {
  // Built for a million slices: IPv4 prefixes keyed by a uint32 number, each prefix's slices as
  // number pairs in one Float64Array, no object per slice.
  #v4: V4Maps;
  #v6: V6Maps;
  #arena: Arena;
  #size: number;
  readonly #book: OwnerBook;
  readonly #apart: Apart;
  /** What the overlap check (overlaps.ts) and find()/slices() (slice-reads.ts) read, always the current parts. */
  readonly checked: CheckedTable;

  constructor(book: OwnerBook, apart: Apart, from?: SliceStore) {
    this.#book = book;
    this.#apart = apart;
    this.#v4 = from === undefined ? new Array<Map<number, Group> | undefined>(33).fill(undefined) : from.#v4.map(copyGroups);
    this.#v6 = from === undefined ? new Array<Map<bigint, Group> | undefined>(129).fill(undefined) : from.#v6.map(copyGroups);
    const a = from === undefined ? undefined : from.#arena;
    this.#arena = a === undefined ? { data: new Float64Array(0), used: 0, holes: 0 } : { data: a.data.slice(0, a.used), used: a.used, holes: a.holes };
    this.#size = from === undefined ? 0 : from.#size;
    this.checked = ((s: SliceStore): CheckedTable => ({
      get v4() {
        return s.#v4;
      },
      get v6() {
        return s.#v6;
      },
      data: () => s.#arena.data,
      get names() {
        return book.names;
      },
    }))(this);
  }

  get v4(): V4Maps {
    return this.#v4;
  }

  get v6(): V6Maps {
    return this.#v6;
  }

  /** The arena's numbers (replaced when it grows: read anew after every change). */
  get data(): Float64Array {
    return this.#arena.data;
  }

  /** How many slices the store holds (exact duplicates of one owner count once). */
  get size(): number {
    return this.#size;
  }

  /** SliceTable.move(): the slices `sel` matches to owner id `id` (`owner` names it in messages). */
  move(sel: Selector, id: number, owner: string): void {
    const { g, offsets: matched } = this.#match(sel);
    const d = this.#arena.data;
    const saved = d.slice(g.at, g.at + g.n * 2);
    const savedN = g.n;
    const b = newBatch(matched.length, () => `selector, moved to '${owner}'`);
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
      checkBatch(this.checked, b, touched);
    } catch (error) {
      d.set(saved, g.at);
      g.n = savedN;
      g.head = g.tail = -1;
      g.pending = 0;
      throw error;
    }
    try {
      for (const o of oldOwners) {
        this.#book.uses[o]!--;
        this.#size--;
      }
      this.#commit(b, touched);
    } finally {
      g.head = g.tail = -1;
      g.pending = 0;
    }
  }

  /** SliceTable.moveOwner(): every slice of owner id `from` to `to`, one pass over the arena. */
  moveOwner(from: number, to: number): void {
    const uses = this.#book.uses;
    if (from === to || uses[from] === 0) return;
    renumberOwner([this.#v4, this.#v6], this.#arena.data, from, to);
    uses[to]! += uses[from]!;
    uses[from] = 0;
  }

  /** SliceTable.release(): removes the slices `sel` matches. */
  release(sel: Selector): void {
    const { g, offsets } = this.#match(sel);
    const d = this.#arena.data;
    const gone = new Set(offsets);
    for (const offset of gone) {
      this.#book.uses[ownerOf(d[offset + 1]!)]!--;
      this.#size--;
    }
    filterGroup(g, d, (offset) => !gone.has(offset));
    if (g.n === 0) {
      this.#remove(g.prefix);
      this.#arena.holes += g.cap * 2;
    }
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

  /** assignPacked() (table.ts): slices already parsed, all or none. */
  assignPacked(input: PackedInput): void {
    let n = 0;
    for (const run of input.runs) n += run.end - run.first;
    const b = newBatch(n, (i) => `slices[${i}]`);
    const ids = input.names.map((name) => this.#book.id(name, 'owner'));
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
      this.#check(b, touched, created);
    } finally {
      this.#undo(touched, created);
    }
  }

  /** SliceTable.assign() (`single`) and assignMany(): specs parsed and checked, all or none. */
  assign(input: Iterable<unknown>, single: boolean): void {
    const at = (i: number) => (single ? 'slice' : `slices[${i}]`);
    const list = Array.isArray(input) ? input : [...input];
    const b = newBatch(list.length, single ? () => 'being assigned' : at);
    const touched: Group[] = [];
    const created: Group[] = [];
    const ids = this.#book.ids;
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
        if (id === undefined) id = this.#book.id(owner, `${at(i)}.owner`);
        b.ports[i] = ports;
        b.meta[i] = id * 4 + bits;
        link(b, group, i, touched);
      }
      this.#check(b, touched, created);
    } finally {
      this.#undo(touched, created);
    }
  }

  /** Checks a linked batch (other kinds, then overlaps) and stores it; `created` emptied once stored. */
  #check(b: Batch, touched: Group[], created: Group[]): void {
    this.#apart(created, b);
    checkBatch(this.checked, b, touched);
    this.#commit(b, touched);
    created.length = 0;
  }

  /** After a change, stored or not: groups it filed and did not keep taken out, nothing pending. */
  #undo(touched: readonly Group[], created: readonly Group[]): void {
    for (const g of created) this.#remove(g.prefix);
    for (const g of touched) {
      g.head = g.tail = -1;
      g.pending = 0;
    }
  }

  /** Stores every new slice not marked a duplicate. */
  #commit(b: Batch, touched: Group[]): void {
    this.#arena = makeRoom(this.#arena, [this.#v4, this.#v6], touched);
    const d = this.#arena.data;
    const uses = this.#book.uses;
    for (const g of touched) {
      let at = g.at + g.n * 2;
      for (let a = g.head; a >= 0; a = b.next[a]!) {
        const ports = b.ports[a]!;
        if (ports < 0) continue;
        const meta = b.meta[a]!;
        d[at++] = ports;
        d[at++] = meta;
        uses[ownerOf(meta)]!++;
      }
      const added = (at - g.at) / 2 - g.n;
      g.n += added;
      this.#size += added;
    }
  }
}
