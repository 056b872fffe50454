// Rebuilding a Maglev table when its backends change, keeping GLB director's second chance: a
// row whose backend changes remembers the previous one as its secondary. Used by load balancers
// on every backend change (add, remove, drain, weight) and by bench/maglev.ts.
import { createHash } from 'node:crypto';

import { invalid } from '../errors.js';
import { canonicalBackends, checkSize, FREE_ROW, populate, type MaglevBackend, type MaglevTable } from './maglev.js';

/**
 * How primaries are chosen. 'stateless': a fresh Maglev table for the new list, a function of
 * the list alone, so hosts that check backends on their own agree again as soon as their lists
 * agree; some rows of unchanged backends move too (second chance covers them). 'fewest': only
 * as many rows move as the new quotas require, but the table depends on every earlier change,
 * so hosts must share it (a table computed in one place and published).
 */
export type RebuildMoves = 'stateless' | 'fewest';

export interface RebuildOptions {
  /** Default 'stateless'. */
  readonly moves?: RebuildMoves;
  /**
   * Backends no row may name any more, not even as a secondary: dead for good, or drained past
   * their deadline. A row whose secondary is forgotten has no second chance (secondary = primary);
   * a row whose previous primary is forgotten keeps its secondary.
   */
  readonly forget?: readonly string[];
}

/**
 * The table for `backends` after `previous`. Primaries: see RebuildMoves; with 'fewest' (the
 * population loop of src/lb/maglev.ts started from the previous rows) adding one of N backends
 * moves just the rows it is owed and removing one moves just its rows. Every row whose primary
 * changes gets the previous primary as secondary (GLB's rule), so that connections the previous
 * backend still holds survive through second chance, unless that one is forgotten (dead: then
 * the row keeps its secondary); other rows keep their secondary. A backend
 * left out of `backends` (drained, or dead) stays a secondary until it is forgotten.
 * Secondaries depend on `previous` in both modes; tableDigest() compares two tables cheaply.
 */
export function rebuild(previous: MaglevTable, backends: readonly MaglevBackend[], options: RebuildOptions = {}): MaglevTable {
  const active = canonicalBackends(backends);
  const size = checkSize(previous.size, active.length, 'previous.size');
  const forget = forgetSet(options.forget, active.map((b) => b.name));
  const moves = options.moves ?? 'stateless';
  if (moves !== 'stateless' && moves !== 'fewest') invalid('options.moves', "'stateless' or 'fewest'", moves);
  // Rows are indexes, not names, all the way: into `universe`, every name either table knows.
  const universe = sortedNames([...active.map((b) => b.name), ...previous.names]);
  const at = new Map(universe.map((n, i) => [n, i]));
  const fromPrevious = previous.names.map((n) => at.get(n)!);
  const fromActive = active.map((b) => at.get(b.name)!);
  const toActive = new Int32Array(universe.length).fill(-1);
  fromActive.forEach((u, i) => (toActive[u] = i));
  const forgotten = universe.map((n) => forget.has(n));
  const before = new Uint32Array(size);
  for (let r = 0; r < size; r++) before[r] = indexAt(previous, previous.primary, r, fromPrevious);
  const rows = new Uint32Array(size).fill(FREE_ROW);
  if (moves === 'fewest') for (let r = 0; r < size; r++) rows[r] = toActive[before[r]!]! < 0 ? FREE_ROW : toActive[before[r]!]!;
  populate(active, size, rows);

  const primary = new Uint32Array(size);
  const secondary = new Uint32Array(size);
  const used = new Uint8Array(universe.length);
  for (const u of fromActive) used[u] = 1;
  for (let r = 0; r < size; r++) {
    const now = fromActive[rows[r]!]!;
    const was = before[r]!;
    // A forgotten previous primary (dead) holds no connection to give a chance to: the row keeps
    // the secondary it had, which may be a draining backend whose connections still run.
    const had = indexAt(previous, previous.secondary, r, fromPrevious);
    const kept = was === now || forgotten[was] ? had : was;
    primary[r] = now;
    secondary[r] = forgotten[kept] ? now : kept;
    used[secondary[r]!] = 1;
  }
  // Names no row refers to any more leave the table, so that it does not grow with every change.
  const names = universe.filter((_, u) => used[u] === 1);
  const compact = new Uint32Array(universe.length);
  names.forEach((n, i) => (compact[at.get(n)!] = i));
  for (let r = 0; r < size; r++) {
    primary[r] = compact[primary[r]!]!;
    secondary[r] = compact[secondary[r]!]!;
  }
  return { size, names, active, primary, secondary };
}

function sortedNames(names: readonly string[]): string[] {
  return [...new Set(names)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/** A row's backend in `previous`, as an index into the universe of names. */
function indexAt(table: MaglevTable, column: Uint32Array, row: number, fromPrevious: readonly number[]): number {
  const u = fromPrevious[column[row]!];
  if (u === undefined) invalid(`previous row ${row}`, `an index below ${table.names.length} (the names of the table)`, column[row]);
  return u;
}

function forgetSet(forget: readonly string[] | undefined, active: readonly string[]): Set<string> {
  if (forget === undefined) return new Set();
  if (!Array.isArray(forget)) invalid('options.forget', 'an array of backend names', forget);
  const set = new Set(forget);
  for (const name of active) {
    if (set.has(name)) invalid('options.forget', 'names of backends left out of the new list', name);
  }
  return set;
}

/** Row counts: how many rows move (primary changes) between two tables of one size. */
export function movedRows(before: MaglevTable, after: MaglevTable): number {
  if (before.size !== after.size) invalid('after.size', `the size of the table before (${before.size})`, after.size);
  let moved = 0;
  for (let r = 0; r < before.size; r++) if (before.names[before.primary[r]!] !== after.names[after.primary[r]!]) moved++;
  return moved;
}

/**
 * A SHA-256 of a table (size, names, active backends and weights, both columns): equal digests,
 * equal tables. Hosts compare digests to check that they agree.
 */
export function tableDigest(table: MaglevTable): string {
  const hash = createHash('sha256');
  hash.update(JSON.stringify({ size: table.size, names: table.names, active: table.active }));
  hash.update(new Uint8Array(table.primary.buffer, table.primary.byteOffset, table.primary.byteLength));
  hash.update(new Uint8Array(table.secondary.buffer, table.secondary.byteOffset, table.secondary.byteLength));
  return hash.digest('hex');
}
