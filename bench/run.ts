// `npm run bench`: every benchmark in one run, printed as markdown tables (and kept in
// build/bench/last-run.md for bench/RESULTS.md): the C core's ns and instructions per packet, the
// JS-visible cost of explain(), table publication, the express lane under BPF_PROG_TEST_RUN,
// configuration loading, and packets per second on veth of the router in both lanes against a
// bare XDP_TX and a bare AF_XDP bounce, and of address-slice tables. Flags: --full (whole knob
// sweep), --rounds N, --seconds S (per pps measurement), --softirq (veth NAPI placement),
// --in-flight N (frames in the pps loop), --only a,b (pps configs; --only addr: the address rows),
// --no-addr (pps without the address rows), --no-micro, --no-xdp, --no-pps, --no-config, --no-etcd,
// --no-lb (Maglev tables), --no-sklookup (socket steering's cost).
// Needs root for xdp and pps. Reports; never asserts.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release } from 'node:os';
import { join } from 'node:path';

import { FAMILIES, TABLE_SIZES, imagePath } from './images.js';
import { runExplainBench } from './micro.bench.js';
import { microTable, profile, runMicro, type MicroRow } from './micro.js';
import { benchBuild, root } from './paths.js';
import { sizeTable, verdictTable, xdpTargets, runXdpBench, type XdpResult } from './xdp.js';
import { addrTable } from './pps/addr-report.js';
import { knobTable, mainTable, ppsTargets } from './pps/report.js';
import type { PpsResult } from './pps/results.js';
import { IN_FLIGHT, runPps } from './pps/run.js';
import { markdownTable, percent } from './report.js';
import type { BenchFamily } from './tables.js';

const argv = process.argv.slice(2);
const flag = (name: string): boolean => argv.includes(name);
const value = (name: string, fallback: number): number => (argv.includes(name) ? Number(argv[argv.indexOf(name) + 1]) : fallback);
const log = (line: string): void => console.error(`[bench] ${line}`);

/** Ticks of the whole machine from /proc/stat: total and stolen by the hypervisor. */
function cpuTicks(): { total: number; steal: number } {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  return { total: fields.reduce((a, b) => a + b, 0), steal: fields[7] ?? 0 };
}

const out: string[] = [];
const emit = (text: string): void => {
  out.push(text);
  console.log(text);
};

const started = new Date();
const ticks0 = cpuTicks();
const load0 = loadavg()[0]!;
emit(`# softunicast benchmarks, ${started.toISOString()}`);
emit(`\nMachine: ${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, Linux ${release()}, Node ${process.version}. ` +
  `Command: \`npm run bench${argv.length > 0 ? ` -- ${argv.join(' ')}` : ''}\`.`);

let micro: MicroRow[] = [];
if (!flag('--no-micro')) {
  micro = runMicro({ runs: 5, callgrind: true, log });
  emit('\n## C core, in-memory frames (native/bench/core_bench.c)\n');
  emit('ns: median ns/packet of 5 runs of 1M packets over 1024 distinct destinations (lookup_hot: 16, lookup_wide: 262,144). ' +
    'Ir: instructions/packet under callgrind, (Ir with 10,000 packets - Ir with 0) / 10,000.\n');
  const rows = microTable(micro);
  emit(markdownTable(rows, Object.keys(rows[0] ?? {})));
  log('callgrind profile of route_datacenter ...');
  emit('\nWhere the instructions of route_datacenter go (1,000,000 slices, per packet, self cost):\n');
  emit('```\n' + profile(imagePath(benchBuild, 1_000_000), 'route_datacenter', 64) + '\n```');

  log('explain() through N-API (tinybench) ...');
  const explain = await runExplainBench();
  emit('\n## SliceView.explain from JavaScript (tinybench, 64-byte frames)\n');
  emit(markdownTable(explain.map((r) => ({ slices: r.slices, verdict: r.verdict, fate: r.fate, 'ns/call': r.ns.toFixed(0) })), ['slices', 'verdict', 'fate', 'ns/call']));

  log('table publication (bench/table-publish.ts) ...');
  const publish = spawnSync(process.execPath, [join(root, 'dist', 'bench', 'table-publish.js')], { encoding: 'utf8' });
  emit('\n## Publishing a 1,048,576-slice table (bench/table-publish.ts)\n');
  emit('```\n' + (publish.stdout || publish.stderr).trim() + '\n```');
}

let xdp: XdpResult | undefined;
if (!flag('--no-xdp')) {
  log('the express lane under BPF_PROG_TEST_RUN (bench/xdp.ts) ...');
  try {
    xdp = runXdpBench({ rounds: value('--rounds', 5), calls: 20_000, log });
  } catch (error: unknown) {
    emit(`\nBPF_PROG_TEST_RUN not measured: ${error instanceof Error ? error.message : String(error)}`);
  }
}
if (xdp) {
  emit('\n## The express lane in the kernel (native/bench/xdp_bench.c, BPF_PROG_TEST_RUN)\n');
  emit(`Per call: the mean of the kernel-reported duration of ${xdp.calls.toLocaleString('en-US')} runs with repeat 1 (the express lane ` +
    'rewrites the frame: a second repeat would run on its own output), bare program and express lane alternating on the same frames; ' +
    `medians of ${xdp.rounds} rounds. Each call carries the kernel's fixed cost of a test run: "above bare" is the program's own.\n`);
  emit(verdictTable(xdp));
  emit('\nTables in the kernel: the bench tables (bench/tables.ts) published into the program\'s maps, then IPv4 frames to forwarded ' +
    'slices, one destination or spread over the table\'s addresses:\n');
  emit(sizeTable(xdp));
}

if (!flag('--no-config')) {
  log('configuration load (bench/config-load.ts) ...');
  const load = spawnSync(process.execPath, [join(root, 'dist', 'bench', 'config-load.js')], { encoding: 'utf8' });
  emit('\n## Loading a configuration file (bench/config-load.ts)\n');
  emit(load.status === 0 ? load.stdout.trim() : `not measured: ${load.stderr.trim()}`);
}

if (!flag('--no-etcd')) {
  log('1,000,000 slices in etcd (bench/etcd.ts) ...');
  const etcd = spawnSync(process.execPath, [join(root, 'dist', 'bench', 'etcd.js')], { encoding: 'utf8' });
  emit('\n## 1,000,000 slices in etcd (bench/etcd.ts)\n');
  emit(etcd.status === 0 ? etcd.stdout.trim() : `not measured: ${etcd.stderr.trim()}`);
}

if (!flag('--no-lb')) {
  log('Maglev tables of the load balancer (bench/maglev.ts) ...');
  const lb = spawnSync(process.execPath, [join(root, 'dist', 'bench', 'maglev.js')], { encoding: 'utf8' });
  emit('\n## Load balancer: Maglev tables (bench/maglev.ts)\n');
  emit(lb.status === 0 ? lb.stdout.trim() : `not measured: ${lb.stderr.trim()}`);
}

if (!flag('--no-sklookup')) {
  log('socket steering with sk_lookup (bench/sk-lookup.ts) ...');
  const skl = spawnSync(process.execPath, [join(root, 'dist', 'bench', 'sk-lookup.js')], { encoding: 'utf8' });
  emit('\n## Socket steering with sk_lookup (bench/sk-lookup.ts)\n');
  emit(skl.status === 0 ? skl.stdout.trim() : `not measured: ${skl.stderr.trim()}`);
}

const rounds = value('--rounds', 5);
const seconds = value('--seconds', 1);
let pps: PpsResult | undefined;
if (!flag('--no-pps')) {
  pps = await runPps({
    seconds,
    rounds,
    inFlight: value('--in-flight', IN_FLIGHT),
    full: flag('--full'),
    placement: flag('--softirq') ? 'softirq' : 'threaded',
    only: argv.includes('--only') ? argv[argv.indexOf('--only') + 1]!.split(',') : [],
    addr: !flag('--no-addr'),
    log,
  }).catch((error: unknown) => {
    // Reported, not thrown: the micro figures above stay worth having.
    emit(`\npps not measured: ${error instanceof Error ? error.message : String(error)}`);
    return undefined;
  });
}
if (pps) {
  emit('\n## Packets per second on a veth pair (bench/pps/)\n');
  emit(`${pps.mode}. Medians of ${rounds} rounds of ${seconds} s per row, ` +
    'every configuration measured in turn in each round (the order reversed every other round); "vs ... bounce": median over rounds of ' +
    'forwarded / forwarded of that bounce (same frame size) in the same round.\n');
  emit(mainTable(pps));
  if (pps.addrRows.length > 0) {
    emit('\nAddress-slice services (issue 16): one /64 cut into N equal slices over four GUE servers (bench/pps/addr.ts), 64 B ' +
      'IPv6 UDP from 65,536 sources, each to the destination its source derives (so every frame conforms to the filter), the ' +
      'reflector picking one of the 65,536 frames at random per pass; beside them a port-slice table of 1,048,576 slices under ' +
      'traffic of the same shape. Ratios and CPU differences per round, then the median:\n');
    emit(addrTable(pps));
  }
  emit(`\nKnobs, one at a time (${flag('--full') ? 'full sweep' : 'reduced sweep; --full for all'}):\n`);
  emit(knobTable(pps));
}

emit('\n## Targets (issues 5 and 13)\n');
emit(markdownTable([...targets(micro, pps), ...(xdp ? xdpTargets(xdp) : [])], ['target', 'measured', 'met']));

const ticks1 = cpuTicks();
const steal = (ticks1.steal - ticks0.steal) / Math.max(1, ticks1.total - ticks0.total);
emit(`\nConditions: load average ${load0.toFixed(2)} at the start, ${loadavg()[0]!.toFixed(2)} at the end; ` +
  `${percent(steal)} of CPU time stolen by the hypervisor during the run; ${Math.round((Date.now() - started.getTime()) / 1000)} s in all.`);

mkdirSync(benchBuild, { recursive: true });
writeFileSync(join(benchBuild, 'last-run.md'), `${out.join('\n')}\n`);
log(`written to ${join(benchBuild, 'last-run.md')}`);

function targets(rows: MicroRow[], result: PpsResult | undefined): Record<string, string>[] {
  const out: Record<string, string>[] = [];
  const [small, , large] = TABLE_SIZES;
  if (result) out.push(...ppsTargets(result));
  if (rows.length > 0) {
    const ir = (phase: string, n: number, family: BenchFamily = 'ipv4'): number | undefined => rows.find((r) => r.phase === phase && r.family === family && r.frame === 64)?.ir.get(n);
    const ns = (phase: string, n: number): number | undefined => rows.find((r) => r.phase === phase && r.family === 'ipv4' && r.frame === 64)?.ns.get(n);
    const flat = (f: (p: string, n: number) => number | undefined, phase: string): string => {
      const a = f(phase, small!);
      const b = f(phase, large!);
      return a && b ? `${a.toFixed(0)} -> ${b.toFixed(0)} (${b >= a ? '+' : ''}${(((b - a) / a) * 100).toFixed(0)}%)` : '';
    };
    const within = (phase: string, f: typeof ns): boolean => {
      const a = f(phase, small!);
      const b = f(phase, large!);
      return a !== undefined && b !== undefined && Math.abs(b - a) / a <= 0.1;
    };
    out.push({
      target: 'lookup flat from 10 to 1,000,000 slices (within 10%)',
      measured: `Ir IPv4 ${flat(ir, 'lookup')}, IPv6 ${flat((p, n) => ir(p, n, 'ipv6'), 'lookup')}; ns over 16 destinations ${flat(ns, 'lookup_hot')}, 1024 ${flat(ns, 'lookup')}, 262,144 ${flat(ns, 'lookup_wide')}`,
      met: `instructions ${within('lookup', ir) && within('lookup', (p, n) => ir(p, n, 'ipv6')) ? 'yes' : 'no'}; time ${['lookup_hot', 'lookup', 'lookup_wide'].map((p) => (within(p, ns) ? 'yes' : 'no')).join('/')}`,
    });
    const full = FAMILIES.flatMap((family) => ['route_server', 'route_datacenter'].map((p) => ir(p, large!, family) ?? NaN));
    const phases = (family: BenchFamily): string => `parse ${ir('parse', large!, family)?.toFixed(0)}, lookup ${ir('lookup', large!, family)?.toFixed(0)}, encap ${ir('encap', large!, family)?.toFixed(0)}`;
    out.push({
      target: 'parse + lookup + encapsulate <= 150 instructions/packet (issue 13)',
      measured: `whole route at 1M slices: IPv4 server ${full[0]!.toFixed(0)}, data centre ${full[1]!.toFixed(0)}; IPv6 ${full[2]!.toFixed(0)}, ${full[3]!.toFixed(0)}. Phases IPv4: ${phases('ipv4')}; IPv6: ${phases('ipv6')}`,
      met: Math.max(...full) <= 150 ? 'yes' : `no (${(Math.max(...full) / 150).toFixed(1)}x)`,
    });
  }
  return out;
}
