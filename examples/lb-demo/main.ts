// `npm run demo:lb`: the load balancer of examples/load-balancer end to end in network
// namespaces (world.ts): long-lived TCP streams through an ECMP router and three balancer hosts
// to four backends; a balancer host killed, a backend added, one drained, one killed, and the
// balance of new connections, each step with its count of broken streams. Tears down always.
//   --connections N (default 240)  --probes N (default 2000)  --encap l2|glb (default glb; l2 shows what second chance saves)
//   --json: the results as one JSON line at the end (test/netns/lb-demo.test.ts reads it)
import { requireNetnsPrivileges, runMain, runPrefix } from 'softunicast/netns';

import { NAMES, runDemo, type DemoResult } from './scenario.js';

const out = (line: string): void => void process.stdout.write(`${line}\n`);

function argsOf(argv: readonly string[]): { connections: number; probes: number; encap: 'l2' | 'glb'; json: boolean } {
  const args = { connections: 240, probes: 2000, encap: 'glb' as 'l2' | 'glb', json: false };
  for (let i = 0; i < argv.length; i += 2) {
    const [flag, value] = [argv[i], argv[i + 1]];
    if (flag === '--json') {
      args.json = true;
      i--;
      continue;
    }
    if ((flag === '--connections' || flag === '--probes') && /^[1-9]\d{0,4}$/.test(value ?? '')) args[flag === '--connections' ? 'connections' : 'probes'] = Number(value);
    else if (flag === '--encap' && (value === 'l2' || value === 'glb')) args.encap = value;
    else {
      out(`Expected --connections N, --probes N or --encap l2|glb but received ${JSON.stringify(`${flag ?? ''} ${value ?? ''}`.trim())}`);
      process.exit(2);
    }
  }
  return args;
}

/** The summary: each step's count, and whether it is what the issue asks. */
function verdicts(r: DemoResult): string[] {
  const [open, lbHost, add, drain, kill, balance] = r.steps;
  const k = kill!.counts as { had: number; brokeOwn: number; brokeOthers: number };
  const { shares, total } = balance!.counts as { shares: Record<string, { got: number; expected: number }>; total: number };
  const worst = Math.max(...Object.values(shares).map((s) => Math.abs(s.got - s.expected)));
  // Sampling alone spreads a share by sqrt(p(1-p)/n): allow four of those (a few points at n = 2000).
  const fair = Object.values(shares).every((s) => Math.abs(s.got - s.expected) <= 400 * Math.sqrt((s.expected / 100) * (1 - s.expected / 100) / total));
  const d = drain!.counts as { drainedGot: number };
  const drainOthers = Object.keys(drain!.brokenByBackend).filter((b) => b !== NAMES.drained).length;
  // Without second chance (encap l2) the rows that change hands take their streams with them:
  // adding breaks streams of every backend, draining those of the drained one. Said, not judged.
  const glb = r.encap === 'glb';
  const lines: [string, boolean | 'note'][] = [
    [`streams opened: ${open!.alive}, broken ${open!.broken}`, open!.broken === 0],
    [`kill a load-balancer host: broken ${lbHost!.broken}`, lbHost!.broken === 0],
    [`add backend ${NAMES.added}: broken ${add!.broken}${glb ? '' : ' (no second chance in this build)'}`, glb ? add!.broken === 0 : 'note'],
    [`drain backend ${NAMES.drained}: broken ${drain!.broken}, new connections to it ${d.drainedGot}${glb ? '' : ' (no second chance: its own streams break)'}`, d.drainedGot === 0 && (glb ? drain!.broken === 0 : drainOthers === 0)],
    [`kill backend ${NAMES.killed}: it had ${k.had}, ${k.brokeOwn} broke; other backends' broken: ${k.brokeOthers}`, k.brokeOthers === 0 && k.brokeOwn === k.had],
    [`the balancer hosts' rows agreed after every step`, r.steps.slice(1, 5).every((x) => x.counts.hostsAgree === true)],
    [`balance: largest gap between a backend's share of ${total} new connections and its weight's: ${worst.toFixed(1)} points`, fair],
  ];
  return lines.map(([text, ok]) => `${ok === 'note' ? 'note' : ok ? 'ok  ' : 'FAIL'} ${text}`);
}

async function main(): Promise<boolean> {
  const args = argsOf(process.argv.slice(2));
  requireNetnsPrivileges();
  out(`namespaces ${runPrefix}-*, removed at the end`);
  if (args.encap === 'l2') out('note: this build has no GLB encapsulation (encap glb): no second chance, so adding and draining move connections');
  const result = await runDemo({ connections: args.connections, probes: args.probes, encap: args.encap, say: out });
  out('');
  const lines = verdicts(result);
  for (const line of lines) out(line);
  if (args.json) out(JSON.stringify({ result }));
  return lines.every((l) => !l.startsWith('FAIL'));
}

// Namespaces are registered as they are made; runMain removes them on every way out (the kit's
// signal hook on Ctrl-C). process.exit: a handle left open must not keep the demo alive after its verdict.
process.exit(await runMain(main, { log: (line) => out(`lb-demo: ${line}`) }));
