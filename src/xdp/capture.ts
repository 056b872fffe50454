// Capture rules: which packets the XDP program hands to the AF_XDP sockets instead of the kernel
// stack. Validated here, compiled to the byte layout of struct su_capture_rule (abi.h).
import { endianness } from 'node:os';

import type { IPv4, IPv4CidrRange, IPv6, IPv6CidrRange } from 'ip-num';

import { invalid } from '../errors.js';
import { ABI } from '../generated/abi.js';
import { isIPv4, isIPv4Range, isIPv6, isIPv6Range } from '../ip.js';

export type Protocol = 'tcp' | 'udp';

export interface PortRange {
  /** First port, inclusive. */
  from: number;
  /** Last port, inclusive. */
  to: number;
}

/**
 * Packets whose destination lies in `destination`, whose protocol is one of `protocols` and
 * whose destination port lies in `ports` go to the socket of the queue they arrive on.
 * Everything else reaches the kernel stack untouched.
 */
export interface CaptureRule {
  destination: IPv4 | IPv6 | IPv4CidrRange | IPv6CidrRange;
  /** Default: both. */
  protocols?: readonly Protocol[];
  /** One port or an inclusive range. Default: every port. */
  ports?: number | PortRange;
}

/** SU_PROTO_* bit of each protocol (abi.h); shared with src/slices/. */
export const PROTOCOL_BITS: Record<Protocol, number> = { tcp: ABI.protocol.tcp, udp: ABI.protocol.udp };

/**
 * How a parser reports a bad value: `invalid` (InvalidOptionError) here; src/slices/ passes one
 * that throws InvalidSliceError with the same "Expected X for Y but received Z" message.
 */
export type Fail = (path: string, expected: string, received: unknown) => never;

/** An integer from 0 to 65535. */
export function isPort(value: unknown): value is number {
  return Number.isInteger(value) && (value as number) >= 0 && (value as number) <= 65535;
}

/** A parsed destination: SU_FAMILY_*, prefix length, network address as an integer. */
export interface Destination {
  family: number;
  prefixLength: number;
  address: bigint;
  bits: number;
}

/** Parses an ip-num address (a full-length prefix) or CIDR range, of any copy of ip-num; refuses host bits set. */
export function destinationOf(value: unknown, path: string, fail: Fail = invalid): Destination {
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

/** Validates `rules` and returns the image the XDP program reads (su_capture_rules map). */
export function compileCaptureRules(rules: unknown, path = 'capture'): Uint8Array {
  if (!Array.isArray(rules)) return invalid(path, 'an array of capture rules', rules);
  if (rules.length > ABI.limits.captureRulesMax) {
    invalid(path, `at most ${ABI.limits.captureRulesMax} capture rules`, rules);
  }
  const { size, fields } = ABI.captureRule;
  const image = new Uint8Array(size * rules.length);
  const view = new DataView(image.buffer);
  // Ports are host byte order in the map (abi.h); addresses are network order.
  const little = endianness() === 'LE';

  rules.forEach((rule: unknown, i) => {
    const at = `${path}[${i}]`;
    if (typeof rule !== 'object' || rule === null) invalid(at, 'a capture rule object', rule);
    const r = rule as Record<string, unknown>;
    for (const key of Object.keys(r)) {
      if (!['destination', 'protocols', 'ports'].includes(key)) {
        invalid(`${at}.${key}`, 'no such option (destination, protocols, ports)', r[key]);
      }
    }
    const dest = destinationOf(r.destination, `${at}.destination`);
    const protocols = protocolBits(r.protocols, `${at}.protocols`);
    const ports = portRange(r.ports, `${at}.ports`);
    const base = i * size;

    view.setUint8(base + fields.family.offset, dest.family);
    view.setUint8(base + fields.prefix_len.offset, dest.prefixLength);
    view.setUint8(base + fields.protocols.offset, protocols);
    view.setUint16(base + fields.port_first.offset, ports.from, little);
    view.setUint16(base + fields.port_last.offset, ports.to, little);
    const bytes = dest.bits / 8;
    for (let b = 0; b < bytes; b++) {
      const shift = BigInt((bytes - 1 - b) * 8);
      view.setUint8(base + fields.addr.offset + b, Number((dest.address >> shift) & 0xffn));
    }
  });
  return image;
}

