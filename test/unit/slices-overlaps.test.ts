// SliceTable: slices of different owners must not cover the same packets (nesting prefixes,
// protocols, ports), checked whole per change, with the messages a user sees.
import { IPv4, IPv6 } from 'ip-num';
import { describe, expect, it } from 'vitest';

import { SliceOverlapError } from '../../src/errors.js';
import type { SliceSpec } from '../../src/slices/types.js';
import { cidr4, cidr6, thrown, v4, v6 } from './helpers.js';
import { listing, table } from './slices-fixture.js';

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
