// The express lane in the kernel, through native/bench/xdp_bench.c: BPF_PROG_TEST_RUN ns per
// verdict of the real program (golden packets) beside a bare XDP_TX program on the same frames,
// the lookup's cost at 10, 10,000 and 1,000,000 slices, and the time a table takes to reach the
// program's maps. Used by bench/run.ts; alone: node dist/bench/xdp.js [--rounds N] [--calls N].
// Needs root (loads BPF). Reports; never asserts.
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { IPv4 } from 'ip-num';

import { goldenCompiled, goldenPackets, type Fate } from '../test/fixtures/golden.js';
import { ethernet, hex, ipv4, udp } from '../test/fixtures/packets.js';
import { imagePath, TABLE_SIZES, writeImages } from './images.js';
import { benchBuild, nativeBuild } from './paths.js';
import { markdownTable, median } from './report.js';
import { FIRST_ADDRESS, kindOfSlice, PORTS_PER_SLICE, SLICES_PER_ADDRESS } from './tables.js';

/** The golden packets timed, by name: each verdict of the express lane, both families. */
const VERDICTS: { fate: Fate; name: string }[] = [
  { fate: 'pass_local', name: 'IPv4 reply for a local slice' },
  { fate: 'pass_local', name: 'IPv6 UDP reply for a local slice' },
  { fate: 'forward_server_gue', name: 'IPv4 reply for a2: GUE variant 0 over IPv4' },
  { fate: 'forward_server_gue', name: 'IPv6 reply for a3: GUE variant 1 over IPv6' },
  { fate: 'encap_datacenter', name: 'IPv4 reply for dcB: GUE variant 1 over IPv4' },
  { fate: 'encap_datacenter', name: 'IPv6 reply for dcC: GUE variant 0 over IPv6' },
  { fate: 'forward_server_l2', name: 'IPv4 UDP reply in VLAN 100 for a4: L2 rewrite, tag kept' },
  { fate: 'forward_server_l2', name: 'IPv6 UDP reply in VLAN 100 for a4: L2 rewrite, tag kept' },
  { fate: 'drop_no_owner', name: 'IPv4 reply to an unowned port inside the managed span' },
  { fate: 'drop_no_owner', name: 'IPv6 reply to an unowned port inside the managed span' },
  { fate: 'decap_local', name: 'GUE variant 0, IPv4 in IPv4, for a local slice: unwrapped in XDP' },
  { fate: 'decap_local', name: 'GUE variant 0, IPv6 in IPv6, for a local slice: unwrapped in XDP' },
  { fate: 'forward_server_gue', name: 'GUE variant 0 over IPv4 from data centre B for a2: unwrapped, sent on to a2' },
  // Flows to flow-hash services (issue 15): the row by the seeded flow hash, then GUE, or GLB's
  // hop list with and without the row's secondary.
  { fate: 'forward_server_gue', name: 'IPv4 TCP SYN to a flow-hash service: its Maglev row\'s backend a2, GUE variant 0 over IPv4' },
  { fate: 'forward_server_gue', name: "IPv4 TCP SYN to a 'glb' flow-hash service: GLB GUE to the row's primary g5, no hop (the row's secondary is the primary)" },
  { fate: 'forward_server_gue', name: "IPv4 TCP SYN to a 'glb' flow-hash service: GLB GUE to the row's primary g6, its secondary g5 as the one hop" },
  // Packets to address-slice services (issue 16): the slice's row by the destination's bits; the
  // source filter's flowhash-1 check on a conforming and a non-conforming destination.
  { fate: 'forward_server_gue', name: 'IPv6 TCP SYN to an address-slice service: the /65 slice of a2, GUE variant 0' },
  { fate: 'forward_server_gue', name: "IPv6 TCP SYN to an address slice in a move window: GLB GUE to the new owner g6, the old owner g5 as the hop" },
  { fate: 'drop_ssa_source', name: 'IPv6 TCP SYN to a source-derived address service, destination not conforming: dropped' },
];

/** Fates whose frame the program leaves as it was or rewrites to the same verdict again: these
 * are also timed with repeat > 1 (a repeat runs on the previous one's output, FACTS.md). */
const WARM_FATES: readonly Fate[] = ['pass_local', 'drop_no_owner', 'forward_server_l2'];
const WARM_REPEAT = 100_000;

/** Destinations the lookup is timed over: one (hot), or spread over the table's addresses. */
const SPREAD = 4096;

interface TimeAnswer {
  ok: boolean;
  message?: string;
  bare_mean: number;
  steer_mean: number;
  bare_retval: number;
  steer_retval: number;
  fates: Record<string, number>;
}
interface WarmAnswer {
  ok: boolean;
  bare_median: number;
  steer_median: number;
}
interface TableAnswer {
  ok: boolean;
  message?: string;
  build_ms: number;
  publish_ms: number;
  keys: number;
  ranges: number;
}

export interface VerdictRow {
  name: string;
  fate: Fate;
  bytes: number;
  /** Per round: mean ns per call of the bare program and of the express lane. */
  bare: number[];
  steer: number[];
  /** Fates the program counted, when not the expected one alone. */
  wrong: string[];
  /** Per round, for WARM_FATES: ns per repeat of each program with repeat WARM_REPEAT. */
  warm: { bare: number[]; steer: number[] } | undefined;
}
export interface SizeRow {
  slices: number;
  keys: number;
  ranges: number;
  buildMs: number[];
  publishMs: number[];
  hot: { bare: number[]; steer: number[] };
  spread: { bare: number[]; steer: number[] };
}
export interface XdpResult {
  verdicts: VerdictRow[];
  sizes: SizeRow[];
  calls: number;
  rounds: number;
}

/** A 64-byte UDP frame to slice `slice` of the table's address number `address`. */
function lookupFrame(address: number, slice: number): string {
  const dst = new IPv4(IPv4.fromString(FIRST_ADDRESS).getValue() + BigInt(address)).toString();
  const payload = new Uint8Array(64 - 42);
  return hex(ethernet({ dst: '02:00:00:00:00:01', src: '02:00:00:00:00:02' }, ipv4({ src: '203.0.113.10', dst }, udp({ src: 40000, dst: slice * PORTS_PER_SLICE + 7, payload }))));
}

/** Frames to forwarded slices (never the local one) of up to SPREAD addresses of a `slices` table. */
function spreadFrames(slices: number): string {
  const addresses = Math.ceil(slices / SLICES_PER_ADDRESS);
  const perAddress = Math.min(slices, SLICES_PER_ADDRESS);
  return Array.from({ length: SPREAD }, (_, i) => {
    const slice = 1 + (i % (perAddress - 1));
    return lookupFrame((i * 7919) % addresses, slice);
  }).join(',');
}

/** One xdp_bench process for the whole script: answers in command order. */
function runScript(lines: string[]): unknown[] {
  const r = spawnSync(join(nativeBuild, 'xdp_bench'), [join(nativeBuild, 'bpf', 'steer.bpf.o'), join(nativeBuild, 'bpf', 'pps_xdp_bounce.bpf.o')], {
    input: `${lines.join('\n')}\n`,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  if (r.status !== 0) throw new Error(`xdp_bench exited with ${String(r.status ?? r.signal)}:\n${r.stderr}`);
  const answers = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { ok: boolean; message?: string });
  const failed = answers.find((a) => !a.ok);
  if (failed || answers.length !== lines.length + 1) throw new Error(`xdp_bench: ${failed?.message ?? `${answers.length - 1} answers to ${lines.length} commands`}\n${r.stderr}`);
  return answers.slice(1);
}

export function runXdpBench(opts: { rounds: number; calls: number; log: (line: string) => void }): XdpResult {
  const dir = join(benchBuild, 'xdp');
  mkdirSync(dir, { recursive: true });
  writeImages(benchBuild);
  const golden = join(dir, 'golden.img');
  writeFileSync(golden, goldenCompiled().image);
  const packets = new Map(goldenPackets().map((p) => [p.name, p]));
  const verdicts: VerdictRow[] = VERDICTS.map(({ fate, name }) => {
    const p = packets.get(name);
    if (p?.fate !== fate) throw new Error(`bench/xdp.ts: no golden packet "${name}" of fate ${fate}`);
    return { name, fate, bytes: p.input.length, bare: [], steer: [], wrong: [], warm: WARM_FATES.includes(fate) ? { bare: [], steer: [] } : undefined };
  });
  const sizes: SizeRow[] = TABLE_SIZES.map((slices) => ({
    slices, keys: 0, ranges: 0, buildMs: [], publishMs: [], hot: { bare: [], steer: [] }, spread: { bare: [], steer: [] },
  }));
  const hot = lookupFrame(0, [...Array(SLICES_PER_ADDRESS).keys()].find((s) => kindOfSlice(s) === 'server')!);
  for (let round = 0; round < opts.rounds; round++) {
    opts.log(`BPF_PROG_TEST_RUN round ${round + 1}/${opts.rounds}`);
    const lines = [`table ${golden}`, ...VERDICTS.map(({ name }) => `time ${opts.calls} ${hex(packets.get(name)!.input)}`)];
    const warm = verdicts.filter((v) => v.warm !== undefined);
    lines.push(...warm.map((v) => `warm ${WARM_REPEAT} ${hex(packets.get(v.name)!.input)}`));
    // Table sizes alternate direction by round: no size is always published onto a cold cache.
    const order = round % 2 === 0 ? sizes : [...sizes].reverse();
    for (const s of order) lines.push(`table ${imagePath(benchBuild, s.slices)}`, `time ${opts.calls} ${hot}`, `time ${opts.calls} ${spreadFrames(s.slices)}`);
    const answers = runScript(lines);
    verdicts.forEach((v, i) => {
      const a = answers[1 + i] as TimeAnswer;
      v.bare.push(a.bare_mean);
      v.steer.push(a.steer_mean);
      const moved = Object.entries(a.fates);
      if (moved.length !== 1 || moved[0]![0] !== v.fate) v.wrong = moved.map(([f, n]) => `${f} ${n}`);
    });
    warm.forEach((v, i) => {
      const a = answers[1 + VERDICTS.length + i] as WarmAnswer;
      v.warm!.bare.push(a.bare_median);
      v.warm!.steer.push(a.steer_median);
    });
    order.forEach((s, i) => {
      const at = 1 + VERDICTS.length + warm.length + 3 * i;
      const t = answers[at] as TableAnswer;
      const [h, w] = [answers[at + 1] as TimeAnswer, answers[at + 2] as TimeAnswer];
      Object.assign(s, { keys: t.keys, ranges: t.ranges });
      s.buildMs.push(t.build_ms);
      s.publishMs.push(t.publish_ms);
      s.hot.bare.push(h.bare_mean);
      s.hot.steer.push(h.steer_mean);
      s.spread.bare.push(w.bare_mean);
      s.spread.steer.push(w.steer_mean);
    });
  }
  return { verdicts, sizes, calls: opts.calls, rounds: opts.rounds };
}

const ns = (v: number): string => v.toFixed(0);
/** Median over rounds of the per-round ratio steer / bare. */
const ratioOf = (steer: number[], bare: number[]): number => median(steer.map((s, i) => s / bare[i]!));
const aboveOf = (steer: number[], bare: number[]): number => median(steer.map((s, i) => s - bare[i]!));

export function verdictTable(r: XdpResult): string {
  return markdownTable(
    r.verdicts.map((v) => {
      const ratio = ratioOf(v.steer, v.bare);
      return {
        fate: v.fate,
        packet: `${v.name} (${v.bytes} B)${v.wrong.length > 0 ? ` [counted: ${v.wrong.join(', ')}]` : ''}`,
        'bare XDP_TX, ns/call': ns(median(v.bare)),
        'express lane, ns/call': ns(median(v.steer)),
        'above bare, ns': ns(aboveOf(v.steer, v.bare)),
        ratio: `${ratio.toFixed(2)}x`,
        '<= 2x': ratio <= 2 ? 'yes' : 'no',
        [`warm (repeat ${WARM_REPEAT.toLocaleString('en-US')}): express / bare, ns/packet`]: v.warm ? `${ns(median(v.warm.steer))} / ${ns(median(v.warm.bare))}` : '',
      };
    }),
    ['fate', 'packet', 'bare XDP_TX, ns/call', 'express lane, ns/call', 'above bare, ns', 'ratio', '<= 2x', `warm (repeat ${WARM_REPEAT.toLocaleString('en-US')}): express / bare, ns/packet`],
  );
}

export function sizeTable(r: XdpResult): string {
  return markdownTable(
    r.sizes.map((s) => ({
      slices: s.slices.toLocaleString('en-US'),
      'keys / ranges': `${s.keys.toLocaleString('en-US')} / ${s.ranges.toLocaleString('en-US')}`,
      'su_view_build, ms': median(s.buildMs).toFixed(1),
      'su_xdp_tables_publish, ms': `${median(s.publishMs).toFixed(0)} (${Math.min(...s.publishMs).toFixed(0)}-${Math.max(...s.publishMs).toFixed(0)})`,
      'one destination: express / bare, ns/call': `${ns(median(s.hot.steer))} / ${ns(median(s.hot.bare))} (+${ns(aboveOf(s.hot.steer, s.hot.bare))})`,
      [`${SPREAD} destinations: express / bare, ns/call`]: `${ns(median(s.spread.steer))} / ${ns(median(s.spread.bare))} (+${ns(aboveOf(s.spread.steer, s.spread.bare))})`,
    })),
    ['slices', 'keys / ranges', 'su_view_build, ms', 'su_xdp_tables_publish, ms', 'one destination: express / bare, ns/call', `${SPREAD} destinations: express / bare, ns/call`],
  );
}

/** Issue 13's targets for the program in the kernel, measured. */
export function xdpTargets(r: XdpResult): Record<string, string>[] {
  const ratios = r.verdicts.map((v) => ratioOf(v.steer, v.bare));
  const worst = Math.max(...ratios);
  const large = r.sizes[r.sizes.length - 1]!;
  const small = r.sizes[0]!;
  const publish = median(large.publishMs);
  const above = (s: SizeRow): number => aboveOf(s.hot.steer, s.hot.bare);
  return [
    {
      target: 'express lane <= 2x a bare XDP_TX program per call (BPF_PROG_TEST_RUN)',
      measured: `${Math.min(...ratios).toFixed(2)}x to ${worst.toFixed(2)}x over ${r.verdicts.length} packets`,
      met: worst <= 2 ? 'yes' : `no (${r.verdicts.filter((_, i) => ratios[i]! > 2).map((v) => v.fate).join(', ')})`,
    },
    {
      target: 'publish 1,000,000 slices into the maps < 1 s',
      measured: `${publish.toFixed(0)} ms (su_xdp_tables_publish), view build ${median(large.buildMs).toFixed(0)} ms`,
      met: publish < 1000 ? 'yes' : 'no',
    },
    {
      target: 'lookup cost flat from 10 to 1,000,000 slices',
      measured: `one destination: +${ns(above(small))} -> +${ns(above(large))} ns above bare; ${SPREAD} destinations: +${ns(aboveOf(small.spread.steer, small.spread.bare))} -> +${ns(aboveOf(large.spread.steer, large.spread.bare))} ns`,
      met: 'see the table',
    },
  ];
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const arg = (name: string, fallback: number): number => (process.argv.includes(name) ? Number(process.argv[process.argv.indexOf(name) + 1]) : fallback);
  const result = runXdpBench({ rounds: arg('--rounds', 5), calls: arg('--calls', 20_000), log: (l) => console.error(l) });
  console.log(`${verdictTable(result)}\n\n${sizeTable(result)}\n\n${markdownTable(xdpTargets(result), ['target', 'measured', 'met'])}`);
}
