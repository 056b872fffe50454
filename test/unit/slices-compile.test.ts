// compileTable: the table image (table.h layout, decoded here field by field through the
// generated ABI offsets), host settings, this data centre's servers (peers), limits, errors.
import { endianness } from 'node:os';

import { IPv4, IPv6 } from 'ip-num';
import { describe, expect, it } from 'vitest';

import {
  InvalidOptionError, OwnerUnreachableError, TableLimitError,
} from '../../src/errors.js';
import { ABI } from '../../src/generated/abi.js';
import { native } from '../../src/native.js';
import { compileTable, type HostSpec } from '../../src/slices/compile.js';
import { splitPorts } from '../../src/slices/split.js';
import { SliceTable } from '../../src/slices/table.js';
import type { SliceSpec } from '../../src/slices/types.js';
import { cidr4, cidr6, thrown, v4, v6 } from './helpers.js';

const LE = endianness() === 'LE';


/** The native fast path's own check of an image (native/core/view.c): throws InvalidTableError. */
function nativeGeneration(image: Uint8Array): bigint {
  const view = new (native().SliceView)(image);
  const generation = view.generation();
  view.release();
  return generation;
}

// ---- A decoder for the image, written from table.h through ABI offsets -----------------------

const hex = (bytes: Uint8Array) => [...bytes].map((b) => b.toString(16).padStart(2, '0')).join('');
const mac = (bytes: Uint8Array) => [...bytes].map((b) => b.toString(16).padStart(2, '0')).join(':');

function address(family: number, bytes: Uint8Array): string {
  if (family === ABI.family.ipv4) return [...bytes.subarray(0, 4)].join('.') + (bytes.subarray(4).some((b) => b !== 0) ? '!' : '');
  if (family === ABI.family.ipv6) return hex(bytes);
  return bytes.every((b) => b === 0) ? '' : `junk ${hex(bytes)}`;
}

function decodeHost(bytes: Uint8Array) {
  const f = ABI.host.fields;
  const view = new DataView(bytes.buffer, bytes.byteOffset, ABI.host.size);
  return {
    mac: mac(bytes.subarray(f.mac.offset, f.mac.offset + 6)),
    mtu: view.getUint16(f.mtu.offset, LE),
    guePort: view.getUint16(f.gue_port.offset, LE),
    flags: view.getUint8(f.flags.offset),
    seed: view.getUint32(f.flow_hash_seed.offset, LE),
    ipv4: [...bytes.subarray(f.ipv4.offset, f.ipv4.offset + 4)].join('.'),
    ipv6: hex(bytes.subarray(f.ipv6.offset, f.ipv6.offset + 16)),
  };
}

function decodeImage(image: Uint8Array) {
  const view = new DataView(image.buffer, image.byteOffset, image.length);
  const h = ABI.tableHeader.fields;
  const header = {
    magic: view.getUint32(h.magic.offset, LE),
    abiVersion: view.getUint32(h.abi_version.offset, LE),
    generation: view.getBigUint64(h.generation.offset, LE),
    trustedCount: view.getUint32(h.trusted_count.offset, LE),
    peerCount: view.getUint32(h.peer_count.offset, LE),
    ownerCount: view.getUint32(h.owner_count.offset, LE),
    keyCount: view.getUint32(h.key_count.offset, LE),
    rangeCount: view.getUint32(h.range_count.offset, LE),
    host: decodeHost(image.subarray(h.host.offset, h.host.offset + ABI.host.size)),
    sections: [...Array(view.getUint32(h.section_count.offset, LE)).keys()].map((i) => {
      const f = ABI.section.fields;
      const at = h.sections.offset + i * ABI.section.size;
      const kind = view.getUint32(at + f.kind.offset, LE);
      const name = Object.entries(ABI.table.keyKinds).find(([, value]) => value === kind)?.[0] ?? kind;
      return { kind: name, offset: view.getUint32(at + f.offset.offset, LE), size: view.getUint32(at + f.size.offset, LE) };
    }),
  };
  let at = ABI.tableHeader.size;
  const trusted: string[] = [];
  for (let i = 0; i < header.trustedCount; i++, at += ABI.prefix.size) {
    const f = ABI.prefix.fields;
    const family = image[at + f.family.offset]!;
    trusted.push(`${address(family, image.subarray(at + f.addr.offset, at + f.addr.offset + 16))}/${image[at + f.prefix_len.offset]}`);
  }
  const peers: string[] = [];
  for (let i = 0; i < header.peerCount; i++, at += ABI.peer.size) {
    const f = ABI.peer.fields;
    const family = image[at + f.family.offset]!;
    const withMac = (image[at + f.flags.offset]! & ABI.table.peerFlags.hasMac) !== 0;
    peers.push(`${address(family, image.subarray(at + f.addr.offset, at + f.addr.offset + 16))}${withMac ? ` ${mac(image.subarray(at + f.mac.offset, at + f.mac.offset + 6))}` : ''}`);
  }
  const owners = [];
  for (let i = 0; i < header.ownerCount; i++, at += ABI.owner.size) {
    const f = ABI.owner.fields;
    owners.push({
      kind: image[at + f.kind.offset],
      encap: image[at + f.encap.offset],
      family: image[at + f.family.offset],
      flags: image[at + f.flags.offset],
      guePort: view.getUint16(at + f.gue_port.offset, LE),
      nextHop: mac(image.subarray(at + f.next_hop_mac.offset, at + f.next_hop_mac.offset + 6)),
      endpoint: address(image[at + f.family.offset]!, image.subarray(at + f.endpoint.offset, at + f.endpoint.offset + 16)),
    });
  }
  // The key kinds' sections follow the owners, back to back (port-slice the only kind so far).
  expect(header.sections.map((x) => x.offset)).toEqual(header.sections.map((_, i) => header.sections.slice(0, i).reduce((n: number, x) => n + x.size, at as number)));
  const keys = [];
  for (let i = 0; i < header.keyCount; i++, at += ABI.sliceKey.size) {
    const f = ABI.sliceKey.fields;
    const family = image[at + f.family.offset]!;
    keys.push({
      prefix: `${address(family, image.subarray(at + f.addr.offset, at + f.addr.offset + 16))}/${image[at + f.prefix_len.offset]}`,
      protocol: image[at + f.protocol.offset],
      first: view.getUint32(at + f.range_first.offset, LE),
      count: view.getUint32(at + f.range_count.offset, LE),
    });
  }
  const ranges: string[] = [];
  for (let i = 0; i < header.rangeCount; i++, at += ABI.portRange.size) {
    const f = ABI.portRange.fields;
    ranges.push(`${view.getUint16(at + f.first.offset, LE)}-${view.getUint16(at + f.last.offset, LE)}@${view.getUint32(at + f.owner.offset, LE)}`);
  }
  expect(at).toBe(image.length);
  return { header, trusted, peers, owners, keys, ranges };
}

/** Each key with its ranges: "192.0.2.1/32 tcp: 2048-4095@0 4096-8191@1". */
function keyListing(image: ReturnType<typeof decodeImage>): string[] {
  return image.keys.map((k) => `${k.prefix} ${k.protocol === 6 ? 'tcp' : k.protocol === 17 ? 'udp' : k.protocol}: ${image.ranges.slice(k.first, k.first + k.count).join(' ')}`);
}

// ---- A small table --------------------------------------------------------------------------

const HOST: HostSpec = {
  mac: '02:00:00:00:00:01',
  mtu: 1500,
  ipv4: v4('10.0.0.1'),
  ipv6: v6('2001:db8:ffff::1'),
  guePort: 6080,
  flowHashSeed: 0x12345678,
  trustedPeers: [cidr4('10.0.0.0/24'), v6('2001:db8:ffff::2')],
};

function small(): SliceTable {
  return new SliceTable()
    .defineOwner('me', { kind: 'local' })
    .defineOwner('unused', { kind: 'datacenter', endpoint: v4('203.0.113.50') })
    .defineOwner('web2', { kind: 'server', address: v4('10.0.0.2'), guePort: 7000 })
    .defineOwner('web3', { kind: 'server', address: v4('10.0.0.3'), encap: 'l2', mac: '02:00:00:00:00:03' })
    .defineOwner('dc2', { kind: 'datacenter', endpoint: v6('2001:db8:eeee::1'), encap: 'gue1' })
    .assignMany([
      { destination: v4('192.0.2.1'), ports: { from: 6144, to: 8191 }, owner: 'web2' },
      { destination: v4('192.0.2.1'), ports: { from: 2048, to: 4095 }, owner: 'me' },
      { destination: v4('192.0.2.1'), ports: { from: 4096, to: 6143 }, owner: 'web2' },
      { destination: v4('192.0.2.1'), protocols: ['udp'], ports: { from: 8192, to: 10239 }, owner: 'web3' },
      { destination: cidr4('198.51.100.0/24'), protocols: ['tcp'], ports: 443, owner: 'dc2' },
      { destination: cidr6('2001:db8:1::/48'), protocols: ['tcp'], ports: 80, owner: 'dc2' },
    ]);
}

describe('compileTable: the image', () => {
  it('writes header, host, trusted peers, owners and the port-slice section (keys and ranges) as table.h lays them out', () => {
    const compiled = compileTable(small(), HOST, { generation: 0x1_0000_0002, nextHops: new Map([['web2', '02:00:00:00:00:fe']]) });
    const image = decodeImage(compiled.image);
    expect(image.header).toEqual({
      magic: ABI.table.magic,
      abiVersion: ABI.abiVersion,
      generation: 0x1_0000_0002n,
      trustedCount: 2,
      peerCount: 2,
      ownerCount: 4,
      keyCount: 4,
      rangeCount: 7,
      host: {
        mac: '02:00:00:00:00:01',
        mtu: 1500,
        guePort: 6080,
        flags: ABI.table.hostFlags.ipv4 | ABI.table.hostFlags.ipv6,
        seed: 0x12345678,
        ipv4: '10.0.0.1',
        ipv6: '20010db8ffff00000000000000000001',
      },
      sections: [{ kind: 'port-slice', offset: ABI.tableHeader.size + 2 * ABI.prefix.size + 2 * ABI.peer.size + 4 * ABI.owner.size, size: 4 * ABI.sliceKey.size + 7 * ABI.portRange.size }],
    });
    expect(compiled.image.length).toBe(
      ABI.tableHeader.size + 2 * ABI.prefix.size + 2 * ABI.peer.size + 4 * ABI.owner.size + 4 * ABI.sliceKey.size + 7 * ABI.portRange.size,
    );
    expect(compiled.image.subarray(0, 4)).toEqual(new TextEncoder().encode(LE ? 'SUTB' : 'BTUS'));
    expect(image.trusted).toEqual(['10.0.0.0/24', '20010db8ffff00000000000000000002/128']);
    // Every server of this data centre, by address, with the MAC of those reached by L2: what a
    // packet they forwarded comes from, and is never forwarded again.
    expect(image.peers).toEqual(['10.0.0.2', '10.0.0.3 02:00:00:00:00:03']);

    // Owners with slices, in definition order ('unused' has none), each once.
    expect([...compiled.ownerIndex]).toEqual([['me', 0], ['web2', 1], ['web3', 2], ['dc2', 3]]);
    const { ownerKinds: K, encaps: E, ownerFlags: F } = ABI.table;
    expect(image.owners).toEqual([
      { kind: K.LOCAL, encap: 0, family: 0, flags: 0, guePort: 0, nextHop: '00:00:00:00:00:00', endpoint: '' },
      { kind: K.SERVER, encap: E.GUE0, family: 4, flags: F.nextHopKnown, guePort: 7000, nextHop: '02:00:00:00:00:fe', endpoint: '10.0.0.2' },
      { kind: K.SERVER, encap: E.L2, family: 0, flags: F.nextHopKnown, guePort: 0, nextHop: '02:00:00:00:00:03', endpoint: '' },
      { kind: K.DATACENTER, encap: E.GUE1, family: 6, flags: 0, guePort: 6080, nextHop: '00:00:00:00:00:00', endpoint: '20010db8eeee00000000000000000001' },
    ]);

    // One key per prefix and protocol, by address; ranges sorted, same-owner neighbours merged.
    expect(keyListing(image)).toEqual([
      '192.0.2.1/32 tcp: 2048-4095@0 4096-8191@1',
      '192.0.2.1/32 udp: 2048-4095@0 4096-8191@1 8192-10239@2',
      '198.51.100.0/24 tcp: 443-443@3',
      '20010db8000100000000000000000000/48 tcp: 80-80@3',
    ]);
    expect(image.keys.map((k) => [k.first, k.count])).toEqual([[0, 2], [2, 3], [5, 1], [6, 1]]);
    expect(compiled.stats).toEqual({ slices: 6, owners: 4, keys: 4, ranges: 7, trustedPeers: 2, peers: 2, bytes: compiled.image.length });
    expect(compiled.generation).toBe(0x1_0000_0002);
    expect(nativeGeneration(compiled.image)).toBe(0x1_0000_0002n);
  });
});

describe('compileTable: owners', () => {
  it('shares one record between identical owners and leaves owners without slices out', () => {
    const t = new SliceTable()
      .defineOwner('me', { kind: 'local' })
      .defineOwner('me-too', { kind: 'local' })
      .defineOwner('idle', { kind: 'local' })
      .assignMany([
        { destination: v4('192.0.2.1'), ports: { from: 100, to: 199 }, owner: 'me' },
        { destination: v4('192.0.2.1'), ports: { from: 200, to: 299 }, owner: 'me-too' },
      ]);
    const compiled = compileTable(t, { mac: '02:00:00:00:00:01', mtu: 1500 }, { generation: 1 });
    expect([...compiled.ownerIndex]).toEqual([['me', 0], ['me-too', 0]]);
    const image = decodeImage(compiled.image);
    expect(image.owners).toHaveLength(1);
    // One owner after sharing: the two ranges are one.
    expect(keyListing(image)).toEqual(['192.0.2.1/32 tcp: 100-299@0', '192.0.2.1/32 udp: 100-299@0']);
  });

  it('leaves the next hop of a GUE owner unknown when nextHops lacks it', () => {
    const t = new SliceTable().defineOwner('web2', { kind: 'server', address: v4('10.0.0.2') }).assign({ destination: v4('192.0.2.1'), ports: 1, owner: 'web2' });
    const image = decodeImage(compileTable(t, { mac: '02:00:00:00:00:01', mtu: 1500, ipv4: v4('10.0.0.1') }, { generation: 1 }).image);
    expect(image.owners[0]).toMatchObject({ flags: 0, nextHop: '00:00:00:00:00:00', guePort: 6080, encap: ABI.table.encaps.GUE0 });
  });

  it('refuses a GUE owner whose family the host has no address of', () => {
    const t = small();
    const noV6 = thrown(() => compileTable(t, { ...HOST, ipv6: undefined } as HostSpec, { generation: 1 }), OwnerUnreachableError, 'ERR_OWNER_UNREACHABLE');
    expect(noV6.message).toBe(
      "Owner 'dc2' is reached in GUE at 2001:db8:eeee::1, an IPv6 address, but the host has no IPv6 address to send from (host.ipv6 is not set)",
    );
    const { ipv4: _, ...v6only } = HOST;
    const noV4 = thrown(() => compileTable(t, v6only, { generation: 1 }), OwnerUnreachableError, 'ERR_OWNER_UNREACHABLE');
    expect(noV4.message).toBe(
      "Owner 'web2' is reached in GUE at 10.0.0.2, an IPv4 address, but the host has no IPv4 address to send from (host.ipv4 is not set)",
    );
    // An L2 owner needs no host address; owners without slices are not checked.
    const l2 = new SliceTable()
      .defineOwner('web3', { kind: 'server', address: v6('2001:db8::3'), encap: 'l2', mac: '02:00:00:00:00:03' })
      .defineOwner('far', { kind: 'datacenter', endpoint: v6('2001:db8::9') })
      .assign({ destination: v4('192.0.2.1'), ports: 1, owner: 'web3' });
    expect(compileTable(l2, { mac: '02:00:00:00:00:01', mtu: 1500 }, { generation: 1 }).stats.owners).toBe(1);
  });
});

describe('compileTable: host and options', () => {
  const t = new SliceTable().defineOwner('me', { kind: 'local' }).assign({ destination: v4('192.0.2.1'), ports: 1, owner: 'me' });
  it.each([
    [{ ...HOST, mac: '02:00:00:00:00:1' }, {}, "Expected a MAC address such as '02:00:00:00:00:01' for host.mac but received '02:00:00:00:00:1'"],
    [{ ...HOST, mtu: 67 }, {}, 'Expected an MTU from 68 to 65535 for host.mtu but received 67'],
    [{ ...HOST, mtu: 1500.5 }, {}, 'Expected an MTU from 68 to 65535 for host.mtu but received 1500.5'],
    [{ ...HOST, ipv4: '10.0.0.1' }, {}, "Expected an ip-num IPv4 address for host.ipv4 but received '10.0.0.1'"],
    [{ ...HOST, ipv6: v4('10.0.0.1') }, {}, 'Expected an ip-num IPv6 address for host.ipv6 but received an instance of IPv4'],
    [{ ...HOST, guePort: 65536 }, {}, 'Expected a UDP port from 0 (no decapsulation) to 65535 for host.guePort but received 65536'],
    [{ ...HOST, flowHashSeed: -1 }, {}, 'Expected an integer from 0 to 4294967295 for host.flowHashSeed but received -1'],
    [{ ...HOST, trustedPeers: [cidr4('10.0.0.1/24')] }, {}, "Expected a prefix without host bits set (10.0.0.0/24) for host.trustedPeers[0] but received '10.0.0.1/24'"],
    [{ ...HOST, gateway: '02:00:00:00:00:02' }, {}, 'Expected no such option (known: mac, mtu, ipv4, ipv6, guePort, flowHashSeed, trustedPeers) for host.gateway'],
    [HOST, { generation: 1n }, 'Expected a whole number from 0 to 2^53 - 1 for options.generation but received 1n'],
    [HOST, { generation: 2 ** 53 }, 'Expected a whole number from 0 to 2^53 - 1 for options.generation but received 9007199254740992'],
    [HOST, { generation: -1 }, 'Expected a whole number from 0 to 2^53 - 1 for options.generation but received -1'],
    [HOST, { generation: 1, nextHops: { me: '02:00:00:00:00:02' } }, 'Expected a Map from owner name to MAC address for options.nextHops but received an object'],
    [HOST, { generation: 1, nextHops: new Map([['nobody', '02:00:00:00:00:02']]) }, "Expected owner names of the table (known: me) for options.nextHops but received 'nobody'"],
    [HOST, { generation: 1, nextHops: new Map([['me', 'gateway']]) }, "for options.nextHops.get('me') but received 'gateway'"],
  ])('rejects bad settings %#', (host, options, message) => {
    const error = thrown(() => compileTable(t, host as HostSpec, { generation: 1, ...options } as never), InvalidOptionError, 'ERR_INVALID_OPTION');
    expect(error.message).toContain(message);
  });

  it('turns decapsulation off with guePort 0 and defaults seed and port', () => {
    const off = compileTable(t, { mac: '02:00:00:00:00:01', mtu: 9000, ipv4: v4('10.0.0.1'), guePort: 0 }, { generation: 0 });
    expect(decodeImage(off.image).header.host).toMatchObject({ guePort: 0, mtu: 9000, flags: ABI.table.hostFlags.ipv4, seed: 0, ipv6: '0'.repeat(32) });
    const defaults = decodeImage(compileTable(t, { mac: '02:00:00:00:00:01', mtu: 1500 }, { generation: 0 }).image);
    expect(defaults.header.host).toMatchObject({ guePort: 6080, flags: 0 });
    expect(defaults.trusted).toEqual([]);
  });

  it('refuses more trusted peers than the XDP program holds', () => {
    const peers = Array.from({ length: 65 }, (_, i) => IPv4.fromNumber(0x0a000000 + i));
    const error = thrown(() => compileTable(t, { ...HOST, trustedPeers: peers }, { generation: 1 }), TableLimitError, 'ERR_TABLE_LIMIT');
    expect(error.message).toBe('host.trustedPeers has 65 entries, more than the 64 the XDP program holds (SU_TRUSTED_PEERS_MAX)');
    expect(compileTable(t, { ...HOST, trustedPeers: peers.slice(0, 64) }, { generation: 1 }).stats.trustedPeers).toBe(64);
  });
});

describe('compileTable: this data centre\'s servers (peers)', () => {
  it('lists each server once, with or without slices, sorted by family and address', () => {
    const t = new SliceTable()
      .defineOwner('b', { kind: 'server', address: v6('2001:db8::2') })
      .defineOwner('a', { kind: 'server', address: v4('10.0.0.9'), encap: 'l2', mac: '02:00:00:00:00:09' })
      .defineOwner('c', { kind: 'server', address: v4('10.0.0.2') })
      .defineOwner('same-host', { kind: 'server', address: v4('10.0.0.2'), guePort: 7000 })
      .defineOwner('far', { kind: 'datacenter', endpoint: v4('203.0.113.9') })
      .assign({ destination: v4('192.0.2.1'), ports: 1, owner: 'c' });
    const image = decodeImage(compileTable(t, HOST, { generation: 1 }).image);
    expect(image.peers).toEqual(['10.0.0.2', '10.0.0.9 02:00:00:00:00:09', '20010db8000000000000000000000002']);
  });

  it('lists a server\'s other addresses too: GUE from any of them is that server\'s (the loop rule)', () => {
    const t = new SliceTable()
      .defineOwner('c', { kind: 'server', address: v4('10.0.0.2'), otherAddresses: [v6('2001:db8::2')] })
      .defineOwner('a', { kind: 'server', address: v4('10.0.0.9'), encap: 'l2', mac: '02:00:00:00:00:09', otherAddresses: [v6('2001:db8::9')] });
    const compiled = compileTable(t, HOST, { generation: 1 });
    expect(decodeImage(compiled.image).peers).toEqual(['10.0.0.2', '10.0.0.9 02:00:00:00:00:09', '20010db8000000000000000000000002', '20010db8000000000000000000000009']);
    expect(compiled.stats.peers).toBe(2);
  });

  it('refuses more servers than the packet path holds', () => {
    const t = new SliceTable();
    for (let i = 0; i <= ABI.table.peersMax; i++) t.defineOwner(`s${i}`, { kind: 'server', address: IPv4.fromNumber(0x0a000000 + i) });
    const error = thrown(() => compileTable(t, HOST, { generation: 1 }), TableLimitError, 'ERR_TABLE_LIMIT');
    expect(error.message).toBe(`The table's servers of this data centre have ${ABI.table.peersMax + 1} addresses, more than the ${ABI.table.peersMax} the packet path holds (SU_PEERS_MAX)`);
  });
});

describe('compileTable: a /16 in 16 port slices per address (1,048,576 slices)', () => {
  it('builds with assignMany and compiles to the expected keys and ranges', () => {
    const names = ['me', ...Array.from({ length: 15 }, (_, i) => `web${i + 1}`)];
    const t = new SliceTable().defineOwner('me', { kind: 'local' });
    names.slice(1).forEach((name, i) => t.defineOwner(name, { kind: 'server', address: IPv4.fromNumber(0x0a000002 + i) }));
    const ports = splitPorts({ sliceSize: 4096, reserveLowest: false });
    // This host owns the lowest slice of every address; the servers' slices rotate by address
    // so that neighbouring keys differ.
    const owner = (s: number, a: number) => (s === 0 ? 'me' : names[1 + ((s - 1 + a) % 15)]!);
    const specs: SliceSpec[] = [];
    for (let a = 0; a < 65536; a++) {
      const destination = IPv4.fromNumber(0xc6120000 + a); // 198.18.0.0/16
      for (let s = 0; s < 16; s++) specs.push({ destination, ports: ports[s]!, owner: owner(s, a) });
    }
    t.assignMany(specs);
    expect(t.size).toBe(1_048_576);
    expect(t.lookup(v4('198.18.1.2'), 'udp', 5000)).toBe(owner(1, 258));
    expect(t.lookup(v4('198.18.1.2'), 'tcp', 4095)).toBe('me');

    const compiled = compileTable(t, { mac: '02:00:00:00:00:01', mtu: 1500, ipv4: v4('10.0.0.1') }, { generation: 9 });
    expect(compiled.stats).toMatchObject({ slices: 1_048_576, owners: 16, keys: 131_072, ranges: 2_097_152, peers: 15 });

    expect(nativeGeneration(compiled.image)).toBe(9n);
    // Check a few keys and ranges straight from the bytes.
    const view = new DataView(compiled.image.buffer, compiled.image.byteOffset, compiled.image.length);
    const keysAt = ABI.tableHeader.size + 15 * ABI.peer.size + 16 * ABI.owner.size;
    const rangesAt = keysAt + 131_072 * ABI.sliceKey.size;
    const K = ABI.sliceKey.fields;
    const R = ABI.portRange.fields;
    for (const a of [0, 1, 4660, 65535]) {
      for (const [p, protocol] of [[0, 6], [1, 17]] as const) {
        const k = keysAt + (2 * a + p) * ABI.sliceKey.size;
        expect(compiled.image[k + K.family.offset]).toBe(4);
        expect(compiled.image[k + K.prefix_len.offset]).toBe(32);
        expect(compiled.image[k + K.protocol.offset]).toBe(protocol);
        expect([...compiled.image.subarray(k + K.addr.offset, k + K.addr.offset + 16)]).toEqual([198, 18, a >> 8, a & 255, ...Array(12).fill(0)]);
        const first = view.getUint32(k + K.range_first.offset, LE);
        expect(first).toBe((2 * a + p) * 16);
        expect(view.getUint32(k + K.range_count.offset, LE)).toBe(16);
        for (const s of [0, 7, 15]) {
          const r = rangesAt + (first + s) * ABI.portRange.size;
          expect(view.getUint16(r + R.first.offset, LE)).toBe(s * 4096);
          expect(view.getUint16(r + R.last.offset, LE)).toBe(s * 4096 + 4095);
          expect(view.getUint32(r + R.owner.offset, LE)).toBe(compiled.ownerIndex.get(owner(s, a)));
        }
      }
    }
  });
});
