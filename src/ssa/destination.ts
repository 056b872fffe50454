// How a client turns the published prefixes (APL) and the rule (ssa1) into a destination, and the
// check a fast-path filter mirrors (conforms). Used by src/ssa/client.ts; definitions in docs/structured-addressing.md.
import { createHash, randomBytes } from 'node:crypto';

import { IPv6 } from 'ip-num';

import type { AplItem } from '../dns/apl.js';
import { describe, InvalidOptionError, InvalidRecordError } from '../errors.js';
import { isIPv6, isIPv6Range } from '../ip.js';
import { finish, step } from '../lb/flow-hash.js';
import { formatAddress6, joinRanges, type Range6 } from './prefix.js';
import type { ClientRule, ContentAddressedRule, SourceDerivedRule } from './rule.js';

const MASK64 = (1n << 64n) - 1n;

/** The addresses a client may choose: the IPv6 items without '!', minus those with '!', in address order. */
export interface Published {
  readonly ranges: readonly Range6[];
  /** How many addresses the ranges hold together. */
  readonly total: bigint;
}

function rangeOfItem(item: AplItem): Range6 {
  const first = item.prefix.getFirst().getValue();
  return { first, last: first + (1n << BigInt(128 - Number(item.prefix.cidrPrefix.getValue()))) - 1n };
}

/** The published addresses of an APL list; IPv4 items are left to IPv4 clients. Refuses a list with no IPv6 address left. */
export function publishedOf(apl: readonly AplItem[]): Published {
  if (!Array.isArray(apl)) throw new InvalidRecordError(`Expected an array of APL items for apl but received ${describe(apl)}`);
  const six = apl.filter((item) => isIPv6Range(item?.prefix));
  let ranges = joinRanges(six.filter((i) => !i.negated).map(rangeOfItem));
  for (const cut of joinRanges(six.filter((i) => i.negated).map(rangeOfItem))) {
    ranges = ranges.flatMap((r): Range6[] => {
      if (cut.last < r.first || cut.first > r.last) return [r];
      const kept: Range6[] = [];
      if (cut.first > r.first) kept.push({ first: r.first, last: cut.first - 1n });
      if (cut.last < r.last) kept.push({ first: cut.last + 1n, last: r.last });
      return kept;
    });
  }
  const total = ranges.reduce((a, r) => a + r.last - r.first + 1n, 0n);
  if (total === 0n) throw new InvalidRecordError(`Expected at least one IPv6 address left in the APL items (without '!', minus '!') but received ${describe(apl)}`);
  return { ranges, total };
}

/**
 * The address that a 128-bit value v (uniform in [0, 2^128)) points at: index = floor(v * total
 * / 2^128), counted through the ranges in address order. Each address gets an equal share of v's
 * values (exactly when total is a power of two), so each prefix is chosen in proportion to its size.
 */
export function addressAt(published: Published, v: bigint): IPv6 {
  if (typeof v !== 'bigint' || v < 0n || v >> 128n !== 0n) throw new InvalidOptionError(`Expected a value from 0 to 2^128 - 1 for v but received ${describe(v)}`);
  return nth(published, (v * published.total) >> 128n);
}

/** The index-th published address (index below total), counted through the ranges in address order. */
function nth(published: Published, index: bigint): IPv6 {
  for (const r of published.ranges) {
    const size = r.last - r.first + 1n;
    if (index < size) return new IPv6(r.first + index);
    index -= size;
  }
  throw new InvalidOptionError(`Expected an index below ${published.total} for the published addresses but received ${describe(index)}`);
}

function bigOf(bytes: Uint8Array): bigint {
  let v = 0n;
  for (const b of bytes) v = (v << 8n) | BigInt(b);
  return v;
}

/** rule=random: any published address, uniformly (16 bytes from `random`, node:crypto unless given). */
export function randomDestination(published: Published, random: (size: number) => Uint8Array = randomBytes): IPv6 {
  return addressAt(published, bigOf(random(16)));
}

/** The object key as bytes: a string is its UTF-8. */
function keyBytes(key: string | Uint8Array): Uint8Array {
  if (typeof key === 'string') return Buffer.from(key, 'utf8');
  if (key instanceof Uint8Array) return key;
  throw new InvalidOptionError(`Expected an object key (a string or bytes) for objectKey but received ${describe(key)}`);
}

/** rule=content-addressed: v is the first 16 bytes of SHA-256(object key), big-endian. */
export function contentDestination(published: Published, rule: ContentAddressedRule, objectKey: string | Uint8Array): IPv6 {
  if (rule?.hash !== 'sha256') throw new InvalidRecordError(`Expected hash=sha256 for rule=content-addressed but received ${describe(rule?.hash)}`);
  const digest = createHash('sha256').update(keyBytes(objectKey)).digest();
  return addressAt(published, bigOf(digest.subarray(0, 16)));
}

function sourceValue(source: unknown, path: string): bigint {
  if (isIPv6(source)) return source.getValue();
  throw new InvalidOptionError(`Expected an ip-num IPv6 address for ${path} but received ${describe(source)}`);
}

/**
 * flowhash-1, the keyed function of rule=source-derived (docs/structured-addressing.md): the
 * steps of native/core/flow_hash.h on numbers. s = the source with every bit after the first
 * `sourceBits` cleared; k0, k1 = the key's first and last 16 hex digits as 64-bit integers;
 * d = finish(step(step(step(k0, s >> 64), s & (2^64 - 1)), k1)).
 */
export function deriveLow64(rule: SourceDerivedRule, source: IPv6): bigint {
  const s = sourceValue(source, 'source');
  if (rule?.fn !== 'flowhash-1' || !Number.isInteger(rule.sourceBits) || rule.sourceBits < 1 || rule.sourceBits > 128 || !/^[0-9a-f]{32}$/.test(rule.key)) {
    throw new InvalidRecordError(`Expected a source-derived rule (fn flowhash-1, sourceBits 1 to 128, key of 32 lower-case hex digits) for rule but received ${describe(rule)}`);
  }
  const kept = rule.sourceBits >= 128 ? s : s & ~((1n << BigInt(128 - rule.sourceBits)) - 1n);
  const k0 = BigInt(`0x${rule.key.slice(0, 16)}`);
  const k1 = BigInt(`0x${rule.key.slice(16, 32)}`);
  return finish(step(step(step(k0, kept >> 64n), kept & MASK64), k1));
}

/**
 * rule=source-derived: the destination's low 64 bits are d = deriveLow64(rule, source); its high
 * 64 bits are the ((d * n) >> 64)-th of the n published /64s in address order (the only one for a
 * single /64). Refuses a list whose addresses are not whole /64s: d needs all 64 low bits.
 */
export function sourceDestination(published: Published, rule: SourceDerivedRule, source: IPv6): IPv6 {
  for (const r of published.ranges) {
    if ((r.first & MASK64) !== 0n || (r.last & MASK64) !== MASK64) {
      throw new InvalidRecordError(`Expected published prefixes of whole /64s for rule=source-derived but received the range ${formatAddress6(r.first)} to ${formatAddress6(r.last)}`);
    }
  }
  const d = deriveLow64(rule, source);
  const high = nth(published, ((d * (published.total >> 64n)) >> 64n) << 64n).getValue() >> 64n;
  return new IPv6((high << 64n) | d);
}

/**
 * Whether a packet from `source` to `destination` follows the rule: for source-derived, the
 * destination's low 64 bits equal deriveLow64(rule, source) (a fast path checks exactly this, with
 * the published prefixes already matched by its lookup); the other rules constrain nothing.
 */
export function conforms(source: IPv6, destination: IPv6, rule: ClientRule): boolean {
  const d = sourceValue(destination, 'destination');
  sourceValue(source, 'source');
  if (rule?.rule !== 'source-derived') return true;
  return (d & MASK64) === deriveLow64(rule, source);
}
