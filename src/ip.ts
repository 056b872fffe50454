// Recognising ip-num values by shape, not by `instanceof`: an address built by another copy of
// ip-num (another package's dependency) is as good as ours. Used wherever the API takes one.
import { IPv4, IPv4CidrRange, IPv6, IPv6CidrRange } from 'ip-num';

type Shape = Record<string, unknown>;

function isAddressOf(value: unknown, type: 'IPv4' | 'IPv6', bits: number): boolean {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Shape;
  // ip-num's IPv4 and IPv6 (and their Mask subclasses) carry `type`, `bitSize` and a bigint
  // `value`; a range has none of these at its top level.
  return (
    v.type === type &&
    v.bitSize === bits &&
    typeof v.value === 'bigint' &&
    v.value >= 0n &&
    v.value < 1n << BigInt(bits) &&
    typeof v.getValue === 'function' &&
    typeof v.toString === 'function'
  );
}

function isRangeOf(value: unknown, type: 'IPv4' | 'IPv6', bits: number): boolean {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Shape;
  const prefix = v.cidrPrefix as Shape | undefined;
  return (
    typeof prefix === 'object' &&
    prefix !== null &&
    prefix.type === type &&
    typeof prefix.value === 'bigint' &&
    prefix.value >= 0n &&
    prefix.value <= BigInt(bits) &&
    v.bitValue === BigInt(bits) &&
    typeof v.getFirst === 'function' &&
    typeof v.toCidrString === 'function'
  );
}

/** An ip-num IPv4 address, from any copy of ip-num. */
export function isIPv4(value: unknown): value is IPv4 {
  return value instanceof IPv4 || isAddressOf(value, 'IPv4', 32);
}

/** An ip-num IPv6 address, from any copy of ip-num. */
export function isIPv6(value: unknown): value is IPv6 {
  return value instanceof IPv6 || isAddressOf(value, 'IPv6', 128);
}

/** An ip-num IPv4 or IPv6 address. */
export function isAddress(value: unknown): value is IPv4 | IPv6 {
  return isIPv4(value) || isIPv6(value);
}

/** An ip-num IPv4CidrRange, from any copy of ip-num. */
export function isIPv4Range(value: unknown): value is IPv4CidrRange {
  return value instanceof IPv4CidrRange || isRangeOf(value, 'IPv4', 32);
}

/** An ip-num IPv6CidrRange, from any copy of ip-num. */
export function isIPv6Range(value: unknown): value is IPv6CidrRange {
  return value instanceof IPv6CidrRange || isRangeOf(value, 'IPv6', 128);
}
