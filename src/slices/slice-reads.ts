// Reading a SliceTable's slices: the slice that decides a packet (SliceTable.find, the reference for
// what the compiled image answers) and every slice in image order (SliceTable.slices). Used by table.ts.
import type { IPv4, IPv6 } from 'ip-num';

import { invalid } from '../errors.js';
import { isPort, type Destination, type Protocol } from '../fields.js';
import { isAddress, isIPv4 } from '../ip.js';
import { FAMILY_V4, FAMILY_V6, mask4, mask6, toDestination } from './address.js';
import type { CheckedTable } from './overlaps.js';
import { fromOf, ownerOf, protocolNames, protoOf, toOf } from './slice.js';
import { sortedGroups } from './state.js';
import type { SliceEntry } from './types.js';

/** The slice at arena offset `i` as users see it. */
function entryAt(t: CheckedTable, destination: Destination, d: Float64Array, i: number): SliceEntry {
  const ports = d[i]!;
  const meta = d[i + 1]!;
  return { destination, protocols: protocolNames(protoOf(meta)), ports: { from: fromOf(ports), to: toOf(ports) }, owner: t.names[ownerOf(meta)]! };
}

/** SliceTable.find(): longest prefix first, then the first slice whose protocols and ports hold the packet's. */
export function findSlice(t: CheckedTable, destination: IPv4 | IPv6, protocol: Protocol, port: number): SliceEntry | undefined {
  if (!isAddress(destination)) invalid('destination', 'an ip-num IPv4 or IPv6 address', destination);
  if (protocol !== 'tcp' && protocol !== 'udp') invalid('protocol', "'tcp' or 'udp'", protocol);
  if (!isPort(port)) invalid('port', 'a port from 0 to 65535', port);
  const bit = protocol === 'tcp' ? 1 : 2;
  const v4 = isIPv4(destination);
  const addr4 = v4 ? Number(destination.getValue()) : 0;
  const addr6 = v4 ? 0n : destination.getValue();
  for (let len = v4 ? 32 : 128; len >= 0; len--) {
    const g = v4 ? t.v4[len]?.get(mask4(addr4, len)) : t.v6[len]?.get(mask6(addr6, len));
    if (g === undefined) continue;
    const d = t.data();
    for (let i = g.at; i < g.at + g.n * 2; i += 2) {
      const ports = d[i]!;
      if ((d[i + 1]! & bit) !== 0 && fromOf(ports) <= port && port <= toOf(ports)) return entryAt(t, toDestination(g.prefix), d, i);
    }
  }
  return undefined;
}

/** SliceTable.slices(): IPv4 then IPv6, by address, a prefix before the prefixes inside it. */
export function* listSlices(t: CheckedTable): IterableIterator<SliceEntry> {
  for (const family of [FAMILY_V4, FAMILY_V6]) {
    for (const g of sortedGroups(t, family)) {
      const destination = toDestination(g.prefix);
      // The arena read anew for each slice: the table may change between two of them.
      for (let i = g.at; i < g.at + g.n * 2; i += 2) yield entryAt(t, destination, t.data(), i);
    }
  }
}
