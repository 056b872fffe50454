// What a Router reports: the shape of counters() and explain()'s answer, and which lane finishes
// a packet of a given fate. Used by src/router/router.ts; the types are the package's (src/index.ts).
import type { ABI } from '../generated/abi.js';
import type { QueueCounters, SteerCounters } from '../xdp/counters.js';
import type { Lane } from './options.js';
import type { OwnerCounters } from './owner-counters.js';
import type { OwnerHealth } from './peer-health.js';

type Keys<L extends readonly { name: string }[]> = L[number]['name'];
/** How many packets met each fate in the fast path (names from SU_ROUTE_COUNTERS, abi.h). */
export type RouteFates = Record<Keys<typeof ABI.routeCounters>, number>;

/** Every counter of a router: plain numbers and strings, so that JSON.stringify takes it. */
export interface RouterCounters {
  /** Generation of the table the fast path is using (0 before the first publish). */
  generation: number;
  /** The lane that finishes packets (options.lane). */
  lane: Lane;
  /** Fates of every packet, both lanes: the XDP program's (`xdp`) and the workers' (`queues`). */
  fates: RouteFates;
  /** Fates the XDP program finished itself, summed over CPUs. */
  xdp: RouteFates;
  /** The XDP program's counters (local passes, decapsulations, redirects, ...). */
  program: SteerCounters;
  queues: (QueueCounters & { fates: RouteFates })[];
  /** Per owner name: packets and bytes the fast path sent to it, or dropped once it was known. */
  owners: OwnerCounters;
  /** Owners the fast path cannot send to yet, and why. */
  unresolvedOwners: Record<string, string>;
  /** Owners probed (or set by the operator): their health, and where their slices go now. */
  health: Record<string, OwnerHealth & { slicesTo: string }>;
  /** Replaced tables still waiting for a worker to finish a batch that may read them (the
   * router frees each itself once its workers have moved on). */
  retiredTables: number;
}

export interface Explanation {
  /** The counter the packet would be counted under, e.g. 'encap_datacenter'. */
  fate: string;
  /**
   * The frame as it leaves: transmitted, or passed to the kernel (unwrapped from GUE when it
   * came in it); null when it is dropped.
   */
  output: Uint8Array | null;
  /** Who finishes the packet: the XDP program ('xdp') or an AF_XDP worker ('worker'). */
  stage: 'xdp' | 'worker';
  /** The owner of the slice it is for, when the lookup found one. */
  owner: string | null;
}

const PASSES = new Set(['pass_local', 'decap_local', 'pass_unmanaged', 'pass_unparsed']);

/** Which lane finishes a packet of `fate` (bpf/steer.bpf.c decides the same way). */
export function stageOf(fate: string, lane: Lane, capturing: boolean): 'xdp' | 'worker' {
  if (PASSES.has(fate)) return 'xdp';
  if (lane === 'afxdp') return 'worker';
  const drop = fate.startsWith('drop_');
  return drop && capturing ? 'worker' : 'xdp';
}

/** Both lanes' fates added up: the XDP program's, then every queue's. */
export function sumFates(xdp: RouteFates, queues: readonly { fates: RouteFates }[]): RouteFates {
  const fates = { ...xdp };
  for (const q of queues) for (const key of Object.keys(fates) as (keyof RouteFates)[]) fates[key] += q.fates[key];
  return fates;
}
