// src/netns/teardown.ts: removing what a run made: teardownRun() for the run's own objects,
// sweep(prefix) for any run's leftovers, sweepStale() for runs whose process died. Used by test
// files (afterAll), the demo and the pps bench, and before the first namespace of a run is made.
import * as fs from 'node:fs';

import { deleteNamespace, deleteNamespaces, errorsText, listNamespaces } from './delete.js';
import { CommandError, execArgv, section } from './exec.js';
import { asArray, ipJson, isObject } from './iproute.js';
import { assertRunPrefix, isRunName, RUN_PREFIX_RE, runPrefix } from './names.js';
import { MARKER_DIR, markerPath, procStartTime, registry, removeMarker } from './registry.js';

export interface SweepResult {
  namespaces: string[];
  interfaces: string[];
  killedPids: number[];
}

/**
 * Deletes every namespace whose name starts with `prefix` (killing the processes in it first),
 * and every interface with that prefix left in the root namespace (e.g. a veth whose move into a
 * namespace never happened). Objects of other prefixes are not touched.
 */
export async function sweep(prefix: string): Promise<SweepResult> {
  assertRunPrefix(prefix);
  const out: SweepResult = { namespaces: [], interfaces: [], killedPids: [] };
  const errors: unknown[] = [];
  for (const ns of await listNamespaces()) {
    if (!isRunName(ns, prefix)) continue;
    try {
      out.killedPids.push(...(await deleteNamespace(ns)));
      out.namespaces.push(ns);
    } catch (err) {
      errors.push(err);
    }
  }
  const links = asArray(await ipJson(null, ['link', 'show'], 'listing interfaces'), 'listing interfaces');
  for (const l of links) {
    if (!isObject(l) || typeof l.ifname !== 'string' || !isRunName(l.ifname, prefix)) continue;
    const r = await execArgv(['ip', 'link', 'del', 'dev', l.ifname], { what: `deleting interface ${l.ifname}` });
    if (r.code === 0) out.interfaces.push(l.ifname);
    // "Cannot find device": deleting its veth peer earlier in this loop took it along.
    else if (!/Cannot find device|does not exist/.test(r.stderr)) {
      errors.push(new CommandError(`sweep ${prefix}: deleting interface ${l.ifname} failed` + section('stderr', r.stderr), [], r));
    }
  }
  if (errors.length > 0) throw new AggregateError(errors, `sweep ${prefix}: ${errorsText(errors)}`);
  return out;
}

/**
 * Sweeps the prefixes of runs whose process has died (their marker in MARKER_DIR names a pid that
 * is gone or now another process). Never touches a live run, so concurrent test runs are safe.
 * Runs once by itself before the first pair of a run is made.
 */
export async function sweepStale(): Promise<string[]> {
  let entries: string[];
  try {
    entries = fs.readdirSync(MARKER_DIR);
  } catch {
    return [];
  }
  const swept: string[] = [];
  for (const prefix of entries) {
    if (!RUN_PREFIX_RE.test(prefix) || prefix === runPrefix) continue;
    let alive = true;
    try {
      const m = JSON.parse(fs.readFileSync(markerPath(prefix), 'utf8')) as unknown;
      const pid = isObject(m) && typeof m.pid === 'number' ? m.pid : undefined;
      const start = isObject(m) && typeof m.startTime === 'string' ? m.startTime : undefined;
      alive = pid !== undefined && procStartTime(pid) !== undefined && (start === undefined || procStartTime(pid) === start);
    } catch {
      alive = false; // unreadable or torn marker: its writer is not around to finish it
    }
    if (alive) continue;
    await sweep(prefix);
    try {
      fs.unlinkSync(markerPath(prefix));
    } catch {
      /* ignore */
    }
    swept.push(prefix);
  }
  return swept;
}

let staleSwept: Promise<string[]> | undefined;

/** sweepStale() once per run, before its first namespace; a failure is reported to the caller
 * that waited for it and the next caller tries again. */
export async function sweepStaleOnce(): Promise<void> {
  staleSwept ??= sweepStale().catch((err: unknown) => {
    staleSwept = undefined; // report it now, try again with the next namespace
    throw err;
  });
  await staleSwept;
}

/**
 * The afterAll helper: stops every child this run started that still runs, deletes every
 * namespace it registered, then sweeps its prefix for anything else. Idempotent. Rejects (after
 * trying everything) if something could not be removed, so a leak fails the suite visibly.
 */
export async function teardownRun(): Promise<void> {
  const errors: unknown[] = [];
  await Promise.all(
    [...registry.children].map((c) =>
      c.stop().catch((err: unknown) => {
        errors.push(err);
      }),
    ),
  );
  try {
    await deleteNamespaces([...registry.namespaces]);
  } catch (err) {
    errors.push(err);
  }
  try {
    await sweep(runPrefix);
  } catch (err) {
    errors.push(err);
  }
  if (errors.length > 0) throw new AggregateError(errors, `teardown of netns run ${runPrefix}: ${errorsText(errors)}`);
  removeMarker();
}
