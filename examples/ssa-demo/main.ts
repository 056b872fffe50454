// npm run demo:ssa: structured service addressing (issue 16) in network namespaces, with real TCP.
// Two /64s (one shared by the random and content rules, one for the source-derived rule, filtered),
// each cut into 16,384 /78 address slices over three endpoints behind the library's router (the file's
// addressServices), published by the repo's DNS responder from the same file; clients by every rule;
// scale to five endpoints and back; objects by key; a non-conforming flood. The steps are scenario.ts;
// this file prints them. Needs root.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { requireNetnsPrivileges, runMain, runPrefix } from '../../src/netns/index.js';
import { runScenario, type Batch, type ScenarioResult } from './scenario.js';
import { ADDRESS_SERVICES } from './rules.js';

const out = (line = ''): void => void process.stdout.write(`${line}\n`);
const log = (line: string): void => void process.stderr.write(`[ssa-demo] ${line}\n`);

const spread = (b: Batch): string => Object.entries(b.byEndpoint).sort().map(([e, n]) => `${e} ${n}`).join(', ');

function report(r: ScenarioResult): boolean {
  const prefixes = Object.values(ADDRESS_SERVICES).join(' and ');
  out(`structured service addressing: ${prefixes}, each as ${r.slices.toLocaleString('en')} /${r.sliceLength} address slices, three endpoints behind one router`);
  out();
  out('dig (from the client namespace; the DNS agent publishes from the router\'s configuration file):');
  for (const d of r.dig) out(`  ${d.name}: APL ${d.apl}, AAAA ${d.aaaa}, TXT ${d.txt}`);
  out();
  out(`start: ${r.start.opened} long-lived connections (random, source-derived, content-addressed), ${r.start.onOwner} on their slice's owner (${spread(r.start)})`);
  for (const s of r.steps) {
    out(`${s.label} (${s.how}): ${s.moved} slices moved (the fewest: ${s.fewest}), the old owner as secondary; open connections ${s.open}, broken ${s.broken}; new connections ${s.fresh.opened}, on their slice's owner ${s.fresh.onOwner} (${spread(s.fresh)})`);
  }
  const pct = r.content.fetched === 0 ? 0 : (100 * r.content.onHolder) / r.content.fetched;
  out(`content addressing: ${r.content.fetched} objects fetched by key, ${r.content.onHolder} from the endpoint holding them (${pct.toFixed(1)}%)`);
  const f = r.flood;
  out(`flood of non-conforming SYNs from one client source to ${ADDRESS_SERVICES.source}: ${f.sent} sent, ${f.dropped} dropped by the router's source filter (drop_ssa_source), ${f.reachedEndpoints} SYNs reached the endpoints; open connections ${f.open}, broken ${f.broken}`);
  out();
  out('second chance on the endpoints (counters above zero):');
  for (const [e, c] of Object.entries(r.chance)) out(`  ${e}: ${Object.entries(c).map(([k, v]) => `${k} ${v}`).join(', ') || 'none'}`);
  const landed = r.start.onOwner === r.start.opened && r.steps.every((s) => s.fresh.onOwner === s.fresh.opened) && r.content.onHolder === r.content.fetched;
  const kept = r.steps.every((s) => s.broken === 0) && f.broken === 0;
  const filtered = f.dropped >= f.sent;
  out();
  out(landed ? 'OK: every connection and object reached its slice\'s owner' : 'FAILED: a connection or an object reached another endpoint than its slice\'s owner');
  out(kept ? 'OK: no connection broke, on moved slices or not' : 'FAILED: connections broke');
  out(filtered ? 'OK: the source filter dropped every SYN of the flood' : `FAILED: the source filter dropped ${f.dropped} of ${f.sent} SYNs`);
  return landed && kept && filtered;
}

/** The issue's scale, and the smaller one of test/netns/ssa-demo.test.ts (--small): 256 /72 slices, fewer clients. */
const SCALES = {
  full: { sources: 16, randomConns: 48, contentConns: 16, objects: 300, flood: 2_000, sliceLength: 78, windowMs: 3_000 },
  small: { sources: 6, randomConns: 12, contentConns: 6, objects: 60, flood: 200, sliceLength: 72, windowMs: 2_000 },
} as const;

async function main(args: readonly string[]): Promise<boolean> {
  const unknown = args.find((a) => a !== '--small' && a !== '--json');
  if (unknown !== undefined) throw new Error(`Expected --small or --json but received ${JSON.stringify(unknown)}`);
  requireNetnsPrivileges(['ip', 'ping', 'sysctl', 'ethtool', 'dig']);
  log(`namespaces ${runPrefix}-*`);
  const r = await runScenario({ ...SCALES[args.includes('--small') ? 'small' : 'full'], dir, log });
  const ok = report(r);
  // One line for test/netns/ssa-demo.test.ts: the counts as data.
  if (args.includes('--json')) out(`JSON ${JSON.stringify(r)}`);
  return ok;
}

const dir = mkdtempSync(join(tmpdir(), 'ssa-demo-'));
// process.exit, not exitCode: a handle left open (an agent's pipe, a timer) must not keep the demo alive after its verdict.
process.exit(await runMain(() => main(process.argv.slice(2)), { log, cleanup: () => rmSync(dir, { recursive: true, force: true }) }));
