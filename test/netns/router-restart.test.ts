// Restarts without loss: the router binary pins its XDP program, link and tables in a bpf
// filesystem; stopped (SIGTERM) or killed (kill -9) under traffic, the program keeps forwarding
// in the kernel, and the next start takes the pinned state over instead of starting cold. Unpinned
// (--no-pin), the same kill -9 loses every packet until the next router is up: the baseline.
// `--detach` removes everything on purpose. Run by vitest as root, after the build (dist/).
//
//   srv   eth0 10.7.0.1/24, lo 192.0.2.1/32        the router; a UDP socket on its slice's port
//    |    veth (peer's end carries veth_peer.bpf.o)
//   peer  eth0 10.7.0.2/24, route to 192.0.2.1 via srv
//         sends 1 datagram per ms to each slice; counts the GUE the router sends back for its own
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import {
  execIn, mustExecIn, requireNetnsPrivileges, spawnIn, teardownRun,
  waitFor, xdpAttachments, type SpawnedProcess,
} from '../../src/netns/index.js';
import { twoHostConfig, twoHosts } from './two-hosts.js';
import { TrafficAgent } from './traffic-agent.js';

const MAIN = fileURLToPath(new URL('../../dist/examples/soft-unicast-router/main.js', import.meta.url));
const TOOLS = ['ip', 'ethtool', 'mount', 'umount'];
const SHARED = '192.0.2.1';
const SRV4 = '10.7.0.1';
const PEER4 = '10.7.0.2';
const SRV_PORT = 10000;
const PEER_PORT = 20000;
/** How long the router stays down between the stop and the next start. */
const DOWN_MS = 1_000;

const CONFIG = twoHostConfig({ srv4: SRV4, peer4: PEER4, shared: SHARED });

let srv: string;
let peer: string;
let dir: string;
let bpffs: string | undefined;
let config: string;

beforeAll(async () => {
  requireNetnsPrivileges(TOOLS);
  dir = mkdtempSync(join(tmpdir(), 'su-router-restart-'));
  config = join(dir, 'router.yaml');
  writeFileSync(config, CONFIG);
  // `ip netns exec` gives the router a /sys without /sys/fs/bpf: a bpf filesystem of the test's.
  const mount = join(dir, 'bpf');
  mkdirSync(mount);
  const r = spawnSync('mount', ['-t', 'bpf', 'bpf', mount], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  bpffs = mount;
  ({ srv: srv, peer: peer } = await twoHosts({ srv4: SRV4, peer4: PEER4, shared: SHARED }));
}, 60_000);
afterAll(async () => {
  await teardownRun();
  if (bpffs !== undefined) spawnSync('umount', [bpffs]);
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => requireNetnsPrivileges(TOOLS));

const pinDir = () => join(bpffs!, 'srv', 'eth0');

async function startRouter(pin: boolean): Promise<SpawnedProcess> {
  const args = [MAIN, '--config', config, '--host', 'srv', '--socket', join(dir, 'srv.sock'), ...(pin ? ['--pin-dir', pinDir()] : ['--no-pin'])];
  const router = spawnIn(srv, process.execPath, args);
  try {
    // The log goes to stderr.
    await waitFor(() => / info +ready in /.test(router.stderr) || !router.running, { what: 'the router to be ready', timeoutMs: 30_000 });
  } catch (error) {
    throw new Error(`${(error as Error).message}; its stderr:\n${router.stderr}`);
  }
  if (!router.running) throw new Error(`the router exited: ${router.stderr}`);
  return router;
}

/**
 * Traffic to both slices, one datagram per ms each; the router is stopped with `signal`, stays
 * down DOWN_MS, and starts again. Returns what was sent and what arrived per slice.
 */
async function restartUnderLoad(pin: boolean, signal: 'SIGTERM' | 'SIGKILL'): Promise<{ sent: number[]; received: number[]; log: string }> {
  const sink = await TrafficAgent.start(srv, ['sink', SHARED, String(SRV_PORT)]);
  const sender = await TrafficAgent.start(peer, ['peer']);
  let router: SpawnedProcess | undefined;
  try {
    router = await startRouter(pin);
    await sender.run('start', { target: SHARED, ports: [SRV_PORT, PEER_PORT], intervalMs: 1 });
    await waitFor(async () => ((await sender.run('report')).gue[PEER_PORT] ?? 0) > 200, { what: 'GUE for peer\'s slice', timeoutMs: 10_000 });
    await router.kill(signal);
    await new Promise((r) => setTimeout(r, DOWN_MS));
    router = await startRouter(pin);
    await new Promise((r) => setTimeout(r, 500));
    const { sent } = await sender.run('stop');
    // Datagrams in flight when the sender stopped.
    await new Promise((r) => setTimeout(r, 300));
    const { gue } = await sender.run('report');
    const { received } = await sink.run('report');
    return { sent: [sent[SRV_PORT], sent[PEER_PORT]], received: [received[SRV_PORT] ?? 0, gue[PEER_PORT] ?? 0], log: router.stderr };
  } finally {
    if (router?.running) await router.kill('SIGTERM');
    await sink.proc.kill('SIGTERM');
    await sender.proc.kill('SIGTERM');
  }
}

describe('soft-unicast-router restarts', () => {
  it.each(['SIGTERM', 'SIGKILL'] as const)('pinned, %s under load: the kernel keeps forwarding, the next start takes over, no datagram lost', async (signal) => {
    const r = await restartUnderLoad(true, signal);
    console.log(`pinned restart after ${signal}: local slice ${r.received[0]} of ${r.sent[0]}, peer's slice ${r.received[1]} of ${r.sent[1]} (down ${DOWN_MS} ms)`);
    expect(r.log).toMatch(/took over the XDP program and tables pinned in .* by an earlier router: no gap on eth0/);
    expect({ local: r.received[0], peer: r.received[1] }).toEqual({ local: r.sent[0], peer: r.sent[1] });
    // Still pinned after the last SIGTERM: the program stays on eth0.
    expect((await xdpAttachments(srv, 'eth0')).map((a) => a.name)).toEqual(['su_steer']);
  }, 90_000);

  it('--detach removes the pinned program: eth0 carries none, the directory is gone', async () => {
    expect(existsSync(pinDir())).toBe(true);
    const r = await execIn(srv, process.execPath, [MAIN, '--detach', '--config', config, '--host', 'srv', '--pin-dir', pinDir()]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe(`soft-unicast-router: removed ${pinDir()}: the XDP program left eth0 (unless a running router still holds it)\n`);
    expect(await xdpAttachments(srv, 'eth0')).toEqual([]);
    expect(existsSync(pinDir())).toBe(false);
    const again = await execIn(srv, process.execPath, [MAIN, '--detach', '--config', config, '--host', 'srv', '--pin-dir', pinDir()]);
    expect(again).toMatchObject({ code: 0, stderr: `soft-unicast-router: nothing pinned in ${pinDir()}: no router left its XDP program on eth0\n` });
  }, 30_000);

  it('unpinned, kill -9 under load loses the traffic of the time the router is down (the baseline)', async () => {
    const r = await restartUnderLoad(false, 'SIGKILL');
    const lost = [r.sent[0]! - r.received[0]!, r.sent[1]! - r.received[1]!];
    console.log(`unpinned restart after SIGKILL: local slice lost ${lost[0]} of ${r.sent[0]}, peer's slice lost ${lost[1]} of ${r.sent[1]} (down ${DOWN_MS} ms)`);
    // Without the program the kernel gets every datagram: srv's own still arrive, peer's do not.
    expect(lost[0]).toBe(0);
    expect(lost[1]).toBeGreaterThan(0);
  }, 90_000);
});
