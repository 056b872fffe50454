// The seeded 5-tuple hash of native/core/flow_hash.h, in TypeScript: load-balancer code off the
// packet path (tables, tests, tools) must pick the same Maglev row for a flow as both fast lanes.
import { isIP } from 'node:net';

import { IPv4, IPv6 } from 'ip-num';

import { invalid } from '../errors.js';
import { isIPv4, isIPv6 } from '../ip.js';

const MASK64 = (1n << 64n) - 1n;
const GOLDEN = 0x9e3779b97f4a7c15n;

/** A flow as the hash sees it: addresses of one family, ports in host order. */
export interface FlowTuple {
  readonly protocol: 'tcp' | 'udp' | number;
  readonly source: string | IPv4 | IPv6;
  readonly destination: string | IPv4 | IPv6;
  readonly sourcePort: number;
  readonly destinationPort: number;
}

/** su_hash_step of flow_hash.h; src/lb/maglev.ts hashes backend names with it too. */
// The C code works on uint64_t, so every product is cut to 64 bits here.
export function step(h: bigint, word: bigint): bigint {
  const m = ((h ^ word) * GOLDEN) & MASK64;
  return m ^ (m >> 32n);
}

/** su_hash_finish: SplitMix64's finalizer. */
export function finish(h: bigint): bigint {
  h ^= h >> 30n;
  h = (h * 0xbf58476d1ce4e5b9n) & MASK64;
  h ^= h >> 27n;
  h = (h * 0x94d049bb133111ebn) & MASK64;
  return h ^ (h >> 31n);
}

/** An address as the 4 or 16 bytes of network order the C code reads. */
function addressBytes(value: unknown, path: string): Uint8Array {
  let address: IPv4 | IPv6 | undefined;
  if (isIPv4(value) || isIPv6(value)) address = value;
  else if (typeof value === 'string' && isIP(value) === 4) address = IPv4.fromString(value);
  else if (typeof value === 'string' && isIP(value) === 6) address = IPv6.fromString(value);
  if (address === undefined) invalid(path, 'an IPv4 or IPv6 address', value);
  const size = isIPv4(address) ? 4 : 16;
  const bytes = new Uint8Array(size);
  let v = address.value;
  for (let i = size - 1; i >= 0; i--, v >>= 8n) bytes[i] = Number(v & 0xffn);
  return bytes;
}

function protocolNumber(value: unknown): number {
  if (value === 'tcp') return 6;
  if (value === 'udp') return 17;
  if (typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= 255) return value;
  return invalid('flow.protocol', "'tcp', 'udp' or an IP protocol number from 0 to 255", value);
}

function port(value: unknown, path: string): number {
  if (typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= 0xffff) return value;
  return invalid(path, 'an integer from 0 to 65535', value);
}

/**
 * su_flow_hash(seed, family, saddr, daddr, protocol, sport, dport) of native/core/flow_hash.h.
 * The C code loads address bytes as native-endian words (su_load32/su_load64); every target the
 * project builds for (x86-64, arm64, BPF on them) is little-endian, so the words are read so here.
 */
export function flowHash(seed: number, flow: FlowTuple): number {
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) invalid('seed', 'an integer from 0 to 4294967295', seed);
  const saddr = addressBytes(flow.source, 'flow.source');
  const daddr = addressBytes(flow.destination, 'flow.destination');
  if (saddr.length !== daddr.length) invalid('flow.destination', `an ${saddr.length === 4 ? 'IPv4' : 'IPv6'} address like flow.source`, flow.destination);
  const family = saddr.length === 4 ? 4 : 6;
  const protocol = protocolNumber(flow.protocol);
  const sport = port(flow.sourcePort, 'flow.sourcePort');
  const dport = port(flow.destinationPort, 'flow.destinationPort');
  const s = new DataView(saddr.buffer);
  const d = new DataView(daddr.buffer);
  let h = step(BigInt(seed), BigInt((family << 8) | protocol));
  if (family === 4) {
    h = step(h, (BigInt(s.getUint32(0, true)) << 32n) | BigInt(d.getUint32(0, true)));
  } else {
    for (const [view, at] of [[s, 0], [s, 8], [d, 0], [d, 8]] as const) h = step(h, view.getBigUint64(at, true));
  }
  h = step(h, BigInt(sport * 0x10000 + dport));
  return Number(finish(h) & 0xffffffffn);
}
