// Seeds of the address-slice key kind (issue 16) for the fuzzers, called by native/fuzz/seeds.ts:
// frames to the golden table's address services (every slice's edges, the move window, the source
// filter both ways, destinations just outside the services) and table images of their own shapes.
import { IPv4, IPv6 } from 'ip-num';

import { ABI } from '../../src/generated/abi.js';
import { compileState, type HostSpec } from '../../src/slices/compile.js';
import type { TableState } from '../../src/slices/state.js';
import { SliceTable, tableState } from '../../src/slices/table.js';
import { deriveLow64 } from '../../src/ssa/destination.js';
import type { SourceDerivedRule } from '../../src/ssa/rule.js';
import { ADDR_FILTERED_DC, ADDR_FILTERED_DROP, ADDR_MIXED, ADDR_RULE } from '../../test/fixtures/golden-addr-table.js';
import { icmp6, ipv6, raw, tcp, udp, type IpPacket } from '../../test/fixtures/packets.js';

const CLIENT6 = '2001:db8:ff::10';
const A2 = '10.1.0.2';

const value = (a: string): bigint => IPv6.fromString(a).getValue();
const text = (v: bigint): string => new IPv6(v).toString();
const network = (prefix: string): bigint => value(prefix.split('/')[0]!);

/** The address `prefix`'s rule makes conforming for `source` (the /64's network, flowhash-1 below). */
function conforming(prefix: string, source: string, rule: SourceDerivedRule = ADDR_RULE): string {
  return text(network(prefix) | deriveLow64(rule, IPv6.fromString(source)));
}

/** How seeds.ts puts a packet on the wire: bare from the gateway, in GUE from a peer (outer 4 or 6) or from server a2. */
export interface Wire {
  onWire(ip: IpPacket): Uint8Array;
  fromPeer(outer: 4 | 6, inner: IpPacket): Uint8Array;
  fromServer(src: string, inner: IpPacket): Uint8Array;
}

/** Route seeds, each a run of frames, for the golden table's address services (test/fixtures/golden-addr-table.ts). */
export function addressRouteSeeds(w: Wire): [string, Uint8Array[]][] {
  const syn = (dst: string, src = CLIENT6): IpPacket => ipv6({ src, dst }, tcp({ src: 40001, dst: 443, flags: 0x02 }));
  const dgram = (dst: string, src = CLIENT6): IpPacket => ipv6({ src, dst }, udp({ src: 40001, dst: 53, payload: new Uint8Array(16).fill(3) }));
  const base = network(ADDR_MIXED);
  // The mixed service's slices (/65 a2, /66 g6 moving from g5, /67 self, /68 a3, /68 g5): first and last address of each.
  const slices: [string, bigint, number][] = [['a2', 0n, 65], ['moving', 1n << 63n, 66], ['self', 3n << 62n, 67], ['a3', 7n << 61n, 68], ['g5', 15n << 60n, 68]];
  const seeds: [string, Uint8Array[]][] = slices.map(([name, offset, length]) => {
    const first = base + offset;
    const last = first + (1n << BigInt(128 - length)) - 1n;
    return [`addr-slice-${name}`, [w.onWire(syn(text(first))), w.onWire(dgram(text(last)))]];
  });
  const moving = text(base + (1n << 63n) + 0x42n);
  const okDrop = conforming(ADDR_FILTERED_DROP, CLIENT6);
  const okDc = conforming(ADDR_FILTERED_DC, CLIENT6);
  // The rule keeps the source's first 64 bits: another host of the client's /64 conforms too.
  const neighbour = text(value(CLIENT6) ^ 0xffffn);
  const quoted = ipv6({ src: moving, dst: CLIENT6 }, tcp({ src: 443, dst: 40001 })).bytes;
  seeds.push(
    ['addr-move-from-peer', [w.fromPeer(4, syn(moving)), w.fromPeer(6, dgram(moving))]],
    ['addr-move-from-server', [w.fromServer(A2, syn(moving))]],
    ['addr-move-too-big', [w.onWire(ipv6({ src: CLIENT6, dst: moving }, udp({ dst: 53, payload: new Uint8Array(1440) })))]],
    ['addr-move-icmp', [w.onWire(ipv6({ src: '2001:db8:ff::1', dst: moving }, icmp6({ type: 2, code: 0, rest: 1280, payload: quoted })))]],
    ['addr-filter-drop', [w.onWire(syn(okDrop)), w.onWire(syn(text(value(okDrop) ^ 1n))), w.onWire(dgram(okDrop, neighbour)), w.onWire(syn(okDrop, '2001:db8:fe::10'))]],
    ['addr-filter-drop-gue', [w.fromPeer(6, syn(text(value(okDrop) ^ 1n))), w.fromPeer(4, syn(okDrop))]],
    ['addr-filter-owner', [w.onWire(syn(okDc)), w.onWire(syn(text(value(okDc) ^ (1n << 40n)))), w.fromPeer(4, dgram(ADDR_FILTERED_DC.split('/')[0]!))]],
    // Just outside the services: below the mixed one, above the last, between them, another /48.
    ['addr-outside', [w.onWire(syn(text(base - 1n))), w.onWire(syn(text(network(ADDR_FILTERED_DC) + (1n << 64n)))), w.onWire(syn('2001:db8:55::1')), w.onWire(syn('2001:db8:56:1::1'))]],
    ['addr-outside-gue', [w.fromPeer(6, syn(text(base - 1n))), w.fromPeer(4, dgram('2001:db8:55:4::1'))]],
    // Packets whose ports cannot be read: a managed destination's are dropped, never passed.
    ['addr-later-fragment', [w.onWire(ipv6({ src: CLIENT6, dst: moving, extensions: [{ type: 'fragment', offset: 150, id: 9 }] }, raw(17, new Uint8Array(64).fill(0xab))))]],
    ['addr-truncated-tcp', [w.onWire(ipv6({ src: CLIENT6, dst: moving }, raw(6, new Uint8Array(8)))), w.onWire(ipv6({ src: CLIENT6, dst: text(base - 1n) }, raw(6, new Uint8Array(8))))]],
  );
  return seeds;
}

const rule = (sourceBits: number, key: string): SourceDerivedRule => ({ rule: 'source-derived', sourceBits, fn: 'flowhash-1', key });

/** The owners of servicesTable(), defined in one order: every table of it gives them the same ids. */
function ownersTable(): SliceTable {
  return new SliceTable()
    .defineOwner('self', { kind: 'local' })
    .defineOwner('peer', { kind: 'server', address: IPv4.fromString('10.0.0.2'), encap: 'gue0' })
    .defineOwner('g1', { kind: 'server', address: IPv4.fromString('10.0.0.5'), encap: 'glb' })
    .defineOwner('g2', { kind: 'server', address: IPv4.fromString('10.0.0.6'), encap: 'glb' })
    .defineOwner('dc', { kind: 'datacenter', endpoint: IPv6.fromString('2001:db8:c::1'), encap: 'gue1' });
}

/**
 * Four address services (the most an image holds) beside port slices inside one of them. A table
 * refuses that mix (src/slices/kinds-apart.ts), so the seeds join the insides of two tables: an
 * image of it is still possible, and the core's order of kinds must still hold on it.
 */
function servicesTable(): TableState {
  const table = ownersTable();
  // Mixed sizes, a move between 'glb' owners (a hop) and one to a GUE owner (none).
  table.addAddressService({
    prefix: '2001:db8:77:1::/64',
    slices: [
      { prefix: '2001:db8:77:1::/65', owner: 'g1', secondary: 'g2' },
      { prefix: '2001:db8:77:1:8000::/66', owner: 'peer', secondary: 'g1' },
      { prefix: '2001:db8:77:1:c000::/67', owner: 'self' },
      { prefix: '2001:db8:77:1:e000::/69', owner: 'dc' },
      { prefix: '2001:db8:77:1:e800::/69', owner: 'g2' },
      { prefix: '2001:db8:77:1:f000::/68', owner: 'g2', secondary: 'g1' },
    ],
  });
  // A /62 cut to /70: the row's bits straddle the address's two 64-bit words.
  table.addAddressService({
    prefix: '2001:db8:77:4::/62',
    slices: [
      { prefix: '2001:db8:77:4::/64', owner: 'peer' },
      { prefix: '2001:db8:77:5::/70', owner: 'g1', secondary: 'g2' },
      { prefix: '2001:db8:77:5:400::/70', owner: 'self' },
      { prefix: '2001:db8:77:5:800::/69', owner: 'dc' },
      { prefix: '2001:db8:77:5:1000::/68', owner: 'g2' },
      { prefix: '2001:db8:77:5:2000::/67', owner: 'peer' },
      { prefix: '2001:db8:77:5:4000::/66', owner: 'self' },
      { prefix: '2001:db8:77:5:8000::/65', owner: 'g1' },
      { prefix: '2001:db8:77:6::/63', owner: 'dc' },
    ],
  });
  table.addAddressService({ prefix: '2001:db8:77:8::/64', slices: [{ prefix: '2001:db8:77:8::/64', owner: 'peer' }], filter: { rule: rule(48, '00112233445566778899aabbccddeeff') } });
  table.addAddressService({
    prefix: '2001:db8:77:100::/56',
    slices: [
      { prefix: '2001:db8:77:100::/57', owner: 'g1' },
      { prefix: '2001:db8:77:180::/57', owner: 'self', secondary: 'peer' },
    ],
    filter: { rule: rule(128, 'ffeeddccbbaa99887766554433221100'), nonConforming: { owner: 'dc' } },
  });
  // Port slices on addresses inside a service: the kind listed first decides.
  const ports = ownersTable()
    .assign({ destination: IPv6.fromString('2001:db8:77:1::5'), ports: { from: 0, to: 1023 }, owner: 'dc' })
    .assign({ destination: IPv6.fromString('2001:db8:77:8::5'), ports: { from: 443, to: 443 }, owner: 'self' });
  return { ...tableState(ports), addressServices: tableState(table).addressServices };
}

/** The image with its section entries in reverse order (table.h: the packet path asks the kinds in the listed order). */
function sectionsReversed(image: Uint8Array): Uint8Array {
  const copy = image.slice();
  const view = new DataView(copy.buffer);
  const at = ABI.tableHeader.fields.sections.offset;
  const count = view.getUint32(ABI.tableHeader.fields.section_count.offset, true);
  for (let i = 0; i < count; i++) copy.set(image.subarray(at + (count - 1 - i) * ABI.section.size, at + (count - i) * ABI.section.size), at + i * ABI.section.size);
  return copy;
}

/** Copies of `image` (servicesTable's) that each break one rule of the address-slice section (table.h, view_addr.c). */
function brokenImages(image: Uint8Array): [string, Uint8Array][] {
  const view = new DataView(image.buffer, image.byteOffset, image.byteLength);
  const entries = ABI.tableHeader.fields.sections.offset;
  const f = ABI.section.fields;
  let at = -1;
  for (let i = 0; i < ABI.table.sectionsMax; i++) {
    const entry = entries + i * ABI.section.size;
    if (view.getUint32(entry + f.kind.offset, true) === ABI.table.keyKinds['address-slice']) at = view.getUint32(entry + f.offset.offset, true);
  }
  if (at < 0) throw new Error('seeds-addr.ts: the services image has no address-slice section');
  const head = ABI.addrHead.fields;
  const svc = (i: number, field: keyof typeof ABI.addrService.fields): number => at + ABI.addrHead.size + i * ABI.addrService.size + ABI.addrService.fields[field].offset;
  const rows = at + ABI.addrHead.size + view.getUint32(at + head.service_count.offset, true) * ABI.addrService.size;
  const edit = (name: string, change: (v: DataView, b: Uint8Array) => void): [string, Uint8Array] => {
    const copy = image.slice();
    change(new DataView(copy.buffer), copy);
    return [`addr-bad-${name}`, copy];
  };
  return [
    edit('services-5', (v) => v.setUint32(at + head.service_count.offset, 5, true)),
    edit('row-count', (v) => v.setUint32(at + head.row_count.offset, v.getUint32(at + head.row_count.offset, true) + 1, true)),
    edit('prefix-65', (_, b) => void (b[svc(0, 'prefix_len')] = 65)),
    edit('prefix-0', (_, b) => void (b[svc(2, 'prefix_len')] = 0)),
    edit('host-bits', (_, b) => void (b[svc(0, 'addr') + 8] = 1)),
    edit('bits-21', (_, b) => void (b[svc(2, 'bits')] = 21)),
    edit('row-first', (v) => v.setUint32(svc(1, 'row_first'), 31, true)),
    // The last service's 2^bits rows no longer what the head counts (the section's size unchanged).
    edit('rows-vs-bits', (_, b) => void (b[svc(3, 'bits')] = 2)),
    edit('filter-3', (_, b) => void (b[svc(2, 'filter')] = 3)),
    edit('source-bits-0', (_, b) => void (b[svc(2, 'source_bits')] = 0)),
    edit('source-bits-129', (_, b) => void (b[svc(3, 'source_bits')] = 129)),
    edit('filter-owner', (v) => v.setUint32(svc(3, 'filter_owner'), 200, true)),
    // Service 2 (a /64) moved into service 1's /62.
    edit('overlap', (_, b) => b.copyWithin(svc(2, 'addr'), svc(1, 'addr'), svc(1, 'addr') + 8)),
    edit('row-owner', (v) => v.setUint32(rows + ABI.flowRow.fields.secondary.offset, 200, true)),
  ];
}

/** View seeds: the four services, the same image asking the address-slice kind before port-slice's, and copies breaking one rule each. */
export function addressImages(host: HostSpec): [string, Uint8Array][] {
  const nextHops = new Map([['peer', '02:00:00:00:00:02'], ['g1', '02:00:00:00:00:05'], ['g2', '02:00:00:00:00:06'], ['dc', '02:00:00:00:00:03']]);
  const image = compileState(servicesTable(), host, { generation: 7, nextHops }).image;
  return [
    ['addr-services', image],
    ['addr-services-first', sectionsReversed(image)],
    ...brokenImages(image),
  ];
}
