// Seeds for the fuzzers (native/fuzz/run.sh): the golden table image that fuzz_route routes under
// (golden.img), route seeds (every golden packet with the worker's headroom, the encapsulating
// ones again with too little, runs of fragments, bare and in GUE, whose later pieces follow their
// first, and one frame for each rule of issues 12 and 19: loops, trust, lengths, source routes,
// extension chains, tunnel control; the address services' slices, move and filter from
// seeds-addr.ts), and table images of several shapes as view seeds.
// Everything comes from the golden fixtures and compileTable, so the fuzzers start from inputs
// the fast path really meets.
//   node dist/native/fuzz/seeds.js OUT_DIR
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { IPv4, IPv4CidrRange, IPv6, IPv6CidrRange } from 'ip-num';

import { ABI } from '../../src/generated/abi.js';
import { compileTable } from '../../src/slices/compile.js';
import { SliceTable } from '../../src/slices/table.js';
import { goldenCompiled, goldenPackets, goldenTable, HOST_MAC } from '../../test/fixtures/golden.js';
import { addressImages, addressRouteSeeds } from './seeds-addr.js';
import { concat, ethernet, type Checksum, GUE_PORT, gue0, gue1, icmp6, ipv4, ipv6, raw, tcp, udp, type IpPacket, type Ipv6Extension } from '../../test/fixtures/packets.js';

const out = process.argv[2];
if (out === undefined) {
  console.error('usage: node dist/native/fuzz/seeds.js OUT_DIR');
  process.exit(2);
}

// ---- fuzz_route's input format (native/fuzz/fuzz_route.c) -----------------------------------
const SEPARATOR = Uint8Array.from([0xfa, 0xce, 0xb0, 0x0c]);
const WORKER_HEADROOM = 0xff; // any byte from 80 up: the worker's 256 bytes
function routeInput(headroom: number, ...frames: Uint8Array[]): Uint8Array {
  for (const f of frames) {
    if (Buffer.from(f).indexOf(SEPARATOR) >= 0) throw new Error('seeds.ts: a frame contains the frame separator');
  }
  return concat(Uint8Array.of(headroom), ...frames.flatMap((f, i) => (i === 0 ? [f] : [SEPARATOR, f])));
}

// ---- The golden world (test/fixtures/golden.ts), checked against its table below ------------
const SHARED4 = '192.0.2.1';
const SHARED6 = '2001:db8:100::1';
const CLIENT4 = '203.0.113.10';
const CLIENT6 = '2001:db8:ff::10';
const HOST4 = '10.1.0.1';
const HOST6 = '2001:db8:a::1';
const PEER4 = '10.2.0.1';
const PEER6 = '2001:db8:b::1';
const GATEWAY_MAC = '02:00:00:00:01:fe';
const A2 = '10.1.0.2'; // a server of this data centre reached by GUE: trusted, and a peer
const A4_MAC = '02:00:00:00:01:04'; // a server of this data centre reached by L2
const PORT = { a2: 4096 + 7, a3: 6144 + 7, a4: 8192 + 7, dcB: 10240 + 7 } as const;
for (const [owner, port] of Object.entries(PORT)) {
  for (const [family, addr] of [[4, IPv4.fromString(SHARED4)], [6, IPv6.fromString(SHARED6)]] as const) {
    if (goldenTable().lookup(addr, 'udp', port) !== owner) throw new Error(`seeds.ts: port ${port} of IPv${family} is no longer ${owner}'s in the golden table`);
  }
}
// The whole golden table, its address-slice services (issue 16) included: the reference model
// knows every kind (oracle_addr.c for address-slice).
const compiled = goldenCompiled();

const onWire = (ip: IpPacket): Uint8Array => ethernet({ dst: HOST_MAC, src: GATEWAY_MAC }, ip);
const fromPeer = (outer: 4 | 6, payload: Uint8Array): Uint8Array => {
  const datagram = udp({ src: 51000, dst: GUE_PORT, payload, checksum: outer === 4 ? 'zero' : 'auto' });
  return onWire(outer === 4 ? ipv4({ src: PEER4, dst: HOST4, ttl: 62 }, datagram) : ipv6({ src: PEER6, dst: HOST6, hopLimit: 62 }, datagram));
};
/** GUE variant 0 from `src` (a peer, or a server of this data centre) to this host. */
function gueFrom(src: string, inner: IpPacket, o: { checksum?: Checksum; extensions?: Ipv6Extension[]; trailer?: number } = {}): Uint8Array {
  const v4 = src.includes('.');
  const payload = concat(gue0(inner), new Uint8Array(o.trailer ?? 0));
  const datagram = udp({ src: 51000, dst: GUE_PORT, payload, checksum: o.checksum ?? (v4 ? 'zero' : 'auto') });
  return onWire(v4 ? ipv4({ src, dst: HOST4, ttl: 62 }, datagram) : ipv6({ src, dst: HOST6, hopLimit: 62, ...(o.extensions && { extensions: o.extensions }) }, datagram));
}
const piece = new Uint8Array(64).fill(0xab);
/** A fragmented UDP datagram to `port`: its first piece (with the ports) and a later one. */
function fragments(family: 4 | 6, port: number, id: number): { first: IpPacket; later: IpPacket } {
  const l4 = udp({ dst: port, payload: new Uint8Array(24).fill(7), length: 1200 });
  return family === 4
    ? {
        first: ipv4({ src: CLIENT4, dst: SHARED4, id, moreFragments: true }, l4),
        later: ipv4({ src: CLIENT4, dst: SHARED4, id, fragmentOffset: 150 }, raw(17, piece)),
      }
    : {
        first: ipv6({ src: CLIENT6, dst: SHARED6, extensions: [{ type: 'fragment', more: true, id }] }, l4),
        later: ipv6({ src: CLIENT6, dst: SHARED6, extensions: [{ type: 'fragment', offset: 150, id }] }, raw(17, piece)),
      };
}

// ---- Route seeds ------------------------------------------------------------------------------
const routeSeeds: [string, Uint8Array][] = [];
goldenPackets().forEach((p, i) => {
  const name = `golden-${String(i).padStart(3, '0')}`;
  routeSeeds.push([name, routeInput(WORKER_HEADROOM, p.input)]);
  // Too little headroom for some encapsulations, just enough for others (42 to 66 bytes).
  if (p.fastPath.fate === 'forward_server_gue' || p.fastPath.fate === 'encap_datacenter') {
    for (const headroom of [0, 40, 52]) routeSeeds.push([`${name}-headroom-${headroom}`, routeInput(headroom, p.input)]);
  }
});
const runs: [string, Uint8Array[]][] = [];
for (const family of [4, 6] as const) {
  for (const [owner, port] of Object.entries(PORT)) {
    const { first, later } = fragments(family, port, 0x4000 + port);
    runs.push([`fragments-${owner}-${family}`, [onWire(first), onWire(later), onWire(later)]]);
    // The first piece arrives in GUE from a peer (remembered even where the data centre's
    // own traffic would be dropped as a loop), the later one bare; and the other way round.
    runs.push([`fragments-${owner}-${family}-gue`, [fromPeer(4, gue0(first)), onWire(later), fromPeer(6, gue1(later))]]);
  }
  // Later before first, then two datagrams interleaved: the table must not mix them up.
  const a = fragments(family, PORT.a2, 1);
  const b = fragments(family, PORT.a3, 2);
  runs.push([`fragments-interleaved-${family}`, [onWire(a.later), onWire(a.first), onWire(b.first), onWire(a.later), onWire(b.later)]]);
}
runs.push(...addressRouteSeeds({ onWire, fromPeer: (outer, inner) => fromPeer(outer, gue0(inner)), fromServer: (src, inner) => gueFrom(src, inner) }));
for (const [name, frames] of runs) routeSeeds.push([name, routeInput(WORKER_HEADROOM, ...frames)]);
for (const [name, frame] of ruleSeeds()) routeSeeds.push([`rule-${name}`, routeInput(WORKER_HEADROOM, frame)]);

/** One frame per rule of issues 12 and 19, each at the edge the rule draws. */
function ruleSeeds(): [string, Uint8Array][] {
  const toPort = (family: 4 | 6, port: number, o: { src?: string; options?: Uint8Array; extensions?: Ipv6Extension[] } = {}): IpPacket =>
    family === 4
      ? ipv4({ src: o.src ?? CLIENT4, dst: SHARED4, ...(o.options && { options: o.options }) }, tcp({ src: 443, dst: port }))
      : ipv6({ src: o.src ?? CLIENT6, dst: SHARED6, ...(o.extensions && { extensions: o.extensions }) }, tcp({ src: 443, dst: port }));
  const local = 2048 + 7;
  // Loose source route (RFC 791 3.1): type 131, length 7, pointer 4, one address; then end of list.
  const lsrr = Uint8Array.of(131, 7, 4, 10, 9, 9, 9, 0);
  // Strict source route behind a no-operation; record route (followed by nobody).
  const ssrr = Uint8Array.of(1, 137, 7, 4, 10, 9, 9, 9);
  const recordRoute = Uint8Array.of(7, 7, 4, 0, 0, 0, 0, 0);
  const routing: Ipv6Extension[] = [{ type: 'routing', routingType: 0, segmentsLeft: 1, length: 2 }];
  const chain = (n: number): Ipv6Extension[] => Array.from({ length: n }, () => ({ type: 'destination' as const }));
  const solicitation = ipv6({ src: 'fe80::1', dst: 'ff02::2', hopLimit: 255 }, icmp6({ type: 133, code: 0, rest: 0, payload: new Uint8Array(0) }));
  const fromA4 = (ip: IpPacket): Uint8Array => ethernet({ dst: HOST_MAC, src: A4_MAC }, ip);
  const inner = toPort(4, local);
  // The outer UDP length 32 bytes short of the IP payload: what lies past it is nobody's.
  const longIp = (() => {
    const f = gueFrom(PEER4, inner, { trailer: 32 });
    const at = 14 + 20 + 4;
    const length = ((f[at]! << 8) | f[at + 1]!) - 32;
    f[at] = length >> 8;
    f[at + 1] = length & 0xff;
    return f;
  })();
  return [
    ['server-gue-local', gueFrom(A2, inner)],
    ['server-gue-to-a3', gueFrom(A2, toPort(6, PORT.a3))],
    ['server-gue-to-dc', gueFrom(A2, toPort(4, PORT.dcB))],
    ['server-l2-local', fromA4(toPort(4, local))],
    ['server-l2-to-a2', fromA4(toPort(6, PORT.a2))],
    ['dc-to-dc', gueFrom(PEER6, toPort(6, PORT.dcB))],
    ['dc-to-a3', gueFrom(PEER6, toPort(4, PORT.a3))],
    ['not-managed', gueFrom(PEER4, ipv4({ src: CLIENT4, dst: '198.18.0.1' }, tcp({ dst: 22 })))],
    ['not-managed-port', gueFrom(PEER4, toPort(4, 1000))],
    ['tunnel-control-solicitation', gueFrom(PEER6, solicitation)],
    ['tunnel-control-link-local', gueFrom(PEER4, toPort(4, local, { src: '169.254.1.1' }))],
    ['source-routed-local', onWire(toPort(4, local, { options: lsrr }))],
    ['source-routed-strict', onWire(toPort(4, local, { options: ssrr }))],
    ['record-route-local', onWire(toPort(4, local, { options: recordRoute }))],
    ['source-routed-local-6', onWire(toPort(6, local, { extensions: routing }))],
    ['source-routed-inner', gueFrom(PEER4, toPort(4, local, { options: lsrr }))],
    ['source-routed-inner-6', gueFrom(PEER6, toPort(6, local, { extensions: routing }))],
    ['source-routed-to-a2', onWire(toPort(4, PORT.a2, { options: lsrr }))],
    ['outer-routing-done', gueFrom(PEER6, inner, { extensions: [{ type: 'routing', segmentsLeft: 0 }] })],
    ['outer-routing-left', gueFrom(PEER6, inner, { extensions: [{ type: 'routing', segmentsLeft: 1, length: 2 }] })],
    ['outer-atomic-fragment', gueFrom(PEER6, inner, { extensions: [{ type: 'fragment', id: 9 }] })],
    ['zero-checksum-6', gueFrom(PEER6, inner, { checksum: 'zero' })],
    ['bad-checksum-6', gueFrom(PEER6, inner, { checksum: 0x1234 })],
    ['inner-short', gueFrom(PEER4, inner, { trailer: 32 })],
    ['outer-udp-short', longIp],
    ['ethernet-trailer', concat(gueFrom(PEER4, inner), new Uint8Array(32).fill(0xee))],
    ['chain-8', onWire(toPort(6, local, { extensions: chain(8) }))],
    ['chain-9', onWire(toPort(6, local, { extensions: chain(9) }))],
    ['chain-9-unmanaged', onWire(ipv6({ src: CLIENT6, dst: '2001:db8:ff::1', extensions: chain(9) }, tcp({ dst: 22 })))],
    ['chain-9-inner', gueFrom(PEER6, toPort(6, PORT.a2, { extensions: chain(9) }))],
  ];
}

// ---- View seeds -------------------------------------------------------------------------------
const hostSpec = {
  mac: '02:00:00:00:00:01',
  mtu: 1500,
  ipv4: IPv4.fromString('10.0.0.1'),
  ipv6: IPv6.fromString('2001:db8:a::1'),
  guePort: 6080,
  flowHashSeed: 7,
  trustedPeers: [IPv4CidrRange.fromCidr('10.0.0.0/8'), IPv6CidrRange.fromCidr('2001:db8:b::/48')],
};
const nextHops = new Map([['peer', '02:00:00:00:00:02'], ['dc', '02:00:00:00:00:03']]);
// dc6's next hop is left unknown in one image: its packets are counted drop_no_neighbour.
const nextHops6 = new Map([...nextHops, ['dc6', '02:00:00:00:00:04']]);
const empty = compileTable(new SliceTable(), hostSpec, { generation: 1 });
// Many addresses cut into even slices: the lookup's direct-index path.
const many = new SliceTable()
  .defineOwner('self', { kind: 'local' })
  .defineOwner('peer', { kind: 'server', address: IPv4.fromString('10.0.0.2') })
  .defineOwner('dc', { kind: 'datacenter', endpoint: IPv4.fromString('10.9.0.1'), encap: 'gue1' });
const base = IPv4.fromString('100.64.0.0').getValue();
many.assignMany(Array.from({ length: 512 }, (_, n) => ({
  destination: new IPv4(base + BigInt(n >> 3)),
  ports: { from: (n & 7) * 8192, to: (n & 7) * 8192 + 8191 },
  // The first slice of each address is ours, so that the local rules fold into a few prefixes.
  owner: (n & 7) === 0 ? 'self' : n & 1 ? 'peer' : 'dc',
})));
// Nested prefixes of both families with uneven ranges: the search path, and lookups that fall
// through a longer prefix without the port to a shorter one.
const nested = new SliceTable()
  .defineOwner('self', { kind: 'local' })
  .defineOwner('peer', { kind: 'server', address: IPv4.fromString('10.0.0.2'), encap: 'gue0' })
  .defineOwner('l2', { kind: 'server', address: IPv4.fromString('10.0.0.3'), encap: 'l2', mac: '02:00:00:00:00:05' })
  .defineOwner('dc', { kind: 'datacenter', endpoint: IPv4.fromString('10.9.0.1'), encap: 'gue1' })
  .defineOwner('dc6', { kind: 'datacenter', endpoint: IPv6.fromString('2001:db8:c::1'), encap: 'gue0' });
for (const [prefix, owners] of [
  [IPv4CidrRange.fromCidr('198.51.100.0/24'), ['peer', 'dc']],
  [IPv4.fromString('198.51.100.7'), ['l2', 'self']],
  [IPv6CidrRange.fromCidr('2001:db8:100::/48'), ['dc6', 'peer']],
  [IPv6.fromString('2001:db8:100::1'), ['dc', 'l2']],
] as const) {
  // The prefixes hold ports the addresses inside them do not: slices of different owners never overlap.
  const isPrefix = prefix instanceof IPv4CidrRange || prefix instanceof IPv6CidrRange;
  const spans = isPrefix ? [[1000, 1009], [1010, 1099], [1100, 1100], [5000, 6000]] : [[2000, 2000], [2001, 4999], [7000, 65535]];
  spans.forEach(([from, to], i) => nested.assign({ destination: prefix, protocols: [i & 1 ? 'udp' : 'tcp'], ports: { from: from!, to: to! }, owner: owners[i & 1]! }));
}
/** `n` servers reached by L2 (and one by GUE), each with a slice: a frame from any of their MACs
 * was forwarded once already. More than 32 is past what the packet path checks a source against. */
function l2Servers(n: number): SliceTable {
  const table = new SliceTable()
    .defineOwner('self', { kind: 'local' })
    .defineOwner('gue', { kind: 'server', address: IPv4.fromString('10.0.0.2') });
  for (let i = 0; i < n; i++) {
    const mac = `02:00:00:00:02:${i.toString(16).padStart(2, '0')}`;
    table.defineOwner(`l2-${i}`, { kind: 'server', address: new IPv4(BigInt(0x0a000100 + i)), encap: 'l2', mac });
    table.assign({ destination: IPv4.fromString('198.51.100.1'), ports: { from: 1024 * (i + 2), to: 1024 * (i + 2) + 1023 }, owner: `l2-${i}` });
  }
  table.assign({ destination: IPv4.fromString('198.51.100.1'), ports: { from: 0, to: 1023 }, owner: 'self' });
  table.assign({ destination: IPv4.fromString('198.51.100.1'), ports: { from: 1024, to: 2047 }, owner: 'gue' });
  return table;
}
const images: [string, Uint8Array][] = [
  ['golden', compiled.image],
  ['empty', empty.image],
  ['many', compileTable(many, hostSpec, { generation: 2, nextHops }).image],
  ['nested', compileTable(nested, hostSpec, { generation: 3, nextHops: nextHops6 }).image],
  // No IPv6 source and a small MTU: owners this host cannot reach, packets that cannot fit.
  ['l2-servers-32', compileTable(l2Servers(32), hostSpec, { generation: 5, nextHops: new Map([['gue', '02:00:00:00:00:02']]) }).image],
  ['l2-servers-33', compileTable(l2Servers(33), hostSpec, { generation: 6, nextHops: new Map([['gue', '02:00:00:00:00:02']]) }).image],
  ['nested-v4-only', withoutIpv6(compileTable(nested, { ...hostSpec, mtu: 576 }, { generation: 4, nextHops: nextHops6 }).image)],
  ...addressImages(hostSpec),
];

/** The image with the host's IPv6 flag cleared, which compileTable refuses to write (its owners
 * over IPv6 become unreachable: drop_no_source), but the native side must take. */
function withoutIpv6(image: Uint8Array): Uint8Array {
  const copy = image.slice();
  copy[ABI.tableHeader.fields.host.offset + ABI.host.fields.flags.offset]! &= ~ABI.table.hostFlags.ipv6;
  return copy;
}

// ---- Written out ------------------------------------------------------------------------------
const routeDir = join(out, 'seeds-route');
const viewDir = join(out, 'seeds-view');
mkdirSync(routeDir, { recursive: true });
mkdirSync(viewDir, { recursive: true });
writeFileSync(join(out, 'golden.img'), compiled.image);
for (const [name, bytes] of routeSeeds) writeFileSync(join(routeDir, name), bytes);
for (const [name, image] of images) writeFileSync(join(viewDir, name), image);
console.log(`seeds: ${routeSeeds.length} route inputs, ${images.length} table images in ${out}`);
