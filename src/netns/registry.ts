// src/netns/registry.ts: the record of what this run made (namespaces, child processes), its
// marker file, and the exit hooks that clean up synchronously when a run dies without teardown.
import type { ChildProcess } from 'node:child_process';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';

import { runPrefix } from './names.js';

// Objects are registered BEFORE the command that creates them runs, so that whatever fails
// (this process, the command, an assertion) there is a record of what may exist. teardownRun()
// and the exit hook work from this record; sweep(runPrefix) then catches anything missed, and
// sweepStale() catches the runs of processes that died without tearing down (their marker file
// in MARKER_DIR outlives them).

/** What the registry needs of a process spawned in a namespace (src/netns/process.ts). */
export interface RegisteredChild {
  readonly child: ChildProcess;
  readonly pid: number | undefined;
  readonly ns: string;
  readonly running: boolean;
  stop(): Promise<unknown>;
}

interface Registry {
  readonly prefix: string;
  readonly namespaces: Set<string>;
  readonly children: Set<RegisteredChild>;
}

/** This run's record: processes register and unregister themselves, namespaces are added by
 * registerNamespace() and removed once deleted. */
export const registry: Registry = { prefix: runPrefix, namespaces: new Set(), children: new Set() };

/** Where each live run leaves `<prefix>` = {"pid","startTime"}; /run is a tmpfs, gone at reboot like /run/netns. */
export const MARKER_DIR = '/run/softunicast-netns';

/** The marker file of the run with this prefix. */
export function markerPath(prefix: string): string {
  return `${MARKER_DIR}/${prefix}`;
}

/** Field 22 of /proc/PID/stat (start time in clock ticks): tells a live owner from a reused pid. */
export function procStartTime(pid: number): string | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: count fields after the last ')'.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return rest[19];
  } catch {
    return undefined;
  }
}

let markerWritten = false;
function writeMarker(): void {
  if (markerWritten) return;
  markerWritten = true;
  // Best effort: without it only sweepStale() loses this run, the tests themselves still work.
  try {
    fs.mkdirSync(MARKER_DIR, { recursive: true });
    fs.writeFileSync(markerPath(runPrefix), JSON.stringify({ pid: process.pid, startTime: procStartTime(process.pid) }));
  } catch {
    /* ignore */
  }
}

/** Removes this run's marker once teardown has removed everything it made. */
export function removeMarker(): void {
  try {
    fs.unlinkSync(markerPath(runPrefix));
  } catch {
    /* already gone */
  }
  markerWritten = false;
}

/** Records namespace `ns` before the command that makes it runs. */
export function registerNamespace(ns: string): void {
  hookExit();
  writeMarker();
  registry.namespaces.add(ns);
}

/** What this run currently holds; for tests of the harness and for debugging leaks. */
export function registrySnapshot(): { prefix: string; namespaces: string[]; childPids: number[] } {
  return {
    prefix: runPrefix,
    namespaces: [...registry.namespaces].sort(),
    childPids: [...registry.children].flatMap((c) => (c.pid === undefined ? [] : [c.pid])),
  };
}

// Last resort when the process ends without teardownRun (a test crashed, the run was interrupted):
// synchronous, since nothing asynchronous runs in an 'exit' handler or a dying process. On
// 'exit', and on SIGTERM/SIGINT/SIGHUP: vitest stops its fork workers with SIGTERM (SIGKILL 500 ms
// later), and Node's default for those signals ends the process without an 'exit' event. The
// signal handlers clean up and then re-raise the signal, so the process still dies of it. One set
// of hooks per process, over every harness instance in it (vitest may evaluate this module once
// per test file in one worker). SIGKILL cannot be caught: sweepStale() covers that case.
const HOOK_KEY = Symbol.for('softunicast.test.netns.harness.registries');
type GlobalWithRegistries = typeof globalThis & { [HOOK_KEY]?: Set<Registry> };

function cleanupSync(registries: Set<Registry>): void {
  for (const reg of registries) {
    for (const c of reg.children) if (c.running) c.child.kill('SIGKILL');
    reg.children.clear();
    for (const ns of reg.namespaces) {
      const pids = spawnSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' }).stdout ?? '';
      for (const pid of parsePids(pids)) killQuietly(pid, 'SIGKILL');
      spawnSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
    }
    if (reg.namespaces.size > 0) {
      try {
        fs.unlinkSync(markerPath(reg.prefix));
      } catch {
        /* ignore */
      }
    }
    reg.namespaces.clear();
  }
}

let hooked = false;

/** Installs the exit hooks once per process (on the first object this run registers, so that a
 * program importing the kit gets no signal handlers until it makes something to clean up). */
function hookExit(): void {
  if (hooked) return;
  hooked = true;
  const g = globalThis as GlobalWithRegistries;
  let all = g[HOOK_KEY];
  if (all === undefined) {
    const created = new Set<Registry>();
    all = created;
    g[HOOK_KEY] = created;
    process.once('exit', () => cleanupSync(created));
    for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
      process.once(signal, () => {
        cleanupSync(created);
        process.kill(process.pid, signal); // our listener is gone: the default action ends us
      });
    }
  }
  all.add(registry);
}

/** Records a process started in a namespace, before anything can fail; it deletes itself on exit. */
export function registerChild(child: RegisteredChild): void {
  hookExit();
  registry.children.add(child);
}

/** Forgets a process once it has exited. */
export function unregisterChild(child: RegisteredChild): void {
  registry.children.delete(child);
}

/** The pids in `ip netns pids` output, without this process's own. */
export function parsePids(text: string): number[] {
  return text
    .split(/\s+/)
    .filter((s) => /^\d+$/.test(s))
    .map(Number)
    .filter((pid) => pid !== process.pid);
}

/** process.kill that ignores a process already gone. */
export function killQuietly(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    /* already gone */
  }
}
