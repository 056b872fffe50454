// The router of the structured-addressing world: examples/soft-unicast-router in namespace r with
// the configuration of a slice set (deployment.ts), reloaded by SIGHUP when slices move. Used by
// main.ts and test/netns/ssa-demo.test.ts.
import { renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import type { ssa } from '../../src/index.js';
import { spawnIn, waitFor, type SpawnedProcess } from '../../src/netns/index.js';
import { configText, ROUTER_SERVER } from './deployment.js';
import type { SsaWorld } from './world.js';

const ROUTER = fileURLToPath(new URL('../soft-unicast-router/main.js', import.meta.url));

export interface RouterStats {
  generation: number;
  /** Counters since the router started; `fates` by route counter name (drop_ssa_source, ...). */
  totals: { fates: Record<string, number> };
}

export interface RouterRun {
  readonly proc: SpawnedProcess;
  readonly file: string;
  readonly endpoints: number;
  generation: number;
}

const isStats = (line: string): boolean => line.startsWith('{') && line.includes('"generation"');

/** Writes the configuration of `set` (its open moves as secondaries) for a world of `endpoints` endpoints. */
export function writeConfig(file: string, set: ssa.SliceSet, endpoints: number): void {
  // Whole or not at all: the DNS agent follows the file and must never read half of it.
  writeFileSync(`${file}.new`, configText(set, endpoints));
  renameSync(`${file}.new`, file);
}

/** Starts the router on `file` (written by writeConfig); resolves once it prints its first stats line (attached, table live). */
export async function startRouter(world: SsaWorld, file: string, endpoints: number): Promise<RouterRun> {
  // The control socket beside the file, not /run/softunicast/r.sock: runs at the same time must not meet.
  const proc = spawnIn(world.router.ns, process.execPath, [ROUTER, '--config', file, '--host', ROUTER_SERVER, '--json', '--no-watch', '--no-pin', '--stats-interval', '0.5', '--socket', join(dirname(file), 'router.sock')]);
  const first = JSON.parse(await proc.waitForLine(isStats, 60_000)) as RouterStats;
  return { proc, file, endpoints, generation: first.generation };
}

/** Writes `set`'s configuration and reloads; resolves at the first stats line of the new table. */
export async function steer(run: RouterRun, set: ssa.SliceSet): Promise<void> {
  writeConfig(run.file, set, run.endpoints);
  run.proc.child.kill('SIGHUP');
  const line = await run.proc.waitForLine((l) => isStats(l) && (JSON.parse(l) as RouterStats).generation > run.generation, 60_000);
  run.generation = (JSON.parse(line) as RouterStats).generation;
}

/**
 * The route counters of the router's second stats line from now (it prints one every 0.5 s): every
 * packet sent before this call has met the XDP program by then (veth delivers at once, the program
 * runs as it receives).
 */
export async function settledTotals(run: RouterRun): Promise<Record<string, number>> {
  const from = run.proc.stdoutLines.length;
  const line = await waitFor(() => run.proc.stdoutLines.slice(from).filter(isStats)[1], { what: 'two stats lines from the router', timeoutMs: 10_000, intervalMs: 50 });
  return (JSON.parse(line) as RouterStats).totals.fates;
}
