// GUE variant 0 headers carrying GLB director's hop list: the load balancer writes one in front of
// each packet for a backend, a backend without the flow forwards the packet to the next hop.
// Layout: github/glb-director docs/development/gue-header.md ("GUE Header usage in GLB"):
//
//   | 0 0 | C | Hlen(5) | Proto/ctype(8) | Flags(16)              |  GUE (draft-ietf-intarea-gue)
//   | Private data type (16) = 0 | Next hop idx (8) | Hop count (8) |  GLB private data
//   | Hop 0 (IPv4, 32) | ... | Hop N-1                            |
//
// C and Flags are 0; Proto is 4 (inner IPv4) or 41 (inner IPv6); Hlen counts the 32-bit words
// after the first, here 1 + hop count. Hops are IPv4 addresses in network order, the alternates
// after the outer destination (GLB puts the first hop in the outer header, the rest in the list);
// Next hop idx is the next one to try (the director writes 0). UDP port: GLB_GUE_PORT.
import { isIP } from 'node:net';

import { invalid, InvalidPacketError } from '../errors.js';

/** GLB director's GUE destination port ('LB' + 1), from its sources; any port works if both ends agree. */
export const GLB_GUE_PORT = 19523;
/** Hlen has 5 bits: 31 words after the first, one of them the private word. */
export const HOP_LIST_MAX_HOPS = 30;

/** Inner packet family as GUE's Proto field names it (IANA protocol numbers). */
export type InnerProtocol = 4 | 41;

export interface HopList {
  /** 4: the encapsulated packet is IPv4; 41: IPv6. */
  readonly protocol: InnerProtocol;
  /** Index into `hops` of the next backend to try; `hops.length` when none is left. */
  readonly nextHop: number;
  /** Alternate backends, IPv4 dotted quads, in the order to try them. */
  readonly hops: readonly string[];
}

const WORD = 4;
const FIXED = 2 * WORD;

/** The GUE header with its hop list, as bytes: 8 + 4 x hops. The inner packet follows it. */
export function encodeHopList(list: HopList): Uint8Array {
  if (list.protocol !== 4 && list.protocol !== 41) invalid('hopList.protocol', '4 (inner IPv4) or 41 (inner IPv6)', list.protocol);
  if (!Array.isArray(list.hops) || list.hops.length > HOP_LIST_MAX_HOPS) {
    invalid('hopList.hops', `an array of at most ${HOP_LIST_MAX_HOPS} IPv4 addresses`, list.hops);
  }
  const count = list.hops.length;
  if (!Number.isInteger(list.nextHop) || list.nextHop < 0 || list.nextHop > count) {
    invalid('hopList.nextHop', `an integer from 0 to the hop count (${count})`, list.nextHop);
  }
  const out = new Uint8Array(FIXED + WORD * count);
  const view = new DataView(out.buffer);
  out[0] = 1 + count; // variant 0, C = 0, Hlen in the low five bits
  out[1] = list.protocol;
  view.setUint16(2, 0); // flags
  view.setUint16(4, 0); // private data type
  out[6] = list.nextHop;
  out[7] = count;
  list.hops.forEach((hop, i) => {
    if (typeof hop !== 'string' || isIP(hop) !== 4) invalid(`hopList.hops[${i}]`, 'an IPv4 address (GLB hop lists hold IPv4 only)', hop);
    out.set(hop.split('.').map(Number), FIXED + WORD * i);
  });
  return out;
}

function bad(field: string, expected: string, found: string): never {
  throw new InvalidPacketError(`Expected ${expected} for ${field} but received ${found}`);
}

/**
 * Reads the GUE header with its hop list at the start of `bytes` (a UDP payload). `length` is
 * where the inner packet starts. Every field GLB fixes is checked: a header this code would not
 * write is refused (InvalidPacketError), never half-read.
 */
export function decodeHopList(bytes: Uint8Array): HopList & { readonly length: number } {
  if (!(bytes instanceof Uint8Array)) invalid('bytes', 'a Uint8Array', bytes);
  if (bytes.length < FIXED) bad('the GUE header', `at least ${FIXED} bytes (GUE word and GLB private word)`, `${bytes.length} bytes`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const variant = bytes[0]! >> 6;
  if (variant !== 0) bad('gue.variant', '0 (variant 1 has no header to carry a hop list)', String(variant));
  if (bytes[0]! & 0x20) bad('gue.C', '0 (a data message)', '1 (a control message)');
  const hlen = bytes[0]! & 0x1f;
  const protocol = bytes[1]!;
  if (protocol !== 4 && protocol !== 41) bad('gue.proto', '4 (IPv4) or 41 (IPv6)', String(protocol));
  const flags = view.getUint16(2);
  if (flags !== 0) bad('gue.flags', '0 (GLB sets no flags; unknown flags mean drop)', `0x${flags.toString(16).padStart(4, '0')}`);
  if (hlen < 1) bad('gue.hlen', 'at least 1 (the GLB private word)', '0');
  const length = WORD + WORD * hlen;
  if (bytes.length < length) bad('the GUE header', `${length} bytes (4 + 4 x hlen ${hlen})`, `${bytes.length} bytes`);
  const type = view.getUint16(4);
  if (type !== 0) bad('glb.privateType', '0 (the only GLB private data type)', String(type));
  const nextHop = bytes[6]!;
  const count = bytes[7]!;
  if (count !== hlen - 1) bad('glb.hopCount', `hlen - 1 = ${hlen - 1} (one word per hop after the private word)`, String(count));
  if (nextHop > count) bad('glb.nextHop', `at most the hop count (${count})`, String(nextHop));
  const hops: string[] = [];
  for (let i = 0; i < count; i++) hops.push(bytes.subarray(FIXED + WORD * i, FIXED + WORD * (i + 1)).join('.'));
  return { protocol, nextHop, hops, length };
}

/**
 * GLB's forwarding step for a packet its backend has no connection for (docs/development/
 * gue-header.md, "Packet Processing"): the hop to send it to, with Next hop idx advanced in
 * `bytes` in place, or null when every hop was tried (drop it, or answer it locally).
 * The caller then moves the outer destination to the source and writes the hop as destination.
 */
export function advanceHop(bytes: Uint8Array): string | null {
  const list = decodeHopList(bytes);
  if (list.nextHop >= list.hops.length) return null;
  bytes[6] = list.nextHop + 1;
  return list.hops[list.nextHop]!;
}
