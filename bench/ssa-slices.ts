// Address-slice operations at scale (src/ssa): building, checking coverage, the APL list, one move,
// one split and rebalancing 3 -> 5 -> 3 endpoints, for 16,384 /78 and 1,048,576 /84 slices of a /64.
// Alone: node dist/bench/ssa-slices.js. Reports only: medians of RUNS calls after one to warm up.
import { aplOf, checkCoverage, evenSlices, move, rebalance, split, type SliceSet } from '../src/ssa/index.js';
import { formatPrefix } from '../src/ssa/prefix.js';
import { markdownTable, median } from './report.js';

const RUNS = 5;

function time(f: () => unknown): number {
  f();
  return median(Array.from({ length: RUNS }, () => {
    const t = performance.now();
    f();
    return performance.now() - t;
  }));
}

const ms = (value: number): string => `${value.toFixed(value < 10 ? 2 : 0)} ms`;

const rows: Record<string, string>[] = [];
for (const length of [78, 84]) {
  const three = ['a', 'b', 'c'];
  const five = [...three, 'd', 'e'];
  let set: SliceSet = evenSlices('2001:db8::/64', length, three);
  const build = time(() => (set = evenSlices('2001:db8::/64', length, three)));
  const up = rebalance(set, five, { now: 0, windowMs: 1000 });
  const down = rebalance(up.set, three, { now: 1000, windowMs: 1000 });
  const middle = formatPrefix(set.slices[set.slices.length >> 1]!);
  rows.push({
    slices: set.slices.length.toLocaleString('en-US'),
    build: ms(build),
    'check coverage': ms(time(() => checkCoverage(set))),
    'APL list': ms(time(() => aplOf(set))),
    'one move': ms(time(() => move(set, middle, 'z', { now: 0 }))),
    'one split in 4': ms(time(() => split(set, middle, length + 2))),
    'rebalance 3 -> 5': `${ms(time(() => rebalance(set, five, { now: 0, windowMs: 1000 })))} (${up.moved.toLocaleString('en-US')} moved)`,
    'rebalance 5 -> 3': `${ms(time(() => rebalance(up.set, three, { now: 1000, windowMs: 1000 })))} (${down.moved.toLocaleString('en-US')} moved)`,
  });
}

console.log(`A /64 in equal slices dealt to 3 endpoints; medians of ${RUNS} calls after a warm-up (Node ${process.version}).\n`);
console.log(markdownTable(rows, Object.keys(rows[0]!)));
