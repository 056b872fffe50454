// Counter snapshots: the native Float64Arrays turned into named objects, names from abi.h.
import { ABI } from '../generated/abi.js';

type Keys<L extends readonly { name: string }[]> = L[number]['name'];

/** The XDP program's counters, summed over CPUs: the fate of every packet it saw. */
export type SteerCounters = Record<Keys<typeof ABI.steerCounters>, number>;
/** The kernel's XDP_STATISTICS of one socket. */
export type KernelXdpStats = Record<Keys<typeof ABI.kernelXdpStats>, number>;
/** One queue's worker counters and its socket's kernel statistics. */
export type QueueCounters = Record<Keys<typeof ABI.queueCounters>, number> & {
  /** The RX queue index. */
  queue: number;
  kernel: KernelXdpStats;
};

export interface PortCounters {
  program: SteerCounters;
  queues: QueueCounters[];
}

export function named<L extends readonly { name: string }[]>(list: L, values: Float64Array): Record<Keys<L>, number> {
  const out = {} as Record<string, number>;
  list.forEach(({ name }, i) => {
    out[name] = values[i] ?? 0;
  });
  return out as Record<Keys<L>, number>;
}

/** Describes every counter, for help texts and exporters. */
export const COUNTER_DOCS = {
  program: ABI.steerCounters,
  queue: ABI.queueCounters,
  kernel: ABI.kernelXdpStats,
} as const;
