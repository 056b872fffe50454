// Per-address load of the agility demo, as the sk_lookup program counted it (SocketSteering.load()):
// the difference between two snapshots is one phase's load; a table row per phase, and the plot
// (bench/svg-chart.ts) of load per address in descending order, like figure 7 of Fayed et al.
import { lineChart, type Point } from '../../bench/svg-chart.js';

/** One entry of the server agent's `load` answer. */
export interface LoadEntry {
  address: string;
  family: 4 | 6;
  protocol: 'tcp' | 'udp';
  count: number;
}

/** Counts per address of one family and protocol, keyed by address text. */
export type Counts = Map<string, number>;

export function countsOf(entries: readonly LoadEntry[], family: 4 | 6, protocol: 'tcp' | 'udp'): Counts {
  return new Map(entries.filter((e) => e.family === family && e.protocol === protocol).map((e) => [e.address, e.count]));
}

/**
 * What was counted between `before` and `after`. The program's map is an LRU of 65,536 addresses:
 * an address it forgot and counted again would come out low, which the demo's pools cannot cause
 * (4,096 IPv4 addresses, and far fewer IPv6 ones used than the map holds).
 */
export function delta(before: Counts, after: Counts): Counts {
  const out: Counts = new Map();
  for (const [address, count] of after) {
    const d = count - (before.get(address) ?? 0);
    if (d > 0) out.set(address, d);
  }
  return out;
}

export interface LoadSummary {
  /** Connections counted in the phase. */
  total: number;
  /** Addresses in the pool, and how many got at least one connection. */
  poolSize: number;
  used: number;
  /** Busiest first. */
  ranked: [address: string, count: number][];
  /** Busiest over least used across the whole pool: Infinity when an address got none. */
  maxMin: number;
  maxMean: number;
}

export function summarize(counts: Counts, poolSize: number): LoadSummary {
  const ranked = [...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  const total = ranked.reduce((s, [, c]) => s + c, 0);
  const max = ranked[0]?.[1] ?? 0;
  const min = ranked.length < poolSize ? 0 : (ranked.at(-1)?.[1] ?? 0);
  return { total, poolSize, used: ranked.length, ranked, maxMin: min === 0 ? Infinity : max / min, maxMean: total === 0 ? 0 : max / (total / poolSize) };
}

const pair = ([address, count]: [string, number]): string => `${address} (${count})`;

/** The table's cells for one phase. */
export function loadCells(s: LoadSummary): (string | number)[] {
  return [
    s.total,
    `${s.used} of ${s.poolSize}`,
    s.ranked.slice(0, 3).map(pair).join(', '),
    s.ranked.slice(-3).reverse().map(pair).join(', '),
    s.maxMin === Infinity ? `inf (${s.poolSize - s.used} unused)` : s.maxMin.toFixed(2),
    s.maxMean.toFixed(2),
  ];
}
export const LOAD_HEADERS = ['connections', 'addresses used', 'busiest 3 (count)', 'least used 3 (count)', 'max/min', 'max/mean'];

/** The plot: one line per phase, load per address busiest first, log-log. */
export function loadChart(series: readonly { name: string; counts: Counts; dashed?: boolean; color: string }[], title: string): string {
  return lineChart({
    title,
    x: { label: 'address rank (busiest first)', log: true },
    y: { label: 'TCP connections to the address', log: true },
    series: series.filter((s) => s.counts.size > 0).map((s) => ({
      name: s.name,
      points: [...s.counts.values()].sort((a, b) => b - a).map((v, i): Point => [i + 1, v]),
      color: s.color,
      ...(s.dashed === true ? { dashed: true } : {}),
    })),
  });
}
