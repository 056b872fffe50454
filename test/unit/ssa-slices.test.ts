// Address slices as data (src/ssa/slice-set.ts, slice-ops.ts): validation with the offending slice
// named, split, merge, move with a window, and the APL list checked to stay covered after every operation.
import { IPv6, IPv6CidrRange } from 'ip-num';
import { describe, expect, it } from 'vitest';

import { formatApl } from '../../src/dns/apl.js';
import { InvalidSliceError, SliceConflictError, SliceOverlapError } from '../../src/errors.js';
import {
  aplOf, checkCoverage, evenSlices, formatSlice, merge, move, openMoves, settle, sliceAt, sliceSet, spaceByOwner, split, toInput, type SliceSet,
} from '../../src/ssa/index.js';

const P = '2001:db8:0:1::/64';
const quarter = (owners: string[]): SliceSet =>
  sliceSet({
    prefixes: [P],
    slices: [
      { prefix: '2001:db8:0:1::/66', owner: owners[0]! },
      { prefix: '2001:db8:0:1:4000::/66', owner: owners[1]! },
      { prefix: '2001:db8:0:1:8000::/65', owner: owners[2]! },
    ],
  });
const texts = (set: SliceSet): string[] => set.slices.map(formatSlice);

describe('slice set validation', () => {
  it('accepts slices of mixed sizes that cover the prefixes exactly, in any order, as ip-num ranges or text', () => {
    const set = sliceSet({
      prefixes: [IPv6CidrRange.fromCidr('2001:db8:0:2::/64'), P],
      slices: [
        { prefix: '2001:db8:0:2::/64', owner: 'c' },
        { prefix: IPv6CidrRange.fromCidr('2001:db8:0:1:8000::/65'), owner: 'b' },
        { prefix: '2001:db8:0:1::/65', owner: 'a' },
      ],
    });
    expect(texts(set)).toEqual(['2001:db8:0:1::/65 -> a', '2001:db8:0:1:8000::/65 -> b', '2001:db8:0:2::/64 -> c']);
    // Adjacent but not one aligned prefix (::1 and ::2 are in different /63s): two APL items.
    expect(formatApl(aplOf(set))).toBe('2:2001:db8:0:1::/64 2:2001:db8:0:2::/64');
    expect(formatApl(aplOf(sliceSet({ prefixes: ['2001:db8:0:2::/64', '2001:db8:0:3::/64'], slices: [{ prefix: '2001:db8:0:2::/63', owner: 'a' }] })))).toBe('2:2001:db8:0:2::/63');
    expect(sliceAt(set, IPv6.fromString('2001:db8:0:1:9000::1'))?.owner).toBe('b');
    expect(sliceAt(set, IPv6.fromString('2001:db8:0:3::'))).toBeUndefined();
    expect(sliceSet(toInput(set))).toEqual(set);
  });

  it('names the overlapping slices', () => {
    const input = { prefixes: [P], slices: [{ prefix: P, owner: 'a' }, { prefix: '2001:db8:0:1::/66', owner: 'b' }] };
    expect(() => sliceSet(input)).toThrow(new SliceOverlapError('Expected slices that do not overlap but received 2001:db8:0:1::/64 -> a and 2001:db8:0:1::/66 -> b'));
  });

  it('names the first uncovered prefix of a gap, inside and at the end of a prefix', () => {
    const inside = { prefixes: [P], slices: [{ prefix: '2001:db8:0:1::/66', owner: 'a' }, { prefix: '2001:db8:0:1:8000::/65', owner: 'b' }] };
    expect(() => sliceSet(inside)).toThrow(
      new InvalidSliceError('Expected a slice covering 2001:db8:0:1:4000::/66 (the uncovered range 2001:db8:0:1:4000:: to 2001:db8:0:1:7fff:ffff:ffff:ffff) but received no slice there'),
    );
    const end = { prefixes: [P, '2001:db8:0:2::/64'], slices: [{ prefix: P, owner: 'a' }] };
    expect(() => sliceSet(end)).toThrow(/Expected a slice covering 2001:db8:0:2::\/64 \(the uncovered range 2001:db8:0:2:: to 2001:db8:0:2:ffff:ffff:ffff:ffff\)/);
  });

  it('refuses a slice outside the prefixes, host bits, a bad owner and overlapping prefixes', () => {
    expect(() => sliceSet({ prefixes: [P], slices: [{ prefix: P, owner: 'a' }, { prefix: '2001:db8:0:2::/78', owner: 'b' }] })).toThrow(
      new InvalidSliceError('Expected a slice inside the published prefixes (2001:db8:0:1::/64) but received 2001:db8:0:2::/78 -> b'),
    );
    expect(() => sliceSet({ prefixes: [P], slices: [{ prefix: '2001:db8:0:1::1/64', owner: 'a' }] })).toThrow(
      new InvalidSliceError("Expected a prefix without host bits set (2001:db8:0:1::/64) for slices[0].prefix but received '2001:db8:0:1::1/64'"),
    );
    expect(() => sliceSet({ prefixes: [P], slices: [{ prefix: P, owner: '' }] })).toThrow("Expected an owner name (1 to 255 characters) for slices[0].owner but received ''");
    expect(() => sliceSet({ prefixes: [P, '2001:db8:0:1::/80'], slices: [] })).toThrow(/published prefixes that do not overlap .* 2001:db8:0:1::\/64 and 2001:db8:0:1::\/80/);
    expect(() => sliceSet({ prefixes: [P], slices: [{ prefix: P, owner: 'a', moving: { from: 'a', until: 1 } }] })).toThrow(/previous owner other than 'a'/);
  });
});

describe('slice operations', () => {
  it('splits a slice into equal parts that keep its owner, and merges siblings back', () => {
    const set = quarter(['a', 'b', 'c']);
    const cut = split(set, '2001:db8:0:1:8000::/65', 67);
    expect(texts(cut).slice(2)).toEqual(['2001:db8:0:1:8000::/67 -> c', '2001:db8:0:1:a000::/67 -> c', '2001:db8:0:1:c000::/67 -> c', '2001:db8:0:1:e000::/67 -> c']);
    expect(formatApl(aplOf(cut))).toBe('2:2001:db8:0:1::/64');
    const back = merge(cut, ['2001:db8:0:1:c000::/67', '2001:db8:0:1:8000::/67', '2001:db8:0:1:a000::/67', '2001:db8:0:1:e000::/67']);
    expect(back).toEqual(set);
    // A parent's descendants of mixed sizes fill it too.
    const mixed = merge(split(cut, '2001:db8:0:1:e000::/67', 68), ['2001:db8:0:1:c000::/67', '2001:db8:0:1:e000::/68', '2001:db8:0:1:f000::/68']);
    expect(texts(mixed).slice(2)).toEqual(['2001:db8:0:1:8000::/67 -> c', '2001:db8:0:1:a000::/67 -> c', '2001:db8:0:1:c000::/66 -> c']);
    checkCoverage(mixed);
  });

  it('refuses merges of non-siblings, mixed owners, and slices that are not in the set', () => {
    const set = quarter(['a', 'b', 'b']);
    expect(() => merge(set, ['2001:db8:0:1:4000::/66', '2001:db8:0:1:8000::/65'])).toThrow(
      new InvalidSliceError('Expected slices that fill one prefix exactly (siblings) to merge but received 2001:db8:0:1:4000::/66 -> b, 2001:db8:0:1:8000::/65 -> b'),
    );
    expect(() => merge(set, ['2001:db8:0:1::/66', '2001:db8:0:1:4000::/66'])).toThrow(/one owner and one move state to merge into 2001:db8:0:1::\/65/);
    expect(() => merge(set, ['2001:db8:0:1::/67', '2001:db8:0:1:2000::/67'])).toThrow(
      'Expected slices[0] to be one slice of the set (2001:db8:0:1::/67) but found the slice 2001:db8:0:1::/66 -> a',
    );
    expect(() => split(set, '2001:db8:0:1::/66', 66)).toThrow(/Expected a length from 67 to 86 to split 2001:db8:0:1::\/66 for newLength but received 66/);
  });

  it('moves a slice with a window in the data, refuses a second move while it is open, and settles it', () => {
    const set = quarter(['a', 'b', 'c']);
    const m = move(set, '2001:db8:0:1::/66', 'd', { now: 1000, windowMs: 5000 });
    expect(m.slices[0]).toEqual({ network: set.slices[0]!.network, length: 66, owner: 'd', moving: { from: 'a', until: 6000 } });
    expect(formatSlice(m.slices[0]!)).toBe('2001:db8:0:1::/66 -> d (moving from a until 6000)');
    expect(openMoves(m, 5999)).toHaveLength(1);
    expect(() => move(m, '2001:db8:0:1::/66', 'e', { now: 5999 })).toThrow(
      new SliceConflictError('Expected a slice without an open move window for the move but received 2001:db8:0:1::/66 -> d (moving from a until 6000) at 5999; settle it after 6000'),
    );
    // A split inherits the window: each half is still moving from a.
    expect(split(m, '2001:db8:0:1::/66', 67).slices.slice(0, 2).map((s) => s.moving)).toEqual([{ from: 'a', until: 6000 }, { from: 'a', until: 6000 }]);
    const settled = settle(m, 6000);
    expect(settled.slices[0]).toEqual({ network: set.slices[0]!.network, length: 66, owner: 'd' });
    expect(settle(settled, 7000)).toBe(settled);
    expect(move(settled, '2001:db8:0:1::/66', 'e', { now: 6000, windowMs: 0 }).slices[0]!.owner).toBe('e');
    expect(() => move(set, '2001:db8:0:1::/66', 'a')).toThrow(/an owner other than the slice's own/);
    expect(() => move(set, '2001:db8:0:1::/66', 'd', { windowMs: -1 })).toThrow('Expected a window of 0 ms or more for windowMs but received -1');
    expect(formatApl(aplOf(m))).toBe('2:2001:db8:0:1::/64');
  });

  it('keeps the published APL list covered through a chain of random operations', () => {
    let set = evenSlices(P, 70, ['a', 'b', 'c']);
    let seed = 7;
    const next = (n: number): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
    for (let step = 0; step < 200; step++) {
      const s = set.slices[next(set.slices.length)]!;
      const prefix = formatSlice(s).split(' ')[0]!;
      const op = next(3);
      if (op === 0 && s.length < 74) set = split(set, prefix, s.length + 1 + next(2));
      else if (op === 1) set = move(set, prefix, s.owner === 'a' ? 'b' : 'a', { windowMs: 0 });
      else {
        const i = set.slices.indexOf(s);
        const sib = set.slices[i + 1];
        if (sib !== undefined && sib.length === s.length && sib.owner === s.owner && (s.network >> BigInt(128 - s.length)) % 2n === 0n) {
          set = merge(set, [prefix, formatSlice(sib).split(' ')[0]!]);
        }
      }
      expect(formatApl(aplOf(set))).toBe('2:2001:db8:0:1::/64');
    }
    const space = [...spaceByOwner(set).values()].reduce((a, b) => a + b, 0n);
    expect(space).toBe(1n << 64n);
  });
});

describe('prefix text', () => {
  it('reads and writes IPv6 text as ip-num does, RFC 5952 compressed', async () => {
    const { formatAddress6, parseAddress6 } = await import('../../src/ssa/prefix.js');
    for (const text of ['::', '::1', '1::', '1:2:3:4:5:6:7:8', '1::8', '1:2:3:4:5:6:7::', '::2:3:4:5:6:7:8', '2001:DB8::FFFF:1', '::ffff:192.0.2.1']) {
      expect(parseAddress6(text)).toBe(IPv6.fromString(text).getValue());
    }
    for (const text of [':::', '1:2:3:4:5:6:7:8:9', '1::2::3', '12345::', '1:2:3:4:5:6:7', 'g::', ':1::', '1:', '1:2:3:4:5:6:7:8::']) expect(parseAddress6(text)).toBeUndefined();
    expect(formatAddress6(0x20010db8000000000001000000000001n)).toBe('2001:db8::1:0:0:1');
    expect(formatAddress6(0x20010db8000000010000000000000000n)).toBe('2001:db8:0:1::');
    expect(formatAddress6(0n)).toBe('::');
    expect(formatAddress6(0x00010000000000000000000000000000n)).toBe('1::');
  });
});
