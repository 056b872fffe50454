// The demo from start to end: the world built, stream servers on the backends (and GLB second
// chance on their links when the encap is glb), the client, the balancers, then every step.
// Used by main.ts (npm run demo:lb) and test/netns/lb-demo.test.ts (smaller).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { lb } from 'softunicast';
import { Agent } from 'softunicast/netns';

import { configText, reload, startFleet, type Plan } from './fleet.js';
import { addBackend, balance, drainBackend, killBackend, killLbHost, openStreams, type Scenario, type StepResult } from './steps.js';
import { backendName, buildLbWorld, SERVICE_PORT } from './world.js';

const STREAM = fileURLToPath(new URL('./agents/stream.js', import.meta.url));

export interface DemoOptions {
  /** Concurrent streams. */
  readonly connections: number;
  /** Short connections of the balance step. */
  readonly probes: number;
  readonly encap: 'l2' | 'glb';
  readonly say: (line: string) => void;
}

export interface DemoResult {
  readonly encap: 'l2' | 'glb';
  readonly moves: 'stateless' | 'fewest';
  readonly steps: StepResult[];
}

/** Four backends serve from the start (b1 with weight 2); b5 joins, b2 drains, b3 dies. */
const START: Plan['backends'] = [{ index: 0, weight: 2 }, { index: 1 }, { index: 2 }, { index: 3 }];
const ADDED = 4;
const DRAINED = 1;
const KILLED = 2;

async function setUp(options: DemoOptions): Promise<Scenario> {
  const world = await buildLbWorld(ADDED + 1);
  // 'fewest': a change moves only the rows it must, so a row keeps the one secondary it has for
  // as long as possible (a draining backend's, across a later add or loss). Its rows depend on
  // the history of changes: every host here sees the same changes in the same order, and each
  // step checks that their rows agree (lb.tableDigest).
  const moves = 'fewest';
  const plan: Plan = { backends: START, servers: ADDED + 1, moves, encap: options.encap };
  const servers = new Map<string, Agent>();
  const chance: lb.SecondChanceBackend[] = [];
  for (const b of world.backends) {
    servers.set(b.name, (await Agent.readyWithArgs(b.name, b.ns, STREAM, ['serve', b.name, String(SERVICE_PORT)])).agent);
    if (options.encap === 'glb') {
      const nextHops = world.backends.filter((o) => o !== b).map((o) => ({ address: o.ipv4, mac: o.mac }));
      chance.push(await lb.SecondChanceBackend.open({ netns: b.ns, ifname: 'eth0', nextHops }));
    }
  }
  const client = (await Agent.readyWithArgs('client', world.client.ns, STREAM, ['client'])).agent;
  const file = join(mkdtempSync(join(tmpdir(), 'lb-demo-')), 'balancer.json');
  const fleet: Scenario['fleet'] = [];
  const scenario: Scenario = { world, fleet, client, servers, chance, file, plan, connections: options.connections, probes: options.probes, say: options.say };
  reload([], file, plan);
  fleet.push(...(await startFleet(world, file)));
  options.say(`world: client, router r (ECMP over ${world.lbs.map((h) => h.name).join(', ')}), backends ${world.backends.map((b) => b.name).join(', ')}; encap ${options.encap}, ${moves} rebuilds`);
  return scenario;
}

/** Builds the world and runs every step; the caller tears the namespaces down (teardownRun). */
export async function runDemo(options: DemoOptions): Promise<DemoResult> {
  const s = await setUp(options);
  const steps: StepResult[] = [];
  try {
    steps.push(await openStreams(s));
    steps.push(await killLbHost(s));
    steps.push(await addBackend(s, ADDED));
    steps.push(await drainBackend(s, DRAINED));
    steps.push(await killBackend(s, KILLED));
    steps.push(await balance(s));
  } finally {
    for (const b of s.fleet) await b.proc.stop();
    for (const a of [...s.servers.values(), s.client]) await a.proc.stop();
    for (const c of s.chance) await c.close();
  }
  return { encap: options.encap, moves: s.plan.moves, steps };
}

export const NAMES = { added: backendName(ADDED), drained: backendName(DRAINED), killed: backendName(KILLED) };
