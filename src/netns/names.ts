// src/netns/names.ts: the run prefix and the names built from it. Every namespace and interface
// the kit makes starts with the prefix, which is what lets a sweep remove one run's objects only.
import { randomBytes } from 'node:crypto';

/** Every run prefix has this shape: `su` + 6 hex digits (8 characters). */
export const RUN_PREFIX_RE = /^su[0-9a-f]{6}$/;

/** Linux interface names hold at most IFNAMSIZ - 1 = 15 characters. */
export const MAX_IFNAME_LENGTH = 15;

/** A fresh random run prefix. Runs (and test files, which vitest loads in isolation) never share one. */
export function newRunPrefix(): string {
  return `su${randomBytes(3).toString('hex')}`;
}

/**
 * The prefix of this run (this module instance: vitest isolates test files, so each file has its
 * own). Every namespace and interface the kit makes starts with it, which is what lets
 * `sweep(runPrefix)` remove exactly this run's objects and nothing of a concurrent run.
 */
export const runPrefix: string = newRunPrefix();

/** Throws unless `prefix` is a run prefix; stops `sweep('')` from deleting every namespace. */
export function assertRunPrefix(prefix: string): void {
  if (!RUN_PREFIX_RE.test(prefix)) {
    throw new Error(`not a run prefix: ${JSON.stringify(prefix)} (expected su + 6 hex digits, e.g. ${runPrefix})`);
  }
}

/**
 * `${prefix}-${suffix}`, checked to fit an interface name (namespaces use the same names, so one
 * rule covers both).
 */
export function runName(suffix: string, prefix: string = runPrefix): string {
  assertRunPrefix(prefix);
  if (!/^[A-Za-z0-9_]+$/.test(suffix)) throw new Error(`bad name suffix ${JSON.stringify(suffix)}`);
  const name = `${prefix}-${suffix}`;
  if (name.length > MAX_IFNAME_LENGTH) {
    throw new Error(`name ${name} is longer than ${MAX_IFNAME_LENGTH} characters (IFNAMSIZ)`);
  }
  return name;
}

/** True if `name` belongs to the run with this prefix. */
export function isRunName(name: string, prefix: string = runPrefix): boolean {
  return name.startsWith(prefix);
}
