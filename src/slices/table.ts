// SliceTable: where slices are decided. Owners, slices, validation (ports, prefixes, overlaps
// between owners), moves and releases, and its services (held by flow-service-set.ts and
// address-service-set.ts); compileTable (compile.ts) turns it into the native image.
import type { IPv4, IPv6 } from 'ip-num';

import { invalid, InvalidSliceError } from '../errors.js';
import { isPort } from '../fields.js';
import { FAMILY_V4, parsePrefix, type Prefix } from './address.js';
import { copyGroups, filterGroup, makeRoom, renumberOwner } from './arena.js';
import { checkBatch, link, newBatch, type Batch, type CheckedTable } from './overlaps.js';
import { checkOwnerName, normalizeOwner, unknownOwner, type OwnerCheck } from './owner.js';
import { AddressServiceSet } from './address-service-set.js';
import type { AddressService, AddressServiceSpec } from './address-services.js';
import { FlowServiceSet } from './flow-service-set.js';
import { checkFlowApart, checkServiceApart, checkSlicesApart } from './kinds-apart.js';
import type { FlowService, ServiceBackend, ServiceRebuildFrom, ServiceRebuildOptions, ServiceSpec } from './services.js';
import {
  formatSlice, fromOf, newGroup, ownerOf, parsePorts, parseProtocols, parseSelector, protoOf, sliceFail, toOf,
  type Arena, type Group, type Selector,
} from './slice.js';
import { findSlice, listSlices } from './slice-reads.js';
import type { PackedInput, TableState, V4Maps, V6Maps } from './state.js';
import type { OwnerSpec, SliceEntry, SliceSelector, SliceSpec } from './types.js';
import type { Protocol } from '../fields.js';

let stateOf: (table: SliceTable) => TableState;
let packedInto: (table: SliceTable, input: PackedInput) => void;

/** Adds packed slices to `table` (all or none), as assignMany() would the same slices as specs. */
export function assignPacked(table: SliceTable, input: PackedInput): void {
  packedInto(table, input);
}

/** The insides of `table` (compile.ts, diff.ts). */
export function tableState(table: SliceTable): TableState {
  return stateOf(table);
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
  /** How the service sets ask about owners: UnknownOwnerError names the owners there are. */
  readonly #owners: OwnerCheck = {
    isOwner: (name) => this.#ids.has(name),
    unknownOwner: (name, path) => {
      this.#ownerId(name, path);
      return invalid(path, 'an owner defined with defineOwner()', name);
    },
  };
  /** Flow-hash services (issue 15; flow-service-set.ts). */
  #services = new FlowServiceSet(this.#owners);
  /** Address-slice services (issue 16; address-service-set.ts). */
  #addressServices = new AddressServiceSet(this.#owners);
  #size = 0;
  #arena: Arena = { data: new Float64Array(0), used: 0, holes: 0 };
  /** What the overlap check (overlaps.ts) and find()/slices() (slice-reads.ts) read, always the table's current parts. */
  readonly #checked: CheckedTable = ((table: SliceTable): CheckedTable => ({
    get v4() {
      return table.#v4;
    },
    get v6() {
      return table.#v6;
    },
    data: () => table.#arena.data,
    get names() {
      return table.#names;
    },
  }))(this);

  static {
    stateOf = (t) => ({ v4: t.#v4, v6: t.#v6, names: t.#names, specs: t.#specs, uses: t.#uses, data: t.#arena.data, services: t.#services.list(), addressServices: t.#addressServices.list() });
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
    this.#addressServices.checkOwnerUnused(name);
    this.#services.checkOwnerUnused(name);
    this.#ids.delete(name);
    this.#specs.delete(name);
    this.#names[id] = undefined;
    return this;
  }

  /**
   * Adds a flow-hash service: new flows to (address, protocol, port) go to a backend (an owner of
   * this table) chosen by the flow hash through a Maglev table (issue 15). Throws
   * InvalidOptionError (a bad field, a service already in the table, rows unlike the table's
   * other services'), UnknownOwnerError (a backend that is not an owner) or SliceOverlapError (an
   * IPv6 address inside an address service's prefix, kinds-apart.ts). With `from.previous`
   * (a service's rows from another table, e.g. the one this table replaces) the rows are rebuilt
   * from those with second chance, as setServiceBackends() does, instead of fresh.
   */
  addService(spec: ServiceSpec, from?: ServiceRebuildFrom): this {
    this.#services.add(spec, from, (s) => checkFlowApart(s, this.#addressServices.list()));
    return this;
  }

  /** Removes the service of (address, protocol, port); throws InvalidOptionError when there is none. */
  removeService(address: IPv4 | IPv6, protocol: Protocol, port: number): this {
    this.#services.remove(address, protocol, port);
    return this;
  }

  /**
   * Gives the service of (address, protocol, port) a new backend list, rebuilding its rows from
   * the current ones with second chance (lb.rebuild): a row whose primary changes keeps the
   * previous primary as its secondary, so that its connections survive; a backend left out stays
   * a secondary (and an owner that cannot be removed) until `options.forget` names it. Throws
   * InvalidOptionError (no such service, a bad field) or UnknownOwnerError (a backend that is not an owner).
   */
  setServiceBackends(address: IPv4 | IPv6, protocol: Protocol, port: number, backends: readonly ServiceBackend[], options?: ServiceRebuildOptions): this {
    this.#services.setBackends(address, protocol, port, backends, options);
    return this;
  }

  /**
   * Adds an address-slice service (issue 16): `{ prefix, slices: [{ prefix, owner, secondary? }], filter? }`
   * (address-services.ts); slices cover the prefix exactly, owners are the table's. Throws
   * InvalidSliceError, InvalidOptionError or UnknownOwnerError naming the value, SliceOverlapError
   * when a port slice's prefix nests with the service's, or a flow-hash service's address lies in it
   * (kinds-apart.ts: the fast path would decide between them by its order of key kinds).
   */
  addAddressService(spec: AddressServiceSpec): this {
    this.#addressServices.add(spec, (a) => checkServiceApart(a, this.#v6, this.#arena.data, this.#names, this.#services.list()));
    return this;
  }

  /** Removes the address service of `prefix`; InvalidOptionError when there is none. */
  removeAddressService(prefix: string): this {
    this.#addressServices.remove(prefix);
    return this;
  }

  /** The address-slice services (a copy). */
  addressServices(): AddressService[] {
    return this.#addressServices.list();
  }

  /** The flow-hash services, each with its backends in canonical order (a copy). */
  services(): FlowService[] {
    return this.#services.list();
  }

  /**
   * Adds one slice. Throws InvalidSliceError (bad destination, protocols or ports),
   * UnknownOwnerError, or SliceOverlapError naming both slices and both owners (or the slice and
   * the address service whose prefix nests with its destination: kinds-apart.ts).
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
      checkBatch(this.#checked, b, touched);
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
    renumberOwner([this.#v4, this.#v6], this.#arena.data, a, b);
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
    return findSlice(this.#checked, destination, protocol, port);
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
  slices(): IterableIterator<SliceEntry> {
    return listSlices(this.#checked);
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
    t.#v4 = this.#v4.map(copyGroups);
    t.#v6 = this.#v6.map(copyGroups);
    t.#names = this.#names.slice();
    t.#ids = new Map(this.#ids);
    t.#specs = new Map(this.#specs);
    t.#uses = this.#uses.slice();
    t.#services = new FlowServiceSet(t.#owners, this.#services);
    t.#addressServices = new AddressServiceSet(t.#owners, this.#addressServices);
    t.#size = this.#size;
    t.#arena = { data: this.#arena.data.slice(0, this.#arena.used), used: this.#arena.used, holes: this.#arena.holes };
    return t;
  }

  #ownerId(name: unknown, path: string): number {
    const id = typeof name === 'string' ? this.#ids.get(name) : undefined;
    if (id !== undefined) return id;
    if (typeof name !== 'string') sliceFail(path, 'an owner name', name);
    return unknownOwner([...this.#ids.keys()], name, path);
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
      if (this.#addressServices.size > 0) checkSlicesApart(created, b, this.#addressServices.list(), this.#names);
      checkBatch(this.#checked, b, touched);
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
      if (this.#addressServices.size > 0) checkSlicesApart(created, b, this.#addressServices.list(), this.#names);
      checkBatch(this.#checked, b, touched);
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

  /** Stores every new slice not marked a duplicate. */
  #commit(b: Batch, touched: Group[]): void {
    this.#arena = makeRoom(this.#arena, [this.#v4, this.#v6], touched);
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
}
