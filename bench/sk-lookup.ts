// Socket steering's cost: TCP connections and UDP datagrams per second into one socket, found by
// the kernel's own lookup or handed over by the sk_lookup program, in alternating rounds of one
// run (native/bench/sk_lookup_bench.c in a fresh namespace); medians and the ratio, beside the
// 1-5% of the kernel review. node dist/bench/sk-lookup.js [--rounds N] [--seconds S]. Needs root; asserts nothing.
import { cpus, loadavg, release } from 'node:os';
import { join } from 'node:path';

import { createNamespace, mustExecIn, requireNetnsPrivileges, teardownRun } from '../src/netns/index.js';
import { skLookupObjectPath } from '../src/native.js';
import { nativeBuild } from './paths.js';
import { markdownTable, median } from './report.js';

interface Round {
  protocol: 'tcp' | 'udp';
  /** 0 kernel lookup, 1 steered with the per-address count, 2 steered without, 3 attached but no rule matches. */
  side: 0 | 1 | 2 | 3;
  steering: boolean;
  countLoad: boolean;
  count: number;
  failed: number;
  seconds: number;
  steered: number;
  udpFound: number;
  udpNoPorts: number;
}

const argv = process.argv.slice(2);
const value = (name: string, fallback: number): number => (argv.includes(name) ? Number(argv[argv.indexOf(name) + 1]) : fallback);

/** Rounds of one protocol in a namespace whose lo takes the pool. */
async function measure(ns: string, protocol: 'tcp' | 'udp', rounds: number, seconds: number): Promise<Round[]> {
  const bin = join(nativeBuild, 'sk_lookup_bench');
  const { stdout } = await mustExecIn(ns, bin, [skLookupObjectPath, protocol, String(rounds), String(seconds)], { timeoutMs: (rounds * 4 * seconds + 30) * 1000 });
  return stdout.trim().split('\n').map((l) => JSON.parse(l) as Round);
}

/** The program alone under BPF_PROG_TEST_RUN (ns per lookup), medians of three runs. */
async function alone(ns: string): Promise<{ matchNs: number; matchNoLoadNs: number; noRuleNs: number }> {
  const bin = join(nativeBuild, 'sk_lookup_bench');
  const runs = [];
  for (let i = 0; i < 3; i++) {
    const { stdout } = await mustExecIn(ns, bin, [skLookupObjectPath, 'run', '1000000'], { timeoutMs: 60_000 });
    runs.push(JSON.parse(stdout) as { matchNs: number; matchNoLoadNs: number; noRuleNs: number });
  }
  return {
    matchNs: median(runs.map((r) => r.matchNs)),
    matchNoLoadNs: median(runs.map((r) => r.matchNoLoadNs)),
    noRuleNs: median(runs.map((r) => r.noRuleNs)),
  };
}

const SIDES = { 1: 'steered, per-address load on', 2: 'steered, perAddressLoad: false', 3: 'attached, no rule matches (kernel lookup after a miss)' } as const;

/** Rows of the table: medians of each side against the kernel's lookup alone. */
function rows(protocol: 'tcp' | 'udp', rounds: Round[], ns: { matchNs: number; matchNoLoadNs: number; noRuleNs: number }): Record<string, string>[] {
  const rate = (side: number) => median(rounds.filter((r) => r.side === side).map((r) => r.count / r.seconds));
  const without = rate(0);
  return ([1, 2, 3] as const).map((side) => {
    const mine = rounds.filter((r) => r.side === side);
    const withProgram = rate(side);
    const programNs = side === 1 ? ns.matchNs : side === 2 ? ns.matchNoLoadNs : ns.noRuleNs;
    return {
      what: `${protocol === 'tcp' ? 'TCP connections/s' : 'UDP datagrams/s'}: ${SIDES[side]}`,
      'kernel lookup alone (median)': `${Math.round(without).toLocaleString('en-US')}`,
      'with the program (median)': `${Math.round(withProgram).toLocaleString('en-US')}`,
      'with / without': (withProgram / without).toFixed(3),
      // What the program's own time would cost at the kernel lookup's rate: a floor for the
      // overhead that run-to-run noise cannot hide.
      'program time at that rate': `${((without * programNs) / 1e7).toFixed(2)}% of a core`,
      'lookups steered / connections or datagrams': `${mine.reduce((a, r) => a + r.steered, 0)} / ${mine.reduce((a, r) => a + r.count, 0)}`,
      'paper (LKML v2)': protocol === 'tcp' ? '1-5% at ~0.9M SYN/s' : '1-5% at ~2.7M pps',
    };
  });
}

/** Each round's rate in thousands a second, in the order run. */
const perRound = (rounds: Round[]) => rounds.map((r) => Math.round(r.count / r.seconds / 1000)).join(' ');

async function main(): Promise<void> {
  requireNetnsPrivileges();
  const rounds = value('--rounds', 7);
  const seconds = value('--seconds', 2);
  const ns = await createNamespace('skl');
  try {
    await mustExecIn(ns, 'ip', ['route', 'add', 'local', '10.20.0.0/20', 'dev', 'lo']);
    const tcp = await measure(ns, 'tcp', rounds, seconds);
    const udp = await measure(ns, 'udp', rounds, seconds);
    const prog = await alone(ns);
    const failed = [...tcp, ...udp].reduce((a, r) => a + r.failed + r.udpNoPorts, 0);
    console.log(`Machine: ${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, Linux ${release()}, load average ${loadavg()[0]!.toFixed(1)} at the end.`);
    console.log(`Command: node dist/bench/sk-lookup.js --rounds ${rounds} --seconds ${seconds}; ${rounds} rounds of ${seconds} s per side, the four sides in turn; failed connections or datagrams that found no socket: ${failed}.\n`);
    console.log(`The program alone (BPF_PROG_TEST_RUN, 1,000,000 runs, median of 3): ${prog.matchNs} ns per lookup that matches a rule (trie lookup, range scan, per-address count, socket assign), ${prog.matchNoLoadNs} ns without the per-address count, ${prog.noRuleNs} ns per lookup that matches none.\n`);
    console.log(markdownTable([...rows('tcp', tcp, prog), ...rows('udp', udp, prog)], ['what', 'kernel lookup alone (median)', 'with the program (median)', 'with / without', 'program time at that rate', 'lookups steered / connections or datagrams', 'paper (LKML v2)']));
    console.log(`\nPer round, thousands a second (sides 0 1 2 3 0 1 2 3 ...: alone, steered with load, steered without, no rule matches): TCP ${perRound(tcp)}; UDP ${perRound(udp)}.`);
  } finally {
    await teardownRun();
  }
}

await main();
