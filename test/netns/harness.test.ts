// test/netns/harness.test.ts: tests of the netns test harness (test/netns/harness.ts) itself.
// The other suites under test/netns/ rely on it to build veth pairs, run programs in namespaces
// and clean up; this file proves each of those on the real kernel. It must run as root, like
// every netns suite: without root it fails (in beforeAll) with a message saying so, it never skips.

import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  MARKER_DIR, MAX_IFNAME_LENGTH, RUN_PREFIX_RE, createVethPair, exec, execIn, isRunName, listNamespaces,
  mustExec, mustExecIn, newRunPrefix, ping, registrySnapshot, requireNetnsPrivileges, runName, runPrefix,
  spawnIn, sweep, sweepStale, teardownRun, waitFor, xdpAttachments, xdpProgramId, type VethPair,
} from '../../src/netns/index.js';

// beforeEach, not beforeAll: a failing beforeAll makes vitest report the tests as skipped, and
// these tests must never pass as "skipped"; each one fails with the harness's message instead.
beforeEach(() => requireNetnsPrivileges(['ip', 'ping']));
afterAll(teardownRun, 30_000);

/** Names of this run's namespaces that exist now. */
async function runNamespaces(prefix = runPrefix): Promise<string[]> {
  return (await listNamespaces()).filter((n) => isRunName(n, prefix)).sort();
}

/** Names of interfaces in the root namespace starting with `prefix`. */
async function rootInterfaces(prefix: string): Promise<string[]> {
  const r = await mustExec('ip', ['-j', 'link', 'show']);
  return (JSON.parse(r.stdout) as { ifname: string }[])
    .map((l) => l.ifname)
    .filter((n) => n.startsWith(prefix))
    .sort();
}

function linkJson(ns: string, ifname: string, detailed = false): Record<string, unknown> {
  const r = spawnSync('ip', ['-n', ns, '-j', ...(detailed ? ['-d'] : []), 'link', 'show', 'dev', ifname], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ip link show ${ifname} in ${ns}: ${r.stderr}`);
  return (JSON.parse(r.stdout) as Record<string, unknown>[])[0] as Record<string, unknown>;
}

describe('netns harness', { timeout: 30_000 }, () => {
  it('uses one run prefix that fits IFNAMSIZ', () => {
    expect(runPrefix).toMatch(RUN_PREFIX_RE);
    expect(newRunPrefix()).not.toBe(runPrefix);
    expect(runName('511a')).toBe(`${runPrefix}-511a`);
    expect(runName('511a').length).toBeLessThanOrEqual(MAX_IFNAME_LENGTH);
    expect(() => runName('abcdefgh')).toThrow(/IFNAMSIZ/);
    expect(() => runName('x', 'eth')).toThrow(/not a run prefix/);
  });

  it('creates a veth pair whose ends reach each other over IPv4 and IPv6', async () => {
    const pair = await createVethPair({ queues: 2, mtu: 1400 });
    try {
      const { a, b } = pair;
      for (const end of [a, b]) {
        expect(end.ns.startsWith(runPrefix)).toBe(true);
        expect(end.ifname.startsWith(runPrefix)).toBe(true);
        expect(end.ifname.length).toBeLessThanOrEqual(MAX_IFNAME_LENGTH);
        expect(end.mac).toMatch(/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/);
        expect(end.mtu).toBe(1400);
        // The reported MAC and ifindex are what the kernel says about the interface in its namespace.
        const link = linkJson(end.ns, end.ifname, true);
        expect(link.ifindex).toBe(end.ifindex);
        expect(link.address).toBe(end.mac);
        expect(link.num_rx_queues).toBe(2);
        expect(link.num_tx_queues).toBe(2);
        expect(link.operstate).toBe('UP');
        expect(linkJson(end.ns, 'lo').operstate).toBe('UNKNOWN'); // lo is up (it never reports UP)
        expect(linkJson(end.ns, 'lo').flags).toContain('UP');
      }
      expect(a.mac).not.toBe(b.mac);
      expect(await runNamespaces()).toEqual(expect.arrayContaining([a.ns, b.ns]));
      // Each end is in its own namespace only, and none is left in the root namespace.
      expect(await rootInterfaces(runPrefix)).toEqual([]);
      expect((await execIn(a.ns, 'ip', ['link', 'show', 'dev', b.ifname])).code).not.toBe(0);

      expect(a.ipv4).toMatch(/^198\.1[89]\.\d+\.1$/);
      expect(b.ipv4).toBe(a.ipv4.replace(/\.1$/, '.2'));
      expect(a.ipv6).toMatch(/^2001:db8:([0-9a-f]+:)?:1$/);
      expect(b.ipv6).toBe(a.ipv6.replace(/::1$/, '::2'));

      expect(await ping(a.ns, b.ipv4)).toBe(true);
      expect(await ping(b.ns, a.ipv4)).toBe(true);
      expect(await ping(a.ns, b.ipv6)).toBe(true);
      expect(await ping(b.ns, a.ipv6, { family: 6, count: 2 })).toBe(true);
      expect(await ping(a.ns, '198.18.255.254', { count: 1 })).toBe(false); // nobody there

      // ARP and ND did the resolving: no static (PERMANENT) neighbour entries.
      const neigh = JSON.parse((await mustExecIn(a.ns, 'ip', ['-j', 'neigh', 'show', 'dev', a.ifname])).stdout) as {
        dst: string;
        lladdr?: string;
        state: string[];
      }[];
      const dsts = neigh.map((n) => n.dst);
      expect(dsts).toEqual(expect.arrayContaining([b.ipv4, b.ipv6]));
      for (const n of neigh) expect(n.state).not.toContain('PERMANENT');
      expect(neigh.find((n) => n.dst === b.ipv4)?.lladdr).toBe(b.mac);

      // A second pair gets other subnets and other names.
      const pair2 = await createVethPair();
      try {
        expect(pair2.a.ipv4).not.toBe(a.ipv4);
        expect(pair2.a.ipv6).not.toBe(a.ipv6);
        expect(pair2.a.ns).not.toBe(a.ns);
        expect(linkJson(pair2.a.ns, pair2.a.ifname, true).num_rx_queues).toBe(1); // default
        expect(await ping(pair2.b.ns, pair2.a.ipv4, { count: 1 })).toBe(true);
      } finally {
        await pair2.destroy();
      }
    } finally {
      await pair.destroy();
    }
  });

  it('destroy() removes both namespaces and is idempotent', async () => {
    const pair = await createVethPair();
    expect(await runNamespaces()).toEqual(expect.arrayContaining([pair.a.ns, pair.b.ns]));
    expect(registrySnapshot().namespaces).toEqual(expect.arrayContaining([pair.a.ns, pair.b.ns]));
    const ipList = async (): Promise<string> => (await mustExec('ip', ['netns', 'list'])).stdout;
    expect(await ipList()).toContain(pair.a.ns);

    await Promise.all([pair.destroy(), pair.destroy()]);
    expect(pair.destroyed).toBe(true);
    const after = await ipList();
    expect(after).not.toContain(pair.a.ns);
    expect(after).not.toContain(pair.b.ns);
    expect(registrySnapshot().namespaces).not.toContain(pair.a.ns);
    await pair.destroy(); // again, after the fact
    expect(await rootInterfaces(runPrefix)).toEqual([]);
  });

  it('leaves nothing behind when creation fails (kernel rejects the veth)', async () => {
    const before = await runNamespaces();
    const regBefore = registrySnapshot().namespaces;
    // veth's maximum MTU is 65535: the namespaces exist by then, the veth add fails.
    const err = await createVethPair({ mtu: 70_000 }).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(err).toBeInstanceOf(Error);
    expect(err?.message).toMatch(/failed at step "veth"/);
    expect(err?.message).toMatch(/creating veth/);
    expect(err?.message).toMatch(/RTNETLINK answers: Invalid argument/); // ip's stderr is quoted
    expect(await runNamespaces()).toEqual(before);
    expect(registrySnapshot().namespaces).toEqual(regBefore);
    expect(await rootInterfaces(runPrefix)).toEqual([]);
  });

  it('leaves nothing behind when creation fails at any later step', async () => {
    const before = await runNamespaces();
    for (const failAt of ['netns', 'up', 'addresses', 'readback'] as const) {
      const seen: string[] = [];
      let nsSeenAtFailure: string[] = [];
      const err = await createVethPair({
        onStep: async (step) => {
          seen.push(step);
          if (step === failAt) {
            nsSeenAtFailure = await runNamespaces();
            throw new Error(`injected failure at ${step}`);
          }
        },
      }).then(
        () => undefined,
        (e: unknown) => e as Error,
      );
      expect(err?.message).toMatch(new RegExp(`failed at step "${failAt}": injected failure at ${failAt}`));
      expect(seen[seen.length - 1]).toBe(failAt);
      if (failAt !== 'netns') expect(nsSeenAtFailure.length).toBe(before.length + 2); // there was something to clean
      expect(await runNamespaces()).toEqual(before);
      expect(await rootInterfaces(runPrefix)).toEqual([]);
    }
  });

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

  it('xdpProgramId reports an attached program and undefined after detach', async () => {
    // The build's pass-everything program: every BPF object comes from the one build rule
    // (native/CMakeLists.txt, su_bpf_object), none is compiled by a test.
    const passObject = fileURLToPath(new URL('../../build/native/bpf/foreign_pass.bpf.o', import.meta.url));
    const pair = await createVethPair();
    try {
      const { ns, ifname } = pair.a;
      expect(await xdpProgramId(ns, ifname)).toBeUndefined();
      expect(await xdpAttachments(ns, ifname)).toEqual([]);

      await mustExecIn(ns, 'ip', ['link', 'set', 'dev', ifname, 'xdp', 'obj', passObject, 'sec', 'xdp']);
      const id = await xdpProgramId(ns, ifname);
      expect(id).toBeGreaterThan(0);
      expect(await xdpAttachments(ns, ifname)).toEqual([{ mode: 'native', id, name: 'foreign_pass' }]);
      expect(await xdpProgramId(ns, ifname, 'native')).toBe(id);
      expect(await xdpProgramId(ns, ifname, 'generic')).toBeUndefined();
      expect(await xdpProgramId(pair.b.ns, pair.b.ifname)).toBeUndefined(); // the peer has none
      // XDP_PASS lets traffic through.
      expect(await ping(pair.b.ns, pair.a.ipv4, { count: 1 })).toBe(true);

      await mustExecIn(ns, 'ip', ['link', 'set', 'dev', ifname, 'xdp', 'off']);
      expect(await xdpProgramId(ns, ifname)).toBeUndefined();

      await mustExecIn(ns, 'ip', ['link', 'set', 'dev', ifname, 'xdpgeneric', 'obj', passObject, 'sec', 'xdp']);
      const gid = await xdpProgramId(ns, ifname, 'generic');
      expect(gid).toBeGreaterThan(0);
      expect(gid).not.toBe(id);
      await mustExecIn(ns, 'ip', ['link', 'set', 'dev', ifname, 'xdpgeneric', 'off']);
      expect(await xdpProgramId(ns, ifname)).toBeUndefined();

      await expect(xdpProgramId(ns, 'nonexistent0')).rejects.toThrow(/reading XDP state of nonexistent0[\s\S]*does not exist/);
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
