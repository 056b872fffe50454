// Rebalancing a slice set (src/ssa/slice-set.ts) to N endpoints with the fewest slices moved: each
// endpoint ends with the floor or ceiling of its (weighted) share of the address space. Used by operators and the demo.
import { describe, InvalidOptionError, SliceConflictError } from '../errors.js';
import { moved, settle, windowOf, type MoveOptions } from './slice-ops.js';
import { formatSlice, type AddressSlice, type SliceMove, type SliceSet } from './slice-set.js';

/** An endpoint to rebalance to; a weight (a positive integer, 1 unless given) scales its share. */
export interface Endpoint {
  readonly name: string;
  readonly weight?: number;
}

export interface RebalanceResult {
  readonly set: SliceSet;
  /** Slices that changed owner (after any split a mixed-size set needed). */
  readonly moved: number;
  /**
   * The unit: the smallest slice's length. Shares are counted in slices of this length, and
   * `surplus` is in these units: the sum over owners of what they hold above their target, a
   * lower bound for any rebalance; with slices of one size, `moved` equals it.
   */
  readonly unitLength: number;
  readonly surplus: bigint;
  /** Units per endpoint after the rebalance (floor or ceiling of its share). */
  readonly targets: ReadonlyMap<string, bigint>;
}

interface Piece {
  network: bigint;
  length: number;
  /** The index of the slice it was cut from. */
  origin: number;
  /** The endpoint it goes to, once dealt. */
  to?: string;
}

function endpointsOf(endpoints: readonly (string | Endpoint)[]): { name: string; weight: bigint }[] {
  if (!Array.isArray(endpoints) || endpoints.length === 0) throw new InvalidOptionError(`Expected a non-empty array of endpoints for endpoints but received ${describe(endpoints)}`);
  const seen = new Set<string>();
  return endpoints.map((e, i) => {
    const name = typeof e === 'string' ? e : e?.name;
    const weight = typeof e === 'string' ? 1 : e?.weight ?? 1;
    if (typeof name !== 'string' || name.length === 0 || name.length > 255) throw new InvalidOptionError(`Expected an endpoint name (1 to 255 characters) for endpoints[${i}] but received ${describe(name)}`);
    if (seen.has(name)) throw new InvalidOptionError(`Expected each endpoint once for endpoints[${i}] but received '${name}' again`);
    if (!Number.isSafeInteger(weight) || weight < 1) throw new InvalidOptionError(`Expected a positive integer for endpoints[${i}].weight but received ${describe(weight)}`);
    seen.add(name);
    return { name, weight: BigInt(weight) };
  });
}

/**
 * Targets in units: floor(U * w / W) each, and the U - sum(floor) remaining units one each to
 * endpoints whose share is not whole, first to those holding more than their floor (each such
 * ceiling spares one unit of surplus, so this order gives the smallest total surplus).
 */
function targetsOf(endpoints: { name: string; weight: bigint }[], total: bigint, have: Map<string, bigint>): Map<string, bigint> {
  const sum = endpoints.reduce((a, e) => a + e.weight, 0n);
  const targets = new Map(endpoints.map((e) => [e.name, (total * e.weight) / sum]));
  let rest = total - [...targets.values()].reduce((a, t) => a + t, 0n);
  const above = (e: { name: string }): number => ((have.get(e.name) ?? 0n) > targets.get(e.name)! ? 0 : 1);
  const open = endpoints.filter((e) => (total * e.weight) % sum !== 0n).sort((a, b) => above(a) - above(b) || (a.name < b.name ? -1 : 1));
  for (const e of open) {
    if (rest === 0n) break;
    targets.set(e.name, targets.get(e.name)! + 1n);
    rest--;
  }
  return targets;
}

/** Per owner: units held, and settled (movable) slices counted by length; numbers per slice, bigints per owner. */
function holdings(slices: readonly AddressSlice[], unitLength: number, now: number) {
  const counts = new Map<string, { all: number[]; free: number[] }>();
  let last = '';
  let entry: { all: number[]; free: number[] } | undefined;
  for (let i = 0; i < slices.length; i++) {
    const s = slices[i]!;
    if (s.owner !== last || entry === undefined) {
      last = s.owner;
      entry = counts.get(last);
      if (entry === undefined) counts.set(last, (entry = { all: new Array<number>(unitLength + 1).fill(0), free: new Array<number>(unitLength + 1).fill(0) }));
    }
    entry.all[s.length]!++;
    if (s.moving === undefined || s.moving.until <= now) entry.free[s.length]!++;
  }
  const unitsOf = Array.from({ length: unitLength + 1 }, (_, l) => 1n << BigInt(unitLength - l));
  const have = new Map<string, bigint>();
  for (const [owner, c] of counts) have.set(owner, c.all.reduce((a, n, l) => a + BigInt(n) * unitsOf[l]!, 0n));
  return { have, counts, unitsOf };
}

/**
 * How many settled slices of each length an owner gives up to release `need` units: the biggest
 * first (fewest slices; with sizes that are powers of two, taking the biggest that fits is optimal),
 * and the length of one slice to carve if whole slices cannot make `need` exactly.
 */
function quotaOf(need: bigint, free: number[], unitsOf: bigint[]): { take: number[]; carve: number; rest: bigint } | bigint {
  const take = free.map(() => 0);
  for (let l = 0; l < free.length && need > 0n; l++) {
    const n = need / unitsOf[l]! < BigInt(free[l]!) ? Number(need / unitsOf[l]!) : free[l]!;
    take[l] = n;
    need -= BigInt(n) * unitsOf[l]!;
  }
  if (need === 0n) return { take, carve: -1, rest: 0n };
  for (let l = free.length - 1; l >= 0; l--) if (free[l]! > take[l]!) return { take, carve: l, rest: need };
  return need;
}

/** An owner that must give up slices still in open windows: named with one of them. */
function conflict(slices: readonly AddressSlice[], owner: string, need: bigint, now: number): never {
  const open = slices.find((s) => s.owner === owner && s.moving !== undefined && s.moving.until > now)!;
  throw new SliceConflictError(
    `Expected '${owner}' to release ${need} more units from settled slices but received only slices in open move windows, such as ${formatSlice(open)}; rebalance after ${open.moving!.until}`,
  );
}

/** Cuts `need` units out of a slice bigger than that: halves go to `out` until exactly `need` is taken. */
function carve(slice: AddressSlice, origin: number, need: bigint, unitLength: number, out: Piece[]): void {
  let network = slice.network;
  let length = slice.length;
  while (need > 0n) {
    length++;
    const half = 1n << BigInt(unitLength - length);
    if (need >= half) {
      out.push({ network, length, origin });
      need -= half;
      network += 1n << BigInt(128 - length);
    }
  }
}

/**
 * Pieces released by the owners with a surplus: one walk from the highest address down (it leaves
 * low slices in place and is deterministic), taking each owner's quota per length, then carving.
 */
function release(slices: readonly AddressSlice[], quotas: Map<string, { take: number[]; carve: number; rest: bigint }>, unitLength: number, now: number): Piece[] {
  const out: Piece[] = [];
  const carving = new Map<string, number>();
  for (let i = slices.length - 1; i >= 0; i--) {
    const s = slices[i]!;
    const q = quotas.get(s.owner);
    if (q === undefined || (s.moving !== undefined && s.moving.until > now)) continue;
    if (q.take[s.length]! > 0) {
      q.take[s.length]!--;
      out.push({ network: s.network, length: s.length, origin: i });
    } else if (q.carve === s.length && !carving.has(s.owner)) carving.set(s.owner, i);
  }
  for (const [owner, i] of carving) carve(slices[i]!, i, quotas.get(owner)!.rest, unitLength, out);
  return out;
}

/** Released pieces dealt to endpoints below target, biggest first; a piece no one can take whole is halved. */
function deal(pieces: Piece[], deficits: [string, bigint][], unitLength: number): Piece[] {
  const dealt: Piece[] = [];
  const byLength = new Map<number, Piece[]>();
  for (const p of pieces) (byLength.get(p.length) ?? byLength.set(p.length, []).get(p.length)!).push(p);
  for (let length = Math.min(...byLength.keys()); length <= unitLength; length++) {
    const list = byLength.get(length) ?? [];
    const units = 1n << BigInt(unitLength - length);
    let at = 0;
    for (const d of deficits) {
      while (at < list.length && d[1] >= units) {
        const p = list[at++]!;
        p.to = d[0];
        dealt.push(p);
        d[1] -= units;
      }
    }
    const half = 1n << BigInt(128 - length - 1);
    const next = byLength.get(length + 1) ?? byLength.set(length + 1, []).get(length + 1)!;
    for (const p of list.slice(at)) next.push({ network: p.network, length: length + 1, origin: p.origin }, { network: p.network + half, length: length + 1, origin: p.origin });
  }
  return dealt;
}

/** The new slice list: untouched slices as they were, each touched one replaced by its kept and moved parts. */
function rebuild(set: SliceSet, dealt: Piece[], until: number | undefined, unitLength: number): AddressSlice[] {
  const out = set.slices.slice();
  const parts = new Map<number, AddressSlice[]>();
  const windows = new Map<string, SliceMove>();
  for (const p of dealt) {
    const from = set.slices[p.origin]!;
    let window = windows.get(from.owner);
    if (window === undefined && until !== undefined) windows.set(from.owner, (window = { from: from.owner, until }));
    if (p.length === from.length) {
      out[p.origin] = moved(from, p.to!, until, window);
      continue;
    }
    const piece = moved({ network: p.network, length: p.length, owner: from.owner }, p.to!, until, window);
    (parts.get(p.origin) ?? parts.set(p.origin, []).get(p.origin)!).push(piece);
  }
  if (parts.size === 0) return out;
  // Carved slices become several: from the highest index down, so that earlier indices stay valid.
  for (const i of [...parts.keys()].sort((a, b) => b - a)) out.splice(i, 1, ...fill(set.slices[i]!, parts.get(i)!, unitLength));
  return out;
}

/** A carved slice: its moved pieces, and the rest (the fewest prefixes) kept by its owner, in address order. */
function fill(s: AddressSlice, moved: AddressSlice[], unitLength: number): AddressSlice[] {
  const taken = new Set(moved.map((m) => `${m.network}/${m.length}`));
  const out: AddressSlice[] = [];
  const walk = (network: bigint, length: number): void => {
    if (taken.has(`${network}/${length}`)) return void out.push(moved.find((m) => m.network === network && m.length === length)!);
    if (!moved.some((m) => m.network >= network && m.network < network + (1n << BigInt(128 - length)))) return void out.push({ ...s, network, length });
    if (length >= unitLength) return void out.push({ ...s, network, length });
    walk(network, length + 1);
    walk(network + (1n << BigInt(128 - length - 1)), length + 1);
  };
  walk(s.network, s.length);
  return out;
}

/**
 * The set dealt to `endpoints` moving the fewest slices: windows that have ended by `now` are
 * settled first; owners not listed give up everything; every endpoint ends with the floor or the
 * ceiling of its weighted share (counted in the smallest slice's size). Moved slices carry a move
 * window (options.windowMs). Slices of mixed sizes may be split where no whole slice fits a share.
 * Slices in an open window are not moved again; if an owner cannot release enough without them,
 * SliceConflictError names it.
 */
export function rebalance(set: SliceSet, endpoints: readonly (string | Endpoint)[], options?: MoveOptions): RebalanceResult {
  const list = endpointsOf(endpoints);
  const { now, until } = windowOf(options);
  const base = settle(set, now);
  const unitLength = base.slices.reduce((m, s) => (s.length > m ? s.length : m), 0);
  const { have, counts, unitsOf } = holdings(base.slices, unitLength, now);
  const total = [...have.values()].reduce((a, u) => a + u, 0n);
  const targets = targetsOf(list, total, have);
  const quotas = new Map<string, { take: number[]; carve: number; rest: bigint }>();
  let surplus = 0n;
  for (const [owner, units] of have) {
    const extra = units - (targets.get(owner) ?? 0n);
    if (extra <= 0n) continue;
    surplus += extra;
    const quota = quotaOf(extra, counts.get(owner)!.free, unitsOf);
    if (typeof quota === 'bigint') conflict(base.slices, owner, quota, now);
    quotas.set(owner, quota);
  }
  const pieces = release(base.slices, quotas, unitLength, now);
  const deficits = list.map((e): [string, bigint] => [e.name, targets.get(e.name)! - (have.get(e.name) ?? 0n)]).filter((d) => d[1] > 0n);
  const dealt = deal(pieces, deficits, unitLength);
  return { set: { prefixes: base.prefixes, slices: rebuild(base, dealt, until, unitLength) }, moved: dealt.length, unitLength, surplus, targets };
}
