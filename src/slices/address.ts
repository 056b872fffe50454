// Compact prefixes for the slice table: IPv4 as a uint32 number, IPv6 as a bigint, so that a
// million slices cost no ip-num objects. Parsing, masking, formatting, and writing the bytes.
import { IPv4, IPv4CidrRange, IPv4Prefix, IPv6, IPv6CidrRange, IPv6Prefix } from 'ip-num';

import { ABI } from '../generated/abi.js';
import { destinationOf, type Destination, type Fail } from '../fields.js';

/** SU_FAMILY_IPV4 and SU_FAMILY_IPV6 (abi.h). */
export const FAMILY_V4 = ABI.family.ipv4;
export const FAMILY_V6 = ABI.family.ipv6;

/** A parsed destination. `v4` is meaningful for IPv4 (0 otherwise), `v6` for IPv6 (0n otherwise). */
export interface Prefix {
  readonly family: number;
  readonly len: number;
  readonly v4: number;
  readonly v6: bigint;
}

/** Parses and checks a destination (shared rules and messages with capture rules). */
export function parsePrefix(value: unknown, path: string, fail: Fail): Prefix {
  const d = destinationOf(value, path, fail);
  if (d.family === FAMILY_V4) return { family: FAMILY_V4, len: d.prefixLength, v4: Number(d.address), v6: 0n };
  return { family: FAMILY_V6, len: d.prefixLength, v4: 0, v6: d.address };
}

/** Address bits of a family: 32 or 128. */
export function bitsOf(family: number): number {
  return family === FAMILY_V4 ? 32 : 128;
}

/** The first `len` bits of an IPv4 address; `-1 << 32` is `-1` in JS (shift counts wrap), hence len 0 apart. */
export function mask4(addr: number, len: number): number {
  return len === 0 ? 0 : (addr & (-1 << (32 - len))) >>> 0;
}

/** The first `len` bits of an IPv6 address. */
export function mask6(addr: bigint, len: number): bigint {
  const shift = BigInt(128 - len);
  return (addr >> shift) << shift;
}

/** Whether `outer` contains `inner` (or equals it). */
export function containsPrefix(outer: Prefix, inner: Prefix): boolean {
  if (outer.family !== inner.family || outer.len > inner.len) return false;
  return outer.family === FAMILY_V4 ? mask4(inner.v4, outer.len) === outer.v4 : mask6(inner.v6, outer.len) === outer.v6;
}

/** Dotted quad of a uint32. */
export function formatV4(addr: number): string {
  return `${addr >>> 24}.${(addr >>> 16) & 255}.${(addr >>> 8) & 255}.${addr & 255}`;
}

/** RFC 5952 text: lower case, the longest run of two or more zero groups as "::". */
export function formatV6(addr: bigint): string {
  const groups: number[] = [];
  for (let i = 7; i >= 0; i--) groups.push(Number((addr >> BigInt(i * 16)) & 0xffffn));
  let bestAt = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestAt = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (g: number[]) => g.map((n) => n.toString(16)).join(':');
  if (bestAt < 0) return hex(groups);
  return `${hex(groups.slice(0, bestAt))}::${hex(groups.slice(bestAt + bestLen))}`;
}

/** "192.0.2.1" for a full-length prefix, "192.0.2.0/24" otherwise. */
export function formatPrefix(p: Prefix): string {
  const text = p.family === FAMILY_V4 ? formatV4(p.v4) : formatV6(p.v6);
  return p.len === bitsOf(p.family) ? text : `${text}/${p.len}`;
}

/** The ip-num value for a prefix: an address when full length, a CIDR range otherwise. */
export function toDestination(p: Prefix): Destination {
  if (p.family === FAMILY_V4) {
    const addr = new IPv4(BigInt(p.v4));
    return p.len === 32 ? addr : new IPv4CidrRange(addr, new IPv4Prefix(BigInt(p.len)));
  }
  const addr = IPv6.fromBigInt(p.v6);
  return p.len === 128 ? addr : new IPv6CidrRange(addr, new IPv6Prefix(BigInt(p.len)));
}

/** Writes the address in network order into 16 bytes at `offset` (IPv4: 4 bytes, the rest stays zero). */
export function writeAddress(bytes: Uint8Array, offset: number, family: number, v4: number, v6: bigint): void {
  if (family === FAMILY_V4) {
    bytes[offset] = v4 >>> 24;
    bytes[offset + 1] = (v4 >>> 16) & 255;
    bytes[offset + 2] = (v4 >>> 8) & 255;
    bytes[offset + 3] = v4 & 255;
    return;
  }
  let rest = v6;
  for (let i = 15; i >= 0; i--) {
    bytes[offset + i] = Number(rest & 0xffn);
    rest >>= 8n;
  }
}
