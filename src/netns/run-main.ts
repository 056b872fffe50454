// The way in and out of a program that builds namespaces (the demos in examples/): run its body,
// report a failure with its stack, always delete the run's namespaces and do the program's own
// cleanup, and give the exit code. One copy instead of one per demo.
import { teardownRun } from './teardown.js';

export interface RunMainOptions {
  /** Where the failure, the teardown's time and the verdict are written (with the program's prefix). */
  readonly log: (line: string) => void;
  /**
   * The program's own cleanup once its namespaces are gone (a temporary directory, a bpffs
   * mount); synchronous, since it also runs on SIGINT, SIGTERM and SIGHUP, before the kit's own
   * handler deletes the namespaces and ends the process.
   */
  readonly cleanup?: () => void;
}

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
const since = (t: number): string => `${((performance.now() - t) / 1000).toFixed(1)} s`;
const textOf = (error: unknown): string => (error instanceof Error ? (error.stack ?? error.message) : String(error));

/** Runs `body` (true: all went well) and tears down after it whatever happened; resolves with the exit code, 0 or 1. */
export async function runMain(body: () => Promise<boolean>, options: RunMainOptions): Promise<number> {
  const started = performance.now();
  const { log, cleanup } = options;
  const onSignal = (signal: NodeJS.Signals): void => {
    log(`${signal}: stopping; removing the run's namespaces`);
    cleanup?.();
  };
  if (cleanup !== undefined) for (const signal of SIGNALS) process.prependOnceListener(signal, onSignal);
  let ok = false;
  try {
    ok = await body();
  } catch (error) {
    log(`failed: ${textOf(error)}`);
  }
  const t = performance.now();
  try {
    await teardownRun();
    cleanup?.();
    log(`tore the namespaces down in ${since(t)}; ${ok ? 'all well' : 'FAILED'} after ${since(started)}`);
  } catch (error) {
    ok = false;
    log(`teardown failed: ${textOf(error)}`);
  }
  for (const signal of SIGNALS) process.removeListener(signal, onSignal);
  return ok ? 0 : 1;
}
