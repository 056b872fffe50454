// Path MTU discovery through the tunnel, with real TCP: the demo's two data centres with links of
// 1500 bytes everywhere, so that none of inet's full-size replies fits once wrapped in GUE. The
// routers answer each with ICMP "fragmentation needed" or ICMPv6 "packet too big" carrying the
// MTU left after encapsulation (reply_too_big), inet's kernel lowers its path MTU to the shared
// address, and every download from every slice completes intact. Before the routers answered,
// those packets were dropped (drop_too_big) and the downloads stalled. Run by vitest as root.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { deploymentYaml, slicesOf } from '../../examples/soft-unicast-demo/deployment.js';
import { loadConfig } from '../../src/index.js';
import { execIn, requireNetnsPrivileges, spawnIn, teardownRun, waitFor, type SpawnedProcess } from '../../src/netns/index.js';
import { Agent, HTTP_PORT, INET4, INET6, INET_SERVER, SHARED4, SHARED6, SLICE_CLIENT, UDP_ECHO_PORT, buildWorld, sharedOf, type World } from './topology.js';

const MAIN = fileURLToPath(new URL('../../dist/examples/soft-unicast-router/main.js', import.meta.url));
const TOOLS = ['ip', 'ping', 'sysctl', 'ethtool'];
const SIZE = 1 << 20;
const FAMILIES = ['v4', 'v6'] as const;

let world: World;
let dir: string;
let sha256: string;
const routers = new Map<string, SpawnedProcess>();
const clients = new Map<string, Agent>();
let slices: ReturnType<typeof slicesOf>;

beforeAll(async () => {
  requireNetnsPrivileges(TOOLS);
  dir = mkdtempSync(join(tmpdir(), 'su-pmtu-'));
  world = await buildWorld({ dcMtu: 1500 });
  const config = join(dir, 'deployment.yaml');
  writeFileSync(config, deploymentYaml(world));
  const inet = (await Agent.ready('inet', world.inet.ns, INET_SERVER, { addresses: [INET4, INET6], httpPort: HTTP_PORT, udpPort: UDP_ECHO_PORT, blobs: [SIZE] })).first;
  sha256 = (inet.hashes as Record<string, string>)[SIZE]!;
  for (const s of world.servers) {
    routers.set(s.name, spawnIn(s.ns, process.execPath, [MAIN, '--no-pin', '--no-watch', '--config', config, '--host', s.name, '--json', '--stats-interval', '0.2', '--socket', join(dir, `${s.name}.sock`)]));
    clients.set(s.name, (await Agent.ready(`${s.name}-app`, s.ns, SLICE_CLIENT)).agent);
  }
  for (const [name, r] of routers) await waitFor(() => r.stdoutLines.length > 0 || !r.running, { what: `the router on ${name} to print stats`, timeoutMs: 30_000 });
  for (const [name, r] of routers) if (!r.running) throw new Error(`the router on ${name} exited: ${r.stderr}`);
  slices = slicesOf(await loadConfig(config));
}, 120_000);
afterAll(async () => {
  await teardownRun();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => requireNetnsPrivileges(TOOLS));

/** The totals of a router's last stats line. */
function totals(server: string): { fates: Record<string, number> } {
  const line = routers.get(server)!.stdoutLines.at(-1)!;
  return (JSON.parse(line) as { totals: { fates: Record<string, number> } }).totals;
}

describe('path MTU discovery through GUE', () => {
  it('every server downloads from its slice over IPv4 and IPv6 although no full-size reply fits once encapsulated', async () => {
    for (const family of FAMILIES) {
      for (const s of world.servers) {
        const slice = slices[family].get(s.name)!;
        const nonzero = (f: Record<string, number>) => Object.fromEntries(Object.entries(f).filter(([, v]) => v !== 0));
        const counters = () => JSON.stringify(Object.fromEntries(world.servers.map((x) => [x.name, nonzero(totals(x.name).fates)])));
        const answer = await clients.get(s.name)!.run('get', {
          source: sharedOf(family), host: family === 'v4' ? INET4 : INET6, port: HTTP_PORT, from: slice.from, to: slice.to, path: `/blob/${SIZE}`, count: 1, timeoutMs: 5_000,
        }, 20_000).catch((error: unknown) => {
          throw new Error(`${s.name} ${family}: ${(error as Error).message.split('\n')[0]}; counters: ${counters()}`);
        });
        if (answer.error !== undefined) throw new Error(`${s.name} ${family}: ${JSON.stringify(answer.error)}; counters: ${counters()}`);
        const [r] = answer.results as { status: number; length: number; sha256: string }[];
        expect({ server: s.name, family, status: r!.status, length: r!.length, intact: r!.sha256 === sha256 }).toEqual({ server: s.name, family, status: 200, length: SIZE, intact: true });
      }
    }
    // Counters settle within a stats interval.
    await new Promise((r) => setTimeout(r, 500));
    const all = Object.fromEntries(world.servers.map((s) => [s.name, totals(s.name)]));
    // The entry servers (a1 for IPv4, b1 for IPv6) answered; nobody dropped a packet for its size.
    expect(all.a1!.fates.reply_too_big, 'a1 answered IPv4 senders').toBeGreaterThan(0);
    expect(all.b1!.fates.reply_too_big, 'b1 answered IPv6 senders').toBeGreaterThan(0);
    for (const s of world.servers) expect({ server: s.name, drop_too_big: all[s.name]!.fates.drop_too_big }).toEqual({ server: s.name, drop_too_big: 0 });
    // inet's kernel learnt the smaller path MTU to the shared addresses from the answers.
    for (const shared of [SHARED4, SHARED6]) {
      const route = await execIn(world.inet.ns, 'ip', ['route', 'get', shared], { throwOnError: true });
      expect(route.stdout, `inet's route to ${shared}`).toMatch(/ mtu 1[34]\d\d\b/);
    }
  }, 180_000);
});
