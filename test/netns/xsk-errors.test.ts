// XdpPort.open() failures that need a real interface and root: each is a typed error with a
// stable code, naming the bad value and what was expected; none leaves anything attached.
import { fileURLToPath } from 'node:url';

import { afterAll, beforeEach, describe, expect, it } from 'vitest';

import { createVethPair, mustExecIn, ping, requireNetnsPrivileges, teardownRun, xdpProgramId } from '../../src/netns/index.js';
import { PortAgent } from './port-agent.js';

const FOREIGN = fileURLToPath(new URL('../../build/native/bpf/foreign_pass.bpf.o', import.meta.url));

afterAll(teardownRun);
beforeEach(() => requireNetnsPrivileges(['ip', 'ping', 'setpriv']));

describe('XdpPort.open on a real interface', () => {
  it('names a queue the interface does not have', async () => {
    const pair = await createVethPair({ queues: 2 });
    const error = await PortAgent.openError(pair.a.ns, { open: { interface: pair.a.ifname, queues: [0, 2] } });
    expect(error).toMatchObject({ name: 'QueueNotFoundError', code: 'ERR_QUEUE_NOT_FOUND' });
    expect(error.message).toBe(
      `Expected a queue index from 0 to 1 for queues[1] but received 2: '${pair.a.ifname}' has 2 RX queues`,
    );
    expect(await xdpProgramId(pair.a.ns, pair.a.ifname)).toBeUndefined();
    await pair.destroy();
  });

  it('refuses zero-copy where the driver has none (veth), and reports copy mode for auto', async () => {
    const pair = await createVethPair();
    const error = await PortAgent.openError(pair.a.ns, { open: { interface: pair.a.ifname, bind: 'zero-copy' } });
    expect(error).toMatchObject({ name: 'ModeUnsupportedError', code: 'ERR_MODE_UNSUPPORTED', syscall: 'bind' });
    expect(error.message).toMatch(/zero-copy .* but '.*' has none; pass bind: 'copy' or 'auto'/);
    expect(await xdpProgramId(pair.a.ns, pair.a.ifname)).toBeUndefined();

    const { agent, first } = await PortAgent.start(pair.a.ns, { open: { interface: pair.a.ifname, bind: 'auto' } });
    expect(first).toMatchObject({ event: 'ready', mode: { bind: 'copy' } });
    await agent.command('close');
    await pair.destroy();
  });

  it('refuses driver mode where the driver has no native XDP (lo), and works in generic mode', async () => {
    const pair = await createVethPair();
    const error = await PortAgent.openError(pair.a.ns, { open: { interface: 'lo' } });
    expect(error).toMatchObject({ name: 'ModeUnsupportedError', code: 'ERR_MODE_UNSUPPORTED', syscall: 'bpf_link_create' });
    expect(error.message).toMatch(/native XDP for attach: 'driver' but 'lo' has none; pass attach: 'generic'/);

    const { agent, first } = await PortAgent.start(pair.a.ns, { open: { interface: 'lo', attach: 'generic' } });
    expect(first).toMatchObject({ event: 'ready', mode: { attach: 'generic', bind: 'copy' } });
    expect(await xdpProgramId(pair.a.ns, 'lo', 'generic')).toBeDefined();
    await agent.command('close');
    expect(await xdpProgramId(pair.a.ns, 'lo')).toBeUndefined();
    await pair.destroy();
  });

  it("refuses to replace a foreign XDP program unless asked, then replaces it", async () => {
    const pair = await createVethPair();
    await mustExecIn(pair.a.ns, 'ip', ['link', 'set', 'dev', pair.a.ifname, 'xdpdrv', 'obj', FOREIGN, 'sec', 'xdp']);
    const foreign = await xdpProgramId(pair.a.ns, pair.a.ifname);
    expect(foreign).toBeDefined();

    const error = await PortAgent.openError(pair.a.ns, { open: { interface: pair.a.ifname } });
    expect(error).toMatchObject({ name: 'XdpProgramPresentError', code: 'ERR_XDP_PROGRAM_PRESENT' });
    expect(error.message).toBe(
      `Expected '${pair.a.ifname}' to carry no XDP program but it carries program 'foreign_pass' (id ${foreign}, driver mode); pass replace: true to replace it`,
    );
    expect(await xdpProgramId(pair.a.ns, pair.a.ifname)).toBe(foreign);

    const { agent, first } = await PortAgent.start(pair.a.ns, { open: { interface: pair.a.ifname, replace: true } });
    expect(first.event).toBe('ready');
    const ours = await xdpProgramId(pair.a.ns, pair.a.ifname);
    expect(ours).toBeDefined();
    expect(ours).not.toBe(foreign);
    await agent.command('close');
    expect(await xdpProgramId(pair.a.ns, pair.a.ifname)).toBeUndefined();
    expect(await ping(pair.b.ns, pair.a.ipv4, { count: 1 })).toBe(true);
    await pair.destroy();
  });

  it('refuses a second port on an interface that already has one (its BPF link cannot be replaced)', async () => {
    const pair = await createVethPair();
    const { agent, first } = await PortAgent.start(pair.a.ns, { open: { interface: pair.a.ifname } });
    expect(first.event).toBe('ready');
    const error = await PortAgent.openError(pair.a.ns, { open: { interface: pair.a.ifname, replace: true } });
    expect(error).toMatchObject({ name: 'XdpProgramPresentError', code: 'ERR_XDP_PROGRAM_PRESENT', syscall: 'bpf_xdp_detach' });
    expect(error.message).toMatch(/another process holds it through a BPF link/);
    // The first port is untouched.
    const { counters } = await agent.command('counters');
    expect(counters.queues).toHaveLength(1);
    await agent.command('close');
    await pair.destroy();
  });

  it('names the missing privileges for an unprivileged process', async () => {
    const pair = await createVethPair();
    const error = await PortAgent.openError(pair.a.ns, { open: { interface: pair.a.ifname } }, [
      'setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', '--inh-caps=-all',
    ]);
    expect(error).toMatchObject({ name: 'PermissionDeniedError', code: 'ERR_PERMISSION_DENIED' });
    // Checked before loading (src/xdp/capabilities.ts): every capability, not the first EPERM;
    // CAP_IPC_LOCK only where RLIMIT_MEMLOCK is below the UMEM's size.
    expect(error.message).toMatch(
      /but the process lacks CAP_BPF \(.*\), CAP_NET_ADMIN \(.*\), CAP_NET_RAW \(.*\),? (and )?CAP_PERFMON \(.*\)( and CAP_IPC_LOCK \(.*\))?$/,
    );
    expect(await xdpProgramId(pair.a.ns, pair.a.ifname)).toBeUndefined();
    await pair.destroy();
  });
});
