// IPv6 prefixes as (network, length) bigints for the address-slice code: parsing, text, sizes,
// and the minimal prefix list of a set of address ranges. Used by src/ssa/ (slices, APL, destinations).
import { IPv6, IPv6CidrRange, IPv6Prefix } from 'ip-num';

import { describe, InvalidSliceError } from '../errors.js';
import { isIPv6Range } from '../ip.js';

/** An IPv6 prefix as its first address and its length; cheap to hold a million of. */
export interface Prefix6 {
  readonly network: bigint;
  readonly length: number;
}

/** What the API takes for a prefix: an ip-num range, or its text `2001:db8::/78`. */
export type PrefixInput = IPv6CidrRange | string;

export const ADDRESS_BITS = 128;
const ALL = (1n << 128n) - 1n;

/** 2^(128 - length) for every length: sizes are looked up, never computed per slice. */
const SIZES: readonly bigint[] = Array.from({ length: ADDRESS_BITS + 1 }, (_, l) => 1n << BigInt(ADDRESS_BITS - l));

/** The number of addresses of a /length. */
export function sizeOf(length: number): bigint {
  return SIZES[length]!;
}

/** The eight 16-bit groups of an address, through four 32-bit words (one bigint step each, not eight). */
function groupsOf(address: bigint): number[] {
  const out: number[] = new Array(8);
  for (let w = 0; w < 4; w++) {
    const word = Number(BigInt.asUintN(32, address >> BigInt(96 - 32 * w)));
    out[2 * w] = word >>> 16;
    out[2 * w + 1] = word & 0xffff;
  }
  return out;
}

/** An address as people write it, per RFC 5952: lower case, the longest run of two or more zero groups as '::'. */
export function formatAddress6(address: bigint): string {
  const groups = groupsOf(address);
  let best = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) [best, bestLength] = [i, j - i];
    i = j === i ? i + 1 : j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best < 0) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLength).join(':')}`;
}

function hexDigit(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

const COLON = 58;

/**
 * An IPv6 address from text, or undefined: hex groups with at most one '::', scanned by hand
 * (ip-num's parser costs tens of microseconds an address, too slow for a million slices); a
 * dotted IPv4 tail goes to ip-num.
 */
export function parseAddress6(text: string): bigint | undefined {
  if (text.includes('.')) {
    try {
      return IPv6.fromString(text).getValue();
    } catch {
      return undefined;
    }
  }
  const groups: number[] = [];
  let gap = -1;
  let i = 0;
  if (text.charCodeAt(0) === COLON) {
    if (text.charCodeAt(1) !== COLON) return undefined;
    gap = 0;
    i = 2;
  }
  while (i < text.length) {
    let value = 0;
    let digits = 0;
    for (let d = hexDigit(text.charCodeAt(i)); d >= 0 && digits < 5; d = hexDigit(text.charCodeAt(++i)), digits++) value = value * 16 + d;
    if (digits === 0 || digits > 4 || groups.length === 8) return undefined;
    groups.push(value);
    if (i === text.length) break;
    if (text.charCodeAt(i++) !== COLON || i === text.length) return undefined;
    if (text.charCodeAt(i) === COLON) {
      if (gap >= 0) return undefined;
      gap = groups.length;
      i++;
    }
  }
  if (gap < 0 ? groups.length !== 8 : groups.length > 7) return undefined;
  if (gap >= 0) groups.splice(gap, 0, ...Array<number>(8 - groups.length).fill(0));
  let value = 0n;
  for (let w = 0; w < 4; w++) value = (value << 32n) | BigInt(groups[2 * w]! * 0x10000 + groups[2 * w + 1]!);
  return value;
}

export function formatPrefix(prefix: Prefix6): string {
  return `${formatAddress6(prefix.network)}/${prefix.length}`;
}

/** A prefix from an ip-num range or text; host bits beyond the length are refused, never cleared. */
export function prefixOf(input: unknown, path: string): Prefix6 {
  let network: bigint;
  let length: number;
  if (isIPv6Range(input)) {
    network = input.getFirst().getValue();
    length = Number(input.cidrPrefix.getValue());
    // ip-num keeps the address as written: 2001:db8::1/64 has getFirst() 2001:db8:: but prints as given.
    if (input.toCidrString() !== `${input.getFirst().toString()}/${length}`) hostBits(path, { network, length }, input.toCidrString());
  } else if (typeof input === 'string' && /^[0-9a-fA-F:.]+\/[0-9]{1,3}$/.test(input)) {
    const slash = input.indexOf('/');
    length = Number(input.slice(slash + 1));
    const parsed = parseAddress6(input.slice(0, slash));
    if (parsed === undefined) throw new InvalidSliceError(`Expected an IPv6 prefix like '2001:db8::/78' for ${path} but received ${describe(input)}`);
    network = parsed;
    if (length > ADDRESS_BITS) throw new InvalidSliceError(`Expected a prefix length from 0 to 128 for ${path} but received ${describe(input)}`);
    if ((network & (sizeOf(length) - 1n)) !== 0n) hostBits(path, { network: network & ~(sizeOf(length) - 1n) & ALL, length }, input);
  } else {
    throw new InvalidSliceError(`Expected an IPv6 prefix (an ip-num IPv6CidrRange or text like '2001:db8::/78') for ${path} but received ${describe(input)}`);
  }
  return { network, length };
}

function hostBits(path: string, meant: Prefix6, received: string): never {
  throw new InvalidSliceError(`Expected a prefix without host bits set (${formatPrefix(meant)}) for ${path} but received ${describe(received)}`);
}

/** The ip-num range of a prefix, for the public API and the APL codec. */
export function rangeOf(prefix: Prefix6): IPv6CidrRange {
  return new IPv6CidrRange(new IPv6(prefix.network), new IPv6Prefix(BigInt(prefix.length)));
}

/** The last address of a prefix. */
export function lastOf(prefix: Prefix6): bigint {
  return prefix.network + sizeOf(prefix.length) - 1n;
}

/** Whether `inner` lies inside `outer`. */
export function contains(outer: Prefix6, inner: Prefix6): boolean {
  return inner.length >= outer.length && inner.network >= outer.network && lastOf(inner) <= lastOf(outer);
}

/** The largest aligned prefix that starts at `from` and ends at or before `to` (inclusive). */
export function largestAt(from: bigint, to: bigint): Prefix6 {
  let length = ADDRESS_BITS;
  while (length > 0) {
    const bigger = length - 1;
    if ((from & (sizeOf(bigger) - 1n)) !== 0n || from + sizeOf(bigger) - 1n > to) break;
    length = bigger;
  }
  return { network: from, length };
}

/** The fewest prefixes that cover the inclusive range [from, to] exactly, in address order. */
export function prefixesOfRange(from: bigint, to: bigint): Prefix6[] {
  const out: Prefix6[] = [];
  for (let at = from; at <= to; ) {
    const p = largestAt(at, to);
    out.push(p);
    at = p.network + sizeOf(p.length);
  }
  return out;
}

/** An inclusive address range. */
export interface Range6 {
  readonly first: bigint;
  readonly last: bigint;
}

/** Ranges sorted and joined where they touch or overlap. */
export function joinRanges(ranges: readonly Range6[]): Range6[] {
  const sorted = [...ranges].sort((a, b) => (a.first < b.first ? -1 : a.first > b.first ? 1 : 0));
  const out: { first: bigint; last: bigint }[] = [];
  for (const r of sorted) {
    const top = out[out.length - 1];
    if (top !== undefined && r.first <= top.last + 1n) top.last = r.last > top.last ? r.last : top.last;
    else out.push({ first: r.first, last: r.last });
  }
  return out;
}

/** The minimal prefix list covering the same addresses as the given prefixes. */
export function aggregate(prefixes: readonly Prefix6[]): Prefix6[] {
  return joinRanges(prefixes.map((p) => ({ first: p.network, last: lastOf(p) }))).flatMap((r) => prefixesOfRange(r.first, r.last));
}
