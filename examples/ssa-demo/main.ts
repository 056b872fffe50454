// npm run demo:ssa: structured service addressing (issue 16) in network namespaces, with real TCP.
// A /64 cut into 16,384 /78 slices over three endpoints behind the library's router, published by
// the repo's DNS responder; clients by every rule; scale to five endpoints and back; objects by key.
// The steps are scenario.ts; this file prints them. Needs root.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { requireNetnsPrivileges, runPrefix, teardownRun } from '../../src/netns/index.js';
import { runScenario, type Batch, type ScenarioResult } from './scenario.js';
import { SERVICE_PREFIX } from './world.js';

const out = (line = ''): void => void process.stdout.write(`${line}\n`);
const log = (line: string): void => void process.stderr.write(`[ssa-demo] ${line}\n`);

const spread = (b: Batch): string => Object.entries(b.byEndpoint).sort().map(([e, n]) => `${e} ${n}`).join(', ');

function report(r: ScenarioResult): boolean {
  out(`structured service addressing: ${SERVICE_PREFIX} as ${r.slices.toLocaleString('en')} slices, three endpoints behind one router`);
  out();
  out('dig (from the client namespace):');
  for (const d of r.dig) out(`  ${d.name}: APL ${d.apl}, AAAA ${d.aaaa}, TXT ${d.txt}`);
  out();
  out(`start: ${r.start.opened} long-lived connections (random, source-derived, content-addressed), ${r.start.onOwner} on their slice's owner (${spread(r.start)})`);
  for (const s of r.steps) {
    out(`${s.label}: ${s.moved} slices moved; open connections ${s.open}, broken ${s.broken} (on slices that did not move: ${s.brokenUnmoved}); new connections ${s.fresh.opened}, on their slice's owner ${s.fresh.onOwner} (${spread(s.fresh)})`);
  }
  const pct = r.content.fetched === 0 ? 0 : (100 * r.content.onHolder) / r.content.fetched;
  out(`content addressing: ${r.content.fetched} objects fetched by key, ${r.content.onHolder} from the endpoint holding them (${pct.toFixed(1)}%)`);
  const f = r.flood;
  out(`flood of non-conforming SYNs from one client source: ${f.sent} sent, ${f.reachedEndpoints} SYNs reached the endpoints (the fast path has no source filter yet); open connections ${f.open}, broken ${f.broken}`);
  out();
  out('second chance on the endpoints (counters above zero):');
  for (const [e, c] of Object.entries(r.chance)) out(`  ${e}: ${Object.entries(c).map(([k, v]) => `${k} ${v}`).join(', ') || 'none'}`);
  const ok = r.start.onOwner === r.start.opened && r.steps.every((s) => s.fresh.onOwner === s.fresh.opened && s.brokenUnmoved === 0) && r.content.onHolder === r.content.fetched && r.flood.broken === 0;
  const broken = r.steps.reduce((n, s) => n + s.broken, 0);
  out();
  if (broken > 0) {
    out(`Steering: the port-slice kind moves a slice at once (no window, no secondary owner): the ${broken} connections on moved`);
    out('slices broke. The address-slice kind (its secondary owner in the hop list) is what keeps them.');
  }
  out(ok ? 'OK: every connection and object reached its slice\'s owner; no connection on an unmoved slice broke' : 'FAILED: a connection or an object reached another endpoint than its slice\'s owner, or a connection on an unmoved slice broke');
  return ok;
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
  const dir = mkdtempSync(join(tmpdir(), 'ssa-demo-'));
  log(`namespaces ${runPrefix}-*`);
  try {
    const r = await runScenario({ ...SCALES[args.includes('--small') ? 'small' : 'full'], dir, log });
    const ok = report(r);
    // One line for test/netns/ssa-demo.test.ts: the counts as data.
    if (args.includes('--json')) out(`JSON ${JSON.stringify(r)}`);
    return ok;
  } finally {
    await teardownRun();
    rmSync(dir, { recursive: true, force: true });
  }
}

main(process.argv.slice(2)).then(
  (ok) => process.exit(ok ? 0 : 1),
  (e: Error) => {
    process.stderr.write(`${e.stack ?? e.message}\n`);
    process.exit(1);
  },
);
