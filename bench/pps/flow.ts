// The pps bench's flow-hash services (issue 15): UDP 443 on one IPv4 and one IPv6 address, 1,000
// 'glb' backends, some rows with a hop; and the source port of the one flow the bench sends. Used by table.ts.
import { IPv4, IPv6 } from 'ip-num';

import { flowHash } from '../../src/lb/flow-hash.js';
import { lookupRow } from '../../src/lb/maglev.js';
import { FAMILY_V4 } from '../../src/slices/address.js';
import type { SliceTable } from '../../src/slices/table.js';
import { FLOW_BACKENDS } from '../tables.js';

/** The services' addresses: RFC 6598 and documentation space, apart from the port slices'. */
export const FLOW_SERVICE4 = '100.65.0.1';
export const FLOW_SERVICE6 = '2001:db8:101::1';
/** UDP, as the port-slice frames are: the two rows differ by the lookup alone, and IPv6 fits 64 B. */
export const FLOW_PORT = 443;
/** The table's flowHashSeed (table.ts compiles with it). */
export const FLOW_SEED = 0x5eed;
/** Backends the services start with; the rest are added by setServiceBackends, so that the rows
 * they take keep their previous primary as their secondary (second chance): ~10% of the rows. */
const FIRST_BACKENDS = 900;
/** Source addresses of every pps frame (ppsFrame), port-slice or flow. */
export const PPS_CLIENT4 = '203.0.113.10';
export const PPS_CLIENT6 = '2001:db8:ff::10';

const serviceAddress = (family: 4 | 6): IPv4 | IPv6 => (family === 4 ? IPv4.fromString(FLOW_SERVICE4) : IPv6.fromString(FLOW_SERVICE6));

/** Adds FLOW_BACKENDS 'glb' owners (flow-bN at 10.3.x.y, IPv4: GLB's hops are IPv4) and the two
 * services to `table`: fresh on the first 900, then given all 1,000. */
export function addFlowServices(table: SliceTable): SliceTable {
  const backends = [];
  for (let i = 0; i < FLOW_BACKENDS; i++) {
    const owner = `flow-b${i}`;
    table.defineOwner(owner, { kind: 'server', address: new IPv4(0x0a030000n + BigInt(i + 1)), encap: 'glb' });
    backends.push({ owner });
  }
  for (const family of [4, 6] as const) {
    const address = serviceAddress(family);
    table.addService({ address, protocol: 'udp', port: FLOW_PORT, backends: backends.slice(0, FIRST_BACKENDS) });
    table.setServiceBackends(address, 'udp', FLOW_PORT, backends);
  }
  return table;
}

/** The row the flow from FLOW_CLIENT<family>:`sourcePort` falls in: its primary and secondary. */
export function flowRow(table: SliceTable, family: 4 | 6, sourcePort: number): { row: number; primary: string; secondary: string } {
  const service = table.services().find((s) => (s.family === FAMILY_V4) === (family === 4) && s.protocol === 'udp' && s.port === FLOW_PORT);
  if (service === undefined) throw new Error(`Expected a UDP ${FLOW_PORT} service over IPv${family} in the pps table but received a table without one`);
  const hash = flowHash(FLOW_SEED, {
    protocol: 'udp',
    source: family === 4 ? PPS_CLIENT4 : PPS_CLIENT6,
    destination: family === 4 ? FLOW_SERVICE4 : FLOW_SERVICE6,
    sourcePort,
    destinationPort: FLOW_PORT,
  });
  return lookupRow(service.maglev, hash);
}

/** The first source port from 40000 whose flow's row has a hop (secondary other than primary), so
 * that the device writes GLB's hop list: the dearer of the two cases. */
export function flowSourcePort(table: SliceTable, family: 4 | 6): number {
  for (let port = 40000; port <= 0xffff; port++) {
    const { primary, secondary } = flowRow(table, family, port);
    if (primary !== secondary) return port;
  }
  throw new Error(`Expected a source port whose flow falls in a row with a hop over IPv${family} but received none from 40000 to 65535`);
}
