// Names drawn by popularity: rank r (from 0) with weight 1/(r+1)^s, as web traffic is (Zipf). Used by
// the agility demo's clients (agents/client.ts), so that a few names carry much of the load.

export class Zipf {
  private readonly cdf: Float64Array;

  /** `n` ranks with exponent `s` (s = 1: the most popular of 100,000 names draws 8% of the time). */
  constructor(n: number, s: number) {
    this.cdf = new Float64Array(n);
    let sum = 0;
    for (let r = 0; r < n; r++) this.cdf[r] = sum += 1 / (r + 1) ** s;
    for (let r = 0; r < n; r++) this.cdf[r]! /= sum;
  }

  /** A rank: binary search of a uniform draw in the cumulative weights. */
  draw(uniform: number = Math.random()): number {
    let lo = 0;
    let hi = this.cdf.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.cdf[mid]! < uniform) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
