// Maglev tables of the load balancer (src/lb): build time for 100 and 1,000 backends at
// M = 65537, rebuild time, and how many rows move when one of 100 backends comes or goes (ideal
// 1/101 on adding), for both rebuild modes: 'fewest' and 'stateless' (a fresh table of the new list).
// Alone: node dist/bench/maglev.js; npm run bench includes it (--no-lb leaves it out). Reports only.
import { buildMaglev, MAGLEV_DEFAULT_SIZE, type MaglevBackend, type MaglevTable } from '../src/lb/maglev.js';
import { movedRows, rebuild } from '../src/lb/second-chance.js';
import { markdownTable, median } from './report.js';

const RUNS = 7;
/** Shares of rows to two decimals: 1/101 is 0.99%. */
const percent = (ratio: number): string => `${(ratio * 100).toFixed(2)}%`;
const SIZE = MAGLEV_DEFAULT_SIZE;

const backends = (n: number): MaglevBackend[] => Array.from({ length: n }, (_, i) => ({ name: `10.${i >> 16}.${(i >> 8) & 255}.${i & 255}` }));

/** Median milliseconds of RUNS calls of `f`, after one call to warm up. */
function time(f: () => unknown): number {
  f();
  return median(Array.from({ length: RUNS }, () => {
    const t = performance.now();
    f();
    return performance.now() - t;
  }));
}

function rowsOf(table: MaglevTable): number[] {
  const counts = new Map<number, number>();
  for (const i of table.primary) counts.set(i, (counts.get(i) ?? 0) + 1);
  return [...counts.values()];
}

/** Rows that moved, split into those of `gone` and those of other backends. */
function movedBy(before: MaglevTable, after: MaglevTable, gone: string): { own: number; other: number } {
  let own = 0;
  let other = 0;
  for (let r = 0; r < before.size; r++) {
    const was = before.names[before.primary[r]!];
    if (was === after.names[after.primary[r]!]) continue;
    if (was === gone) own++;
    else other++;
  }
  return { own, other };
}

const timings: Record<string, string>[] = [];
for (const n of [100, 1000]) {
  const table = buildMaglev(backends(n));
  const counts = rowsOf(table);
  timings.push({
    backends: n.toLocaleString('en-US'),
    'build, ms': time(() => buildMaglev(backends(n))).toFixed(1),
    "rebuild for one more ('fewest'), ms": time(() => rebuild(table, backends(n + 1), { moves: 'fewest' })).toFixed(1),
    "rebuild for one more ('stateless'), ms": time(() => rebuild(table, backends(n + 1))).toFixed(1),
    'rows per backend (min-max)': `${Math.min(...counts)}-${Math.max(...counts)}`,
  });
}

const before = buildMaglev(backends(100));
const removed = '10.0.0.42';
const without = backends(100).filter((b) => b.name !== removed);
const cases: [string, MaglevTable[]][] = [
  ['add 1 to 100', [rebuild(before, backends(101), { moves: 'fewest' }), rebuild(before, backends(101))]],
  ['remove 1 of 100', [rebuild(before, without, { moves: 'fewest' }), rebuild(before, without)]],
];
const moves: Record<string, string>[] = [];
for (const [what, tables] of cases) {
  for (const [mode, after] of tables.map((t, i) => [i === 0 ? 'fewest' : 'stateless', t] as const)) {
    const moved = movedRows(before, after);
    const split = movedBy(before, after, removed);
    moves.push({
      change: what,
      'rebuild moves': mode,
      'rows moved': moved.toLocaleString('en-US'),
      share: percent(moved / SIZE),
      ideal: what.startsWith('add') ? `${percent(1 / 101)} (1/101)` : `${percent(split.own / SIZE)} (its rows)`,
      'rows of other backends moved': what.startsWith('add') ? '-' : split.other.toLocaleString('en-US'),
    });
  }
}

console.log(`M = ${SIZE.toLocaleString('en-US')} rows; backends named by IPv4 address; medians of ${RUNS} calls in one process after a warm-up ` +
  `(Node ${process.version}).\n`);
console.log(markdownTable(timings, Object.keys(timings[0]!)));
console.log('\nRows whose primary changes, against a fresh table for 100 backends:\n');
console.log(markdownTable(moves, Object.keys(moves[0]!)));
