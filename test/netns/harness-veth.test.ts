// Tests of the netns kit (src/netns) itself, part 1: run names, veth pairs (made, reachable,
// destroyed, and nothing left when making one fails at any step) and the XDP probes. The other
// suites under test/netns/ rely on the kit to build veth pairs, run programs in namespaces and
// clean up; this file and harness-process and harness-teardown prove each of those on the real
// kernel. It must run as root, like every netns suite: without root each test fails with a message
// saying so, none skips.
import { fileURLToPath } from 'node:url';

import { afterAll, beforeEach, describe, expect, it } from 'vitest';

import {
  MAX_IFNAME_LENGTH, RUN_PREFIX_RE, createVethPair, execIn, mustExec, mustExecIn, newRunPrefix, ping, registrySnapshot,
  requireNetnsPrivileges, runName, runPrefix, teardownRun, xdpAttachments, xdpProgramId,
} from '../../src/netns/index.js';
import { linkJson, rootInterfaces, runNamespaces } from './harness-checks.js';

// beforeEach, not beforeAll: a failing beforeAll makes vitest report the tests as skipped, and
// these tests must never pass as "skipped"; each one fails with the kit's message instead.
beforeEach(() => requireNetnsPrivileges(['ip', 'ping']));
afterAll(teardownRun, 30_000);

describe('netns kit: names and veth pairs', { timeout: 30_000 }, () => {
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
});
