// An address pool of a DNS policy: one or more prefixes of one family, checked once (no host
// bits, no overlaps), and the address at an index of their union. Used by src/dns/policy.ts.
import type { IPv4CidrRange, IPv6CidrRange } from 'ip-num';

import type { Xoshiro128 } from './select.js';
import { describe, InvalidOptionError } from '../errors.js';
import { isIPv4Range, isIPv6Range } from '../ip.js';

/** What a policy takes for a pool: one prefix, or a list of prefixes of the same family. */
export type DnsPoolOptions<R> = R | readonly R[];

export interface AddressPool {
  readonly family: 4 | 6;
  /** Number of addresses in the union of the prefixes. */
  readonly size: bigint;
  /** First address of each prefix, in ascending order, and the index of each prefix's first address in the pool. */
  readonly firsts: readonly bigint[];
  readonly starts: readonly bigint[];
  /** The same for IPv4, as numbers: the per-query path stays clear of bigint. */
  readonly firsts32: Float64Array;
  readonly starts32: Float64Array;
  /** The prefixes as written, for messages and docs. */
  readonly text: string;
}

interface Span {
  first: bigint;
  count: bigint;
  text: string;
}

function spanOf(range: unknown, family: 4 | 6, path: string): Span {
  const ok = family === 4 ? isIPv4Range(range) : isIPv6Range(range);
  if (!ok) throw new InvalidOptionError(`Expected an ip-num IPv${family}CidrRange for ${path} but received ${describe(range)}`);
  const r = range as IPv4CidrRange | IPv6CidrRange;
  const bits = family === 4 ? 32 : 128;
  const length = Number(r.cidrPrefix.getValue());
  const first = r.getFirst().getValue();
  // ip-num keeps a range as written: 10.1.2.3/8 would silently mean 10.0.0.0/8.
  if (r.toCidrString() !== `${r.getFirst().toString()}/${length}`) {
    throw new InvalidOptionError(`Expected a prefix without host bits set (${r.getFirst().toString()}/${length}) for ${path} but received '${r.toCidrString()}'`);
  }
  return { first, count: 1n << BigInt(bits - length), text: r.toCidrString() };
}

/** Checks a pool: ip-num prefixes of the family, at least one, none overlapping (an address twice would be picked twice as often). */
export function poolOf(value: unknown, family: 4 | 6, path: string): AddressPool {
  const list = Array.isArray(value) ? (value as unknown[]) : [value];
  if (list.length === 0) throw new InvalidOptionError(`Expected at least one IPv${family} prefix for ${path} but received an empty array`);
  const spans = list.map((r, i) => spanOf(r, family, Array.isArray(value) ? `${path}[${i}]` : path)).sort((x, y) => (x.first < y.first ? -1 : x.first > y.first ? 1 : 0));
  for (let i = 1; i < spans.length; i++) {
    const prev = spans[i - 1]!;
    if (spans[i]!.first < prev.first + prev.count) {
      throw new InvalidOptionError(`Expected prefixes that do not overlap for ${path} but received '${prev.text}' and '${spans[i]!.text}'`);
    }
  }
  const starts: bigint[] = [];
  let size = 0n;
  for (const s of spans) {
    starts.push(size);
    size += s.count;
  }
  const firsts = spans.map((s) => s.first);
  const firsts32 = Float64Array.from(family === 4 ? firsts.map(Number) : []);
  const starts32 = Float64Array.from(family === 4 ? starts.map(Number) : []);
  return { family, size, firsts, starts, firsts32, starts32, text: spans.map((s) => s.text).join(', ') };
}

/** The address at `index` (0 <= index < size) in presentation form. */
export function addressAt(pool: AddressPool, index: bigint): string {
  if (pool.family === 4) return ipv4At(pool, Number(index));
  let k = pool.starts.length - 1;
  while (pool.starts[k]! > index) k--;
  return formatIPv6(pool.firsts[k]! + index - pool.starts[k]!);
}

function ipv4At(pool: AddressPool, index: number): string {
  let k = pool.starts32.length - 1;
  while (pool.starts32[k]! > index) k--;
  const a = pool.firsts32[k]! + index - pool.starts32[k]!;
  return `${Math.floor(a / 0x100_0000)}.${Math.floor(a / 0x1_0000) % 256}.${Math.floor(a / 256) % 256}.${a % 256}`;
}

/** A uniformly random address of the pool. */
export function randomAddress(pool: AddressPool, rng: Xoshiro128): string {
  if (pool.family === 4) return ipv4At(pool, rng.below32(Number(pool.size)));
  return addressAt(pool, rng.below(pool.size));
}

/** Eight groups of hex: dns-packet encodes it as it is; RFC 5952 compression is for people, not the wire. */
function formatIPv6(value: bigint): string {
  const hex = value.toString(16).padStart(32, '0');
  const groups: string[] = [];
  for (let at = 0; at < 32; at += 4) groups.push(hex.slice(at, at + 4));
  return groups.join(':');
}
