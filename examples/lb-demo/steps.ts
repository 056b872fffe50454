// The demo's steps on a running world (world.ts, fleet.ts): streams opened, a load-balancer host
// killed, a backend added, one drained, one killed, and the balance of new connections, each
// with its count of broken streams. Used by main.ts (printed) and test/netns/lb-demo.test.ts.
import type { lb } from 'softunicast';
import type { Agent, AgentAnswer } from 'softunicast/netns';

import { backendIn, reload, untilStats, type Balancer, type Plan, type Stats } from './fleet.js';
import { backendName, routeOver, SERVICE, SERVICE_PORT, type LbWorld } from './world.js';

export interface Scenario {
  readonly world: LbWorld;
  readonly fleet: Balancer[];
  readonly client: Agent;
  /** The stream servers by backend name. */
  readonly servers: Map<string, Agent>;
  /** GLB second chance on each backend's link (encap glb only). */
  readonly chance: lb.SecondChanceBackend[];
  readonly file: string;
  plan: Plan;
  readonly connections: number;
  readonly probes: number;
  readonly say: (line: string) => void;
}

interface Progress {
  alive: number;
  broken: number;
  stalled: number;
  byBackend: Record<string, number>;
  brokenByBackend: Record<string, number>;
  reasons: string[];
}

export interface StepResult {
  readonly step: string;
  /** Streams that broke during the step. */
  readonly broken: number;
  readonly alive: number;
  readonly brokenByBackend: Record<string, number>;
  /** Step-specific counts (new connections per backend, what a killed backend had, shares). */
  readonly counts: Record<string, unknown>;
}

const PROGRESS_TIMEOUT_MS = 10_000;

async function progress(s: Scenario): Promise<Progress> {
  return (await s.client.must('progress', { timeoutMs: PROGRESS_TIMEOUT_MS }, PROGRESS_TIMEOUT_MS + 20_000)) as unknown as Progress & AgentAnswer;
}

function delta(after: Record<string, number>, before: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(after)) if (v - (before[k] ?? 0) > 0) out[k] = v - (before[k] ?? 0);
  return out;
}

const list = (counts: Record<string, number>): string => Object.entries(counts).sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => `${k} ${v}`).join(', ') || 'none';

/** Runs `change`, then checks every stream for new bytes: the step's result. */
async function step(s: Scenario, name: string, change: () => Promise<Record<string, unknown>>): Promise<StepResult> {
  const before = await progress(s);
  const counts = await change();
  const after = await progress(s);
  const brokenByBackend = delta(after.brokenByBackend, before.brokenByBackend);
  const digests = new Set((await untilStats(s.fleet, () => true)).map((st) => st.services[0]?.digest));
  const result = { step: name, broken: after.broken - before.broken, alive: after.alive, brokenByBackend, counts: { ...counts, hostsAgree: digests.size === 1 } };
  const why = after.broken > before.broken ? ` (${after.reasons.join('; ')})` : '';
  s.say(`${name}: broken ${result.broken} of ${before.alive}${why}; alive ${after.alive}: ${list(after.byBackend)}`);
  s.say(`  rows of the balancer hosts: ${digests.size === 1 ? `the same on each (${[...digests][0]!.slice(0, 12)})` : `${digests.size} different tables`}`);
  return result;
}

async function probe(s: Scenario, n: number): Promise<Record<string, number>> {
  const answer = await s.client.must('probe', { n, host: SERVICE, port: SERVICE_PORT }, 120_000);
  return answer.byBackend as Record<string, number>;
}

/** Opens the streams; every one must open. */
export async function openStreams(s: Scenario): Promise<StepResult> {
  const answer = await s.client.must('open', { n: s.connections, host: SERVICE, port: SERVICE_PORT }, 120_000);
  const byBackend = answer.byBackend as Record<string, number>;
  s.say(`opened ${answer.opened as number} streams (${answer.failed as number} failed): ${list(byBackend)}`);
  const check = await progress(s);
  s.say(`all streaming: ${check.alive} alive, ${check.broken} broken`);
  return { step: 'open', broken: check.broken, alive: check.alive, brokenByBackend: check.brokenByBackend, counts: { opened: answer.opened, failed: answer.failed, byBackend } };
}

/** Kills the balancer of the first host and takes the host out of r's ECMP route. */
export function killLbHost(s: Scenario): Promise<StepResult> {
  const victim = s.fleet[0]!;
  return step(s, `kill load-balancer host ${victim.host.name}`, async () => {
    await victim.proc.kill('SIGKILL');
    await routeOver(s.world, s.world.lbs.filter((h) => h !== victim.host));
    return { killed: victim.host.name };
  });
}

/** Adds backend `index` (its server already runs) to the service on every balancer. */
export function addBackend(s: Scenario, index: number): Promise<StepResult> {
  const name = backendName(index);
  return step(s, `add backend ${name}`, async () => {
    s.plan = { ...s.plan, backends: [...s.plan.backends, { index }] };
    reload(s.fleet, s.file, s.plan);
    await untilStats(s.fleet, (st) => (backendIn(st, name)?.primaryRows ?? 0) > 0);
    const fresh = await probe(s, Math.max(100, Math.round(s.connections / 2)));
    s.say(`  new connections after the add: ${list(fresh)}`);
    return { newConnections: fresh };
  });
}

/** Drains backend `index` on every balancer; new connections must avoid it. */
export function drainBackend(s: Scenario, index: number): Promise<StepResult> {
  const name = backendName(index);
  return step(s, `drain backend ${name}`, async () => {
    s.plan = { ...s.plan, backends: s.plan.backends.map((b) => (b.index === index ? { ...b, drain: true } : b)) };
    reload(s.fleet, s.file, s.plan);
    const stats = await untilStats(s.fleet, (st) => backendIn(st, name)?.drain === 'draining' && backendIn(st, name)?.primaryRows === 0);
    const fresh = await probe(s, Math.max(100, Math.round(s.connections / 2)));
    s.say(`  new connections after the drain: ${list(fresh)} (${name}: ${fresh[name] ?? 0}); rows giving ${name} a second chance: ${backendIn(stats[0]!, name)?.secondaryRows}`);
    return { newConnections: fresh, drainedGot: fresh[name] ?? 0 };
  });
}

/** Kills backend `index`'s stream server; the balancers see it down and take it out. */
export async function killBackend(s: Scenario, index: number): Promise<StepResult> {
  const name = backendName(index);
  const had = (await progress(s)).byBackend[name] ?? 0;
  const result = await step(s, `kill backend ${name}`, async () => {
    await s.servers.get(name)!.proc.kill('SIGKILL');
    await untilStats(s.fleet, (st: Stats) => backendIn(st, name)?.health === 'down' && backendIn(st, name)?.primaryRows === 0);
    return { had };
  });
  const others = Object.entries(result.brokenByBackend).filter(([b]) => b !== name).reduce((n, [, v]) => n + v, 0);
  s.say(`  ${name} had ${had} streams; ${result.brokenByBackend[name] ?? 0} of them broke; streams of other backends broken: ${others}`);
  return { ...result, counts: { ...result.counts, had, brokeOwn: result.brokenByBackend[name] ?? 0, brokeOthers: others } };
}

/** New connections spread by weight: `probes` short connections, shares against the weights. */
export async function balance(s: Scenario): Promise<StepResult> {
  const counts = await probe(s, s.probes);
  const total = Object.values(counts).reduce((a, b) => a + b, 0);
  const stats = await untilStats(s.fleet, () => true);
  const active = stats[0]!.services[0]!.backends.filter((b) => b.primaryRows > 0);
  const weights = Object.fromEntries(s.plan.backends.map((b) => [backendName(b.index), b.weight ?? 1]));
  const weightSum = active.reduce((n, b) => n + (weights[b.owner] ?? 1), 0);
  const shares: Record<string, { got: number; expected: number }> = {};
  s.say(`balance over ${total} new connections (backend: share got / share of its weight / share of the rows):`);
  for (const b of active) {
    const got = (100 * (counts[b.owner] ?? 0)) / total;
    const expected = (100 * (weights[b.owner] ?? 1)) / weightSum;
    const rows = (100 * b.primaryRows) / active.reduce((n, x) => n + x.primaryRows, 0);
    shares[b.owner] = { got, expected };
    s.say(`  ${b.owner.padEnd(4)} ${got.toFixed(1).padStart(5)}% / ${expected.toFixed(1).padStart(5)}% / ${rows.toFixed(2).padStart(6)}%`);
  }
  const elsewhere = Object.keys(counts).filter((b) => !(b in shares));
  return { step: 'balance', broken: 0, alive: 0, brokenByBackend: {}, counts: { total, shares, elsewhere } };
}
