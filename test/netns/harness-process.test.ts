// Tests of the netns kit (src/netns) itself, part 2: programs in a namespace (spawnIn: lines,
// exits, kills), short commands (exec, execIn and their must- forms) and waitFor. As root, like
// every netns suite; without root each test fails with a message saying so, none skips.
import { afterAll, beforeEach, describe, expect, it } from 'vitest';

import {
  createVethPair, exec, execIn, mustExecIn, registrySnapshot, requireNetnsPrivileges, runPrefix, spawnIn, teardownRun,
  waitFor, type VethPair,
} from '../../src/netns/index.js';

// beforeEach, not beforeAll: a failing beforeAll makes vitest report the tests as skipped, and
// these tests must never pass as "skipped"; each one fails with the kit's message instead.
beforeEach(() => requireNetnsPrivileges(['ip', 'ping']));
afterAll(teardownRun, 30_000);

describe('netns kit: programs and commands', { timeout: 30_000 }, () => {
  describe('spawnIn', () => {
    // One pair for these tests, made by the first that needs it (not in beforeAll: a failing
    // beforeAll would make vitest report the tests as skipped rather than failed).
    let shared: Promise<VethPair> | undefined;
    const getPair = (): Promise<VethPair> => (shared ??= createVethPair());
    afterAll(async () => {
      const pair = await shared?.catch(() => undefined);
      await pair?.destroy();
    });

    it('runs the program inside the namespace and waits for lines', async () => {
      const pair = await getPair();
      const p = spawnIn(pair.b.ns, 'sh', ['-c', 'echo starting; sleep 0.2; ip -o link show; echo "ready port=1234"; exec sleep 600']);
      expect(p.pid).toBeGreaterThan(0);
      expect(registrySnapshot().childPids).toContain(p.pid);
      // Only the namespace's own interfaces are visible to it: lo and its veth end.
      const own = await p.waitForLine((l) => l.includes(`${pair.b.ifname}@`), 5_000);
      expect(own).toContain(`${pair.b.ifname}@`);
      expect(await p.waitForLine(/^ready port=(\d+)$/, 5_000)).toBe('ready port=1234');
      // Lines before the one last returned are not returned again; earlier lines were buffered.
      await expect(p.waitForLine('starting', 300)).rejects.toThrow(/timed out after 300 ms .*containing "starting".*still running/s);
      expect(p.stdoutLines[0]).toBe('starting');
      const visible = p.stdoutLines.flatMap((l) => /^\d+: ([^:@]+)[:@]/.exec(l)?.[1] ?? []);
      expect(visible).toEqual(['lo', pair.b.ifname]);
      expect(p.running).toBe(true);

      const info = await p.kill('SIGTERM');
      expect(info).toEqual({ code: null, signal: 'SIGTERM' });
      expect(p.running).toBe(false);
      expect(await p.exited).toBe(info);
      expect(registrySnapshot().childPids).not.toContain(p.pid);
      expect(await p.kill()).toBe(info); // killing an exited process is a no-op
    });

    it('iterates over stdout lines', async () => {
      const pair = await getPair();
      const p = spawnIn(pair.a.ns, 'sh', ['-c', 'printf "one\\ntwo\\r\\nthree"']);
      const got: string[] = [];
      for await (const line of p.lines()) got.push(line);
      expect(got).toEqual(['one', 'two', 'three']);
      expect(await p.exited).toEqual({ code: 0, signal: null });
    });

    it('rejects with the stderr when the program exits before the line', async () => {
      const pair = await getPair();
      const p = spawnIn(pair.a.ns, 'sh', ['-c', 'echo partial; echo "boom: bad config" >&2; exit 3']);
      const err = await p.waitForLine(/ready/, 5_000).then(
        () => undefined,
        (e: unknown) => e as Error,
      );
      expect(err?.message).toMatch(/exited with code 3 before printing a line matching \/ready\//);
      expect(err?.message).toContain('boom: bad config');
      expect(err?.message).toContain('partial');
      expect(await p.exited).toEqual({ code: 3, signal: null });
    });

    it('rejects with ip\'s complaint when the program does not exist', async () => {
      const pair = await getPair();
      const p = spawnIn(pair.a.ns, 'no-such-program-xyz', ['--flag']);
      await expect(p.waitForLine('anything', 5_000)).rejects.toThrow(/exec of "no-such-program-xyz" failed/);
    });

    it('stop() escalates to SIGKILL for a program that ignores SIGTERM', async () => {
      const pair = await getPair();
      const p = spawnIn(pair.a.ns, 'sh', ['-c', 'trap "" TERM; echo armed; while :; do sleep 0.05; done']);
      await p.waitForLine('armed', 5_000);
      const info = await p.stop(300);
      expect(info.signal).toBe('SIGKILL');
    });
  });

  it('execIn and mustExecIn report output and exit codes', async () => {
    const pair = await createVethPair();
    try {
      const r = await execIn(pair.a.ns, 'sh', ['-c', 'echo out; echo err >&2; exit 4']);
      expect(r).toEqual({ stdout: 'out\n', stderr: 'err\n', code: 4, signal: null });
      await expect(mustExecIn(pair.a.ns, 'sh', ['-c', 'echo out; echo err-text >&2; exit 4'])).rejects.toThrow(
        /exited with code 4[\s\S]*err-text[\s\S]*out/,
      );
      expect((await mustExecIn(pair.a.ns, 'cat', [], { input: 'piped' })).stdout).toBe('piped');
      await expect(execIn(pair.a.ns, 'sleep', ['5'], { timeoutMs: 200 })).rejects.toThrow(/timed out after 200 ms/);
      await expect(execIn(`${runPrefix}-nope`, 'true')).rejects.toThrow(/Cannot open network namespace/);
      await expect(execIn(pair.a.ns, 'no-such-program-xyz')).rejects.toThrow(/could not run it in the namespace/);
      expect((await exec('sh', ['-c', 'exit 2'])).code).toBe(2);
    } finally {
      await pair.destroy();
    }
  });

  it('waitFor resolves with the value, or names what it waited for', async () => {
    let n = 0;
    expect(await waitFor(() => (++n >= 3 ? `after ${n}` : undefined), { what: 'three tries', intervalMs: 10 })).toBe('after 3');
    await expect(waitFor(() => false, { what: 'the moon to turn blue', timeoutMs: 150, intervalMs: 20 })).rejects.toThrow(
      /timed out after 150 ms .*waiting for the moon to turn blue/,
    );
    await expect(
      waitFor(
        () => {
          throw new Error('not listening yet');
        },
        { what: 'the server', timeoutMs: 100 },
      ),
    ).rejects.toThrow(/waiting for the server; last error: not listening yet/);
    // A predicate that never settles cannot outlast the deadline.
    const t0 = Date.now();
    await expect(waitFor(() => new Promise<boolean>(() => {}), { what: 'a hang', timeoutMs: 150 })).rejects.toThrow(/a hang/);
    expect(Date.now() - t0).toBeLessThan(1_000);
  });
});
