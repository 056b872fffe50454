// Key kinds kept apart in a SliceTable (table.ts): no port slice and no flow-hash service may nest with an
// address service's prefix. The fast path asks the kinds in the image's order and the first that
// finds an owner decides (native/core/route.h, su_lookup_kinds), so such an owner would be decided by
// that order (port-slice, flow-hash, address-slice: kinds.ts), not by anything the table says.
import { SliceOverlapError } from '../errors.js';
import { formatPrefix as formatPrefix6, sizeOf, type Prefix6 } from '../ssa/prefix.js';
import { FAMILY_V6, mask6 } from './address.js';
import type { AddressService } from './address-services.js';
import type { Batch } from './overlaps.js';
import { serviceName, type FlowService } from './services.js';
import { formatSlice, fromOf, ownerOf, protoOf, toOf, type Group } from './slice.js';
import type { V6Maps } from './state.js';

const WHY = "which would decide is the fast path's order of key kinds, not the table";

/** A service's prefix as its first and last address: comparisons allocate no bigint, masks would (~190 ns a test). */
export interface Span<P extends Prefix6 = Prefix6> {
  readonly s: P;
  readonly first: bigint;
  readonly last: bigint;
}

export const spanOf = <P extends Prefix6>(s: P): Span<P> => ({ s, first: s.network, last: s.network + sizeOf(s.length) - 1n });

/** Whether the IPv6 prefix (`v6`, `len`) and `x`'s prefix nest (one holds the other); the config's check too (src/config/kinds-apart.ts). */
export function nests(v6: bigint, len: number, x: Span): boolean {
  if (len >= x.s.length) return v6 >= x.first && v6 <= x.last;
  return v6 <= x.first && x.first - v6 < sizeOf(len);
}

/** "2001:db8::7 tcp+udp ports 0-4095 of owner 'a'": a slice as two numbers, named. */
function sliceText(prefix: Group['prefix'], ports: number, meta: number, names: readonly (string | undefined)[]): string {
  return `${formatSlice(prefix, protoOf(meta), fromOf(ports), toOf(ports))} of owner '${names[ownerOf(meta)]}'`;
}

/**
 * A change's new prefixes (`created`: groups it filed, their slices linked in batch `b`) against the
 * table's address services: SliceOverlapError naming the first slice of a nesting prefix and the
 * service. Only new prefixes can nest anew: a prefix the table has was checked when it came, or
 * when the service did. Two bigint comparisons a new IPv6 prefix and service; nothing for IPv4.
 */
export function checkSlicesApart(created: readonly Group[], b: Batch, services: readonly AddressService[], names: readonly (string | undefined)[]): void {
  const spans = services.map(spanOf);
  for (const g of created) {
    if (g.prefix.family !== FAMILY_V6 || g.head < 0) continue;
    for (const x of spans) {
      if (!nests(g.prefix.v6, g.prefix.len, x)) continue;
      const i = g.head;
      throw new SliceOverlapError(
        `Slice ${sliceText(g.prefix, b.ports[i]!, b.meta[i]!, names)} (${b.where(i)}) overlaps address service ${formatPrefix6(x.s)} of the table; ` +
          `port slices and address services must not cover the same addresses (${WHY})`,
      );
    }
  }
}

/** A group of `map` (prefixes of length `len`, longer than `a`'s) inside `a`'s prefix, or undefined. */
function groupInside(map: Map<bigint, Group>, len: number, a: AddressService): Group | undefined {
  const span = len - a.length;
  if (span <= 6 && 2 ** span <= map.size) {
    const step = 1n << BigInt(128 - len);
    for (let k = 0n; k < 1n << BigInt(span); k++) {
      const g = map.get(a.network + k * step);
      if (g !== undefined) return g;
    }
    return undefined;
  }
  // One pass of two comparisons a prefix: an address service comes once, a table may hold a million.
  const end = a.network + (1n << BigInt(128 - a.length));
  for (const [key, g] of map) if (key >= a.network && key < end) return g;
  return undefined;
}

/**
 * New address service `a` against the table's port slices (their IPv6 groups `v6`, numbers in
 * `data`) and flow-hash services: SliceOverlapError naming the service and a slice or service
 * it nests with.
 */
export function checkServiceApart(a: AddressService, v6: V6Maps, data: Float64Array, names: readonly (string | undefined)[], flows: readonly FlowService[]): void {
  const text = formatPrefix6(a);
  for (let len = 0; len <= 128; len++) {
    const map = v6[len];
    if (map === undefined || map.size === 0) continue;
    const g = len <= a.length ? map.get(mask6(a.network, len)) : groupInside(map, len, a);
    if (g === undefined || g.n === 0) continue;
    throw new SliceOverlapError(
      `Address service ${text} (service.prefix) overlaps slice ${sliceText(g.prefix, data[g.at]!, data[g.at + 1]!, names)} (in the table); ` +
        `port slices and address services must not cover the same addresses (${WHY})`,
    );
  }
  const span = spanOf(a);
  const f = flows.find((s) => s.family === FAMILY_V6 && nests(s.v6, 128, span));
  if (f !== undefined) {
    throw new SliceOverlapError(
      `Address service ${text} (service.prefix) covers flow-hash service ${serviceName(f)} (in the table); ` +
        `flow-hash services and address services must not cover the same packets (${WHY})`,
    );
  }
}

/** New flow-hash service `f` against the table's address services: SliceOverlapError naming both. */
export function checkFlowApart(f: FlowService, services: readonly AddressService[]): void {
  if (f.family !== FAMILY_V6) return;
  const s = services.map(spanOf).find((x) => nests(f.v6, 128, x))?.s;
  if (s === undefined) return;
  throw new SliceOverlapError(
    `Flow-hash service ${serviceName(f)} (service.address) lies in address service ${formatPrefix6(s)} of the table; ` +
      `flow-hash services and address services must not cover the same packets (${WHY})`,
  );
}
