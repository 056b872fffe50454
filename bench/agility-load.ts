// Per-address load, like figure 7 of Fayed et al. (SIGCOMM'21, "The Ties that un-Bind"): queries for
// names of Zipf popularity, answered (a) by a static binding (a keyed hash of the name picks one
// address) or (b) by a random address per query, over a /20 and a /24. Prints a table, writes an SVG.
//   node dist/bench/agility-load.js [--names N] [--queries Q] [--zipf S] [--seed K] [--svg FILE]
// Uses the responder's own selection code (src/dns/pool.ts, select.ts). Reports only; asserts nothing.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';

import { IPv4CidrRange } from 'ip-num';

import { markdownTable } from './report.js';
import { lineChart, type Point } from './svg-chart.js';
import { addressAt, poolOf, randomAddress, type AddressPool } from '../src/dns/pool.js';
import { stableIndex, Xoshiro128 } from '../src/dns/select.js';

const { values: args } = parseArgs({
  options: {
    names: { type: 'string', default: '100000' },
    queries: { type: 'string', default: '2000000' },
    zipf: { type: 'string', default: '1' },
    seed: { type: 'string', default: '1' },
    svg: { type: 'string', default: 'build/bench/agility-load.svg' },
  },
});
const NAMES = Number(args.names);
const QUERIES = Number(args.queries);
const ZIPF = Number(args.zipf);
const KEY = Buffer.from('000102030405060708090a0b0c0d0e0f', 'hex');

function seeded(seed: number): Xoshiro128 {
  const bytes = new Uint8Array(16);
  new DataView(bytes.buffer).setUint32(12, seed);
  return new Xoshiro128(bytes);
}

/** Cumulative Zipf weights 1/rank^s over the names, normalised to 1. */
function zipfCdf(n: number, s: number): Float64Array {
  const cdf = new Float64Array(n);
  let sum = 0;
  for (let r = 0; r < n; r++) cdf[r] = sum += 1 / (r + 1) ** s;
  for (let r = 0; r < n; r++) cdf[r]! /= sum;
  return cdf;
}

/** A name's index drawn by popularity: binary search of a 53-bit uniform in the CDF. */
function draw(cdf: Float64Array, rng: Xoshiro128): number {
  const u = (rng.next() * 0x20_0000 + (rng.next() >>> 11)) / 2 ** 53;
  let lo = 0;
  let hi = cdf.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (cdf[mid]! < u) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

interface Loads {
  name: string;
  size: number;
  /** Queries per address, busiest first; addresses that got none are left out. */
  loads: number[];
}

function simulate(cdf: Float64Array, pools: Record<string, AddressPool>): Loads[] {
  const rng = seeded(Number(args.seed));
  // The static binding: each name's address fixed once by the keyed hash (a stable policy whose bucket never ends).
  const bound = Object.fromEntries(Object.entries(pools).map(([k, pool]) => [k, Int32Array.from({ length: NAMES }, (_, i) => Number(stableIndex(KEY, `h${i}.example.com`, 0, pool.size)))]));
  const staticCounts = Object.fromEntries(Object.entries(pools).map(([k, pool]) => [k, new Float64Array(Number(pool.size))]));
  const randomCounts = Object.fromEntries(Object.keys(pools).map((k) => [k, new Map<string, number>()]));
  for (let q = 0; q < QUERIES; q++) {
    const name = draw(cdf, rng);
    for (const [k, pool] of Object.entries(pools)) {
      staticCounts[k]![bound[k]![name]!]!++;
      const address = randomAddress(pool, rng);
      randomCounts[k]!.set(address, (randomCounts[k]!.get(address) ?? 0) + 1);
    }
  }
  const sorted = (values: Iterable<number>): number[] => [...values].filter((v) => v > 0).sort((a, b) => b - a);
  return Object.entries(pools).flatMap(([k, pool]) => [
    { name: `static ${k}`, size: Number(pool.size), loads: sorted(staticCounts[k]!) },
    { name: `random ${k}`, size: Number(pool.size), loads: sorted(randomCounts[k]!.values()) },
  ]);
}

function row(series: Loads): Record<string, string> {
  const { loads, size } = series;
  const mean = QUERIES / size;
  const top = loads.slice(0, Math.max(1, Math.round(size / 100))).reduce((a, b) => a + b, 0);
  const sd = Math.sqrt(loads.concat(Array<number>(size - loads.length).fill(0)).reduce((s, v) => s + (v - mean) ** 2, 0) / size);
  return {
    selection: series.name,
    addresses: String(size),
    'used': String(loads.length),
    'busiest': String(loads[0]),
    'median': String(loads[Math.floor(size / 2)] ?? 0),
    'least used': String(loads.length === size ? loads.at(-1) : 0),
    'busiest / mean': (loads[0]! / mean).toFixed(2),
    'top 1% of addresses': `${((top / QUERIES) * 100).toFixed(1)}% of queries`,
    'CoV': (sd / mean).toFixed(3),
  };
}

const pools = { '/20': poolOf(IPv4CidrRange.fromCidr('198.18.0.0/20'), 4, '/20'), '/24': poolOf(IPv4CidrRange.fromCidr('198.18.0.0/24'), 4, '/24') };
// The pools' first and last addresses, to show the simulation answers from the real pool.
console.log(`pools: ${Object.entries(pools).map(([k, p]) => `${k} ${addressAt(p, 0n)}-${addressAt(p, p.size - 1n)}`).join(', ')}`);
console.log(`${NAMES} names, Zipf s=${ZIPF}, ${QUERIES} queries, seed ${args.seed}`);
const results = simulate(zipfCdf(NAMES, ZIPF), pools);
console.log(markdownTable(results.map(row), ['selection', 'addresses', 'used', 'busiest', 'median', 'least used', 'busiest / mean', 'top 1% of addresses', 'CoV']));

const order = ['static /20', 'random /20', 'static /24', 'random /24'];
const svg = lineChart({
  title: `Queries per address, busiest first (${NAMES.toLocaleString('en')} names, Zipf ${ZIPF}, ${QUERIES.toLocaleString('en')} queries)`,
  x: { label: 'address rank', log: true },
  y: { label: 'queries answered with the address', log: true },
  series: order.map((name) => {
    const s = results.find((r) => r.name === name)!;
    return { name, points: s.loads.map((v, i): Point => [i + 1, v]), dashed: name.startsWith('static'), color: name.endsWith('/20') ? '#1f77b4' : '#d62728' };
  }),
});
mkdirSync(dirname(args.svg), { recursive: true });
writeFileSync(args.svg, svg);
console.log(`plot: ${args.svg}`);
