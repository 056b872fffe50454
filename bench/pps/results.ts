// What the pps bench measures (a Sample per measurement, a PpsRow per configuration and scenario,
// the PpsResult of a run): written by bench/pps/run.ts, read by bench/pps/report.ts and bench/run.ts.
import type { Config, Scenario } from './configs.js';

/** What one measurement saw, per second. */
export interface Sample {
  offered: number;
  forwarded: number;
  gue: number;
  toKernel: number;
  /** Frames injected, and still circulating at the end: fewer means some were lost. */
  inFlight: [number, number];
  /** Shares of the reflector's core and of the device's core that were busy, and of all the
   * machine's time the hypervisor stole (/proc/stat, during the counted window). */
  busy: [number, number];
  steal: number;
  /** CPU time per packet of the device under test (its process and its veth end's NAPI thread)
   * and of the reflector's NAPI thread, ns: what a packet costs each end, whatever share of its
   * core the scheduler gave it (threaded placement only; NaN otherwise). */
  dutNs: number;
  reflectorNs: number;
  drops: Map<string, number>;
}

export interface PpsRow {
  config: Config;
  scenario: Scenario;
  samples: Sample[];
  /** forwarded / forwarded of the default XDP_TX bounce with the same frame size, per round. */
  vsXdp: number[];
  /** forwarded / forwarded of the default AF_XDP bounce with the same frame size, per round. */
  vsXsk: number[];
}

export interface PpsResult {
  rows: PpsRow[];
  knobRows: PpsRow[];
  /** Issue 16's address-slice rows (configs.ts addrConfigs). */
  addrRows: PpsRow[];
  mode: string;
}
