// Tests of the netns kit (src/netns) itself, part 3: cleaning up. sweep(prefix) removes one
// run's leftovers and nothing else, sweepStale() only runs whose process died, teardownRun()
// everything of this run. As root, like every netns suite; without root each test fails with a
// message saying so, none skips.
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';

import { afterAll, beforeEach, describe, expect, it } from 'vitest';

import {
  MARKER_DIR, createVethPair, mustExec, newRunPrefix, ping, registrySnapshot, requireNetnsPrivileges, runPrefix, spawnIn,
  sweep, sweepStale, teardownRun, waitFor,
} from '../../src/netns/index.js';
import { rootInterfaces, runNamespaces } from './harness-checks.js';

// beforeEach, not beforeAll: a failing beforeAll makes vitest report the tests as skipped, and
// these tests must never pass as "skipped"; each one fails with the kit's message instead.
beforeEach(() => requireNetnsPrivileges(['ip', 'ping']));
afterAll(teardownRun, 30_000);

describe('netns kit: teardown', { timeout: 30_000 }, () => {
  it('sweep(prefix) removes the leftovers of that prefix only', async () => {
    const other = newRunPrefix();
    const bystander = newRunPrefix();
    const ours = await createVethPair();
    let orphan: ReturnType<typeof spawn> | undefined;
    try {
      for (const p of [other, bystander]) {
        await mustExec('ip', ['netns', 'add', `${p}-0a`]);
        await mustExec('ip', ['netns', 'add', `${p}-0b`]);
        // A veth left in the root namespace, as a run that died between "add" and "move" would leave it.
        await mustExec('ip', ['link', 'add', `${p}-v0`, 'type', 'veth', 'peer', 'name', `${p}-v1`]);
      }
      // A process the dead run left running in its namespace; sweep must kill it.
      orphan = spawn('ip', ['netns', 'exec', `${other}-0a`, 'sleep', '600'], { stdio: 'ignore' });
      const orphanExit = new Promise<NodeJS.Signals | null>((r) => orphan?.on('exit', (_c, s) => r(s)));
      await waitFor(async () => (await mustExec('ip', ['netns', 'pids', `${other}-0a`])).stdout.trim() !== '', {
        what: 'the orphan sleep to enter its namespace',
      });

      const res = await sweep(other);
      expect(res.namespaces.sort()).toEqual([`${other}-0a`, `${other}-0b`]);
      expect(res.interfaces.length).toBe(1); // deleting one veth end removes its peer too
      expect(res.interfaces[0]).toMatch(new RegExp(`^${other}-v[01]$`));
      expect(res.killedPids).toEqual([orphan.pid]);
      expect(await orphanExit).toBe('SIGKILL');

      expect(await runNamespaces(other)).toEqual([]);
      expect(await rootInterfaces(other)).toEqual([]);
      expect(await runNamespaces(bystander)).toEqual([`${bystander}-0a`, `${bystander}-0b`]);
      expect(await rootInterfaces(bystander)).toEqual([`${bystander}-v0`, `${bystander}-v1`]);
      expect(await runNamespaces()).toEqual(expect.arrayContaining([ours.a.ns, ours.b.ns]));
      expect(await ping(ours.a.ns, ours.b.ipv4, { count: 1 })).toBe(true);

      // Sweeping a prefix that has nothing is fine; a malformed prefix is refused, never "everything".
      expect(await sweep(other)).toEqual({ namespaces: [], interfaces: [], killedPids: [] });
      await expect(sweep('')).rejects.toThrow(/not a run prefix/);
      await expect(sweep('su')).rejects.toThrow(/not a run prefix/);
    } finally {
      orphan?.kill('SIGKILL');
      await sweep(other);
      await sweep(bystander);
      await ours.destroy();
    }
    expect(await runNamespaces(bystander)).toEqual([]);
    expect(await rootInterfaces(bystander)).toEqual([]);
  });

  it('sweepStale() sweeps runs whose process died, never live ones', async () => {
    const dead = newRunPrefix();
    const live = newRunPrefix();
    const deadPid = spawnSync('true').pid as number; // has exited by now
    fs.mkdirSync(MARKER_DIR, { recursive: true });
    try {
      fs.writeFileSync(`${MARKER_DIR}/${dead}`, JSON.stringify({ pid: deadPid, startTime: '1' }));
      fs.writeFileSync(`${MARKER_DIR}/${live}`, JSON.stringify({ pid: process.pid })); // this process: alive
      await mustExec('ip', ['netns', 'add', `${dead}-0a`]);
      await mustExec('ip', ['netns', 'add', `${live}-0a`]);
      const swept = await sweepStale();
      // (Not `toContain(dead)`: a concurrent run's own sweepStale() may have got there first.)
      expect(swept).not.toContain(live);
      expect(swept).not.toContain(runPrefix);
      expect(await runNamespaces(dead)).toEqual([]);
      expect(fs.existsSync(`${MARKER_DIR}/${dead}`)).toBe(false);
      expect(await runNamespaces(live)).toEqual([`${live}-0a`]);
    } finally {
      await sweep(dead);
      await sweep(live);
      fs.rmSync(`${MARKER_DIR}/${dead}`, { force: true });
      fs.rmSync(`${MARKER_DIR}/${live}`, { force: true });
    }
  });

  // Last on purpose: it tears down the whole run, as afterAll does.
  it('teardownRun() kills children and removes every object of the run', async () => {
    const pair = await createVethPair();
    const p = spawnIn(pair.a.ns, 'sleep', ['600']);
    const q = spawnIn(pair.b.ns, 'sh', ['-c', 'trap "" TERM; echo armed; while :; do sleep 0.05; done']);
    await q.waitForLine('armed');
    expect(fs.existsSync(`${MARKER_DIR}/${runPrefix}`)).toBe(true);
    expect(await runNamespaces()).toEqual([pair.a.ns, pair.b.ns]);

    await teardownRun();
    expect((await p.exited).signal).toBe('SIGTERM');
    expect((await q.exited).signal).toBe('SIGKILL');
    expect(await runNamespaces()).toEqual([]);
    expect(await rootInterfaces(runPrefix)).toEqual([]);
    expect(registrySnapshot()).toEqual({ prefix: runPrefix, namespaces: [], childPids: [] });
    expect(fs.existsSync(`${MARKER_DIR}/${runPrefix}`)).toBe(false);
    await pair.destroy(); // still fine afterwards
    await teardownRun(); // and so is a second teardown
  });
});
