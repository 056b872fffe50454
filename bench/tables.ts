// The slice tables the benchmarks run on, built through the public SliceTable and compiled by
// compileTable (the one compiler): used by bench/images.ts (micro) and bench/pps/run.ts (pps).
import { IPv4, IPv6 } from 'ip-num';

import { compileTable, type CompiledTable, type HostSpec } from '../src/slices/compile.js';
import { SliceTable } from '../src/slices/table.js';
import { evenSlices } from '../src/ssa/slice-set.js';

/** Slices per address: 16 of 4096 ports each, as Cloudflare hands them out (FACTS.md). */
export const SLICES_PER_ADDRESS = 16;
export const PORTS_PER_SLICE = 65536 / SLICES_PER_ADDRESS;
/** The shared addresses start here (RFC 6598 space: never routed to this machine). */
export const FIRST_ADDRESS = '100.64.0.0';
/** The same for IPv6 tables (documentation space, RFC 3849). */
export const FIRST_ADDRESS6 = '2001:db8:5::';

/** The family of a bench table's shared addresses (its owners are reached over IPv4 either way). */
export type BenchFamily = 'ipv4' | 'ipv6';
const SERVERS = 30;
const DATACENTERS = 4;

/** Which owner kind slice `s` of an address has: the first is this host's (so that the local
 * rules fold into a few prefixes, under the XDP program's 64), then servers and data centres
 * alternate. The pps bench picks its destinations with the same rule. */
export function kindOfSlice(s: number): 'local' | 'server' | 'datacenter' {
  if (s === 0) return 'local';
  return s % 2 === 1 ? 'server' : 'datacenter';
}

/** A table of `slices` slices over ceil(slices / 16) consecutive addresses from FIRST_ADDRESS
 * (FIRST_ADDRESS6 for `ipv6`); servers sit at 10.1.0.N and data centres' endpoints at 10.2.N.1,
 * all reached in GUE variant 0 over IPv4, as a router picks IPv4 when both ends have it. */
export function benchTable(slices: number, family: BenchFamily = 'ipv4'): SliceTable {
  const table = new SliceTable().defineOwner('self', { kind: 'local' });
  for (let i = 0; i < SERVERS; i++) table.defineOwner(`srv${i}`, { kind: 'server', address: IPv4.fromString(`10.1.0.${i + 2}`) });
  for (let i = 0; i < DATACENTERS; i++) table.defineOwner(`dc${i}`, { kind: 'datacenter', endpoint: IPv4.fromString(`10.2.${i}.1`) });
  const base = family === 'ipv4' ? IPv4.fromString(FIRST_ADDRESS).getValue() : IPv6.fromString(FIRST_ADDRESS6).getValue();
  const address = (a: number): IPv4 | IPv6 => (family === 'ipv4' ? new IPv4(base + BigInt(a)) : new IPv6(base + BigInt(a)));
  const input = [];
  for (let n = 0; n < slices; n++) {
    const a = Math.floor(n / SLICES_PER_ADDRESS);
    const s = n % SLICES_PER_ADDRESS;
    const kind = kindOfSlice(s);
    const owner = kind === 'local' ? 'self' : kind === 'server' ? `srv${(a + s) % SERVERS}` : `dc${(a + s) % DATACENTERS}`;
    input.push({ destination: address(a), ports: { from: s * PORTS_PER_SLICE, to: (s + 1) * PORTS_PER_SLICE - 1 }, owner });
  }
  return table.assignMany(input);
}

/** How a flow-hash bench table's backends are reached: GUE variant 0, or GLB's hop list without a
 * hop (a fresh Maglev table: every row's secondary is its primary) or with one in every row. */
export type FlowEncap = 'gue0' | 'glb' | 'glb-hop';
/** The flow-hash bench service: TCP 443 on FIRST_ADDRESS (FIRST_ADDRESS6), Maglev's 65537 rows. */
export const FLOW_BACKENDS = 1000;

/** One flow-hash service with FLOW_BACKENDS backends at 10.3.x.y (issue 15), and a local slice of
 * another address, so that the table has both kinds as a balancer's would. */
export function flowBenchTable(encap: FlowEncap, family: BenchFamily = 'ipv4'): SliceTable {
  const table = new SliceTable().defineOwner('self', { kind: 'local' });
  const backends = [];
  for (let i = 0; i < FLOW_BACKENDS; i++) {
    const name = `b${i}`;
    table.defineOwner(name, { kind: 'server', address: new IPv4(0x0a030000n + BigInt(i + 1)), encap: encap === 'gue0' ? 'gue0' : 'glb' });
    backends.push({ owner: name });
  }
  const address = family === 'ipv4' ? IPv4.fromString(FIRST_ADDRESS) : IPv6.fromString(FIRST_ADDRESS6);
  table.addService({ address, protocol: 'tcp', port: 443, backends });
  const other = family === 'ipv4' ? new IPv4(address.getValue() + 1n) : new IPv6(address.getValue() + 1n);
  return table.assign({ destination: other, ports: { from: 0, to: 65535 }, owner: 'self' });
}

/** Compiles `table` for a host with `host.mac`, sending every GUE owner's packets to `nextHopMac`. */
export function compileBenchTable(table: SliceTable, host: HostSpec, nextHopMac: string): CompiledTable {
  const nextHops = new Map<string, string>();
  for (const [name, spec] of table.owners()) if (spec.kind !== 'local') nextHops.set(name, nextHopMac);
  return compileTable(table, host, { generation: 1, nextHops });
}

/** The host every bench table is compiled for, apart from its MAC address. */
export function benchHost(mac: string): HostSpec {
  return { mac, mtu: 1600, ipv4: IPv4.fromString('10.0.0.1'), guePort: 6080, flowHashSeed: 0x5eed };
}

/** The address-slice bench service's prefix and its source filter's rule (addrBenchTable). */
export const ADDR_PREFIX = '2001:db8:77::/64';
export const ADDR_RULE = { rule: 'source-derived', sourceBits: 64, fn: 'flowhash-1', key: '00112233445566778899aabbccddeeff' } as const;

/** An address-slice table (issue 16): one /64 service cut into `slices` equal slices (a power of two)
 * over four GUE servers, with the flowhash-1 source filter on (drop) or off. */
export function addrBenchTable(slices: number, filter: boolean): SliceTable {
  const table = new SliceTable();
  const owners = ['e0', 'e1', 'e2', 'e3'];
  owners.forEach((name, i) => table.defineOwner(name, { kind: 'server', address: new IPv4(0x0a040000n + BigInt(i + 1)), encap: 'gue0' }));
  const set = evenSlices(ADDR_PREFIX, 64 + Math.log2(slices), owners);
  return table.addAddressService({ prefix: ADDR_PREFIX, slices: set, ...(filter ? { filter: { rule: ADDR_RULE } } : {}) });
}
