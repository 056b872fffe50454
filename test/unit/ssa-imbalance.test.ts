// The imbalance series of bench/ssa-imbalance.ts (issue 16's table): what the data for the plot says
// at the points the issue names, computed by the library's rebalance.
import { describe, expect, it } from 'vitest';

import { imbalanceAt, imbalanceSeries } from '../../bench/ssa-imbalance.js';

describe('imbalance of a /64 dealt to endpoints', () => {
  it('doubles the load on some endpoints past 512 with 1,024 slices, and stays within 1/16 to 1,000 with 16,384', () => {
    const [coarse, fine] = imbalanceSeries([74, 78], [10, 100, 512, 513, 700, 1000]);
    expect(coarse!.slices).toBe(1024);
    expect(coarse!.points.map((p) => p.ratio)).toEqual([103 / 102, 11 / 10, 1, 2, 2, 2]);
    expect(fine!.label).toBe('16,384 /78 slices');
    expect(fine!.points.map((p) => [p.most, p.least])).toEqual([[1639, 1638], [164, 163], [32, 32], [32, 31], [24, 23], [17, 16]]);
    expect(Math.max(...fine!.points.map((p) => p.ratio))).toBe(17 / 16);
  });

  it('reports endpoints left with nothing as an infinite ratio', () => {
    expect(imbalanceAt(68, 20)).toEqual({ endpoints: 20, most: 1, least: 0, ratio: Infinity });
  });
});
