// Dead peers (issue 12): a failover and a recovery with the router binary in the demo's world
// (test/netns/topology.ts). Server a2 names a3 as its fallback; inet sends UDP to a port of a2's
// slice of 192.0.2.1, which lands at a1 and goes on to a2 in GUE. a2's router dies (kill -9,
// unpinned: its XDP program leaves with it), so a2 no longer answers the health probes of a1 and
// a3: both find it down, a1 sends a2's slice to a3, a3 delivers it; the log, the health command
// and /metrics say so. a2's router comes back: once both find it up, the slice is a2's again.
// In both lanes: the probes are answered by the XDP program, or by a worker with --lane afxdp.
// Every step waits for a state (a log line, a count), never for a time. Run by vitest as root.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { deploymentYaml } from '../../examples/soft-unicast-demo/deployment.js';
import { execIn, requireNetnsPrivileges, spawnIn, teardownRun, waitFor, type SpawnedProcess } from '../../src/netns/index.js';
import { TrafficAgent } from './traffic-agent.js';
import { buildWorld, INET4, SHARED4, type World } from './topology.js';

const MAIN = fileURLToPath(new URL('../../dist/examples/soft-unicast-router/main.js', import.meta.url));
const TOOLS = ['ip', 'ping', 'sysctl', 'ethtool'];
/** A port of a2's slice (4096-6143: the demo's second slice of 2048). */
const PORT = 5000;
const METRICS = 9464;

let world: World;
let dir: string;
let config: string;
const routers = new Map<string, SpawnedProcess>();
const sinks = new Map<string, TrafficAgent>();
let sender: TrafficAgent;

const socketOf = (server: string) => join(dir, `${server}.sock`);

async function startRouter(server: string, lane: string): Promise<SpawnedProcess> {
  const s = world.server(server);
  const args = [MAIN, '--no-pin', '--no-watch', '--lane', lane, '--config', config, '--host', server, '--socket', socketOf(server), '--json', '--stats-interval', '0.5'];
  if (server === 'a1') args.push('--prometheus', `127.0.0.1:${METRICS}`);
  const router = spawnIn(s.ns, process.execPath, args);
  routers.set(server, router);
  await waitFor(() => / info +ready in /.test(router.stderr) || !router.running, { what: `the router on ${server} to be ready`, timeoutMs: 30_000 });
  if (!router.running) throw new Error(`the router on ${server} exited: ${router.stderr}`);
  return router;
}

/** Waits for a line of `server`'s router log matching `re` (after `from` characters of its stderr). */
async function logged(server: string, re: RegExp, from = 0): Promise<string> {
  const router = routers.get(server)!;
  try {
    return await waitFor(() => router.stderr.slice(from).split('\n').find((l) => re.test(l)), { what: `${server}'s router to log ${re}`, timeoutMs: 30_000 });
  } catch (error) {
    throw new Error(`${(error as Error).message}; its stderr:\n${router.stderr}`);
  }
}

/** Datagrams `server`'s sink received on PORT (distinct sequence numbers). */
async function received(server: string): Promise<number> {
  return ((await sinks.get(server)!.run('report')).received[PORT] as number | undefined) ?? 0;
}

/** What the router binary's health command answers on `server`, as JSON. */
type Health = Record<string, { up: boolean; replies: number; slicesTo: string; source: string }>;
async function healthOf(server: string): Promise<Health> {
  const r = await execIn(world.server(server).ns, process.execPath, [MAIN, 'health', '--socket', socketOf(server), '--json'], { throwOnError: true });
  return (JSON.parse(r.stdout) as { health: Health }).health;
}

async function ownerCounters(server: string): Promise<Record<string, Record<string, { packets: number }>>> {
  const r = await execIn(world.server(server).ns, process.execPath, [MAIN, 'stats', '--socket', socketOf(server), '--json'], { throwOnError: true });
  return (JSON.parse(r.stdout) as { counters: { owners: Record<string, Record<string, { packets: number }>> } }).counters.owners;
}

beforeAll(async () => {
  requireNetnsPrivileges(TOOLS);
  dir = mkdtempSync(join(tmpdir(), 'su-peer-health-'));
  world = await buildWorld();
  config = join(dir, 'deployment.yaml');
  // The demo's deployment, a2 falling back to a3; probes every 200 ms, the thresholds' defaults.
  const text = deploymentYaml(world).replace(/^( {6}a2: \{ )/m, '$1fallback: a3, ') + 'health: { intervalMs: 200, downAfter: 3, upAfter: 2 }\n';
  expect(text).toContain('a2: { fallback: a3, ');
  writeFileSync(config, text);
  for (const server of ['a2', 'a3']) sinks.set(server, await TrafficAgent.start(world.server(server).ns, ['sink', SHARED4, String(PORT)]));
  sender = await TrafficAgent.start(world.inet.ns, ['peer']);
}, 180_000);
afterAll(async () => {
  await teardownRun();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => requireNetnsPrivileges(TOOLS));

describe('peer health', () => {
  // The probes are answered by the XDP program itself (auto), or by a worker (afxdp).
  it.each(['auto', 'afxdp'])('lane %s: sends the slice of a dead server to its fallback, and back once it answers again', async (lane) => {
    for (const server of ['a1', 'a2', 'a3']) await startRouter(server, lane);
    // Healthy: inet's datagrams reach a2 through a1, and a2's data plane answers a1's probes.
    await sender.run('start', { target: SHARED4, ports: [PORT], intervalMs: 5 });
    await waitFor(async () => (await received('a2')) >= 50, { what: `a2 to receive 50 datagrams from ${INET4}`, timeoutMs: 20_000 });
    await waitFor(async () => ((await healthOf('a1')).a2?.replies ?? 0) > 0, { what: 'a2 to answer a1\'s probes', timeoutMs: 10_000 });
    expect((await healthOf('a1')).a2).toMatchObject({ up: true, slicesTo: 'a2', source: 'probes' });

    // a2's router dies, its XDP program with it: nothing answers the probes any more.
    const a1Down = routers.get('a1')!.stderr.length;
    const a3Down = routers.get('a3')!.stderr.length;
    await routers.get('a2')!.kill('SIGKILL');
    await logged('a1', /warn +owner a2 down: 3 probes unanswered; its slices go to a3/, a1Down);
    await logged('a3', /warn +owner a2 down: 3 probes unanswered; its slices go to a3/, a3Down);
    const before = await received('a3');
    const sentBefore = (await ownerCounters('a1')).a3?.forward_server_gue?.packets ?? 0;
    await waitFor(async () => (await received('a3')) >= before + 50, { what: "a3 to receive 50 datagrams of a2's slice", timeoutMs: 20_000 });
    expect((await healthOf('a1')).a2).toMatchObject({ up: false, slicesTo: 'a3', source: 'probes' });
    // a1 counts what it sent to a3, and its metrics say a2 is down.
    expect((await ownerCounters('a1')).a3?.forward_server_gue?.packets ?? 0).toBeGreaterThanOrEqual(sentBefore + 50);
    const metrics = await execIn(world.server('a1').ns, process.execPath, ['-e', `fetch('http://127.0.0.1:${METRICS}/metrics').then((r) => r.text()).then((t) => process.stdout.write(t))`], { throwOnError: true });
    expect(metrics.stdout).toContain('softunicast_owner_up{owner="a2"} 0\n');
    expect(metrics.stdout).toMatch(/softunicast_owner_probes_total\{owner="a2"\} [1-9]\d*\n/);

    // a2's router is back: once a1 and a3 find it up, every datagram goes to a2 again, none to a3.
    const { sent: stoppedAt } = await sender.run('stop');
    const a1Up = routers.get('a1')!.stderr.length;
    const a3Up = routers.get('a3')!.stderr.length;
    await startRouter('a2', lane);
    await logged('a1', /info +owner a2 up again: 2 probes answered; its slices are its own again/, a1Up);
    await logged('a3', /info +owner a2 up again: 2 probes answered; its slices are its own again/, a3Up);
    const a2Before = await received('a2');
    const a3Before = await received('a3');
    await sender.run('start', { target: SHARED4, ports: [PORT], intervalMs: 5 });
    await waitFor(async () => (await received('a2')) >= a2Before + 50, { what: 'a2 to receive 50 datagrams again', timeoutMs: 20_000 });
    const { sent } = await sender.run('stop');
    const phase = (sent[PORT] as number) - (stoppedAt[PORT] as number);
    await waitFor(async () => (await received('a2')) - a2Before >= phase, { what: `a2 to receive all ${phase} datagrams sent after the recovery`, timeoutMs: 10_000 });
    expect({ a2: (await received('a2')) - a2Before, a3: (await received('a3')) - a3Before }).toEqual({ a2: phase, a3: 0 });
    expect((await healthOf('a1')).a2).toMatchObject({ up: true, slicesTo: 'a2' });
    for (const router of routers.values()) if (router.running) await router.kill('SIGTERM');
  }, 180_000);
});
