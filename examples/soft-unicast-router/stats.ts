// The router's stats line: rates and drops between two counter snapshots, as one text line or
// one JSON object. Pure functions of Router.counters() snapshots; main.ts prints them.
import { ABI } from '../../src/generated/abi.js';
import type { RouterCounters } from '../../src/index.js';

/** A counter snapshot and when it was taken (milliseconds on a monotonic clock). */
export interface Sample {
  counters: RouterCounters;
  atMs: number;
}

/** Packets per second over an interval, by what happened to them. */
export interface Rates {
  /** Every packet the XDP program saw on the interface. */
  rx: number;
  /** For a slice of this host: passed to the kernel, or unwrapped from GUE and passed. */
  local: number;
  /** To another server of this data centre, in GUE or by L2 rewrite. */
  forwarded: number;
  /** In GUE to another data centre's endpoint. */
  encapsulated: number;
  /** Not managed by the router (no slice, not IP): passed to the kernel untouched. */
  passed: number;
  /** Every drop below. */
  dropped: number;
}

export interface Stats {
  /** Seconds between the two snapshots. */
  seconds: number;
  generation: number;
  pps: Rates;
  /** Packets dropped in the interval by reason (counter names of abi.h), non-zero ones only. */
  drops: Record<string, number>;
  unresolvedOwners: Record<string, string>;
  /** Owners peer health finds down now, and where their slices go (themselves: nowhere). */
  downOwners: Record<string, string>;
}

type Fates = RouterCounters['fates'];
type Program = RouterCounters['program'];
type Queue = RouterCounters['queues'][number];

/** The fast path's drop fates, by counter name ('drop_no_owner' -> 'drop_no_owner'). */
const ROUTE_DROPS = ABI.routeCounters.filter((c) => c.name.startsWith('drop_'));
/**
 * Drops outside the fast path, per queue: the kernel's XDP_STATISTICS and packets a worker had
 * no handler for. Counted with the fast path's so that "dropped" is every packet lost here.
 */
const QUEUE_DROPS: readonly { name: string; of: (q: Queue) => number }[] = [
  ...(['rx_dropped', 'rx_ring_full', 'rx_invalid_descs', 'tx_invalid_descs'] as const).map((name) => ({
    name,
    of: (q: Queue) => q.kernel[name],
  })),
  { name: 'rx_dropped_no_handler', of: (q: Queue) => q.rx_dropped_no_handler },
];

/** Counters only grow while a router lives; a negative step would be a bug, shown as 0. */
const step = (after: number, before: number) => Math.max(0, after - before);

function sumQueues(c: RouterCounters, of: (q: Queue) => number): number {
  return c.queues.reduce((sum, q) => sum + of(q), 0);
}

function dropsOf(c: RouterCounters): Record<string, number> {
  const out: Record<string, number> = {};
  for (const d of ROUTE_DROPS) out[d.name] = c.fates[d.name as keyof Fates];
  for (const d of QUEUE_DROPS) out[d.name] = sumQueues(c, d.of);
  return out;
}

const local = (f: Fates) => f.pass_local + f.decap_local;
const passed = (f: Fates, p: Program) => f.pass_unparsed + f.pass_unmanaged + p.pass_unmatched + p.pass_no_socket;
const forwarded = (f: Fates) => f.forward_server_gue + f.forward_server_l2;

/** Rates and drops between two snapshots of one router. */
export function statsBetween(before: Sample, after: Sample): Stats {
  const seconds = Math.max(after.atMs - before.atMs, 0) / 1000;
  const b = before.counters;
  const a = after.counters;
  const rate = (n: number) => (seconds > 0 ? n / seconds : 0);
  const drops: Record<string, number> = {};
  const db = dropsOf(b);
  let dropped = 0;
  for (const [name, n] of Object.entries(dropsOf(a))) {
    const d = step(n, db[name] ?? 0);
    dropped += d;
    if (d > 0) drops[name] = d;
  }
  return {
    seconds,
    generation: a.generation,
    pps: {
      rx: rate(step(a.program.packets, b.program.packets)),
      local: rate(step(local(a.fates), local(b.fates))),
      forwarded: rate(step(forwarded(a.fates), forwarded(b.fates))),
      encapsulated: rate(step(a.fates.encap_datacenter, b.fates.encap_datacenter)),
      passed: rate(step(passed(a.fates, a.program), passed(b.fates, b.program))),
      dropped: rate(dropped),
    },
    drops,
    unresolvedOwners: a.unresolvedOwners,
    downOwners: Object.fromEntries(Object.entries(a.health).filter(([, h]) => !h.up).map(([owner, h]) => [owner, h.slicesTo])),
  };
}

const pps = (n: number) => String(Math.round(n));

/**
 * "generation 2: rx 2000 pps, local 1000, forwarded 1000, encapsulated 0, passed 0, dropped 0 pps"
 * and, when there are any, "; drops in 5.0 s: drop_no_owner 12", "; unresolved: ams" and "; down: fra2 (to fra1)".
 */
export function statsLine(s: Stats, final = false): string {
  const r = s.pps;
  let line =
    `${final ? 'final: ' : ''}generation ${s.generation}: rx ${pps(r.rx)} pps, local ${pps(r.local)}, forwarded ${pps(r.forwarded)}, ` +
    `encapsulated ${pps(r.encapsulated)}, passed ${pps(r.passed)}, dropped ${pps(r.dropped)} pps`;
  const drops = Object.entries(s.drops);
  if (drops.length > 0) line += `; drops in ${s.seconds.toFixed(1)} s: ${drops.map(([name, n]) => `${name} ${n}`).join(', ')}`;
  const unresolved = Object.keys(s.unresolvedOwners);
  if (unresolved.length > 0) line += `; unresolved: ${unresolved.join(', ')}`;
  const down = Object.entries(s.downOwners);
  if (down.length > 0) line += `; down: ${down.map(([owner, to]) => (to === owner ? owner : `${owner} (to ${to})`)).join(', ')}`;
  return line;
}

/** One --json stats object: the line's numbers, plus the totals so far for machines that sum. */
export function statsJson(s: Stats, after: RouterCounters, time: Date, final = false): Record<string, unknown> {
  const round = (n: number) => Math.round(n * 10) / 10;
  return {
    time: time.toISOString(),
    ...(final && { final: true }),
    seconds: Math.round(s.seconds * 1000) / 1000,
    generation: s.generation,
    pps: Object.fromEntries(Object.entries(s.pps).map(([k, v]) => [k, round(v)])),
    drops: s.drops,
    unresolvedOwners: s.unresolvedOwners,
    health: after.health,
    totals: { lane: after.lane, fates: after.fates, xdp: after.xdp, program: after.program },
    retiredTables: after.retiredTables,
  };
}
