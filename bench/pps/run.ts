// Packets per second on a veth pair: a closed loop between a reflector in one namespace (pps_gen:
// it injects a few frames, counts what comes back and sends it again) and the device under test in
// the other, every configuration measured in turn in each round (the order
// reversed every other round), medians over rounds, each figure also a ratio to the bare XDP_TX
// bounce and to the bare AF_XDP bounce of the same round; the address-slice rows (issue 16) also a
// ratio to their lane's smallest unfiltered address table. Used by bench/run.ts; alone:
// node dist/bench/pps/run.js [--full] [--seconds S] [--rounds N] [--softirq] [--in-flight N]
// [--only a,b] [--no-addr] (--only addr: the address rows alone; --no-addr: without them).
// Needs root. Reports; never asserts. Namespaces are removed whatever happens
// (src/netns/teardown.ts).
import { join } from 'node:path';

import { createVethPair, requireNetnsPrivileges, teardownRun, vethStats, type VethPair } from '../../src/netns/index.js';
import { benchBuild, nativeBuild } from '../paths.js';
import { Agent, delta, flatten, pinNapi } from './agents.js';
import { addrTable } from './addr-report.js';
import {
  addrConfigs, DUT_CPU, dutCommand, frameArgs, GEN_CPU, knobConfigs, mainConfigs, writeTableFiles, type Config, type Files, type Scenario,
} from './configs.js';
import { knobTable, mainTable } from './report.js';
import type { PpsResult, PpsRow, Sample } from './results.js';

/** Frames circulating in the loop: at most what one veth ring holds (256), so that no ring can
 * overflow however the frames bunch up; enough to keep both ends busy. */
export const IN_FLIGHT = 256;

/** Counters that name a packet dropped, and what the table calls them. */
const DROP_COUNTERS: [RegExp, (m: RegExpExecArray) => string][] = [
  [/^a\.tx_queue_\d+_xdp_xmit_errors$/, () => 'veth_to_dut_full'],
  [/^b\.rx_queue_\d+_xdp_tx_errors$/, () => 'dut_xdp_tx_errors'],
  [/^a\.rx_queue_\d+_drops$/, () => 'veth_to_sink_full'],
  [/^kernel\.rx_dropped$/, () => 'xsk_fill_empty'],
  [/^kernel\.rx_ring_full$/, () => 'xsk_rx_ring_full'],
  [/^kernel\.tx_invalid_descs$/, () => 'xsk_tx_invalid'],
  [/^queue\.(tx_dropped_kicks|rx_dropped_no_handler)$/, (m) => m[1]!],
  [/^fates\.(drop_\w+)$/, (m) => m[1]!],
  [/^xdp\.(drop_\w+)$/, (m) => `xdp_${m[1]!}`],
  [/^js\.(no_owner|not_ipv4|local)$/, (m) => `js_${m[1]!}`],
];

async function snapshot(pair: VethPair, dut: Agent): Promise<Map<string, number>> {
  const [stats, a, b] = await Promise.all([dut.ask('stats'), vethStats(pair.a.ns, pair.a.ifname), vethStats(pair.b.ns, pair.b.ifname)]);
  const flat = flatten(stats);
  for (const [k, v] of a) flat.set(`a.${k}`, v);
  for (const [k, v] of b) flat.set(`b.${k}`, v);
  return flat;
}

/** Tasks whose CPU time is charged to each end: pids, "-" for none. */
interface Tasks {
  dut: number[];
  reflector: number[];
}

async function measure(b: Bench, dut: Agent, s: Scenario, tasks: Tasks): Promise<Sample> {
  const { pair, gen, opts } = b;
  const seconds = opts.seconds;
  const before = await snapshot(pair, dut);
  const list = (pids: number[]): string => (pids.length === 0 ? '-' : pids.join(','));
  const frame = frameArgs(pair, b.files, s);
  const run = await gen.ask(`run ${seconds} ${opts.inFlight} ${frame.hex} ${list(tasks.dut)} ${list(tasks.reflector)}${frame.heads ? ` ${frame.heads}` : ''}`);
  const d = delta(before, await snapshot(pair, dut));
  const secs = run.seconds as number;
  const drops = new Map<string, number>();
  for (const [key, value] of d) {
    for (const [re, name] of DROP_COUNTERS) {
      const m = re.exec(key);
      if (m && value > 0) drops.set(name(m), (drops.get(name(m)) ?? 0) + value / secs);
    }
  }
  // veth counts a failed redirect into the socket as an RX drop too: only what the socket's own
  // counters do not explain is a drop of another kind.
  const sum = (re: RegExp): number => [...d].filter(([k]) => re.test(k)).reduce((t, [, v]) => t + v, 0);
  const other = sum(/^b\.rx_queue_\d+_drops$/) - sum(/^kernel\.(rx_dropped|rx_ring_full)$/);
  if (other > 0) drops.set('dut_rx_other', other / secs);
  return {
    offered: (run.sent as number) / secs,
    forwarded: (run.sink_packets as number) / secs,
    gue: (run.sink_gue as number) / secs,
    inFlight: [run.injected as number, run.in_flight_end as number],
    busy: [(run.cpu_busy as number[])[GEN_CPU] ?? NaN, (run.cpu_busy as number[])[DUT_CPU] ?? NaN],
    steal: Math.max(...(run.cpu_steal as number[])),
    dutNs: tasks.reflector.length === 0 ? NaN : (run.dut_cpu_ns as number) / (run.sink_packets as number),
    reflectorNs: tasks.reflector.length === 0 ? NaN : (run.reflector_cpu_ns as number) / (run.sent as number),
    toKernel: ((d.get('steer.pass_unmatched') ?? 0) + (d.get('xdp.pass_local') ?? 0) + (d.get('xdp.pass_unmanaged') ?? 0)) / secs,
    drops,
  };
}

/** Where the kernel's work for each veth end runs. 'threaded' (the default): each end's NAPI is a
 * thread pinned to its owner's core (the reflector's on CPU GEN_CPU, the device's on DUT_CPU), so
 * that the device under test has exactly one core for everything: its XDP program, the copy into
 * its AF_XDP socket, its worker and its transmit. 'softirq': the kernel's default, NAPI runs on
 * the core that sent to the end; the loop then runs wherever it was started, both ends on one
 * core. */
export type Placement = 'softirq' | 'threaded';

export interface PpsOptions {
  seconds: number;
  rounds: number;
  /** Frames circulating in the loop (IN_FLIGHT by default). */
  inFlight: number;
  full: boolean;
  placement: Placement;
  /** Only configurations whose name starts with one of these (all when empty). */
  only: readonly string[];
  /** Whether to measure the address rows (addrConfigs, ~4 minutes of 5 rounds), if `only` lets them. */
  addr: boolean;
  log: (line: string) => void;
}

/** What a round needs: the loop's two ends and where each row's samples go. */
interface Bench {
  pair: VethPair;
  files: Files;
  gen: Agent;
  reflectorNapi: number[];
  rowOf: (c: Config, s: Scenario) => PpsRow;
  opts: PpsOptions;
  /** What the first default AF_XDP device said of the transmit budget; NAPI threads pinned. */
  budget: string;
  napiThreads: number;
}

function logSample(b: Bench, sc: Scenario, x: Sample): void {
  b.opts.log(`  ${sc.verdict}/${sc.family}/${sc.frame}: ${(x.forwarded / 1e6).toFixed(3)} Mpps, in flight ${x.inFlight.join(' -> ')}, ` +
    `busy ${x.busy.map((v) => `${(v * 100).toFixed(0)}%`).join(' / ')}, steal ${(x.steal * 100).toFixed(0)}%, ` +
    `CPU per packet: device ${x.dutNs.toFixed(0)} ns, reflector ${x.reflectorNs.toFixed(0)} ns`);
}

/** Starts configuration `c`'s device, measures its scenarios (rotated by round, so that none is
 * always the first or last a device sees), stops it. */
async function measureConfig(b: Bench, c: Config, round: number): Promise<{ row: PpsRow; sample: Sample }[]> {
  const { pair, opts } = b;
  const [command, args] = dutCommand(pair, b.files, c);
  const { agent: dut, ready } = await Agent.start(pair.b.ns, command, args);
  const measured: { row: PpsRow; sample: Sample }[] = [];
  try {
    // Each device attaches its own program, and the end's NAPI comes anew with it.
    const dutNapi = opts.placement === 'threaded' ? await pinNapi(pair.b.ns, pair.b.ifname, DUT_CPU) : [];
    b.napiThreads += dutNapi.length;
    const tasks = { dut: [dut.proc.child.pid!, ...dutNapi], reflector: b.reflectorNapi };
    if (b.budget === '' && typeof ready.tx_budget === 'string' && c.kind !== 'xdp-bounce' && Object.keys(c.knobs).length === 0) b.budget = `tx budget ${ready.tx_budget}`;
    for (const sc of c.scenarios.map((_, i) => c.scenarios[(i + round) % c.scenarios.length]!)) {
      const row = b.rowOf(c, sc);
      const sample = await measure(b, dut, sc, tasks);
      row.samples.push(sample);
      logSample(b, sc, sample);
      measured.push({ row, sample });
    }
  } finally {
    await dut.stop();
  }
  return measured;
}

/** Ratios to the bounces of the same round, whichever came first. */
function addRatios(measured: { row: PpsRow; sample: Sample }[]): void {
  const base = (name: string, frame: number): number | undefined =>
    measured.find((m) => m.row.config.name === name && m.row.scenario.frame === frame)?.sample.forwarded;
  for (const { row, sample } of measured) {
    const xdp = base('xdp-bounce', row.scenario.frame);
    const xsk = base('xsk-bounce', row.scenario.frame);
    if (xdp) row.vsXdp.push(sample.forwarded / xdp);
    if (xsk) row.vsXsk.push(sample.forwarded / xsk);
  }
}

export async function runPps(opts: PpsOptions): Promise<PpsResult> {
  requireNetnsPrivileges(['ip', 'ethtool', 'taskset']);
  const wanted = (c: Config): boolean => opts.only.length === 0 || opts.only.some((o) => c.name.startsWith(o));
  const configs = mainConfigs().filter(wanted);
  const knobs = knobConfigs(opts.full).filter(wanted);
  const addr = opts.addr ? addrConfigs().filter(wanted) : [];
  const all = [...configs, ...addr, ...knobs];
  const rows = new Map<string, PpsRow>();
  const rowOf = (c: Config, s: Scenario): PpsRow => {
    const key = `${c.name}/${s.verdict}/${s.family}/${s.frame}`;
    let r = rows.get(key);
    if (!r) rows.set(key, (r = { config: c, scenario: s, samples: [], vsXdp: [], vsXsk: [] }));
    return r;
  };
  let mode: string;
  try {
    // MTU 1600 on both ends: a 1500-byte packet still fits once wrapped in GUE (36 bytes).
    const pair = await createVethPair({ mtu: 1600 });
    const files = writeTableFiles(pair, join(benchBuild, 'pps'), addr.map((c) => c.addr!));
    const { agent: gen } = await Agent.start(pair.a.ns, join(nativeBuild, 'pps_gen'), [pair.a.ifname, join(nativeBuild, 'bpf', 'pps_reflect.bpf.o'), String(GEN_CPU)]);
    // The reflector's XDP program is attached now, so its end has a NAPI to pin.
    const reflectorNapi = opts.placement === 'threaded' ? await pinNapi(pair.a.ns, pair.a.ifname, GEN_CPU) : [];
    const b: Bench = { pair, files, gen, reflectorNapi, rowOf, opts, budget: '', napiThreads: reflectorNapi.length };
    for (let round = 0; round < opts.rounds; round++) {
      const measured: { row: PpsRow; sample: Sample }[] = [];
      for (const c of round % 2 === 0 ? all : [...all].reverse()) {
        opts.log(`round ${round + 1}/${opts.rounds}: ${c.name}`);
        measured.push(...(await measureConfig(b, c, round)));
      }
      addRatios(measured);
    }
    await gen.stop();
    mode = `AF_XDP copy mode, driver XDP on veth${b.budget === '' ? '' : `, ${b.budget}`}; a closed loop of ${opts.inFlight} frames between the reflector ` +
      `(CPU ${GEN_CPU}) and the device under test (CPU ${DUT_CPU}), ` +
      {
        softirq: 'veth NAPI in softirq (kernel default: both ends on one core)',
        threaded: `veth NAPI of both ends threaded and pinned to their owners' cores (${b.napiThreads} threads pinned)`,
      }[opts.placement];
  } finally {
    await teardownRun();
  }
  const list = [...rows.values()];
  return {
    rows: list.filter((r) => configs.includes(r.config)),
    knobRows: list.filter((r) => knobs.includes(r.config)),
    addrRows: list.filter((r) => addr.includes(r.config)),
    mode,
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const arg = (name: string, fallback: number): number => {
    const i = process.argv.indexOf(name);
    return i > 0 ? Number(process.argv[i + 1]) : fallback;
  };
  const result = await runPps({
    seconds: arg('--seconds', 1),
    rounds: arg('--rounds', 5),
    inFlight: arg('--in-flight', IN_FLIGHT),
    full: process.argv.includes('--full'),
    placement: process.argv.includes('--softirq') ? 'softirq' : 'threaded',
    only: process.argv.includes('--only') ? process.argv[process.argv.indexOf('--only') + 1]!.split(',') : [],
    addr: !process.argv.includes('--no-addr'),
    log: (l) => console.error(l),
  });
  console.log(`${result.mode}\n\n${mainTable(result)}\n\n${addrTable(result)}\n\n${knobTable(result)}`);
}
