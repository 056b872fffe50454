// npm run demo:ssa: structured service addressing (issue 16) in network namespaces, with real TCP.
// A /64 cut into 16,384 /78 slices over three endpoints behind the library's router, published by
// the repo's DNS responder; clients by every rule; scale to five endpoints and back; objects by key.
// The steps are scenario.ts; this file prints them. Needs root.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { requireNetnsPrivileges, teardownRun } from '../../src/netns/index.js';
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
    out(`${s.label}: ${s.moved} slices moved; open connections ${s.open}, broken ${s.broken}; new connections ${s.fresh.opened}, on their slice's owner ${s.fresh.onOwner} (${spread(s.fresh)})`);
  }
  const pct = r.content.fetched === 0 ? 0 : (100 * r.content.onHolder) / r.content.fetched;
  out(`content addressing: ${r.content.fetched} objects fetched by key, ${r.content.onHolder} from the endpoint holding them (${pct.toFixed(1)}%)`);
  out('source filter: not run (the fast path has no source filter yet)');
  out();
  out('second chance on the endpoints (counters above zero):');
  for (const [e, c] of Object.entries(r.chance)) out(`  ${e}: ${Object.entries(c).map(([k, v]) => `${k} ${v}`).join(', ') || 'none'}`);
  const ok = r.start.onOwner === r.start.opened && r.steps.every((s) => s.fresh.onOwner === s.fresh.opened) && r.content.onHolder === r.content.fetched;
  out();
  out(ok ? 'OK: every connection and object reached its slice\'s owner' : 'FAILED: a connection or an object reached another endpoint than its slice\'s owner');
  return ok;
}

async function main(): Promise<boolean> {
  requireNetnsPrivileges();
  const dir = mkdtempSync(join(tmpdir(), 'ssa-demo-'));
  try {
    const r = await runScenario({ sources: 16, randomConns: 48, contentConns: 16, objects: 300, sliceLength: 78, windowMs: 3_000, dir, log });
    return report(r);
  } finally {
    await teardownRun();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().then(
  (ok) => process.exit(ok ? 0 : 1),
  (e: Error) => {
    process.stderr.write(`${e.stack ?? e.message}\n`);
    process.exit(1);
  },
);
