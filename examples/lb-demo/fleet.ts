// The demo's load-balancer hosts: the configuration file they share (written for the world of
// world.ts), one examples/load-balancer process per host, reloads (SIGHUP) and waits on their
// stats lines. Used by main.ts and test/netns/lb-demo.test.ts.
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { spawnIn, type SpawnedProcess } from 'softunicast/netns';

import { backendAddress, backendMac, backendName, lbAddress, LB_HOSTS, SERVICE, SERVICE_PORT, type Host, type LbWorld } from './world.js';

/** The balancer, compiled beside this demo. */
const BALANCER = fileURLToPath(new URL('../load-balancer/main.js', import.meta.url));

export interface Plan {
  /** Backends in the service (b1, b2, ...: indexes from 0), with weights and drains. */
  readonly backends: readonly { readonly index: number; readonly weight?: number; readonly drain?: boolean }[];
  /** Servers the file defines (the backends to come among them). */
  readonly servers: number;
  readonly moves: 'stateless' | 'fewest';
  readonly encap: 'l2' | 'glb';
}

/** The configuration file of `plan`, as JSON text. */
export function configText(plan: Plan): string {
  const servers: Record<string, unknown> = {};
  LB_HOSTS.forEach((name, i) => (servers[name] = { ipv4: lbAddress(i), interface: 'eth0' }));
  for (let i = 0; i < plan.servers; i++) {
    servers[backendName(i)] = plan.encap === 'l2' ? { ipv4: backendAddress(i), encap: 'l2', mac: backendMac(i) } : { ipv4: backendAddress(i), encap: plan.encap };
  }
  const backends = plan.backends.map((b) => ({ server: backendName(b.index), ...(b.weight !== undefined && { weight: b.weight }), ...(b.drain === true && { drain: true }) }));
  return `${JSON.stringify({
    version: 1,
    datacenters: { site: { servers } },
    egress: [],
    services: [{
      name: 'web', address: SERVICE, protocol: 'tcp', port: SERVICE_PORT, moves: plan.moves, backends,
      health: { check: 'tcp', intervalMs: 500, timeoutMs: 500, rise: 2, fall: 3, drainDeadlineMs: 3_600_000 },
    }],
    stats: { intervalSeconds: 0.5 },
  }, null, 2)}\n`;
}

interface BackendStats {
  owner: string;
  health: 'up' | 'down';
  drain: 'none' | 'draining' | 'drained';
  primaryRows: number;
  secondaryRows: number;
}

export interface Stats {
  generation: number;
  owners: Record<string, { packets: number; bytes: number }>;
  balancer: { rebuilds: number; healthUp: number; healthDown: number; drainChanges: number };
  services: { name: string; digest: string; backends: BackendStats[] }[];
}

export interface Balancer {
  readonly host: Host;
  readonly proc: SpawnedProcess;
}

/** Starts the balancer on every host of `hosts` with `file`; resolves once each prints stats. */
export async function startFleet(world: LbWorld, file: string): Promise<Balancer[]> {
  const fleet = world.lbs.map((host) => ({ host, proc: spawnIn(host.ns, process.execPath, [BALANCER, '--config', file, '--host', host.name]) }));
  for (const b of fleet) await b.proc.waitForLine((l) => l.startsWith('{'), 30_000);
  return fleet;
}

/** Writes `plan` to `file` and has every running balancer reload it. */
export function reload(fleet: readonly Balancer[], file: string, plan: Plan): void {
  writeFileSync(file, configText(plan));
  for (const b of fleet) if (b.proc.running) b.proc.child.kill('SIGHUP');
}

/** Waits until a stats line of every running balancer satisfies `ok`; resolves with the last lines. */
export async function untilStats(fleet: readonly Balancer[], ok: (s: Stats) => boolean, timeoutMs = 30_000): Promise<Stats[]> {
  return Promise.all(fleet.filter((b) => b.proc.running).map(async (b) => {
    let last: Stats | undefined;
    await b.proc.waitForLine((line) => {
      if (!line.startsWith('{')) return false;
      last = JSON.parse(line) as Stats;
      return ok(last);
    }, timeoutMs);
    return last!;
  }));
}

/** The service's backend `owner` in a stats line. */
export function backendIn(s: Stats, owner: string): BackendStats | undefined {
  return s.services[0]?.backends.find((b) => b.owner === owner);
}
