// The router of the structured-addressing world: examples/soft-unicast-router in namespace r with
// the configuration of a slice set (deployment.ts), reloaded by SIGHUP when slices move. Used by
// main.ts and test/netns/ssa-demo.test.ts.
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import type { ssa } from '../../src/index.js';
import { spawnIn, type SpawnedProcess } from '../../src/netns/index.js';
import { configText } from './deployment.js';
import type { SsaWorld } from './world.js';

const ROUTER = fileURLToPath(new URL('../soft-unicast-router/main.js', import.meta.url));

export interface RouterStats {
  generation: number;
  [key: string]: unknown;
}

export interface RouterRun {
  readonly proc: SpawnedProcess;
  readonly file: string;
  readonly endpoints: number;
  generation: number;
}

const isStats = (line: string): boolean => line.startsWith('{') && line.includes('"generation"');

/** Starts the router with `set`; resolves once it prints its first stats line (attached, table live). */
export async function startRouter(world: SsaWorld, file: string, set: ssa.SliceSet, endpoints: number): Promise<RouterRun> {
  writeFileSync(file, configText(set, endpoints));
  const proc = spawnIn(world.router.ns, process.execPath, [ROUTER, '--config', file, '--host', 'r', '--json', '--no-watch', '--no-pin', '--stats-interval', '0.5']);
  const first = JSON.parse(await proc.waitForLine(isStats, 60_000)) as RouterStats;
  return { proc, file, endpoints, generation: first.generation };
}

/** Writes `set`'s configuration and reloads; resolves at the first stats line of the new table. */
export async function steer(run: RouterRun, set: ssa.SliceSet): Promise<void> {
  writeFileSync(run.file, configText(set, run.endpoints));
  run.proc.child.kill('SIGHUP');
  const line = await run.proc.waitForLine((l) => isStats(l) && (JSON.parse(l) as RouterStats).generation > run.generation, 60_000);
  run.generation = (JSON.parse(line) as RouterStats).generation;
}
