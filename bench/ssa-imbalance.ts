// The imbalance table of issue 16: a /64 cut into 1,024 or 16,384 equal slices (and 1,048,576 at
// the table's rows), dealt to 10 to 1,000 endpoints; the most over the least address space per endpoint.
// Alone: node dist/bench/ssa-imbalance.js. imbalanceSeries() returns the data for a plot. Reports only.
import { pathToFileURL } from 'node:url';

import { evenSlices, rebalance, spaceByOwner } from '../src/ssa/index.js';
import { markdownTable } from './report.js';

const PREFIX = '2001:db8::/64';

export interface ImbalancePoint {
  readonly endpoints: number;
  /** Address space of the most and the least loaded endpoint, in slices. */
  readonly most: number;
  readonly least: number;
  /** most / least: 1 is even, 2 is one endpoint with twice another's load (Infinity: some get nothing). */
  readonly ratio: number;
}

export interface ImbalanceSeries {
  readonly label: string;
  readonly sliceLength: number;
  readonly slices: number;
  readonly points: readonly ImbalancePoint[];
}

/** The endpoint counts of the series: 10 to 1,000 in steps of 10, with 512 and 513 either side of the /74 edge. */
export const ENDPOINTS: readonly number[] = [...Array.from({ length: 100 }, (_, i) => 10 * (i + 1)), 512, 513].sort((a, b) => a - b);

/**
 * One point: the slices dealt by the library's rebalance (from one owner to `n` endpoints, as
 * evenly as the slices allow), then the most and least address space any endpoint holds.
 */
export function imbalanceAt(sliceLength: number, n: number): ImbalancePoint {
  const names = Array.from({ length: n }, (_, i) => `e${i}`);
  const dealt = rebalance(evenSlices(PREFIX, sliceLength, ['start']), names, { now: 0, windowMs: 0 }).set;
  const space = spaceByOwner(dealt);
  const unit = 1n << BigInt(128 - sliceLength);
  const counts = names.map((name) => Number((space.get(name) ?? 0n) / unit));
  const most = Math.max(...counts);
  const least = Math.min(...counts);
  return { endpoints: n, most, least, ratio: least === 0 ? Infinity : most / least };
}

/** The series for a plot: one per slice length (default /74 = 1,024 slices and /78 = 16,384 slices). */
export function imbalanceSeries(lengths: readonly number[] = [74, 78], endpoints: readonly number[] = ENDPOINTS): ImbalanceSeries[] {
  return lengths.map((sliceLength) => {
    const slices = 2 ** (sliceLength - 64);
    return { label: `${slices.toLocaleString('en-US')} /${sliceLength} slices`, sliceLength, slices, points: endpoints.map((n) => imbalanceAt(sliceLength, n)) };
  });
}

const ROWS = [10, 50, 100, 200, 341, 342, 500, 512, 513, 600, 800, 1000];

function cell(p: ImbalancePoint): string {
  return `${p.ratio === Infinity ? 'inf' : p.ratio.toFixed(4)} (${p.most.toLocaleString('en-US')}/${p.least.toLocaleString('en-US')})`;
}

function main(): void {
  const started = performance.now();
  const series = imbalanceSeries([74, 78, 84], ROWS);
  const rows = ROWS.map((n, i) => ({ endpoints: n, ...Object.fromEntries(series.map((s) => [s.label, cell(s.points[i]!)])) }));
  console.log(`A /64 cut into equal slices and dealt by rebalance() to N endpoints; most/least loaded endpoint (slices each). Node ${process.version}.\n`);
  console.log(markdownTable(rows, ['endpoints', ...series.map((s) => s.label)]));
  const full = imbalanceSeries();
  for (const s of full) {
    const over = s.points.filter((p) => p.ratio >= 2);
    const worst = s.points.reduce((a, p) => (p.ratio > a.ratio ? p : a));
    console.log(`\n${s.label}, N = 10..1,000 (${s.points.length} points): worst ${cell(worst)} at N = ${worst.endpoints}; ratio 2 or more at ${over.length} points` +
      (over.length > 0 ? `, from N = ${over[0]!.endpoints}` : '') + '.');
  }
  console.log(`\n(${((performance.now() - started) / 1000).toFixed(1)} s)`);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) main();
