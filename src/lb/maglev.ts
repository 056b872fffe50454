// Maglev lookup tables (Eisenbud et al., "Maglev: A Fast and Reliable Software Network Load
// Balancer", NSDI'16, section 3.4): flow hash -> backend, the same on every load-balancer host.
// Used by src/lb/second-chance.ts (rebuilds), bench/maglev.ts and, later, the flow-hash key kind.
import { invalid } from '../errors.js';
import { finish, step } from './flow-hash.js';

/** Katran's and Envoy's default: a prime well above 100 x the backends keeps imbalance under 1%. */
export const MAGLEV_DEFAULT_SIZE = 65537;
/** Rows are 32-bit indexes in memory and in the image; 2^24 rows (64 MiB a column) is plenty. */
export const MAGLEV_MAX_SIZE = 1 << 24;
/** Weights are small integers, so that size x weight stays exact in a double. */
export const MAGLEV_MAX_WEIGHT = 65535;

/** A backend: `name` identifies it on every host (its address is a good name); weight 1 by default. */
export interface MaglevBackend {
  readonly name: string;
  readonly weight?: number;
}

/** A backend after validation: weight filled in. */
export interface WeightedBackend {
  readonly name: string;
  readonly weight: number;
}

export interface MaglevOptions {
  /** Rows: a prime, at least the number of backends. Default 65537. */
  readonly size?: number;
}

/**
 * A table: row r (flow hash mod size) sends new flows to `names[primary[r]]`; a packet its
 * primary has no connection for gets a second chance at `names[secondary[r]]` (the same index:
 * no second chance). `names` is every backend a row refers to, canonical order; `active` the
 * ones that take new flows, canonical order, with their weights.
 */
export interface MaglevTable {
  readonly size: number;
  readonly names: readonly string[];
  readonly active: readonly WeightedBackend[];
  readonly primary: Uint32Array;
  readonly secondary: Uint32Array;
}

export function isPrime(n: number): boolean {
  if (n < 2) return false;
  if (n % 2 === 0) return n === 2;
  for (let d = 3; d * d <= n; d += 2) if (n % d === 0) return false;
  return true;
}

/**
 * Validates a backend list and puts it in canonical order: sorted by name in UTF-16 code units
 * (the default order of Array.prototype.sort), so that every host derives the same table from
 * the same set however its list is ordered. Duplicate names are refused, not merged.
 */
export function canonicalBackends(backends: readonly MaglevBackend[], path = 'backends'): WeightedBackend[] {
  if (!Array.isArray(backends) || backends.length === 0) invalid(path, 'a non-empty array of backends', backends);
  const out = backends.map((b, i) => {
    if (typeof b !== 'object' || b === null) invalid(`${path}[${i}]`, 'an object with a name', b);
    if (typeof b.name !== 'string' || b.name.length === 0) invalid(`${path}[${i}].name`, 'a non-empty string', b.name);
    const weight = b.weight ?? 1;
    if (!Number.isInteger(weight) || weight < 1 || weight > MAGLEV_MAX_WEIGHT) {
      invalid(`${path}[${i}].weight`, `an integer from 1 to ${MAGLEV_MAX_WEIGHT}`, b.weight);
    }
    return { name: b.name, weight };
  });
  const seen = new Map<string, number>();
  out.forEach((b, i) => {
    const first = seen.get(b.name);
    if (first !== undefined) invalid(`${path}[${i}].name`, `a name that ${path}[${first}] does not have`, b.name);
    seen.set(b.name, i);
  });
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** Checks a table size: a prime from 2 to MAGLEV_MAX_SIZE, at least `backends`. */
export function checkSize(size: unknown, backends: number, path = 'size'): number {
  if (typeof size !== 'number' || !Number.isInteger(size) || size > MAGLEV_MAX_SIZE || !isPrime(size)) {
    invalid(path, `a prime number of rows up to ${MAGLEV_MAX_SIZE}`, size);
  }
  if (size < backends) invalid(path, `a prime at least the number of backends (${backends})`, size);
  return size;
}

/** A 64-bit hash of a name's UTF-8 bytes under `seed`, from the flow hash's steps. */
function nameHash(name: string, seed: bigint): bigint {
  const bytes = new TextEncoder().encode(name);
  const padded = new Uint8Array(Math.ceil(bytes.length / 8) * 8);
  padded.set(bytes);
  const view = new DataView(padded.buffer);
  let h = step(seed, BigInt(bytes.length));
  for (let at = 0; at < padded.length; at += 8) h = step(h, view.getBigUint64(at, true));
  return finish(h);
}

// The two seeds of the paper's h1 (offset) and h2 (skip): fixed forever, since every host and
// every version must agree ('maglev o' and 'maglev s' in ASCII).
const OFFSET_SEED = 0x6d61676c6576206fn;
const SKIP_SEED = 0x6d61676c65762073n;

/** Where a backend's preference list starts and how it steps: the paper's offset and skip. */
export function permutationOf(name: string, size: number): { offset: number; skip: number } {
  const offset = Number(nameHash(name, OFFSET_SEED) % BigInt(size));
  const skip = Number(nameHash(name, SKIP_SEED) % BigInt(size - 1)) + 1;
  return { offset, skip };
}

/**
 * Rows each backend is owed: size x weight / total, rounded down, the rows left over going one
 * each to the largest remainders (ties to the earlier in canonical order). Equal weights give
 * every backend floor or ceil of size / N.
 */
export function quotasOf(backends: readonly WeightedBackend[], size: number): number[] {
  const total = backends.reduce((sum, b) => sum + b.weight, 0);
  const quotas = backends.map((b) => Math.floor((size * b.weight) / total));
  let left = size - quotas.reduce((sum, q) => sum + q, 0);
  const byRemainder = backends.map((b, i) => ({ i, rest: (size * b.weight) % total }));
  byRemainder.sort((a, b) => b.rest - a.rest || a.i - b.i);
  for (const { i } of byRemainder) {
    if (left === 0) break;
    quotas[i]!++;
    left--;
  }
  return quotas;
}

/** A row no backend holds yet. */
export const FREE_ROW = 0xffffffff;

/**
 * The population loop of the paper (its Pseudocode 1), with quotas: backends take turns in
 * canonical order, each claiming the next row of its permutation that is free, while it is owed
 * rows. Given `rows` (row -> index into `backends`, or FREE_ROW) from an earlier table, a row
 * is also up for claiming while its holder has more than its quota: only as many rows change
 * hands as the new quotas require (src/lb/second-chance.ts). Fills `rows` in place.
 */
export function populate(backends: readonly WeightedBackend[], size: number, rows = new Uint32Array(size).fill(FREE_ROW)): Uint32Array {
  const n = backends.length;
  const quotas = quotasOf(backends, size);
  const offset = new Float64Array(n);
  const skip = new Float64Array(n);
  backends.forEach((b, i) => {
    const p = permutationOf(b.name, size);
    offset[i] = p.offset;
    skip[i] = p.skip;
  });
  const next = new Float64Array(n);
  const owned = new Float64Array(n);
  for (const r of rows) if (r !== FREE_ROW) owned[r]!++;
  // Free rows and surplus rows together are exactly what the backends under quota are owed; a
  // row skipped once never becomes claimable later (free rows only fill, surpluses only
  // shrink), so each backend walks its permutation once.
  const claimable = (row: number, i: number): boolean => {
    const holder = rows[row]!;
    return holder === FREE_ROW || (holder !== i && owned[holder]! > quotas[holder]!);
  };
  for (let owed = deficit(quotas, owned); owed > 0; ) {
    for (let i = 0; i < n && owed > 0; i++) {
      if (owned[i]! >= quotas[i]!) continue;
      let row = (offset[i]! + next[i]! * skip[i]!) % size;
      while (!claimable(row, i)) row = (offset[i]! + ++next[i]! * skip[i]!) % size;
      if (rows[row] !== FREE_ROW) owned[rows[row]!]!--;
      rows[row] = i;
      next[i]!++;
      owned[i]!++;
      owed--;
    }
  }
  return rows;
}

function deficit(quotas: readonly number[], owned: Float64Array): number {
  let owed = 0;
  quotas.forEach((q, i) => (owed += Math.max(0, q - owned[i]!)));
  return owed;
}

/** A fresh table for `backends`: no history, so every row's secondary is its primary. */
export function buildMaglev(backends: readonly MaglevBackend[], options: MaglevOptions = {}): MaglevTable {
  const active = canonicalBackends(backends);
  const size = checkSize(options.size ?? MAGLEV_DEFAULT_SIZE, active.length, 'options.size');
  const primary = populate(active, size);
  return { size, names: active.map((b) => b.name), active, primary, secondary: primary.slice() };
}

/** The row a flow hash (src/lb/flow-hash.ts) falls in, and the backends it names. */
export function lookupRow(table: MaglevTable, hash: number): { row: number; primary: string; secondary: string } {
  if (!Number.isInteger(hash) || hash < 0 || hash > 0xffffffff) invalid('hash', 'an integer from 0 to 4294967295', hash);
  const row = hash % table.size;
  return { row, primary: table.names[table.primary[row]!]!, secondary: table.names[table.secondary[row]!]! };
}
