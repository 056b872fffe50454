// Maglev tables (src/lb/maglev.ts): balance, weights, the same table from any list order, a
// golden digest (a fleet mid-upgrade must not change tables), and the refusals.
import { describe, expect, it } from 'vitest';

import { buildMaglev, lookupRow, MAGLEV_DEFAULT_SIZE, type MaglevBackend } from '../../src/lb/maglev.js';
import { tableDigest } from '../../src/lb/second-chance.js';

const backends = (n: number): MaglevBackend[] => Array.from({ length: n }, (_, i) => ({ name: `10.1.${i >> 8}.${i & 255}` }));

function rowsPerName(table: { names: readonly string[]; primary: Uint32Array }): Map<string, number> {
  const counts = new Map<string, number>();
  for (const i of table.primary) counts.set(table.names[i]!, (counts.get(table.names[i]!) ?? 0) + 1);
  return counts;
}

describe('Maglev table', () => {
  it('gives every one of N equal backends floor or ceil of M/N rows', () => {
    for (const n of [1, 3, 100, 1000]) {
      const table = buildMaglev(backends(n));
      expect(table.size).toBe(MAGLEV_DEFAULT_SIZE);
      const counts = [...rowsPerName(table).values()];
      expect(counts).toHaveLength(n);
      expect(Math.min(...counts)).toBeGreaterThanOrEqual(Math.floor(65537 / n));
      expect(Math.max(...counts)).toBeLessThanOrEqual(Math.ceil(65537 / n));
      expect([...table.secondary]).toEqual([...table.primary]);
    }
  });

  it('shares rows in proportion to weight', () => {
    const table = buildMaglev([{ name: 'a', weight: 1 }, { name: 'b', weight: 2 }, { name: 'c', weight: 5 }], { size: 1009 });
    // 1009 x 1/8 = 126.125, x 2/8 = 252.25, x 5/8 = 630.625: floors 126, 252, 630, the one row
    // left over to the largest remainder (c).
    expect(Object.fromEntries(rowsPerName(table))).toEqual({ a: 126, b: 252, c: 631 });
  });

  it('is the same table whatever the order of the list (names sorted by UTF-16 code units)', () => {
    const list = backends(50);
    const shuffled = [...list].reverse();
    shuffled.push(shuffled.splice(7, 1)[0]!);
    expect(tableDigest(buildMaglev(shuffled))).toBe(tableDigest(buildMaglev(list)));
    expect(buildMaglev(shuffled).names).toEqual(list.map((b) => b.name).sort());
  });

  it('keeps the table of a fixed list from one version to the next (golden digest and rows)', () => {
    const table = buildMaglev([{ name: '192.0.2.10' }, { name: '192.0.2.11', weight: 2 }, { name: '192.0.2.12' }], { size: 13 });
    expect(table.names).toEqual(['192.0.2.10', '192.0.2.11', '192.0.2.12']);
    expect([...table.primary]).toEqual(GOLDEN_ROWS);
    expect(tableDigest(buildMaglev(backends(100)))).toBe(GOLDEN_DIGEST_100);
  });

  it('looks a flow hash up by row hash mod M', () => {
    const table = buildMaglev(backends(3), { size: 7 });
    const { row, primary, secondary } = lookupRow(table, 7 * 1000 + 5);
    expect(row).toBe(5);
    expect(primary).toBe(table.names[table.primary[5]!]);
    expect(secondary).toBe(primary);
    expect(() => lookupRow(table, 2 ** 32)).toThrow('Expected an integer from 0 to 4294967295 for hash but received 4294967296');
  });

  it('refuses a size that is not prime, or smaller than the backend list, naming the value', () => {
    expect(() => buildMaglev(backends(3), { size: 65536 })).toThrow(
      'Expected a prime number of rows up to 16777216 for options.size but received 65536',
    );
    expect(() => buildMaglev(backends(3), { size: 2 })).toThrow(
      'Expected a prime at least the number of backends (3) for options.size but received 2',
    );
    expect(() => buildMaglev(backends(3), { size: 16777259 })).toThrow('for options.size but received 16777259');
    try {
      buildMaglev(backends(3), { size: 9 });
      expect.unreachable();
    } catch (e) {
      expect((e as { code: string }).code).toBe('ERR_INVALID_OPTION');
    }
  });

  it('refuses empty lists, duplicate names and bad weights', () => {
    expect(() => buildMaglev([])).toThrow('Expected a non-empty array of backends for backends but received an array of 0');
    expect(() => buildMaglev([{ name: 'a' }, { name: 'a' }])).toThrow(
      "Expected a name that backends[0] does not have for backends[1].name but received 'a'",
    );
    expect(() => buildMaglev([{ name: '' }])).toThrow("Expected a non-empty string for backends[0].name but received ''");
    expect(() => buildMaglev([{ name: 'a', weight: 0 }])).toThrow('Expected an integer from 1 to 65535 for backends[0].weight but received 0');
    expect(() => buildMaglev([{ name: 'a', weight: 1.5 }])).toThrow('for backends[0].weight but received 1.5');
  });
});

// Recorded from this implementation when it was written (the paper fixes no hash, so there is no
// outside reference): a change here changes every deployed table, which hosts mid-upgrade would
// disagree on. Quotas of the small table: 13 x 1/4, 2/4, 1/4 = 3.25, 6.5, 3.25 -> 3, 7, 3.
const GOLDEN_ROWS = [0, 2, 0, 1, 0, 1, 1, 2, 1, 1, 1, 1, 2];
const GOLDEN_DIGEST_100 = '7add687e1d7b06085337e1778a3f8ced4143ba53d0fe8938f78b417f791b4448';
