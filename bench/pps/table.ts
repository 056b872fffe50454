// The pps bench's slice table and frames: the bench table's IPv4 slices (bench/tables.ts), as
// many on IPv6 shared addresses whose servers and data centres are reached over IPv6, and two
// flow-hash services (flow.ts), compiled by compileTable for the device under test; frames to a
// slice of each kind and to the services. Used by configs.ts.
import { IPv4, IPv4CidrRange, IPv6 } from 'ip-num';

import type { CompiledTable } from '../../src/slices/compile.js';
import { compileCaptureRules } from '../../src/xdp/capture.js';
import { ethernet, ipv4, ipv6, udp } from '../../test/fixtures/packets.js';
import { addFlowServices, PPS_CLIENT4, PPS_CLIENT6, FLOW_PORT, FLOW_SEED, FLOW_SERVICE4, FLOW_SERVICE6, flowSourcePort } from './flow.js';
import { benchTable, compileBenchTable, FIRST_ADDRESS, kindOfSlice, PORTS_PER_SLICE, SLICES_PER_ADDRESS } from '../tables.js';

/** The IPv6 shared addresses start here (documentation space: never routed to this machine). */
export const FIRST_ADDRESS6 = '2001:db8:100::';
const SERVERS6 = 30;
const DATACENTERS6 = 4;

export type Family = 4 | 6;
/** A slice of a server, of a data centre, or a flow-hash service's row with a hop ('glb' owners). */
export type Verdict = 'server' | 'datacenter' | 'flow';

/** `slices` IPv4 slices as benchTable lays them out, and `slices` more over IPv6 addresses:
 * servers at fd00:1::N, data centres' endpoints at fd00:2:N::1, in GUE variant 0 over IPv6; and
 * the flow-hash services of flow.ts (port slices come first in the lookup: their rows do not pay
 * for the services). */
export function ppsTable(slices: number) {
  const table = benchTable(slices);
  for (let i = 0; i < SERVERS6; i++) table.defineOwner(`srv6-${i}`, { kind: 'server', address: IPv6.fromString(`fd00:1::${(i + 2).toString(16)}`) });
  for (let i = 0; i < DATACENTERS6; i++) table.defineOwner(`dc6-${i}`, { kind: 'datacenter', endpoint: IPv6.fromString(`fd00:2:${i}::1`) });
  const base = IPv6.fromString(FIRST_ADDRESS6).getValue();
  const input = [];
  for (let n = 0; n < slices; n++) {
    const a = Math.floor(n / SLICES_PER_ADDRESS);
    const s = n % SLICES_PER_ADDRESS;
    const kind = kindOfSlice(s);
    const owner = kind === 'local' ? 'self' : kind === 'server' ? `srv6-${(a + s) % SERVERS6}` : `dc6-${(a + s) % DATACENTERS6}`;
    input.push({ destination: new IPv6(base + BigInt(a)), ports: { from: s * PORTS_PER_SLICE, to: (s + 1) * PORTS_PER_SLICE - 1 }, owner });
  }
  return addFlowServices(table.assignMany(input));
}

/** The table compiled for the device under test: host `mac`, every GUE owner's next hop `nextHopMac`
 * (the generator's end, where the sink counts what comes back). */
export function compilePpsTable(slices: number, mac: string, nextHopMac: string): CompiledTable {
  return compileBenchTable(ppsTable(slices), { mac, mtu: 1600, ipv4: IPv4.fromString('10.0.0.1'), ipv6: IPv6.fromString('fd00::1'), guePort: 6080, flowHashSeed: FLOW_SEED }, nextHopMac);
}

/** Capture rules of the bare AF_XDP bounce: the IPv4 shared addresses (it is sent IPv4 frames). */
export function bounceCaptureRules(): Uint8Array {
  return compileCaptureRules([{ destination: IPv4CidrRange.fromCidr('100.64.0.0/10') }]);
}

/** A UDP frame of `bytes` bytes to a slice of `verdict` of the fourth shared address of `family`,
 * or ('flow') to the flow-hash service of `family` from a source port whose row has a hop. */
export function ppsFrame(o: { family: Family; verdict: Verdict; bytes: number; srcMac: string; dstMac: string }): Uint8Array {
  const headers = o.family === 4 ? 42 : 62;
  // Ends in the mark the reflector knows its test frames by (reflect.h, REFLECT_MARK*).
  const payload = new Uint8Array(o.bytes - headers);
  payload.set([0x50, 0x53], payload.length - 2);
  const to = o.verdict === 'flow' ? flowDestination(o.family) : sliceDestination(o.family, o.verdict);
  const l4 = udp({ src: to.sourcePort, dst: to.port, payload });
  const packet = o.family === 4
    ? ipv4({ src: PPS_CLIENT4, dst: to.address }, l4)
    : ipv6({ src: PPS_CLIENT6, dst: to.address }, l4);
  return ethernet({ dst: o.dstMac, src: o.srcMac }, packet);
}

interface Destination {
  address: string;
  port: number;
  sourcePort: number;
}

function sliceDestination(family: Family, verdict: 'server' | 'datacenter'): Destination {
  const slice = [...Array(SLICES_PER_ADDRESS).keys()].find((i) => kindOfSlice(i) === verdict)!;
  const address = family === 4
    ? new IPv4(IPv4.fromString(FIRST_ADDRESS).getValue() + 3n).toString()
    : new IPv6(IPv6.fromString(FIRST_ADDRESS6).getValue() + 3n).toString();
  return { address, port: slice * PORTS_PER_SLICE + 7, sourcePort: 40000 };
}

/** The services' rows do not depend on the port slices: a table of one slice finds the same port. */
const flowPorts = new Map<Family, number>();
function flowDestination(family: Family): Destination {
  let sourcePort = flowPorts.get(family);
  if (sourcePort === undefined) flowPorts.set(family, (sourcePort = flowSourcePort(ppsTable(1), family)));
  return { address: family === 4 ? FLOW_SERVICE4 : FLOW_SERVICE6, port: FLOW_PORT, sourcePort };
}
