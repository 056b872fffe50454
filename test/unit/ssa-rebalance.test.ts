// Rebalancing address slices (src/ssa/rebalance.ts): every endpoint ends at the floor or ceiling of
// its share, the slices moved equal the sum of surpluses (checked against every possible target), windows.
import { describe, expect, it } from 'vitest';

import { formatApl } from '../../src/dns/apl.js';
import { InvalidOptionError, SliceConflictError } from '../../src/errors.js';
import { aplOf, checkCoverage, evenSlices, rebalance, sliceSet, spaceByOwner, type SliceSet } from '../../src/ssa/index.js';

const P = '2001:db8::/64';

/** A small deterministic generator: the tests must not depend on Math.random. */
function lcg(seed: number): (n: number) => number {
  let s = seed;
  return (n) => ((s = (s * 1103515245 + 12345) % 2 ** 31), s % n);
}

/** Units (slices of the smallest length) per owner. */
function units(set: SliceSet, unitLength: number): Map<string, number> {
  return new Map([...spaceByOwner(set)].map(([o, space]) => [o, Number(space >> BigInt(128 - unitLength))]));
}

/** The smallest total surplus over every target vector with floor or ceiling shares summing to the total. */
function bestSurplus(have: number[], weights: number[], total: number): number {
  const sum = weights.reduce((a, b) => a + b, 0);
  const floors = weights.map((w) => Math.floor((total * w) / sum));
  let best = Infinity;
  for (let mask = 0; mask < 1 << weights.length; mask++) {
    const t = floors.map((f, i) => f + ((mask >> i) & 1 && (total * weights[i]!) % sum !== 0 ? 1 : 0));
    if (t.reduce((a, b) => a + b, 0) !== total || t.some((x, i) => (mask >> i) & 1 && x === floors[i])) continue;
    best = Math.min(best, have.reduce((a, h, i) => a + Math.max(0, h - t[i]!), 0));
  }
  return best;
}

describe('rebalance, slices of one size', () => {
  it('ends every endpoint at floor or ceiling and moves exactly the sum of surpluses, the least any target allows', () => {
    const next = lcg(11);
    for (let round = 0; round < 60; round++) {
      const count = 1 << (4 + next(5));
      const length = 64 + Math.log2(count);
      const old = Array.from({ length: 1 + next(6) }, (_, i) => `e${i}`);
      const start = sliceSet({ prefixes: [P], slices: Array.from({ length: count }, (_, i) => ({ prefix: formatNth(i, length), owner: old[next(old.length)]! })) });
      const n = 1 + next(6);
      const endpoints = Array.from({ length: n }, (_, i) => ({ name: `e${i + next(3)}`, weight: 1 + next(4) })).filter((e, i, all) => all.findIndex((f) => f.name === e.name) === i);
      const before = units(start, length);
      const result = rebalance(start, endpoints, { now: 0, windowMs: 0 });
      const after = units(result.set, length);
      const weights = endpoints.map((e) => e.weight);
      const sum = weights.reduce((a, b) => a + b, 0);
      endpoints.forEach((e, i) => {
        const share = (count * weights[i]!) / sum;
        expect([Math.floor(share), Math.ceil(share)]).toContain(after.get(e.name) ?? 0);
      });
      // Owners not listed hold nothing any more.
      for (const owner of after.keys()) expect(endpoints.map((e) => e.name)).toContain(owner);
      const changed = result.set.slices.filter((s, i) => s.owner !== start.slices[i]!.owner).length;
      expect(result.moved).toBe(changed);
      expect(BigInt(result.moved)).toBe(result.surplus);
      // Gone owners give up everything; the rest can do no better than the best floor/ceiling target.
      const gone = [...before].filter(([o]) => !endpoints.some((e) => e.name === o)).reduce((a, [, u]) => a + u, 0);
      const haves = endpoints.map((e) => before.get(e.name) ?? 0);
      expect(result.moved).toBe(gone + bestSurplus(haves, weights, count));
      expect(formatApl(aplOf(result.set))).toBe('2:2001:db8::/64');
    }
  });

  it('moves nothing when the set is already balanced, and the fewest when one endpoint joins', () => {
    const set = evenSlices(P, 78, ['a', 'b', 'c']);
    expect(rebalance(set, ['a', 'b', 'c'], { now: 0 }).moved).toBe(0);
    const four = rebalance(set, ['a', 'b', 'c', 'd'], { now: 0, windowMs: 0 });
    // 16,384 slices: 5,462 5,461 5,461 before; 4,096 each after: d takes 4,096, no more.
    expect(four.moved).toBe(4096);
    expect([...units(four.set, 78).values()]).toEqual([4096, 4096, 4096, 4096]);
  });

  it('deals 1,048,576 /84 slices from three endpoints to five, moving only the surplus', () => {
    const set = evenSlices(P, 84, ['a', 'b', 'c']);
    const five = rebalance(set, ['a', 'b', 'c', 'd', 'e'], { now: 0, windowMs: 0 });
    expect(five.moved).toBe(Number(five.surplus));
    expect(five.moved).toBe(2 * 209715);
    expect([...units(five.set, 84).values()].sort()).toEqual([209715, 209715, 209715, 209715, 209716]);
    checkCoverage(five.set);
  });
});

/** The i-th /length of the /64, as text. */
function formatNth(i: number, length: number): string {
  const network = (0x20010db8n << 96n) + (BigInt(i) << BigInt(128 - length));
  return `${[...Array(8)].map((_, k) => ((network >> BigInt(112 - 16 * k)) & 0xffffn).toString(16)).join(':')}/${length}`;
}

describe('rebalance, move windows', () => {
  it('marks moved slices as moving until now + window, and moves none of them again before the window ends', () => {
    const set = evenSlices(P, 70, ['a', 'b', 'c']);
    const five = rebalance(set, ['a', 'b', 'c', 'd', 'e'], { now: 1000, windowMs: 500 });
    const moving = five.set.slices.filter((s) => s.moving !== undefined);
    expect(moving).toHaveLength(five.moved);
    expect(new Set(moving.map((s) => `${s.moving!.from}->${s.owner} until ${s.moving!.until}`))).toEqual(
      new Set(['a->d until 1500', 'a->e until 1500', 'b->d until 1500', 'b->e until 1500', 'c->d until 1500', 'c->e until 1500']),
    );
    // Back to three while d and e hold only slices in open windows: refused, naming one.
    expect(() => rebalance(five.set, ['a', 'b', 'c'], { now: 1499 })).toThrow(SliceConflictError);
    expect(() => rebalance(five.set, ['a', 'b', 'c'], { now: 1499 })).toThrow(/Expected '[de]' to release 12 more units from settled slices but received only slices in open move windows, such as .* -> [de] \(moving from [abc] until 1500\); rebalance after 1500/);
    const three = rebalance(five.set, ['a', 'b', 'c'], { now: 1500, windowMs: 500 });
    expect(three.moved).toBe(Number(three.surplus));
    expect(three.set.slices.every((s) => s.moving === undefined || s.moving.until === 2000)).toBe(true);
  });
});

describe('rebalance, slices of mixed sizes', () => {
  it('carves a slice where no whole slice fits a share, keeping the prefix covered', () => {
    const set = sliceSet({
      prefixes: [P],
      slices: [
        { prefix: '2001:db8::/65', owner: 'a' },
        { prefix: '2001:db8:0:0:8000::/66', owner: 'a' },
        { prefix: '2001:db8:0:0:c000::/67', owner: 'b' },
        { prefix: '2001:db8:0:0:e000::/67', owner: 'b' },
      ],
    });
    const result = rebalance(set, ['a', 'b', 'c'], { now: 0, windowMs: 0 });
    expect(result.unitLength).toBe(67);
    // 8 units of /67: 3, 3, 2 (a holds 6 and keeps a ceiling; b and c tie for the other, by name).
    expect([...units(result.set, 67).entries()].sort()).toEqual([['a', 3], ['b', 3], ['c', 2]]);
    // a gives its /66 whole and carves one /67 out of its /65: two slices for three units.
    expect(result.moved).toBe(2);
    expect(result.surplus).toBe(3n);
    checkCoverage(result.set);
    expect(formatApl(aplOf(result.set))).toBe('2:2001:db8::/64');
  });

  it('refuses bad endpoint lists', () => {
    const set = evenSlices(P, 66, ['a']);
    expect(() => rebalance(set, [])).toThrow(new InvalidOptionError('Expected a non-empty array of endpoints for endpoints but received an array of 0'));
    expect(() => rebalance(set, ['a', 'a'])).toThrow("Expected each endpoint once for endpoints[1] but received 'a' again");
    expect(() => rebalance(set, [{ name: 'a', weight: 0.5 }])).toThrow('Expected a positive integer for endpoints[0].weight but received 0.5');
  });
});
