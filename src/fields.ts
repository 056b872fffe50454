// The packet fields that capture rules, slices and the egress helper all speak of: protocols,
// ports and port ranges, destinations (an address or a prefix, as ip-num values), with their
// parsers. Shared by src/xdp/, src/slices/ and src/egress.ts; imports nothing of theirs.
import type { IPv4, IPv4CidrRange, IPv6, IPv6CidrRange } from 'ip-num';

import { invalid } from './errors.js';
import { ABI } from './generated/abi.js';
import { isIPv4, isIPv4Range, isIPv6, isIPv6Range } from './ip.js';

/** One address or a prefix of addresses. */
export type Destination = IPv4 | IPv6 | IPv4CidrRange | IPv6CidrRange;

export type Protocol = 'tcp' | 'udp';

export interface PortRange {
  /** First port, inclusive. */
  from: number;
  /** Last port, inclusive. */
  to: number;
}


/** SU_PROTO_* bit of each protocol (abi.h). */
export const PROTOCOL_BITS: Record<Protocol, number> = { tcp: ABI.protocol.tcp, udp: ABI.protocol.udp };

/**
 * How a parser reports a bad value: `invalid` (InvalidOptionError) by default; src/slices/ passes
 * one that throws InvalidSliceError with the same "Expected X for Y but received Z" message.
 */
export type Fail = (path: string, expected: string, received: unknown) => never;

/** An integer from 0 to 65535. */
export function isPort(value: unknown): value is number {
  return Number.isInteger(value) && (value as number) >= 0 && (value as number) <= 65535;
}

/** A parsed destination: SU_FAMILY_*, prefix length, network address as an integer. */
export interface ParsedDestination {
  family: number;
  prefixLength: number;
  address: bigint;
  bits: number;
}

/** Parses an ip-num address (a full-length prefix) or CIDR range, of any copy of ip-num; refuses host bits set. */
export function destinationOf(value: unknown, path: string, fail: Fail = invalid): ParsedDestination {
  if (isIPv4(value)) return { family: ABI.family.ipv4, prefixLength: 32, address: value.getValue(), bits: 32 };
  if (isIPv6(value)) return { family: ABI.family.ipv6, prefixLength: 128, address: value.getValue(), bits: 128 };
  if (isIPv4Range(value) || isIPv6Range(value)) {
    const v4 = isIPv4Range(value);
    const prefixLength = Number(value.cidrPrefix.getValue());
    const first = value.getFirst();
    // ip-num keeps the address as given; a prefix with host bits set is almost always a typo.
    if (value.toCidrString() !== `${first.toString()}/${prefixLength}`) {
      fail(path, `a prefix without host bits set (${first.toString()}/${prefixLength})`, value.toCidrString());
    }
    return { family: v4 ? ABI.family.ipv4 : ABI.family.ipv6, prefixLength, address: first.getValue(), bits: v4 ? 32 : 128 };
  }
  return fail(path, 'an ip-num IPv4, IPv6, IPv4CidrRange or IPv6CidrRange', value);
}

/** SU_PROTO_* bits of a protocol list; both when `value` is undefined. */
export function protocolBits(value: unknown, path: string, fail: Fail = invalid): number {
  if (value === undefined) return PROTOCOL_BITS.tcp | PROTOCOL_BITS.udp;
  if (!Array.isArray(value) || value.length === 0) return fail(path, "a non-empty array of 'tcp' and 'udp'", value);
  let bits = 0;
  value.forEach((p: unknown, i) => {
    if (p !== 'tcp' && p !== 'udp') fail(`${path}[${i}]`, "'tcp' or 'udp'", p);
    bits |= PROTOCOL_BITS[p];
  });
  return bits;
}

/** A port or inclusive { from, to }; every port when `value` is undefined. */
export function portRange(value: unknown, path: string, fail: Fail = invalid): PortRange {
  if (value === undefined) return { from: 0, to: 65535 };
  if (typeof value === 'number') {
    if (!isPort(value)) fail(path, 'a port from 0 to 65535', value);
    return { from: value, to: value };
  }
  if (typeof value !== 'object' || value === null) return fail(path, 'a port or { from, to }', value);
  const { from, to } = value as Partial<PortRange>;
  if (!isPort(from)) fail(`${path}.from`, 'a port from 0 to 65535', from);
  if (!isPort(to)) fail(`${path}.to`, 'a port from 0 to 65535', to);
  if (to < from) fail(`${path}.to`, `a port not below from (${from})`, to);
  return { from, to };
}
