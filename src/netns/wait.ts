// src/netns/wait.ts: polling until something holds (waitFor) and a plain sleep. Used throughout
// the kit, the namespace tests, the etcd tests and the demo.

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export interface WaitForOptions {
  /** Names what is awaited, for the timeout message ("the server to listen on :53"). */
  what: string;
  /** Default 5000. */
  timeoutMs?: number;
  /** Default 50. */
  intervalMs?: number;
}

/**
 * Polls `predicate` until it returns a truthy value, and resolves with that value. A predicate
 * that throws counts as "not yet"; its last error is quoted if the time runs out.
 */
export async function waitFor<T>(
  predicate: () => T | Promise<T>,
  opts: WaitForOptions,
): Promise<Exclude<T, undefined | null | false | 0 | ''>> {
  const timeoutMs = opts.timeoutMs ?? 5_000;
  const intervalMs = opts.intervalMs ?? 50;
  const start = Date.now();
  const deadline = start + timeoutMs;
  let lastError: unknown;
  let tries = 0;
  for (;;) {
    tries++;
    const remaining = deadline - Date.now();
    try {
      // Race each call against the deadline, so a predicate that hangs cannot outlast it.
      let timer: NodeJS.Timeout | undefined;
      const expired = Symbol('expired');
      const v = await Promise.race([
        Promise.resolve().then(predicate),
        new Promise<typeof expired>((r) => (timer = setTimeout(() => r(expired), Math.max(remaining, 0)))),
      ]).finally(() => clearTimeout(timer));
      if (v !== expired && v) return v as Exclude<T, undefined | null | false | 0 | ''>;
    } catch (err) {
      lastError = err;
    }
    const left = deadline - Date.now();
    if (left <= 0) break;
    await sleep(Math.min(intervalMs, left));
  }
  const why = lastError === undefined ? '' : `; last error: ${lastError instanceof Error ? lastError.message : String(lastError)}`;
  throw new Error(`timed out after ${timeoutMs} ms (${tries} tries) waiting for ${opts.what}${why}`);
}
