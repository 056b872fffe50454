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

/** An address as people write it: compressed per RFC 5952 (ip-num prints it in full). */
export function formatAddress6(address: bigint): string {
  return new URL(`http://[${new IPv6(address).toString()}]/`).hostname.slice(1, -1);
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
    const [text, bits] = input.split('/') as [string, string];
    length = Number(bits);
    try {
      network = IPv6.fromString(text).getValue();
    } catch {
      throw new InvalidSliceError(`Expected an IPv6 prefix like '2001:db8::/78' for ${path} but received ${describe(input)}`);
    }
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
