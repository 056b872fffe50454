// The JS-visible cost of the core: SliceView.explain (one N-API call, su_core_route on a copy,
// a fate string and an output buffer) per verdict and table size, measured with tinybench.
// Used by bench/run.ts; alone: node dist/bench/micro.bench.js. The C figures (bench/micro.ts)
// are the fast path's; these are what a JS caller of explain() pays. Reports; never asserts.
import { existsSync, readFileSync } from 'node:fs';

import { IPv4 } from 'ip-num';
import { Bench } from 'tinybench';

import { native } from '../src/native.js';
import { udp4Frame } from '../src/netns/index.js';
import { imagePath, TABLE_SIZES, writeImages } from './images.js';
import { benchBuild } from './paths.js';
import { FIRST_ADDRESS, kindOfSlice, PORTS_PER_SLICE, SLICES_PER_ADDRESS } from './tables.js';

/** Frames per task call: one explain() is well under a microsecond, finer than one sample. */
const FRAMES = 64;
const VERDICTS = ['local', 'server', 'datacenter'] as const;

/** FRAMES UDP frames of 64 bytes to slices of `kind`, spread over the table's addresses. */
function framesFor(slices: number, kind: (typeof VERDICTS)[number]): Uint8Array[] {
  const addresses = Math.ceil(slices / SLICES_PER_ADDRESS);
  const slice = [...Array(Math.min(slices, SLICES_PER_ADDRESS)).keys()].find((s) => kindOfSlice(s) === kind)!;
  const base = IPv4.fromString(FIRST_ADDRESS).getValue();
  return Array.from({ length: FRAMES }, (_, i) =>
    udp4Frame({
      srcMac: '02:00:00:00:00:99',
      dstMac: '02:00:00:00:00:01',
      srcIp: '203.0.113.10',
      dstIp: new IPv4(base + BigInt((i * 7919) % addresses)).toString(),
      srcPort: 40000,
      dstPort: slice * PORTS_PER_SLICE + i,
      payload: new Uint8Array(64 - 42),
    }),
  );
}

export interface ExplainRow {
  slices: number;
  verdict: string;
  fate: string;
  /** Median ns per explain() call. */
  ns: number;
}

export async function runExplainBench(timeMs = 300): Promise<ExplainRow[]> {
  if (!TABLE_SIZES.every((n) => existsSync(imagePath(benchBuild, n)))) writeImages(benchBuild);
  const rows: ExplainRow[] = [];
  for (const slices of TABLE_SIZES) {
    const view = new (native().SliceView)(readFileSync(imagePath(benchBuild, slices)));
    const bench = new Bench({ time: timeMs, warmupTime: 50 });
    const fates = new Map<string, string>();
    for (const verdict of VERDICTS) {
      const frames = framesFor(slices, verdict);
      fates.set(verdict, view.explain(frames[0]!).fate);
      bench.add(verdict, () => {
        for (const f of frames) view.explain(f);
      });
    }
    await bench.run();
    for (const task of bench.tasks) {
      const r = task.result;
      const p50 = 'latency' in r ? r.latency.p50 : NaN;
      rows.push({ slices, verdict: task.name, fate: fates.get(task.name) ?? '', ns: (p50 * 1e6) / FRAMES });
    }
    view.release();
  }
  return rows;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const rows = await runExplainBench();
  console.table(rows.map((r) => ({ ...r, ns: r.ns.toFixed(0) })));
}
