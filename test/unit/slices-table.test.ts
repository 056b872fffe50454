// SliceTable: owners, slice validation, overlaps between owners, moves, releases, lookups,
// splitPorts and diffTables, as a user sees them (error classes, codes, exact messages).
import { IPv4, IPv4CidrRange, IPv6, IPv6CidrRange } from 'ip-num';
import { describe, expect, it } from 'vitest';

import {
  InvalidOptionError, InvalidSliceError, SliceOverlapError, UnknownOwnerError,
} from '../../src/errors.js';
import { diffTables } from '../../src/slices/diff.js';
import { splitPorts } from '../../src/slices/split.js';
import { SliceTable } from '../../src/slices/table.js';
import type { SliceSpec } from '../../src/slices/types.js';
import { cidr4, cidr6, thrown, v4, v6 } from './helpers.js';



function table(): SliceTable {
  return new SliceTable()
    .defineOwner('me', { kind: 'local' })
    .defineOwner('web2', { kind: 'server', address: v4('10.0.0.2') })
    .defineOwner('dc2', { kind: 'datacenter', endpoint: v6('2001:db8:ffff::1') });
}

/** Every slice as text, for comparing whole tables. */
function listing(t: SliceTable): string[] {
  return [...t.slices()].map((e) => {
    const d = e.destination;
    const text = d instanceof IPv4CidrRange || d instanceof IPv6CidrRange ? d.toCidrString() : d.toString();
    return `${text} ${e.protocols.join('+')} ${e.ports.from}-${e.ports.to} ${e.owner}`;
  });
}

describe('owners', () => {
  it('fills in defaults and reports them through owners()', () => {
    const t = table().defineOwner('web3', { kind: 'server', address: v4('10.0.0.3'), encap: 'l2', mac: '02:AA:bb:00:00:03' });
    const owners = t.owners();
    expect([...owners.keys()]).toEqual(['me', 'web2', 'dc2', 'web3']);
    expect(owners.get('me')).toEqual({ kind: 'local' });
    expect(owners.get('web2')).toMatchObject({ kind: 'server', encap: 'gue0', guePort: 6080 });
    expect(owners.get('dc2')).toMatchObject({ kind: 'datacenter', encap: 'gue0', guePort: 6080 });
    expect(owners.get('web3')).toMatchObject({ kind: 'server', encap: 'l2', mac: '02:aa:bb:00:00:03' });
    expect(owners.get('web3')).not.toHaveProperty('guePort');
  });

  it('keeps a server\'s other addresses, and tells owners apart by them', () => {
    const t = table().defineOwner('web4', { kind: 'server', address: v4('10.0.0.4'), otherAddresses: [v6('2001:db8::4')] });
    expect(t.owners().get('web4')).toEqual({ kind: 'server', address: v4('10.0.0.4'), encap: 'gue0', guePort: 6080, otherAddresses: [v6('2001:db8::4')] });
    // None given, or an empty list: no such key.
    expect(table().defineOwner('web4', { kind: 'server', address: v4('10.0.0.4'), otherAddresses: [] }).owners().get('web4')).not.toHaveProperty('otherAddresses');
    const other = t.clone().defineOwner('web4', { kind: 'server', address: v4('10.0.0.4'), otherAddresses: [v6('2001:db8::44')] });
    expect(diffTables(t, other).ownersChanged).toEqual(['web4']);
  });

  it.each([
    ['', { kind: 'local' }, "Expected a non-empty owner name for name but received ''"],
    ['x', null, "Expected an owner spec object for owners['x'] but received null"],
    ['x', { kind: 'router' }, "Expected 'local', 'server' or 'datacenter' for owners['x'].kind but received 'router'"],
    ['x', { kind: 'local', address: v4('10.0.0.1') }, "Expected no such option (known for this kind: kind) for owners['x'].address but received an instance of IPv4"],
    ['x', { kind: 'server', address: '10.0.0.2' }, "Expected an ip-num IPv4 or IPv6 address for owners['x'].address but received '10.0.0.2'"],
    ['x', { kind: 'server', address: v4('10.0.0.2'), encap: 'vxlan' }, "Expected 'gue0', 'gue1' or 'l2' for owners['x'].encap but received 'vxlan'"],
    ['x', { kind: 'server', address: v4('10.0.0.2'), encap: 'l2' }, "Expected a MAC address such as '02:00:00:00:00:01' for owners['x'].mac but received undefined"],
    ['x', { kind: 'server', address: v4('10.0.0.2'), encap: 'l2', mac: '02:00:00:00:00' }, "Expected a MAC address such as '02:00:00:00:00:01' for owners['x'].mac but received '02:00:00:00:00'"],
    ['x', { kind: 'server', address: v4('10.0.0.2'), encap: 'l2', mac: '02-00-00-00-00-01' }, "for owners['x'].mac but received '02-00-00-00-00-01'"],
    ['x', { kind: 'server', address: v4('10.0.0.2'), encap: 'l2', mac: '02:00:00:00:00:01', guePort: 6080 }, "Expected no GUE port for an 'l2' owner (it is not encapsulated) for owners['x'].guePort but received 6080"],
    ['x', { kind: 'server', address: v4('10.0.0.2'), mac: '02:00:00:00:00:01' }, "Expected no MAC address unless encap is 'l2' (GUE next hops are resolved) for owners['x'].mac but received '02:00:00:00:00:01'"],
    ['x', { kind: 'server', address: v4('10.0.0.2'), guePort: 0 }, "Expected a UDP port from 1 to 65535 for owners['x'].guePort but received 0"],
    ['x', { kind: 'server', address: v4('10.0.0.2'), otherAddresses: v6('2001:db8::2') }, "Expected an array of ip-num IPv4 and IPv6 addresses for owners['x'].otherAddresses but received an instance of IPv6"],
    ['x', { kind: 'server', address: v4('10.0.0.2'), otherAddresses: ['2001:db8::2'] }, "Expected an ip-num IPv4 or IPv6 address for owners['x'].otherAddresses[0] but received '2001:db8::2'"],
    ['x', { kind: 'datacenter', endpoint: v4('10.0.0.9'), encap: 'l2' }, "Expected 'gue0' or 'gue1' for owners['x'].encap but received 'l2'"],
    ['x', { kind: 'datacenter', address: v4('10.0.0.9') }, "Expected no such option (known for this kind: kind, endpoint, encap, guePort) for owners['x'].address"],
  ])('rejects owner %# with InvalidOptionError', (name, spec, message) => {
    const error = thrown(() => new SliceTable().defineOwner(name, spec as never), InvalidOptionError, 'ERR_INVALID_OPTION');
    expect(error.message).toContain(message);
  });

  it('redefining an owner replaces it, and its slices follow the new definition', () => {
    const t = table().assign({ destination: v4('192.0.2.1'), ports: 80, owner: 'web2' });
    t.defineOwner('web2', { kind: 'datacenter', endpoint: v4('203.0.113.9'), encap: 'gue1' });
    expect(t.owners().get('web2')).toMatchObject({ kind: 'datacenter', encap: 'gue1' });
    expect(t.lookup(v4('192.0.2.1'), 'tcp', 80)).toBe('web2');
    expect([...t.owners().keys()]).toEqual(['me', 'web2', 'dc2']);
  });

  it('removeOwner refuses owners in use and unknown names', () => {
    const t = table().assign({ destination: v4('192.0.2.1'), ports: 80, owner: 'web2' });
    const inUse = thrown(() => t.removeOwner('web2'), InvalidOptionError, 'ERR_INVALID_OPTION');
    expect(inUse.message).toBe(
      "Expected an owner no slice belongs to (1 slice belongs to it: move or release them first) for name but received 'web2'",
    );
    const unknown = thrown(() => t.removeOwner('nobody'), UnknownOwnerError, 'ERR_UNKNOWN_OWNER');
    expect(unknown.message).toBe("Expected an owner defined with defineOwner() (known: me, web2, dc2) for name but received 'nobody'");
    t.release({ destination: v4('192.0.2.1'), ports: 80 });
    t.removeOwner('web2');
    expect([...t.owners().keys()]).toEqual(['me', 'dc2']);
    const gone = thrown(() => t.assign({ destination: v4('192.0.2.1'), ports: 80, owner: 'web2' }), UnknownOwnerError, 'ERR_UNKNOWN_OWNER');
    expect(gone.message).toBe("Expected an owner defined with defineOwner() (known: me, dc2) for slice.owner but received 'web2'");
  });
});

describe('slice validation', () => {
  const good = { destination: v4('192.0.2.1'), ports: 80, owner: 'me' };
  it.each([
    [{ ...good, ports: 65536 }, 'Expected a port from 0 to 65535 for slice.ports but received 65536'],
    [{ ...good, ports: -1 }, 'Expected a port from 0 to 65535 for slice.ports but received -1'],
    [{ ...good, ports: 1.5 }, 'Expected a port from 0 to 65535 for slice.ports but received 1.5'],
    [{ ...good, ports: undefined }, 'Expected a port from 0 to 65535 or { from, to } for slice.ports but received undefined'],
    [{ ...good, ports: '80' }, "Expected a port or { from, to } for slice.ports but received '80'"],
    [{ ...good, ports: { from: 10, to: 5 } }, 'Expected a port not below from (10) for slice.ports.to but received 5'],
    [{ ...good, ports: { from: 0, to: 70000 } }, 'Expected a port from 0 to 65535 for slice.ports.to but received 70000'],
    [{ ...good, destination: '192.0.2.1' }, "Expected an ip-num IPv4, IPv6, IPv4CidrRange or IPv6CidrRange for slice.destination but received '192.0.2.1'"],
    [{ ...good, destination: cidr4('192.0.2.1/24') }, "Expected a prefix without host bits set (192.0.2.0/24) for slice.destination but received '192.0.2.1/24'"],
    [{ ...good, protocols: [] }, "Expected a non-empty array of 'tcp' and 'udp' for slice.protocols but received an array of 0"],
    [{ ...good, protocols: ['tcp', 'icmp'] }, "Expected 'tcp' or 'udp' for slice.protocols[1] but received 'icmp'"],
    [{ ...good, protocols: 'tcp' }, "Expected a non-empty array of 'tcp' and 'udp' for slice.protocols but received 'tcp'"],
    [{ ...good, port: 80 }, 'Expected no such option (destination, protocols, ports, owner) for slice.port but received 80'],
    [{ ...good, owner: 7 }, 'Expected an owner name for slice.owner but received 7'],
    [null, 'Expected a slice spec { destination, protocols?, ports, owner } for slice but received null'],
  ])('rejects slice %# with InvalidSliceError', (spec, message) => {
    const error = thrown(() => table().assign(spec as SliceSpec), InvalidSliceError, 'ERR_INVALID_SLICE');
    expect(error.message).toBe(message);
  });

  it('names the failing entry of assignMany and applies nothing', () => {
    const t = table();
    const error = thrown(
      () => t.assignMany([good, { ...good, ports: 81 }, { ...good, ports: { from: 9, to: 8 } }]),
      InvalidSliceError,
      'ERR_INVALID_SLICE',
    );
    expect(error.message).toBe('Expected a port not below from (9) for slices[2].ports.to but received 8');
    expect(t.size).toBe(0);
    expect(t.lookup(v4('192.0.2.1'), 'tcp', 80)).toBeUndefined();
  });

  it('takes any iterable in assignMany, and nothing else', () => {
    function* specs() {
      yield good;
      yield { ...good, ports: 81 };
    }
    expect(table().assignMany(specs()).size).toBe(2);
    const error = thrown(() => table().assignMany(good as never), InvalidOptionError, 'ERR_INVALID_OPTION');
    expect(error.message).toBe('Expected an iterable of slice specs for slices but received an object');
  });

  it('refuses an unknown owner with UnknownOwnerError', () => {
    const error = thrown(() => table().assignMany([good, { ...good, owner: 'web9' }]), UnknownOwnerError, 'ERR_UNKNOWN_OWNER');
    expect(error.message).toBe("Expected an owner defined with defineOwner() (known: me, web2, dc2) for slices[1].owner but received 'web9'");
  });
});

describe('overlaps', () => {
  it('refuses a slice of another owner inside a prefix, naming both slices and both owners', () => {
    const t = table().assign({ destination: cidr4('192.0.2.0/24'), ports: { from: 1000, to: 2000 }, owner: 'me' });
    const error = thrown(
      () => t.assign({ destination: v4('192.0.2.7'), protocols: ['udp'], ports: { from: 2000, to: 3000 }, owner: 'web2' }),
      SliceOverlapError,
      'ERR_SLICE_OVERLAP',
    );
    expect(error.message).toBe(
      "Slice 192.0.2.7 udp ports 2000-3000 of owner 'web2' (being assigned) overlaps slice 192.0.2.0/24 tcp+udp ports 1000-2000 " +
        "of owner 'me' (in the table); slices of different owners must not cover the same packets",
    );
    expect(t.size).toBe(1);
  });

  it('refuses a prefix covering a slice of another owner (IPv6)', () => {
    const t = table().assign({ destination: v6('2001:db8::7'), protocols: ['tcp'], ports: 443, owner: 'dc2' });
    const error = thrown(
      () => t.assign({ destination: cidr6('2001:db8::/32'), ports: { from: 400, to: 500 }, owner: 'me' }),
      SliceOverlapError,
      'ERR_SLICE_OVERLAP',
    );
    expect(error.message).toBe(
      "Slice 2001:db8::/32 tcp+udp ports 400-500 of owner 'me' (being assigned) overlaps slice 2001:db8::7 tcp port 443 " +
        "of owner 'dc2' (in the table); slices of different owners must not cover the same packets",
    );
  });

  it('allows slices that share no packet, and overlaps of one owner', () => {
    const t = table().assign({ destination: cidr4('192.0.2.0/24'), protocols: ['tcp'], ports: { from: 1000, to: 2000 }, owner: 'me' });
    t.assign({ destination: v4('192.0.2.7'), protocols: ['udp'], ports: { from: 1000, to: 2000 }, owner: 'web2' }); // other protocol
    t.assign({ destination: v4('192.0.2.7'), ports: { from: 2001, to: 3000 }, owner: 'web2' }); // other ports
    t.assign({ destination: v4('192.0.3.7'), ports: { from: 1000, to: 2000 }, owner: 'web2' }); // prefixes apart
    t.assign({ destination: v4('192.0.2.8'), protocols: ['tcp'], ports: { from: 1500, to: 2500 }, owner: 'me' }); // same owner
    expect(t.size).toBe(5);
    expect(t.lookup(v4('192.0.2.8'), 'tcp', 2500)).toBe('me');
    expect(t.lookup(v4('192.0.2.7'), 'udp', 1000)).toBe('web2');
    expect(t.lookup(v4('192.0.2.7'), 'tcp', 1000)).toBe('me');
  });

  it('checks assignMany against itself: names both entries and applies nothing', () => {
    const t = table();
    const error = thrown(
      () =>
        t.assignMany([
          { destination: v4('192.0.3.7'), ports: 5, owner: 'web2' },
          { destination: v4('192.0.3.8'), ports: 5, owner: 'web2' },
          { destination: cidr4('192.0.3.0/24'), ports: { from: 0, to: 10 }, owner: 'me' },
        ]),
      SliceOverlapError,
      'ERR_SLICE_OVERLAP',
    );
    expect(error.message).toBe(
      "Slice 192.0.3.0/24 tcp+udp ports 0-10 of owner 'me' (slices[2]) overlaps slice 192.0.3.7 tcp+udp port 5 of owner 'web2' " +
        '(slices[0]); slices of different owners must not cover the same packets',
    );
    expect(t.size).toBe(0);
    expect(listing(t)).toEqual([]);
    // The failed change left no empty prefixes behind: the same slices without the culprit fit.
    t.assignMany([{ destination: cidr4('192.0.3.0/24'), ports: 11, owner: 'me' }]);
    expect(listing(t)).toEqual(['192.0.3.0/24 tcp+udp 11-11 me']);
  });

  it('stores exact duplicates of one owner once', () => {
    const s = { destination: v4('192.0.2.1'), ports: { from: 10, to: 20 }, owner: 'me' };
    const t = table().assignMany([s, s, { ...s }]).assign(s);
    expect(t.size).toBe(1);
    expect(listing(t)).toEqual(['192.0.2.1 tcp+udp 10-20 me']);
  });

  it('checks big groups by sorting: one address, thousands of one-port slices in any order', () => {
    const t = table();
    const many: SliceSpec[] = [];
    for (let port = 4000; port >= 1; port--) many.push({ destination: v4('192.0.2.1'), ports: port, owner: port % 2 ? 'me' : 'web2' });
    many.push({ destination: v4('192.0.2.1'), ports: 17, owner: 'me' }); // a duplicate
    t.assignMany(many);
    expect(t.size).toBe(4000);
    expect(t.lookup(v4('192.0.2.1'), 'udp', 17)).toBe('me');
    expect(t.lookup(v4('192.0.2.1'), 'udp', 18)).toBe('web2');
    const clash = [...many.slice(0, 3000), { destination: v4('192.0.2.1'), ports: { from: 5000, to: 5001 }, owner: 'me' }];
    clash.push({ destination: v4('192.0.2.1'), protocols: ['tcp'], ports: { from: 4999, to: 5000 }, owner: 'web2' });
    const error = thrown(() => table().assignMany(clash), SliceOverlapError, 'ERR_SLICE_OVERLAP');
    expect(error.message).toBe(
      "Slice 192.0.2.1 tcp ports 4999-5000 of owner 'web2' (slices[3001]) overlaps slice 192.0.2.1 tcp+udp ports 5000-5001 " +
        "of owner 'me' (slices[3000]); slices of different owners must not cover the same packets",
    );
  });

  it('finds nested prefixes by looking up candidates, by walking and by searching sorted keys', () => {
    const t = table();
    const addresses: SliceSpec[] = [];
    for (let i = 0; i < 256; i++) addresses.push({ destination: IPv4.fromNumber(0xc0000200 + i), ports: 2000 + i, owner: 'web2' });
    t.assignMany(addresses);
    // A /28 has 16 candidate /32s: each is looked up.
    expect(() => t.assign({ destination: cidr4('192.0.2.16/28'), ports: { from: 2020, to: 2040 }, owner: 'me' })).toThrow(
      "Slice 192.0.2.16/28 tcp+udp ports 2020-2040 of owner 'me' (being assigned) overlaps slice 192.0.2.20 tcp+udp port 2020 of owner 'web2' (in the table)",
    );
    // A /24 over 256 /32s and a /8: the /32s' keys are searched.
    const error = thrown(
      () => t.assign({ destination: cidr4('192.0.2.0/24'), ports: { from: 2100, to: 2100 }, owner: 'me' }),
      SliceOverlapError,
      'ERR_SLICE_OVERLAP',
    );
    expect(error.message).toContain("overlaps slice 192.0.2.100 tcp+udp port 2100 of owner 'web2' (in the table)");
    expect(() => t.assign({ destination: cidr4('192.0.0.0/8'), ports: 2255, owner: 'me' })).toThrow(
      "overlaps slice 192.0.2.255 tcp+udp port 2255 of owner 'web2' (in the table)",
    );
    expect(() => t.assignMany([{ destination: cidr4('10.0.0.0/8'), ports: 2255, owner: 'me' }, { destination: cidr4('192.0.2.128/25'), ports: 2255, owner: 'me' }])).toThrow(
      "Slice 192.0.2.128/25 tcp+udp port 2255 of owner 'me' (slices[1]) overlaps slice 192.0.2.255",
    );
    t.assign({ destination: cidr4('192.0.0.0/8'), ports: 2256, owner: 'me' });
    expect(t.lookup(v4('192.0.2.9'), 'udp', 2256)).toBe('me');
    expect(t.lookup(v4('192.0.2.9'), 'udp', 2009)).toBe('web2');
    // Few groups of a length (IPv6 here): they are walked.
    const few = table().assign({ destination: v6('2001:db8::1:7'), ports: 9, owner: 'dc2' });
    expect(() => few.assign({ destination: cidr6('2001:db8::/64'), ports: { from: 1, to: 10 }, owner: 'me' })).toThrow(
      "overlaps slice 2001:db8::1:7 tcp+udp port 9 of owner 'dc2' (in the table)",
    );
    few.assign({ destination: cidr6('2001:db8:1::/64'), ports: { from: 1, to: 10 }, owner: 'me' });
    // Many IPv6 groups of a length: searched like IPv4.
    const base = v6('2001:db8:2::').getValue();
    few.assignMany(Array.from({ length: 100 }, (_, i) => ({ destination: IPv6.fromBigInt(base + BigInt(i)), ports: 100 + i, owner: 'dc2' })));
    expect(() => few.assign({ destination: cidr6('2001:db8:2::/120'), ports: { from: 150, to: 150 }, owner: 'me' })).toThrow(
      "overlaps slice 2001:db8:2::32 tcp+udp port 150 of owner 'dc2' (in the table)",
    );
    few.assign({ destination: cidr6('2001:db8:2::/120'), ports: { from: 200, to: 300 }, owner: 'me' });
    expect(few.lookup(v6('2001:db8:2::ff'), 'tcp', 250)).toBe('me');
  });
});

describe('move and release', () => {
  it('move hands exactly the matching slices to another owner', () => {
    const t = table().assignMany([
      { destination: v4('192.0.2.1'), protocols: ['tcp'], ports: { from: 2048, to: 4095 }, owner: 'me' },
      { destination: v4('192.0.2.1'), protocols: ['udp'], ports: { from: 2048, to: 4095 }, owner: 'me' },
      { destination: v4('192.0.2.1'), ports: { from: 4096, to: 6143 }, owner: 'me' },
    ]);
    t.move({ destination: v4('192.0.2.1'), protocols: ['udp'], ports: { from: 2048, to: 4095 } }, 'web2');
    expect(t.lookup(v4('192.0.2.1'), 'udp', 3000)).toBe('web2');
    expect(t.lookup(v4('192.0.2.1'), 'tcp', 3000)).toBe('me');
    // Without protocols, every protocol set matches.
    t.move({ destination: v4('192.0.2.1'), ports: { from: 2048, to: 4095 } }, 'dc2');
    expect(t.lookup(v4('192.0.2.1'), 'udp', 3000)).toBe('dc2');
    expect(t.lookup(v4('192.0.2.1'), 'tcp', 3000)).toBe('dc2');
    expect(t.lookup(v4('192.0.2.1'), 'tcp', 5000)).toBe('me');
    expect(t.size).toBe(3);
  });

  it('move refuses selectors that match nothing, unknown owners and new overlaps, and changes nothing', () => {
    const t = table().assignMany([
      { destination: cidr4('192.0.2.0/24'), ports: { from: 1000, to: 2000 }, owner: 'me' },
      { destination: v4('192.0.2.1'), ports: { from: 1500, to: 1600 }, owner: 'me' },
    ]);
    const before = listing(t);
    const none = thrown(() => t.move({ destination: v4('192.0.2.1'), ports: 7 }, 'web2'), InvalidSliceError, 'ERR_INVALID_SLICE');
    expect(none.message).toBe('Expected a slice of the table for selector but received 192.0.2.1 tcp+udp port 7 (any protocols), which matches none');
    const wrongSet = thrown(
      () => t.move({ destination: v4('192.0.2.1'), protocols: ['tcp'], ports: { from: 1500, to: 1600 } }, 'web2'),
      InvalidSliceError,
      'ERR_INVALID_SLICE',
    );
    expect(wrongSet.message).toBe('Expected a slice of the table for selector but received 192.0.2.1 tcp ports 1500-1600, which matches none');
    thrown(() => t.move({ destination: v4('192.0.2.1'), ports: { from: 1500, to: 1600 } }, 'web9'), UnknownOwnerError, 'ERR_UNKNOWN_OWNER');
    const overlap = thrown(
      () => t.move({ destination: v4('192.0.2.1'), ports: { from: 1500, to: 1600 } }, 'web2'),
      SliceOverlapError,
      'ERR_SLICE_OVERLAP',
    );
    expect(overlap.message).toBe(
      "Slice 192.0.2.1 tcp+udp ports 1500-1600 of owner 'web2' (selector, moved to 'web2') overlaps slice 192.0.2.0/24 tcp+udp " +
        "ports 1000-2000 of owner 'me' (in the table); slices of different owners must not cover the same packets",
    );
    expect(listing(t)).toEqual(before);
    expect(t.lookup(v4('192.0.2.1'), 'tcp', 1550)).toBe('me');
  });

  it('release removes the matching slices; nothing matching is an error', () => {
    const t = table().assignMany([
      { destination: v4('192.0.2.1'), ports: 80, owner: 'web2' },
      { destination: v4('192.0.2.1'), ports: 443, owner: 'web2' },
    ]);
    t.release({ destination: v4('192.0.2.1'), ports: 80 });
    expect(t.lookup(v4('192.0.2.1'), 'tcp', 80)).toBeUndefined();
    expect(t.lookup(v4('192.0.2.1'), 'tcp', 443)).toBe('web2');
    t.release({ destination: v4('192.0.2.1'), ports: { from: 443, to: 443 }, protocols: ['tcp', 'udp'] });
    expect(t.size).toBe(0);
    expect(listing(t)).toEqual([]);
    const error = thrown(() => t.release({ destination: v4('192.0.2.1'), ports: 443 }), InvalidSliceError, 'ERR_INVALID_SLICE');
    expect(error.message).toBe('Expected a slice of the table for selector but received 192.0.2.1 tcp+udp port 443 (any protocols), which matches none');
    const bad = thrown(() => t.release({ destination: v4('192.0.2.1'), ports: 443, owner: 'x' } as never), InvalidSliceError, 'ERR_INVALID_SLICE');
    expect(bad.message).toBe("Expected no such option (destination, protocols, ports) for selector.owner but received 'x'");
  });
});

describe('lookup, slices, clone', () => {
  it('answers the longest prefix holding the protocol and port', () => {
    const t = table().assignMany([
      { destination: cidr4('192.0.2.0/24'), ports: { from: 0, to: 65535 }, owner: 'dc2' },
      { destination: cidr4('192.0.2.0/25'), protocols: ['tcp'], ports: { from: 1024, to: 2047 }, owner: 'dc2' },
      { destination: cidr6('2001:db8::/64'), protocols: ['udp'], ports: 53, owner: 'me' },
    ]);
    expect(t.lookup(v4('192.0.2.200'), 'udp', 9)).toBe('dc2');
    expect(t.lookup(v4('192.0.3.1'), 'udp', 9)).toBeUndefined();
    expect(t.lookup(v6('2001:db8::99'), 'udp', 53)).toBe('me');
    expect(t.lookup(v6('2001:db8::99'), 'tcp', 53)).toBeUndefined();
    expect(t.lookup(v6('2001:db8:0:1::99'), 'udp', 53)).toBeUndefined();
    expect(() => t.lookup(cidr4('192.0.2.0/24') as never, 'tcp', 1)).toThrow(
      'Expected an ip-num IPv4 or IPv6 address for destination but received an instance of IPv4CidrRange',
    );
    expect(() => t.lookup(v4('192.0.2.1'), 'sctp' as never, 1)).toThrow(InvalidOptionError);
    expect(() => t.lookup(v4('192.0.2.1'), 'tcp', 65536)).toThrow('Expected a port from 0 to 65535 for port but received 65536');
  });

  it('lists slices by family and address, a prefix before what it holds', () => {
    const t = table().assignMany([
      { destination: v6('2001:db8::1'), protocols: ['tcp'], ports: 80, owner: 'dc2' },
      { destination: v4('192.0.2.9'), ports: { from: 10, to: 20 }, owner: 'web2' },
      { destination: cidr4('192.0.2.0/24'), protocols: ['udp'], ports: 53, owner: 'me' },
      { destination: v4('10.9.9.9'), ports: 1, owner: 'me' },
    ]);
    expect(listing(t)).toEqual([
      '10.9.9.9 tcp+udp 1-1 me',
      '192.0.2.0/24 udp 53-53 me',
      '192.0.2.9 tcp+udp 10-20 web2',
      '2001:db8:0:0:0:0:0:1 tcp 80-80 dc2',
    ]);
    const [first] = t.slices();
    expect(first!.destination).toBeInstanceOf(IPv4);
    expect(first!.ports).toEqual({ from: 1, to: 1 });
  });

  it('clone() is independent of the original', () => {
    const t = table().assign({ destination: v4('192.0.2.1'), ports: 80, owner: 'web2' });
    const c = t.clone();
    c.move({ destination: v4('192.0.2.1'), ports: 80 }, 'me');
    c.assign({ destination: v4('192.0.2.2'), ports: 80, owner: 'me' });
    c.defineOwner('web4', { kind: 'local' });
    t.assign({ destination: v4('192.0.2.3'), ports: 80, owner: 'dc2' });
    expect(listing(t)).toEqual(['192.0.2.1 tcp+udp 80-80 web2', '192.0.2.3 tcp+udp 80-80 dc2']);
    expect(listing(c)).toEqual(['192.0.2.1 tcp+udp 80-80 me', '192.0.2.2 tcp+udp 80-80 me']);
    expect(t.owners().has('web4')).toBe(false);
  });

  it('keeps every slice across many growing changes', () => {
    // Groups outgrow their place and move; the arena is compacted as it grows.
    const t = table();
    for (let round = 0; round < 40; round++) {
      const batch: SliceSpec[] = [];
      for (let a = 0; a < 50; a++) batch.push({ destination: IPv4.fromNumber(0xc0000200 + a), ports: round * 10 + (a % 7), owner: 'me' });
      t.assignMany(batch);
      if (round % 5 === 0) t.release({ destination: IPv4.fromNumber(0xc0000200 + round), ports: round * 10 + (round % 7) });
    }
    expect(t.size).toBe(40 * 50 - 8);
    expect(t.lookup(v4('192.0.2.3'), 'tcp', 393)).toBe('me');
    expect(t.lookup(v4('192.0.2.5'), 'tcp', 55)).toBeUndefined(); // released in round 5
    expect(t.lookup(v4('192.0.2.6'), 'tcp', 56)).toBe('me');
  });
});

describe('splitPorts', () => {
  it('cuts 2048-port slices and keeps the lowest back by default: 31 slices', () => {
    const slices = splitPorts();
    expect(slices).toHaveLength(31);
    expect(slices[0]).toEqual({ from: 2048, to: 4095 });
    expect(slices[30]).toEqual({ from: 63488, to: 65535 });
  });

  it('takes other powers of two, with or without the lowest slice', () => {
    expect(splitPorts({ sliceSize: 16384, reserveLowest: false })).toEqual([
      { from: 0, to: 16383 },
      { from: 16384, to: 32767 },
      { from: 32768, to: 49151 },
      { from: 49152, to: 65535 },
    ]);
    expect(splitPorts({ sliceSize: 1 })).toHaveLength(65535);
    expect(splitPorts({ sliceSize: 65536, reserveLowest: false })).toEqual([{ from: 0, to: 65535 }]);
  });

  it.each([
    [{ sliceSize: 3000 }, 'Expected a power of two from 1 to 65536 for options.sliceSize but received 3000'],
    [{ sliceSize: 0 }, 'Expected a power of two from 1 to 65536 for options.sliceSize but received 0'],
    [{ sliceSize: 131072 }, 'Expected a power of two from 1 to 65536 for options.sliceSize but received 131072'],
    [{ sliceSize: 65536 }, 'Expected a size below 65536 when reserveLowest is set (no slice would be left) for options.sliceSize but received 65536'],
    [{ reserveLowest: 'yes' }, "Expected true or false for options.reserveLowest but received 'yes'"],
    [{ size: 2048 }, 'Expected no such option (sliceSize, reserveLowest) for options.size but received 2048'],
  ])('rejects %o', (options, message) => {
    const error = thrown(() => splitPorts(options as never), InvalidOptionError, 'ERR_INVALID_OPTION');
    expect(error.message).toBe(message);
  });
});

describe('diffTables', () => {
  it('reports added, removed and moved slices and changed owners', () => {
    const before = table().assignMany([
      { destination: v4('192.0.2.1'), ports: { from: 2048, to: 4095 }, owner: 'me' },
      { destination: v4('192.0.2.1'), ports: { from: 4096, to: 6143 }, owner: 'web2' },
      { destination: cidr4('198.51.100.0/24'), protocols: ['tcp'], ports: 443, owner: 'dc2' },
    ]);
    const after = before
      .clone()
      .move({ destination: v4('192.0.2.1'), ports: { from: 4096, to: 6143 } }, 'dc2')
      .release({ destination: cidr4('198.51.100.0/24'), ports: 443 })
      .assign({ destination: v6('2001:db8::1'), protocols: ['udp'], ports: 53, owner: 'me' })
      .defineOwner('web2', { kind: 'server', address: v4('10.0.0.22') })
      .defineOwner('web5', { kind: 'local' });
    const diff = diffTables(before, after);
    expect(diff.added).toEqual([{ destination: v6('2001:db8::1'), protocols: ['udp'], ports: { from: 53, to: 53 }, owner: 'me' }]);
    expect(diff.removed).toEqual([{ destination: cidr4('198.51.100.0/24'), protocols: ['tcp'], ports: { from: 443, to: 443 }, owner: 'dc2' }]);
    expect(diff.moved).toEqual([
      { slice: { destination: v4('192.0.2.1'), protocols: ['tcp', 'udp'], ports: { from: 4096, to: 6143 } }, from: 'web2', to: 'dc2' },
    ]);
    expect(diff.ownersChanged).toEqual(['web2', 'web5']);
    expect(diffTables(after, after)).toEqual({ added: [], removed: [], moved: [], ownersChanged: [] });
  });
});
