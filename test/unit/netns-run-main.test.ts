// netns.runMain (src/netns/run-main.ts), the demos' way in and out: the exit code, the failure's
// report, the program's cleanup after the namespaces, and no signal listener left behind.
import { describe, expect, it } from 'vitest';

import { runMain } from '../../src/netns/run-main.js';

function logged(): { lines: string[]; log: (line: string) => void } {
  const lines: string[] = [];
  return { lines, log: (line) => void lines.push(line) };
}

describe('runMain', () => {
  it('gives 0 when the body says all went well, after the cleanup, and leaves no signal listener', async () => {
    const { lines, log } = logged();
    const before = process.listenerCount('SIGINT');
    let cleaned = 0;
    const code = await runMain(async () => true, { log, cleanup: () => void cleaned++ });
    expect(code).toBe(0);
    expect(cleaned).toBe(1);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^tore the namespaces down in \d+\.\d s; all well after \d+\.\d s$/);
    expect(process.listenerCount('SIGINT')).toBe(before);
  });

  it('gives 1 when the body says it failed, or throws; a throw is reported with its message', async () => {
    const { lines, log } = logged();
    expect(await runMain(async () => false, { log })).toBe(1);
    expect(lines[0]).toMatch(/; FAILED after /);
    let cleaned = 0;
    expect(await runMain(async () => { throw new Error('the router did not start'); }, { log, cleanup: () => void cleaned++ })).toBe(1);
    expect(lines[1]).toMatch(/^failed: Error: the router did not start\n/);
    expect(lines[2]).toMatch(/; FAILED after /);
    expect(cleaned).toBe(1);
  });

  it('gives 1 when the cleanup fails, and says so', async () => {
    const { lines, log } = logged();
    const code = await runMain(async () => true, { log, cleanup: () => { throw new Error('umount: target is busy'); } });
    expect(code).toBe(1);
    expect(lines).toEqual([expect.stringMatching(/^teardown failed: Error: umount: target is busy\n/)]);
  });
});
