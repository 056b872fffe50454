// Rebuilding Maglev tables with second chance (src/lb/second-chance.ts): how many rows move when
// a backend comes or goes, and that every moved row remembers its previous backend.
import { describe, expect, it } from 'vitest';

import { buildMaglev, quotasOf, type MaglevBackend, type MaglevTable } from '../../src/lb/maglev.js';
import { movedRows, rebuild, tableDigest } from '../../src/lb/second-chance.js';

const backends = (n: number): MaglevBackend[] => Array.from({ length: n }, (_, i) => ({ name: `10.2.${i >> 8}.${i & 255}` }));
const primaryOf = (t: MaglevTable, r: number) => t.names[t.primary[r]!]!;
const secondaryOf = (t: MaglevTable, r: number) => t.names[t.secondary[r]!]!;

/** Rows whose primary changed, each checked to have its previous primary as secondary. */
function checkMoves(before: MaglevTable, after: MaglevTable): { moved: number; movedFrom: Map<string, number>; movedTo: Map<string, number> } {
  const movedFrom = new Map<string, number>();
  const movedTo = new Map<string, number>();
  for (let r = 0; r < before.size; r++) {
    const was = primaryOf(before, r);
    const now = primaryOf(after, r);
    if (was === now) continue;
    expect(secondaryOf(after, r)).toBe(was);
    movedFrom.set(was, (movedFrom.get(was) ?? 0) + 1);
    movedTo.set(now, (movedTo.get(now) ?? 0) + 1);
  }
  return { moved: movedRows(before, after), movedFrom, movedTo };
}

const FEWEST = { moves: 'fewest' } as const;

describe("rebuild with second chance, moves: 'fewest'", () => {
  it('adding one backend to 100 moves exactly the rows it is owed (1/101), all to it', () => {
    const before = buildMaglev(backends(100));
    const after = rebuild(before, backends(101), FEWEST);
    const { moved, movedTo } = checkMoves(before, after);
    const added = '10.2.0.100';
    const owed = quotasOf(after.active, after.size)[after.active.findIndex((b) => b.name === added)]!;
    // 65537 = 101 x 648 + 89: the first 89 names in canonical order get 649, and '10.2.0.100'
    // sorts right after '10.2.0.10'.
    expect(owed).toBe(649);
    expect(moved).toBe(owed);
    expect([...movedTo.keys()]).toEqual([added]);
    expect(moved / after.size).toBeCloseTo(1 / 101, 4);
    // Balance holds after the move: floor or ceil of M/101 each.
    const counts = new Map<string, number>();
    for (let r = 0; r < after.size; r++) counts.set(primaryOf(after, r), (counts.get(primaryOf(after, r)) ?? 0) + 1);
    expect(Math.min(...counts.values())).toBe(648);
    expect(Math.max(...counts.values())).toBe(649);
  });

  it('removing one backend moves only its rows, spread over the others', () => {
    const before = buildMaglev(backends(100));
    const gone = '10.2.0.42';
    const after = rebuild(before, backends(100).filter((b) => b.name !== gone), FEWEST);
    const { moved, movedFrom, movedTo } = checkMoves(before, after);
    const itsRows = [...before.primary].filter((i) => before.names[i] === gone).length;
    expect([...movedFrom]).toEqual([[gone, itsRows]]);
    expect(moved).toBe(itsRows);
    expect(movedTo.size).toBeGreaterThan(90);
    // The gone backend stays a secondary (connections it holds may still be draining) ...
    expect(after.names).toContain(gone);
    expect(after.active.map((b) => b.name)).not.toContain(gone);
  });

  it('forgets a backend on request: no row names it, its rows have no second chance', () => {
    const before = buildMaglev(backends(10), { size: 1009 });
    const gone = '10.2.0.3';
    const after = rebuild(before, backends(10).filter((b) => b.name !== gone), { forget: [gone] });
    expect(after.names).not.toContain(gone);
    for (let r = 0; r < before.size; r++) {
      if (primaryOf(before, r) === gone) expect(secondaryOf(after, r)).toBe(primaryOf(after, r));
    }
    expect(() => rebuild(before, backends(10), { forget: ['10.2.0.1'] })).toThrow(
      "Expected names of backends left out of the new list for options.forget but received '10.2.0.1'",
    );
  });

  it('keeps a draining backend as secondary of a row whose primary dies and is forgotten', () => {
    const full = buildMaglev(backends(10), { size: 1009 });
    const [drained, dead] = ['10.2.0.4', '10.2.0.7'];
    const draining = rebuild(full, backends(10).filter((b) => b.name !== drained), FEWEST);
    const after = rebuild(draining, backends(10).filter((b) => b.name !== drained && b.name !== dead), { ...FEWEST, forget: [dead] });
    let kept = 0;
    for (let r = 0; r < full.size; r++) {
      if (primaryOf(full, r) !== drained) continue;
      // Every row the drained backend had still gives it its second chance, also where the
      // drain handed the row to the backend that died since.
      expect(secondaryOf(after, r)).toBe(drained);
      if (primaryOf(draining, r) === dead) kept++;
    }
    expect(kept).toBeGreaterThan(0);
    expect(after.names).not.toContain(dead);
  });

  it('keeps secondaries of rows that do not move, and gives a drained backend its rows back on return', () => {
    const full = buildMaglev(backends(20), { size: 4099 });
    const drained = '10.2.0.5';
    const draining = rebuild(full, backends(20).filter((b) => b.name !== drained), FEWEST);
    const other = rebuild(draining, backends(21), FEWEST);
    checkMoves(draining, other);
    for (let r = 0; r < full.size; r++) {
      if (primaryOf(draining, r) === primaryOf(other, r)) expect(secondaryOf(other, r)).toBe(secondaryOf(draining, r));
    }
    const back = rebuild(draining, backends(20), FEWEST);
    const { movedTo } = checkMoves(draining, back);
    expect([...movedTo.keys()]).toEqual([drained]);
  });

  it('moves rows between backends when weights change, only as many as the quotas say', () => {
    const before = buildMaglev(backends(4), { size: 1009 });
    const heavier = backends(4).map((b, i) => (i === 0 ? { ...b, weight: 2 } : b));
    const after = rebuild(before, heavier, FEWEST);
    const { moved, movedTo } = checkMoves(before, after);
    expect([...movedTo.keys()]).toEqual(['10.2.0.0']);
    expect(moved).toBe(quotasOf(after.active, 1009)[0]! - quotasOf(before.active, 1009)[0]!);
    expect(moved).toBe(403 - 253);
  });

  it('is the same table on every host that applies the same change, whatever the list order', () => {
    const before = buildMaglev(backends(30));
    const a = rebuild(before, backends(31), FEWEST);
    const b = rebuild(before, [...backends(31)].reverse(), FEWEST);
    expect(tableDigest(a)).toBe(tableDigest(b));
    expect(tableDigest(a)).not.toBe(tableDigest(before));
  });

  it('refuses a previous table too small for the new list', () => {
    const before = buildMaglev(backends(3), { size: 5 });
    expect(() => rebuild(before, backends(6))).toThrow(
      'Expected a prime at least the number of backends (6) for previous.size but received 5',
    );
  });
});

describe("rebuild with second chance, moves: 'stateless' (the default)", () => {
  it('takes primaries from a fresh table of the new list; every moved row keeps its previous primary', () => {
    const before = buildMaglev(backends(100));
    const after = rebuild(before, backends(101));
    expect([...after.primary].map((i) => after.names[i])).toEqual([...buildMaglev(backends(101)).primary].map((i) => after.active[i]!.name));
    const { moved, movedTo } = checkMoves(before, after);
    // Measured: 1030 rows (1.57%) against the ideal 649 (1/101); 649 of them to the new backend.
    expect(moved).toBe(1030);
    expect(movedTo.get('10.2.0.100')).toBe(649);
  });

  it('removing one backend moves its rows and, measured, 385 rows of others: all keep a second chance', () => {
    const before = buildMaglev(backends(100));
    const gone = '10.2.0.42';
    const after = rebuild(before, backends(100).filter((b) => b.name !== gone));
    const { moved, movedFrom } = checkMoves(before, after);
    const itsRows = [...before.primary].filter((i) => before.names[i] === gone).length;
    expect(movedFrom.get(gone)).toBe(itsRows);
    expect(moved - itsRows).toBe(385);
  });

  it('converges: hosts that saw different changes agree on primaries once their lists agree', () => {
    const start = buildMaglev(backends(10), { size: 1009 });
    const viaDrain = rebuild(rebuild(start, backends(10).slice(1)), backends(10));
    const viaAdd = rebuild(rebuild(start, backends(11)), backends(10));
    const primaries = (t: MaglevTable) => [...t.primary].map((i) => t.names[i]);
    expect(primaries(viaDrain)).toEqual(primaries(viaAdd));
    expect(primaries(viaDrain)).toEqual(primaries(start));
    // With 'fewest', the history stays in the table:
    const fewestA = rebuild(rebuild(start, backends(10).slice(1), FEWEST), backends(10), FEWEST);
    const fewestB = rebuild(rebuild(start, backends(11), FEWEST), backends(10), FEWEST);
    expect(primaries(fewestA)).not.toEqual(primaries(fewestB));
  });

  it('refuses an unknown mode', () => {
    expect(() => rebuild(buildMaglev(backends(2), { size: 5 }), backends(2), { moves: 'least' as never })).toThrow(
      "Expected 'stateless' or 'fewest' for options.moves but received 'least'",
    );
  });
});
