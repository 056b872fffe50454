// SliceTable: where slices are decided. Its public API over three parts: the owners (owner-book.ts), the
// port slices (slice-store.ts: prefixes, arena, overlap checks, moves and releases) and its services
// (flow-service-set.ts, address-service-set.ts), kept apart (kinds-apart.ts); compileTable (compile.ts) turns it into the native image.
import type { IPv4, IPv6 } from 'ip-num';

import { invalid } from '../errors.js';
import { AddressServiceSet } from './address-service-set.js';
import type { AddressService, AddressServiceSpec } from './address-services.js';
import { FlowServiceSet } from './flow-service-set.js';
import { checkFlowApart, checkServiceApart, checkSlicesApart } from './kinds-apart.js';
import { OwnerBook } from './owner-book.js';
import type { FlowService, ServiceBackend, ServiceRebuildFrom, ServiceRebuildOptions, ServiceSpec } from './services.js';
import { parseSelector } from './slice.js';
import { findSlice, listSlices } from './slice-reads.js';
import { SliceStore, type Apart } from './slice-store.js';
import type { PackedInput, TableState } from './state.js';
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
  #book = new OwnerBook();
  /** New prefixes of port slices against the address services (kinds-apart.ts): nothing to do without services. */
  readonly #apart: Apart = (created, b) => {
    if (this.#addressServices.size > 0) checkSlicesApart(created, b, this.#addressServices.list(), this.#book.names);
  };
  #store = new SliceStore(this.#book, this.#apart);
  /** Flow-hash services (issue 15; flow-service-set.ts). */
  #services = new FlowServiceSet(this.#book.check);
  /** Address-slice services (issue 16; address-service-set.ts). */
  #addressServices = new AddressServiceSet(this.#book.check);

  static {
    stateOf = (t) => {
      const { v4, v6, data } = t.#store;
      const { names, specs, uses } = t.#book;
      return { v4, v6, names, specs, uses, data, services: t.#services.list(), addressServices: t.#addressServices.list() };
    };
    packedInto = (t, input) => t.#store.assignPacked(input);
  }

  /** Defines owner `name`, or replaces its definition (its slices follow the new one). */
  defineOwner(name: string, spec: OwnerSpec): this {
    this.#book.define(name, spec);
    return this;
  }

  /** Removes owner `name`; refused while slices still belong to it. */
  removeOwner(name: string): this {
    if (typeof name !== 'string') invalid('name', 'an owner name', name);
    const id = this.#book.id(name, 'name');
    const uses = this.#book.uses[id]!;
    if (uses > 0) invalid('name', `an owner no slice belongs to (${uses} slice${uses === 1 ? ' belongs' : 's belong'} to it: move or release them first)`, name);
    this.#addressServices.checkOwnerUnused(name);
    this.#services.checkOwnerUnused(name);
    this.#book.forget(name, id);
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
    this.#addressServices.add(spec, (a) => checkServiceApart(a, this.#store.v6, this.#store.data, this.#book.names, this.#services.list()));
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
    this.#store.assign([slice], true);
    return this;
  }

  /** Adds many slices with the checks of assign(), all or none; the fast path for big tables. */
  assignMany(slices: Iterable<SliceSpec>): this {
    if (slices === null || typeof slices !== 'object' || typeof (slices as Iterable<unknown>)[Symbol.iterator] !== 'function') {
      invalid('slices', 'an iterable of slice specs', slices);
    }
    this.#store.assign(slices, false);
    return this;
  }

  /**
   * Gives the slices `selector` matches to `newOwner`. Throws InvalidSliceError if none matches,
   * UnknownOwnerError, or SliceOverlapError if they would overlap another owner's slices.
   */
  move(selector: SliceSelector, newOwner: string): this {
    const sel = parseSelector(selector, 'selector');
    this.#store.move(sel, this.#book.id(newOwner, 'newOwner'), newOwner);
    return this;
  }

  /**
   * Gives every slice of owner `from` to owner `to`; `from` stays defined, with no slice. Never
   * an overlap: slices of different owners never overlap, and one owner's may. One pass over
   * the table, whatever its size: what a router does while an owner is down (its fallback).
   */
  moveOwner(from: string, to: string): this {
    this.#store.moveOwner(this.#book.id(from, 'from'), this.#book.id(to, 'to'));
    return this;
  }

  /** Removes the slices `selector` matches; throws InvalidSliceError if none matches. */
  release(selector: SliceSelector): this {
    this.#store.release(parseSelector(selector, 'selector'));
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
    return findSlice(this.#store.checked, destination, protocol, port);
  }

  /** How many slices each owner holds, owners without slices included. */
  sliceCounts(): Map<string, number> {
    return this.#book.counts();
  }

  /** Every slice with its owner: IPv4 then IPv6, by address, a prefix before the prefixes inside it. */
  slices(): IterableIterator<SliceEntry> {
    return listSlices(this.#store.checked);
  }

  /** The definition of owner `name`, defaults filled in, or undefined. */
  ownerSpec(name: string): OwnerSpec | undefined {
    return this.#book.specs.get(name);
  }

  /** Owner names and their specs, defaults filled in (a copy). */
  owners(): ReadonlyMap<string, OwnerSpec> {
    return new Map(this.#book.specs);
  }

  /** How many slices the table holds (exact duplicates of one owner count once). */
  get size(): number {
    return this.#store.size;
  }

  /** An independent copy. */
  clone(): SliceTable {
    const t = new SliceTable();
    t.#book = new OwnerBook(this.#book);
    t.#store = new SliceStore(t.#book, t.#apart, this.#store);
    t.#services = new FlowServiceSet(t.#book.check, this.#services);
    t.#addressServices = new AddressServiceSet(t.#book.check, this.#addressServices);
    return t;
  }
}
