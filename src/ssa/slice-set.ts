// Address slices as data (issue 16): a service's IPv6 prefixes cut into slices of mixed sizes, each
// with an owner, checked to cover the published prefixes exactly. Used by src/ssa/ operations, the APL and rebalancing.
import type { IPv6 } from 'ip-num';

import type { AplItem } from '../dns/apl.js';
import { describe, InvalidSliceError, SliceOverlapError } from '../errors.js';
import { isIPv6 } from '../ip.js';
import {
  aggregate, formatAddress6, formatPrefix, largestAt, lastOf, prefixOf, rangeOf, sizeOf, type Prefix6, type PrefixInput,
} from './prefix.js';

/**
 * A move in progress: the slice belongs to its `owner` (the new one), but until `until` (ms since
 * the epoch) the old owner `from` keeps accepting its packets, so that a fast path can let
 * established flows finish there and forward the rest to the new owner.
 */
export interface SliceMove {
  readonly from: string;
  readonly until: number;
}

/** One address slice: a prefix inside the service's prefixes, and the endpoint that owns it. */
export interface AddressSlice extends Prefix6 {
  readonly owner: string;
  readonly moving?: SliceMove;
}

/** A service's published prefixes and the slices that cover them, sorted by address, no overlap, no gap. */
export interface SliceSet {
  readonly prefixes: readonly Prefix6[];
  readonly slices: readonly AddressSlice[];
}

/** A slice as written by people or stored as JSON. */
export interface SliceInput {
  readonly prefix: PrefixInput;
  readonly owner: string;
  readonly moving?: SliceMove;
}

export interface SliceSetInput {
  /** The service's published prefixes (what the APL record lists), IPv6. */
  readonly prefixes: readonly PrefixInput[];
  readonly slices: readonly SliceInput[];
}

/** A slice as text: `2001:db8::/78 -> a`, or `2001:db8::/78 -> b (moving from a until 1700000000000)`. */
export function formatSlice(slice: AddressSlice): string {
  const move = slice.moving === undefined ? '' : ` (moving from ${slice.moving.from} until ${slice.moving.until})`;
  return `${formatPrefix(slice)} -> ${slice.owner}${move}`;
}

function ownerName(value: unknown, path: string): string {
  if (typeof value === 'string' && value.length > 0 && value.length <= 255) return value;
  throw new InvalidSliceError(`Expected an owner name (1 to 255 characters) for ${path} but received ${describe(value)}`);
}

/** A move window as given; refuses a move from the slice's own owner or a time that is not a number. */
export function moveOf(value: unknown, owner: string, path: string): SliceMove | undefined {
  if (value === undefined) return undefined;
  const m = value as Partial<SliceMove>;
  if (typeof value !== 'object' || value === null || !Number.isFinite(m.until)) {
    throw new InvalidSliceError(`Expected { from: owner, until: ms since the epoch } for ${path} but received ${describe(value)}`);
  }
  const from = ownerName(m.from, `${path}.from`);
  if (from === owner) throw new InvalidSliceError(`Expected a previous owner other than '${owner}' for ${path}.from but received '${from}'`);
  return { from, until: m.until! };
}

/** The slices given, checked one by one, sorted by address (a sorted list is only checked). */
function slicesOf(input: readonly SliceInput[]): AddressSlice[] {
  if (!Array.isArray(input)) throw new InvalidSliceError(`Expected an array of slices for slices but received ${describe(input)}`);
  const slices = input.map((s, i): AddressSlice => {
    if (typeof s !== 'object' || s === null) throw new InvalidSliceError(`Expected { prefix, owner } for slices[${i}] but received ${describe(s)}`);
    const { network, length } = prefixOf(s.prefix, `slices[${i}].prefix`);
    const owner = ownerName(s.owner, `slices[${i}].owner`);
    const moving = moveOf(s.moving, owner, `slices[${i}].moving`);
    return moving === undefined ? { network, length, owner } : { network, length, owner, moving };
  });
  return sortByAddress(slices);
}

export function sortByAddress<T extends Prefix6>(items: T[]): T[] {
  for (let i = 1; i < items.length; i++) {
    if (items[i - 1]!.network > items[i]!.network) return items.sort((a, b) => (a.network < b.network ? -1 : a.network > b.network ? 1 : 0));
  }
  return items;
}

/** The published prefixes, as the fewest prefixes: IPv6, no two overlapping (an overlap would publish addresses twice). */
function publishedOf(input: readonly PrefixInput[]): Prefix6[] {
  if (!Array.isArray(input) || input.length === 0) throw new InvalidSliceError(`Expected a non-empty array of IPv6 prefixes for prefixes but received ${describe(input)}`);
  const prefixes = sortByAddress(input.map((p, i) => prefixOf(p, `prefixes[${i}]`)));
  for (let i = 1; i < prefixes.length; i++) {
    if (prefixes[i]!.network <= lastOf(prefixes[i - 1]!)) {
      throw new InvalidSliceError(`Expected published prefixes that do not overlap for prefixes but received ${formatPrefix(prefixes[i - 1]!)} and ${formatPrefix(prefixes[i]!)}`);
    }
  }
  // Adjacent prefixes that make one (two /64s of one /63) are one: a slice may span them.
  return aggregate(prefixes);
}

/** A slice set from its description; every slice inside the prefixes, no overlap, no gap. */
export function sliceSet(input: SliceSetInput): SliceSet {
  if (typeof input !== 'object' || input === null) throw new InvalidSliceError(`Expected { prefixes, slices } for the slice set but received ${describe(input)}`);
  const set = { prefixes: publishedOf(input.prefixes), slices: slicesOf(input.slices) };
  checkCoverage(set);
  return set;
}

function gap(from: bigint, to: bigint): never {
  const first = largestAt(from, to);
  throw new InvalidSliceError(
    `Expected a slice covering ${formatPrefix(first)} (the uncovered range ${formatAddress6(from)} to ${formatAddress6(to)}) but received no slice there`,
  );
}

/**
 * Checks that the slices (sorted by address) cover each published prefix exactly: each one aligned
 * and inside a prefix, none overlapping the one before, none missing. Throws naming the offending
 * slice, or the first uncovered prefix; one pass over the slices.
 */
export function checkCoverage(set: SliceSet): void {
  const { prefixes, slices } = set;
  let p = 0;
  let next = prefixes[0]!.network;
  for (let i = 0; i < slices.length; i++) {
    const s = slices[i]!;
    if (i > 0 && s.network <= lastOf(slices[i - 1]!)) overlap(slices[i - 1]!, s);
    for (; p < prefixes.length && s.network > lastOf(prefixes[p]!); p++, next = prefixes[p]?.network ?? 0n) {
      if (next <= lastOf(prefixes[p]!)) gap(next, lastOf(prefixes[p]!));
    }
    const prefix = prefixes[p];
    if (prefix === undefined || s.network < prefix.network || lastOf(s) > lastOf(prefix)) {
      throw new InvalidSliceError(`Expected a slice inside the published prefixes (${prefixes.map(formatPrefix).join(', ')}) but received ${formatSlice(s)}`);
    }
    if (s.network > next) gap(next, s.network - 1n);
    next = s.network + sizeOf(s.length);
  }
  for (; p < prefixes.length; p++, next = prefixes[p]?.network ?? 0n) {
    if (next <= lastOf(prefixes[p]!)) gap(next, lastOf(prefixes[p]!));
  }
}

function overlap(a: AddressSlice, b: AddressSlice): never {
  throw new SliceOverlapError(`Expected slices that do not overlap but received ${formatSlice(a)} and ${formatSlice(b)}`);
}

/** The index of the slice holding an address, or -1; a binary search over the sorted slices. */
export function indexOfAddress(set: SliceSet, address: bigint): number {
  const { slices } = set;
  let lo = 0;
  let hi = slices.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const s = slices[mid]!;
    if (address < s.network) hi = mid - 1;
    else if (address > lastOf(s)) lo = mid + 1;
    else return mid;
  }
  return -1;
}

/** The slice holding an address (ip-num IPv6), or undefined outside the service's prefixes. */
export function sliceAt(set: SliceSet, address: IPv6): AddressSlice | undefined {
  if (!isIPv6(address)) throw new InvalidSliceError(`Expected an ip-num IPv6 address for address but received ${describe(address)}`);
  return set.slices[indexOfAddress(set, address.getValue())];
}

/** The index of the slice with exactly this prefix; refuses a prefix that is not one slice. */
export function indexOfSlice(set: SliceSet, prefix: PrefixInput, path: string): number {
  const p = prefixOf(prefix, path);
  const i = indexOfAddress(set, p.network);
  if (i < 0 || set.slices[i]!.network !== p.network || set.slices[i]!.length !== p.length) {
    const found = i < 0 ? 'no slice there' : `the slice ${formatSlice(set.slices[i]!)}`;
    throw new InvalidSliceError(`Expected ${path} to be one slice of the set (${formatPrefix(p)}) but found ${found}`);
  }
  return i;
}

/**
 * The APL items to publish: the service's prefixes (kept as the fewest prefixes that cover the
 * same addresses). Checks first that the slices still cover them exactly, so that a list published from
 * a set never promises addresses that no endpoint owns.
 */
export function aplOf(set: SliceSet): AplItem[] {
  checkCoverage(set);
  return set.prefixes.map((p) => ({ negated: false, prefix: rangeOf(p) }));
}

/** Address space per owner (in addresses), for rebalancing and the imbalance table. */
export function spaceByOwner(set: SliceSet): Map<string, bigint> {
  const out = new Map<string, bigint>();
  for (const s of set.slices) out.set(s.owner, (out.get(s.owner) ?? 0n) + sizeOf(s.length));
  return out;
}

/** The set as JSON-able data (prefixes as text), the inverse of sliceSet(). */
export function toInput(set: SliceSet): { prefixes: string[]; slices: SliceInput[] } {
  return {
    prefixes: set.prefixes.map(formatPrefix),
    slices: set.slices.map((s) => (s.moving === undefined ? { prefix: formatPrefix(s), owner: s.owner } : { prefix: formatPrefix(s), owner: s.owner, moving: s.moving })),
  };
}

/** A service prefix cut into equal slices of `length`, dealt to owners in turn (the demo's and the bench's start). */
export function evenSlices(prefix: PrefixInput, length: number, owners: readonly string[]): SliceSet {
  const p = prefixOf(prefix, 'prefix');
  if (!Number.isInteger(length) || length < p.length || length > 128 || length - p.length > 24) {
    throw new InvalidSliceError(`Expected a slice length from ${p.length} to ${Math.min(128, p.length + 24)} for length but received ${describe(length)}`);
  }
  if (!Array.isArray(owners) || owners.length === 0) throw new InvalidSliceError(`Expected a non-empty array of owners for owners but received ${describe(owners)}`);
  owners.forEach((o, i) => ownerName(o, `owners[${i}]`));
  const count = 2 ** (length - p.length);
  const size = sizeOf(length);
  const slices: AddressSlice[] = new Array(count);
  for (let i = 0, at = p.network; i < count; i++, at += size) slices[i] = { network: at, length, owner: owners[i % owners.length]! };
  return { prefixes: [p], slices };
}
