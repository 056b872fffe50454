// Operations on a slice set (src/ssa/slice-set.ts): split, merge, move with a window, and settling
// windows that have ended. Each returns a new set and keeps the published prefixes covered exactly.
import { describe, InvalidOptionError, InvalidSliceError, SliceConflictError } from '../errors.js';
import { formatPrefix, largestAt, lastOf, sizeOf, type PrefixInput } from './prefix.js';
import { formatSlice, indexOfSlice, type AddressSlice, type SliceMove, type SliceSet } from './slice-set.js';

/** How long the old owner keeps accepting a moved slice unless told otherwise: two DNS TTLs of 30 s. */
export const DEFAULT_WINDOW_MS = 60_000;
/** At most this many slices from one split; more is a mistake (a /64 cut to /128s), not a plan. */
const SPLIT_MAX = 1 << 20;

export interface MoveOptions {
  /** How long the old owner keeps accepting (ms); 0 moves at once, without a window. */
  readonly windowMs?: number;
  /** The time the move starts (ms since the epoch), Date.now() unless given. */
  readonly now?: number;
}

/** The window's end for a move made now, or undefined for a move without a window. */
export function windowOf(options: MoveOptions | undefined): { now: number; until: number | undefined } {
  const windowMs = options?.windowMs ?? DEFAULT_WINDOW_MS;
  const now = options?.now ?? Date.now();
  if (!Number.isFinite(windowMs) || windowMs < 0) throw new InvalidOptionError(`Expected a window of 0 ms or more for windowMs but received ${describe(windowMs)}`);
  if (!Number.isFinite(now)) throw new InvalidOptionError(`Expected ms since the epoch for now but received ${describe(now)}`);
  return { now, until: windowMs === 0 ? undefined : now + windowMs };
}

/**
 * The slice given to a new owner; the old one stays in `moving` until the window ends. A caller
 * moving many slices passes one `window` per old owner: a million moves then share a few objects.
 */
export function moved(slice: AddressSlice, owner: string, until: number | undefined, window?: SliceMove): AddressSlice {
  if (until === undefined) return { network: slice.network, length: slice.length, owner };
  return { network: slice.network, length: slice.length, owner, moving: window ?? { from: slice.owner, until } };
}

/** Refuses to move a slice again while its last move's window is open: the first old owner would lose its flows. */
export function checkSettled(slice: AddressSlice, now: number): void {
  if (slice.moving !== undefined && slice.moving.until > now) {
    throw new SliceConflictError(`Expected a slice without an open move window for the move but received ${formatSlice(slice)} at ${now}; settle it after ${slice.moving.until}`);
  }
}

function withSlices(set: SliceSet, slices: AddressSlice[]): SliceSet {
  return { prefixes: set.prefixes, slices };
}

/** One slice cut into the 2^(newLength - length) slices of newLength, with its owner and move window. */
export function split(set: SliceSet, slice: PrefixInput, newLength: number): SliceSet {
  const i = indexOfSlice(set, slice, 'slice');
  const s = set.slices[i]!;
  if (!Number.isInteger(newLength) || newLength <= s.length || newLength > 128 || 2 ** (newLength - s.length) > SPLIT_MAX) {
    throw new InvalidSliceError(`Expected a length from ${s.length + 1} to ${Math.min(128, s.length + 20)} to split ${formatPrefix(s)} for newLength but received ${describe(newLength)}`);
  }
  const size = sizeOf(newLength);
  const parts: AddressSlice[] = [];
  for (let at = s.network; at <= lastOf(s); at += size) parts.push({ ...s, network: at, length: newLength });
  return withSlices(set, [...set.slices.slice(0, i), ...parts, ...set.slices.slice(i + 1)]);
}

function sameMove(a: SliceMove | undefined, b: SliceMove | undefined): boolean {
  return a === b || (a !== undefined && b !== undefined && a.from === b.from && a.until === b.until);
}

/**
 * Slices that together fill one prefix exactly (siblings, or a prefix's descendants), with one
 * owner and one move state, made that one prefix. Refuses slices that leave a gap or spill over
 * the prefix, and mixed owners (merging would move addresses without a window).
 */
export function merge(set: SliceSet, slices: readonly PrefixInput[]): SliceSet {
  if (!Array.isArray(slices) || slices.length < 2) throw new InvalidSliceError(`Expected two or more slices to merge for slices but received ${describe(slices)}`);
  const indices = slices.map((s, k) => indexOfSlice(set, s, `slices[${k}]`)).sort((a, b) => a - b);
  const first = set.slices[indices[0]!]!;
  const last = set.slices[indices[indices.length - 1]!]!;
  const parent = largestAt(first.network, lastOf(last));
  const shown = indices.map((i) => formatSlice(set.slices[i]!)).join(', ');
  if (lastOf(parent) !== lastOf(last) || indices.some((i, k) => k > 0 && i !== indices[k - 1]! + 1)) {
    throw new InvalidSliceError(`Expected slices that fill one prefix exactly (siblings) to merge but received ${shown}`);
  }
  for (const i of indices) {
    const s = set.slices[i]!;
    if (s.owner !== first.owner || !sameMove(s.moving, first.moving)) {
      throw new InvalidSliceError(`Expected slices of one owner and one move state to merge into ${formatPrefix(parent)} but received ${shown}`);
    }
  }
  const one: AddressSlice = { ...first, network: parent.network, length: parent.length };
  return withSlices(set, [...set.slices.slice(0, indices[0]!), one, ...set.slices.slice(indices[indices.length - 1]! + 1)]);
}

/**
 * A slice given to another owner. With a window (the default, DEFAULT_WINDOW_MS) the slice records
 * `moving: { from: old owner, until }`: the old owner keeps accepting until then. Refuses a slice
 * whose previous move's window is still open, and a move to its own owner.
 */
export function move(set: SliceSet, slice: PrefixInput, owner: string, options?: MoveOptions): SliceSet {
  const i = indexOfSlice(set, slice, 'slice');
  const s = set.slices[i]!;
  if (typeof owner !== 'string' || owner.length === 0 || owner.length > 255) throw new InvalidSliceError(`Expected an owner name (1 to 255 characters) for owner but received ${describe(owner)}`);
  if (owner === s.owner) throw new InvalidSliceError(`Expected an owner other than the slice's own for owner but received '${owner}' for ${formatSlice(s)}`);
  const { now, until } = windowOf(options);
  checkSettled(s, now);
  const slices = [...set.slices];
  slices[i] = moved(s, owner, until);
  return withSlices(set, slices);
}

/** The set with every window that has ended by `now` closed: the old owners are out. The same set if none has. */
export function settle(set: SliceSet, now: number = Date.now()): SliceSet {
  if (!Number.isFinite(now)) throw new InvalidOptionError(`Expected ms since the epoch for now but received ${describe(now)}`);
  if (!set.slices.some((s) => s.moving !== undefined && s.moving.until <= now)) return set;
  return withSlices(set, set.slices.map((s) => (s.moving !== undefined && s.moving.until <= now ? { network: s.network, length: s.length, owner: s.owner } : s)));
}

/** The slices whose move window is open at `now`: what a fast path must still let the old owner accept. */
export function openMoves(set: SliceSet, now: number = Date.now()): AddressSlice[] {
  return set.slices.filter((s) => s.moving !== undefined && s.moving.until > now);
}
