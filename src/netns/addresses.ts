// src/netns/addresses.ts: which addresses the ends of veth pair N get, and adding them. Used by
// src/netns/veth.ts; the ranges are chosen so that no test traffic can ever leave the machine.
import { ip } from './iproute.js';

// 198.18.0.0/15 is reserved for benchmarking (RFC 2544, RFC 6890): it is routed nowhere, so
// traffic to it can never reach a real host, nor clash with the machine's own (often private
// 10/8, 172.16/12 or 192.168/16) addresses. It holds 512 /24s: one per pair, so the pairs of a run
// never share a subnet even if a test routes between them. 2001:db8::/32 is the IPv6
// documentation prefix (RFC 3849), likewise never routed; each pair gets 2001:db8:N::/64.
export const MAX_PAIRS = 512;

export interface PairAddresses {
  a4: string;
  b4: string;
  a6: string;
  b6: string;
}

/** 198.18.N.1 / .2 and 2001:db8:N::1 / ::2 for pair N (N < MAX_PAIRS). */
export function pairAddresses(index: number): PairAddresses {
  const net4 = `198.${18 + (index >> 8)}.${index & 255}`;
  // Written the canonical way (RFC 5952) as the kernel prints it: 2001:db8::1, 2001:db8:1::1, ...
  const net6 = index === 0 ? '2001:db8:' : `2001:db8:${index.toString(16)}:`;
  return { a4: `${net4}.1`, b4: `${net4}.2`, a6: `${net6}:1`, b6: `${net6}:2` };
}

/** Adds `a4`/24 and `a6`/64 to the interface of `ns` that carries the namespace's name. */
export async function addPairAddresses(ns: string, a4: string, a6: string): Promise<void> {
  await ip(ns, ['addr', 'add', `${a4}/24`, 'dev', ns], `adding ${a4}/24 to ${ns}`);
  // nodad: without it the address stays "tentative" for about a second of duplicate address
  // detection and cannot be used yet; in a fresh namespace nothing can own it twice.
  await ip(ns, ['-6', 'addr', 'add', `${a6}/64`, 'dev', ns, 'nodad'], `adding ${a6}/64 to ${ns}`);
}
