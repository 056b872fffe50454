// The C core's micro benchmark: ns/packet from native/bench/core_bench.c (`time`) and
// instructions/packet from the same binary under callgrind (`count`, with and without packets).
// Used by bench/run.ts; alone: node dist/bench/micro.js. Reports; never asserts.
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

import { FAMILIES, imagePath, TABLE_SIZES, writeImages } from './images.js';
import { benchBuild, nativeBuild } from './paths.js';
import type { BenchFamily } from './tables.js';

const CORE_BENCH = join(nativeBuild, 'core_bench');
/** The same binary with drop capture compiled out of the router: the baseline for "capture
 * costs nothing while it is off". */
const CORE_BENCH_NO_CAPTURE = join(nativeBuild, 'core_bench_nocapture');
/** Phases also counted on the no-capture build, reported as `<phase>_nocapture`. */
const COUNTED_NO_CAPTURE = ['batch_server', 'batch_drop'];
/** Packets per callgrind run: enough that per-packet branches average out, few enough that the
 * 1M-slice run stays around a second (valgrind runs ~50x slower). */
const COUNT_PACKETS = 10_000;
/** Phases counted under callgrind (lookup_wide runs the same instructions as lookup). */
const COUNTED = [
  'parse', 'lookup', 'encap', 'route_local', 'route_server', 'route_datacenter',
  // The router's batch handler around su_core_route: per-owner counters, drop capture off and on.
  'batch_server', 'batch_server_capture', 'batch_drop', 'batch_drop_capture',
];

export interface MicroRow {
  phase: string;
  /** The family of the table's shared addresses and of the frames (owners are reached over IPv4). */
  family: BenchFamily;
  frame: number;
  /** Median ns/packet per table size (slices -> ns). */
  ns: Map<number, number>;
  /** Instructions per packet per table size (callgrind), where counted. */
  ir: Map<number, number>;
}

function run(command: string, args: string[]): { stdout: string; stderr: string } {
  const r = spawnSync(command, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`${command} ${args.join(' ')} exited with ${String(r.status ?? r.signal)}:\n${r.stderr}`);
  return { stdout: r.stdout, stderr: r.stderr };
}

interface TimeLine {
  phase?: string;
  frame?: number;
  median_ns?: number;
}

function times(image: string, runs: number): TimeLine[] {
  return run(CORE_BENCH, ['time', image, String(runs), '1000000'])
    .stdout.trim()
    .split('\n')
    .map((l) => JSON.parse(l) as TimeLine)
    .filter((l) => l.phase !== undefined);
}

/** Total instructions of one `count` run under callgrind. */
function collected(args: string[], binary = CORE_BENCH): number {
  const { stderr } = run('valgrind', ['--tool=callgrind', '--callgrind-out-file=/dev/null', binary, 'count', ...args]);
  const m = /Collected : (\d+)/.exec(stderr);
  if (!m) throw new Error(`no "Collected" line from callgrind:\n${stderr}`);
  return Number(m[1]);
}

/** (Ir with N packets - Ir with 0 packets) / N: the phase alone, setup subtracted. */
export function instructionsPerPacket(image: string, phase: string, frame: number, packets = COUNT_PACKETS, binary = CORE_BENCH): number {
  const base = [image, phase, String(frame), String(packets)];
  return (collected([...base, String(packets)], binary) - collected([...base, '0'], binary)) / packets;
}

/** callgrind_annotate of the packet loop alone (--toggle-collect on the phase function): where
 * the instructions of `phase` go, function by function. */
export function profile(image: string, phase: string, frame: number): string {
  const out = join(benchBuild, `callgrind.${phase}.out`);
  const fn = phase === 'parse' ? 'run_parse' : phase.startsWith('lookup') ? 'run_lookup' : phase === 'encap' ? 'run_encap' : phase.startsWith('batch') ? 'run_batch' : 'run_route';
  run('valgrind', ['--tool=callgrind', `--callgrind-out-file=${out}`, `--toggle-collect=${fn}`, CORE_BENCH, 'count', image, phase, String(frame), String(COUNT_PACKETS), String(COUNT_PACKETS)]);
  const text = run('callgrind_annotate', ['--inclusive=no', '--threshold=99', out]).stdout;
  // Keep the per-function list, scaled to per-packet figures.
  const lines = text.split('\n');
  const start = lines.findIndex((l) => l.includes('file:function'));
  // The list ends at the first blank line; annotated source follows.
  const end = lines.findIndex((l, i) => i > start + 1 && l.trim() === '');
  const rows = lines.slice(start + 2, end < 0 ? undefined : end).filter((l) => /^\s*[\d,]+ \(/.test(l));
  return rows
    .map((l) => {
      const m = /^\s*([\d,]+) \(\s*([\d.]+)%\)\s+(.*)$/.exec(l);
      if (!m) return l;
      const perPacket = Number(m[1]!.replaceAll(',', '')) / COUNT_PACKETS;
      const where = m[3]!.replace(/ \[.*\]$/, '').replace(/^.*\/native\//, 'native/');
      return `${perPacket.toFixed(1).padStart(7)}  ${m[2]!.padStart(5)}%  ${where}`;
    })
    .join('\n');
}

export interface MicroOptions {
  runs: number;
  callgrind: boolean;
  log: (line: string) => void;
}

export function runMicro(opts: MicroOptions): MicroRow[] {
  mkdirSync(benchBuild, { recursive: true });
  // Always anew: images from an older build may not match this one's table layout (ABI).
  opts.log('writing table images (compileTable) ...');
  writeImages(benchBuild);
  const rows = new Map<string, MicroRow>();
  const row = (phase: string, family: BenchFamily, frame: number): MicroRow => {
    const key = `${phase}/${family}/${frame}`;
    let r = rows.get(key);
    if (!r) rows.set(key, (r = { phase, family, frame, ns: new Map(), ir: new Map() }));
    return r;
  };
  for (const family of FAMILIES) {
    for (const slices of TABLE_SIZES) {
      opts.log(`core_bench time: ${slices} ${family} slices ...`);
      for (const l of times(imagePath(benchBuild, slices, family), opts.runs)) row(l.phase!, family, l.frame!).ns.set(slices, l.median_ns!);
    }
  }
  if (opts.callgrind) {
    for (const family of FAMILIES) {
      for (const slices of TABLE_SIZES) {
        opts.log(`callgrind: ${slices} ${family} slices ...`);
        const image = imagePath(benchBuild, slices, family);
        for (const phase of COUNTED) row(phase, family, 64).ir.set(slices, instructionsPerPacket(image, phase, 64));
        for (const phase of COUNTED_NO_CAPTURE) {
          row(`${phase}_nocapture`, family, 64).ir.set(slices, instructionsPerPacket(image, phase, 64, COUNT_PACKETS, CORE_BENCH_NO_CAPTURE));
        }
      }
    }
  }
  return [...rows.values()];
}

const fmt = (v: number | undefined, digits: number): string => (v === undefined ? '' : v.toFixed(digits));

/** The micro table: one row per phase, family and frame size, ns and instructions per table size. */
export function microTable(rows: readonly MicroRow[]): Record<string, string | number>[] {
  return rows.map((r) => {
    const out: Record<string, string | number> = { phase: r.phase, family: r.family, frame: r.frame };
    for (const n of TABLE_SIZES) out[`ns@${n}`] = fmt(r.ns.get(n), 1);
    for (const n of TABLE_SIZES) out[`Ir@${n}`] = fmt(r.ir.get(n), 0);
    return out;
  });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const rows = runMicro({ runs: 5, callgrind: !process.argv.includes('--no-callgrind'), log: (l) => console.error(l) });
  console.table(microTable(rows));
}
