// The pps bench's address-slice rows (issue 16): one /64 service cut into 1,024 to 1,048,576 slices
// over four GUE servers (bench/tables.ts, addrBenchTable), its source filter on or off, and the
// frames sent to it: many sources, each to the destination the filter's rule derives from it; and a
// port-slice table of as many slices under traffic of the same shape, beside it. Used by configs.ts and run.ts.
import { IPv6 } from 'ip-num';

import type { CompiledTable } from '../../src/slices/compile.js';
import { deriveLow64 } from '../../src/ssa/destination.js';
import { ethernet, ipv6, udp } from '../../test/fixtures/packets.js';
import { ADDR_PREFIX, ADDR_RULE, addrBenchTable, benchHost, benchTable, compileBenchTable, FIRST_ADDRESS6, kindOfSlice, PORTS_PER_SLICE, SLICES_PER_ADDRESS } from '../tables.js';

/** The service's sizes: those the instruction counts have (bench/images.ts ADDR_SIZES) and 262,144 (a 2 MiB index, one L2 cache here). */
export const ADDR_PPS_SIZES = [1024, 16_384, 262_144, 1_048_576] as const;
/** The smallest table without the filter: each lane's address rows are a ratio to it, same round. */
export const ADDR_BASELINE = { slices: ADDR_PPS_SIZES[0], filter: false } as const;
/** Distinct frames the reflector picks from at random for each pass (a power of two, at most
 * REFLECT_HEADS_MAX): 65,536 destinations, so that a table of 1,048,576 slices is read at 65,536
 * rows spread over its 8 MiB, not at one cache line. */
export const ADDR_FRAMES = 65_536;
/** UDP, as the port-slice frames are (the address-slice lookup does not read the ports). */
const PORT = 443;

/** The port-slice table beside the address rows: as many slices as the largest address table. */
export const PORT_SLICES = 1_048_576;

export interface AddrTable {
  slices: number;
  filter: boolean;
  /** The port-slice comparison (bench/tables.ts benchTable over IPv6: 65,536 addresses of 16
   * port slices, servers reached in GUE variant 0 over IPv4 as the address table's) instead. */
  ports?: boolean;
}

/** The file name of a table's image in the bench's directory. */
export function addrImageName(t: AddrTable): string {
  return t.ports ? `ports6-${t.slices}.img` : `addr-${t.slices}${t.filter ? '-filter' : ''}.img`;
}

/** The table, compiled for the device under test (host `mac`, every server's next hop `nextHopMac`:
 * the generator's end, where the sink counts what comes back). */
export function compileAddrPpsTable(t: AddrTable, mac: string, nextHopMac: string): CompiledTable {
  return compileBenchTable(t.ports ? benchTable(t.slices, 'ipv6') : addrBenchTable(t.slices, t.filter), benchHost(mac), nextHopMac);
}

/** Client i's address: site 2001:db8:8000:i::/64 (the rule reads a source's first 64 bits), host ::10. */
export function addrSource(i: number): IPv6 {
  return new IPv6(((0x20010db880000000n + BigInt(i)) << 64n) | 0x10n);
}

/** Where client i sends: the service's /64 and the low 64 bits flowhash-1 derives from its source,
 * so that every frame conforms to the filter and lands on a slice the hash picks. */
export function addrDestination(i: number): IPv6 {
  const high = IPv6.fromString(ADDR_PREFIX.split('/')[0]!).getValue();
  return new IPv6(high | deriveLow64(ADDR_RULE, addrSource(i)));
}

/** The 64-byte frame of client i, ending in the reflector's mark (reflect.h, REFLECT_MARK*): to the
 * address service, or (`ports`) to address i of the port-slice table, at a server's slice of it. */
export function addrFrame(i: number, srcMac: string, dstMac: string, ports = false): Uint8Array {
  const payload = new Uint8Array(2);
  payload.set([0x50, 0x53]);
  const slice = 1 + 2 * (i % (SLICES_PER_ADDRESS / 2)); // the odd slices are servers' (kindOfSlice)
  if (ports && kindOfSlice(slice) !== 'server') throw new Error(`Expected a server's slice for frame ${i} but received slice ${slice}`);
  const dst = ports ? new IPv6(IPv6.fromString(FIRST_ADDRESS6).getValue() + BigInt(i % (PORT_SLICES / SLICES_PER_ADDRESS))) : addrDestination(i);
  const l4 = udp({ src: 40000, dst: ports ? slice * PORTS_PER_SLICE + 7 : PORT, payload });
  return ethernet({ dst: dstMac, src: srcMac }, ipv6({ src: addrSource(i).toString(), dst: dst.toString() }, l4));
}

/** The heads file of the reflector (gen.c, HEADS_FILE): ADDR_FRAMES frames of 64 bytes back to back. */
export function addrHeads(srcMac: string, dstMac: string, count: number = ADDR_FRAMES, ports = false): Uint8Array {
  const out = new Uint8Array(count * 64);
  for (let i = 0; i < count; i++) out.set(addrFrame(i, srcMac, dstMac, ports), i * 64);
  return out;
}
