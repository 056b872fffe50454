// SliceTable's changes and questions: move, release, lookup, the slice listing and clone.
import { IPv4 } from 'ip-num';
import { describe, expect, it } from 'vitest';

import { InvalidOptionError, InvalidSliceError, SliceOverlapError, UnknownOwnerError } from '../../src/errors.js';
import type { SliceSpec } from '../../src/slices/types.js';
import { cidr4, cidr6, thrown, v4, v6 } from './helpers.js';
import { listing, table } from './slices-fixture.js';

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

  it('moveOwner hands every slice of one owner to another, prefixes and families alike', () => {
    const t = table().assignMany([
      { destination: v4('192.0.2.1'), ports: 80, owner: 'web2' },
      { destination: cidr6('2001:db8:100::/64'), protocols: ['udp'], ports: { from: 1000, to: 1999 }, owner: 'web2' },
      { destination: v4('192.0.2.1'), ports: 443, owner: 'dc2' },
      { destination: v4('192.0.2.1'), ports: 22, owner: 'me' },
    ]);
    t.moveOwner('web2', 'dc2');
    expect(listing(t)).toEqual(['192.0.2.1 tcp+udp 80-80 dc2', '192.0.2.1 tcp+udp 443-443 dc2', '192.0.2.1 tcp+udp 22-22 me', '2001:db8:100:0:0:0:0:0/64 udp 1000-1999 dc2']);
    expect(t.sliceCounts()).toEqual(new Map([['me', 1], ['web2', 0], ['dc2', 3]]));
    expect(t.size).toBe(4);
    // The owner stays defined, so its slices can come back.
    t.moveOwner('dc2', 'web2').moveOwner('web2', 'web2');
    expect(t.lookup(v4('192.0.2.1'), 'tcp', 443)).toBe('web2');
    const error = thrown(() => t.moveOwner('web2', 'nobody'), UnknownOwnerError, 'ERR_UNKNOWN_OWNER');
    expect(error.message).toBe("Expected an owner defined with defineOwner() (known: me, web2, dc2) for to but received 'nobody'");
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
