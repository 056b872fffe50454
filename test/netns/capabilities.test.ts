// Which capabilities XdpPort.open needs, against the kernel: an agent runs as nobody with exactly
// CAP_BPF, CAP_NET_ADMIN, CAP_NET_RAW, CAP_PERFMON and CAP_IPC_LOCK (setpriv) and opens a port;
// with any one of them dropped it fails with PermissionDeniedError naming that capability, and
// the kernel itself (the addon opened without the check) refuses too: none of them is spare.
import { fileURLToPath } from 'node:url';

import { afterAll, beforeEach, describe, expect, it } from 'vitest';

import {
  createVethPair, execIn, requireNetnsPrivileges, teardownRun, xdpProgramId, type VethPair,
} from '../../src/netns/index.js';
import { PortAgent } from './port-agent.js';

const NATIVE_AGENT = fileURLToPath(new URL('./agents/native-open-agent.mjs', import.meta.url));
const NEEDED = ['bpf', 'net_admin', 'net_raw', 'perfmon', 'ipc_lock'];
/** The default UMEM (4096 frames of 4096 bytes) is twice this limit: CAP_IPC_LOCK is needed. */
const MEMLOCK = 8 * 1024 * 1024;

/** Runs as nobody with exactly `caps` (effective, permitted, inheritable, ambient, bounding). */
function withCaps(caps: readonly string[]): string[] {
  const list = ['-all', ...caps.map((c) => `+${c}`)].join(',');
  return [
    'prlimit', `--memlock=${MEMLOCK}:${MEMLOCK}`,
    'setpriv', '--reuid=65534', '--regid=65534', '--clear-groups',
    `--inh-caps=${list}`, `--ambient-caps=${list}`, `--bounding-set=${list}`,
  ];
}

async function opens(pair: VethPair, caps: readonly string[], open: Record<string, unknown> = {}): Promise<void> {
  const { agent, first } = await PortAgent.start(pair.a.ns, { open: { interface: pair.a.ifname, ...open } }, withCaps(caps));
  expect(first).toMatchObject({ event: 'ready' });
  expect(await xdpProgramId(pair.a.ns, pair.a.ifname)).toBeDefined();
  await agent.command('close');
  expect(await xdpProgramId(pair.a.ns, pair.a.ifname)).toBeUndefined();
  await agent.proc.stop();
}

/** What the kernel says when the addon opens a port without XdpPort.open's check. */
async function kernelOpen(pair: VethPair, caps: readonly string[]): Promise<{ ok: boolean; code?: string; errno?: number; message?: string }> {
  const [command, ...args] = [...withCaps(caps), process.execPath, NATIVE_AGENT, pair.a.ifname];
  const r = await execIn(pair.a.ns, command!, args);
  if (r.code !== 0) throw new Error(`the agent exited with ${String(r.code)}: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').at(-1)!);
}

let pair: VethPair;
afterAll(teardownRun);
beforeEach(async () => {
  requireNetnsPrivileges(['ip', 'setpriv', 'prlimit']);
  pair ??= await createVethPair();
});

describe('XdpPort.open with reduced capabilities', () => {
  it('opens as nobody with CAP_BPF, CAP_NET_ADMIN, CAP_NET_RAW, CAP_PERFMON and CAP_IPC_LOCK', async () => {
    await opens(pair, NEEDED);
  });

  it.each([
    ['bpf', 'CAP_BPF (create BPF maps and load the XDP program)'],
    ['net_admin', 'CAP_NET_ADMIN (load an XDP program and attach it to the interface)'],
    ['net_raw', 'CAP_NET_RAW (open AF_XDP sockets)'],
    ['perfmon', 'CAP_PERFMON (the verifier refuses the XDP program otherwise: it reads stack it has not written)'],
    ['ipc_lock', `CAP_IPC_LOCK (lock the UMEM of 16777216 bytes: RLIMIT_MEMLOCK allows ${MEMLOCK})`],
  ])('names %s when it alone is missing, and attaches nothing', async (dropped, named) => {
    const error = await PortAgent.openError(pair.a.ns, { open: { interface: pair.a.ifname } }, withCaps(NEEDED.filter((c) => c !== dropped)));
    expect(error).toMatchObject({ name: 'PermissionDeniedError', code: 'ERR_PERMISSION_DENIED' });
    expect(error.message).toMatch(/^Expected capabilities CAP_BPF, CAP_NET_ADMIN, CAP_NET_RAW and CAP_PERFMON \(or CAP_SYS_ADMIN in place of CAP_BPF and CAP_PERFMON\)/);
    expect(String(error.message).endsWith(`but the process lacks ${named}`)).toBe(true);
    expect(await xdpProgramId(pair.a.ns, pair.a.ifname)).toBeUndefined();
  });

  it('takes CAP_SYS_ADMIN in place of CAP_BPF and CAP_PERFMON', async () => {
    await opens(pair, ['sys_admin', 'net_admin', 'net_raw', 'ipc_lock']);
  });

  it('needs no CAP_IPC_LOCK for a UMEM within RLIMIT_MEMLOCK', async () => {
    await opens(pair, ['bpf', 'net_admin', 'net_raw', 'perfmon'], { frameCount: 1024 });
  });
});

describe('the kernel without XdpPort.open\'s check', () => {
  it('opens with the five capabilities', async () => {
    expect(await kernelOpen(pair, NEEDED)).toEqual({ ok: true });
  });

  it.each([
    // bpf(BPF_MAP_CREATE) and BPF_PROG_LOAD: EPERM.
    ['bpf', { code: 'ERR_PERMISSION_DENIED', errno: 1 }],
    // BPF_PROG_LOAD of an XDP program needs CAP_NET_ADMIN besides CAP_BPF.
    ['net_admin', { code: 'ERR_PERMISSION_DENIED', errno: 1 }],
    // socket(AF_XDP): EPERM, met first when the UMEM is registered.
    ['net_raw', { code: 'ERR_PERMISSION_DENIED', errno: 1 }],
    // The verifier: "invalid read from stack" (uninitialised stack needs CAP_PERFMON): EINVAL.
    ['perfmon', { code: 'ERR_BPF_LOAD', errno: 22 }],
    // XDP_UMEM_REG beyond RLIMIT_MEMLOCK: ENOBUFS.
    ['ipc_lock', { code: 'ERR_SYSCALL', errno: 105 }],
  ])('refuses without %s', async (dropped, refusal) => {
    const result = await kernelOpen(pair, NEEDED.filter((c) => c !== dropped));
    expect(result).toMatchObject({ ok: false, ...refusal });
    expect(await xdpProgramId(pair.a.ns, pair.a.ifname)).toBeUndefined();
  });
});
