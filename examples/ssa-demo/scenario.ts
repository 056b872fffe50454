// The steps of the structured-addressing demo, each returning its counts: connections by every rule,
// scaling 3 -> 5 -> 3 endpoints while they stay open, objects fetched by key. main.ts prints them;
// test/netns/ssa-demo.test.ts runs a smaller world and asserts them.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';

import { IPv6 } from 'ip-num';

import { ssa } from '../../src/index.js';
import { mustExecIn, waitFor } from '../../src/netns/index.js';
import { contiguousSlices, rebalanceEach, returnHome } from './deployment.js';
import { digAll, startFleet, stopFleet, type Fleet } from './fleet.js';
import { settledTotals, startRouter, steer, writeConfig, type RouterRun } from './router.js';
import { ADDRESS_SERVICES, SERVICE_NAMES } from './rules.js';
import { buildSsaWorld, clientSource, endpointName, SERVICE_PORT, SERVICE_PREFIXES, type SsaWorld } from './world.js';

/** Run from the source tree: a Python script is not compiled into dist/. */
const FLOOD = fileURLToPath(new URL('../../../examples/ssa-demo/agents/flood.py', import.meta.url));

export interface ScenarioOptions {
  /** Client source /64s: one source-derived connection each, random ones spread over them. */
  readonly sources: number;
  /** Long-lived connections by the random rule, and by the content rule, per batch. */
  readonly randomConns: number;
  readonly contentConns: number;
  /** Non-conforming SYNs in the flood step. */
  readonly flood: number;
  /** Objects fetched by key in the content step. */
  readonly objects: number;
  /** Slice length: 78 gives 16,384 slices of each /64. */
  readonly sliceLength: number;
  /** How long a moved slice's old owner keeps accepting (the set's window). */
  readonly windowMs: number;
  /** A directory for the router's configuration file. */
  readonly dir: string;
  readonly log: (line: string) => void;
}

/** One batch of new connections: how many, how many reached their slice's owner, how many a given set of endpoints. */
export interface Batch {
  readonly opened: number;
  readonly onOwner: number;
  readonly byEndpoint: Record<string, number>;
}

export interface ScaleStep {
  readonly label: string;
  readonly endpoints: number;
  readonly moved: number;
  /** The fewest moves ssa.rebalance finds for the step, each service apart (a return home moves as many, to other owners). */
  readonly fewest: number;
  /** 'rebalance', or 'return home': the slices that left their owners in the scale-up go back. */
  readonly how: 'rebalance' | 'return home';
  /** Times the DNS agent had read the router's file by the end of the step. */
  readonly dnsLoads: number;
  /** Connections open before the step, and how many of them broke across it. */
  readonly open: number;
  readonly broken: number;
  /** Of the broken ones, those whose slice did not change owner in the step. */
  readonly brokenUnmoved: number;
  readonly brokenKeys: readonly string[];
  readonly fresh: Batch;
}

/** The flood of SYNs that the source-derived rule does not give their source, and what it did. */
export interface FloodStep {
  readonly sent: number;
  /** The router's drop_ssa_source over the flood. */
  readonly dropped: number;
  /** SYNs the endpoints' second chance passed to their kernels meanwhile (the flood's, and any other). */
  readonly reachedEndpoints: number;
  /** Open connections before and broken during the flood. */
  readonly open: number;
  readonly broken: number;
}

export interface ScenarioResult {
  /** Slices of each address service (its /64), and their length. */
  readonly slices: number;
  readonly sliceLength: number;
  readonly dig: { name: string; apl: number; txt: string; aaaa: number }[];
  readonly start: Batch;
  readonly steps: ScaleStep[];
  readonly content: { fetched: number; onHolder: number };
  readonly flood: FloodStep;
  readonly chance: Record<string, Record<string, number>>;
}

interface Ctx {
  readonly o: ScenarioOptions;
  readonly world: SsaWorld;
  readonly fleet: Fleet;
  readonly router: RouterRun;
  set: ssa.SliceSet;
  /** The starting set: where a scale back to its endpoints returns the slices. */
  readonly home: ssa.SliceSet;
  batches: number;
  /** Keys of connections found broken by an earlier step. */
  readonly broken: Set<string>;
  /** Each connection's destination, by key. */
  readonly destinations: Map<string, string>;
}

interface Opened {
  key: string;
  endpoint: string;
  destination: string;
}

/** A batch of long-lived connections: random, one source-derived per source, content-addressed. */
function specs(ctx: Ctx): Record<string, unknown>[] {
  const tag = `b${ctx.batches++}`;
  const { sources, randomConns, contentConns } = ctx.o;
  return [
    ...Array.from({ length: randomConns }, (_, i) => ({ key: `${tag}-random-${i}`, service: SERVICE_NAMES.random.name, source: clientSource(i % sources) })),
    ...Array.from({ length: sources }, (_, i) => ({ key: `${tag}-source-${i}`, service: SERVICE_NAMES.source.name, source: clientSource(i) })),
    ...Array.from({ length: contentConns }, (_, i) => ({
      key: `${tag}-content-${i}`, service: SERVICE_NAMES.content.name, source: clientSource(i % sources), objectKey: `${tag}/object-${i}`,
    })),
  ];
}

/** Whose slice each connection's destination is in now, against the endpoint that answered it. */
function tally(set: ssa.SliceSet, list: readonly Opened[]): Batch {
  const byEndpoint: Record<string, number> = {};
  let onOwner = 0;
  for (const c of list) {
    byEndpoint[c.endpoint] = (byEndpoint[c.endpoint] ?? 0) + 1;
    if (ssa.sliceAt(set, IPv6.fromString(c.destination))?.owner === c.endpoint) onOwner++;
  }
  return { opened: list.length, onOwner, byEndpoint };
}

async function openBatch(ctx: Ctx): Promise<Batch> {
  const answer = await ctx.fleet.client.must('open', { conns: specs(ctx) }, 120_000);
  for (const c of answer.opened as Opened[]) ctx.destinations.set(c.key, c.destination);
  return tally(ctx.set, answer.opened as Opened[]);
}

/** Waits until every open move window of the set has ended, then closes them. */
async function settleWindows(ctx: Ctx): Promise<void> {
  const until = Math.max(0, ...ssa.openMoves(ctx.set, Date.now()).map((s) => s.moving!.until));
  if (until > Date.now()) await sleep(until - Date.now() + 10);
  ctx.set = ssa.settle(ctx.set, Date.now());
}

const ownersOf = (set: ssa.SliceSet): number => new Set(set.slices.map((x) => x.owner)).size;

/** The DNS agent's reads of the router's file, once it has read at least `least`. */
async function dnsLoads(ctx: Ctx, least: number): Promise<number> {
  return await waitFor(async () => {
    const loads = (await ctx.fleet.dns.must('status', {})).loads as number;
    return loads >= least ? loads : undefined;
  }, { what: `the DNS agent to read the router's file ${least} times`, timeoutMs: 10_000, intervalMs: 100 });
}

/**
 * Moves slices to `n` endpoints (back home when `n` is the start's count, else the fewest by
 * ssa.rebalance, each service apart), steers the router (moved slices with their old owner as secondary), then counts
 * what broke and where new connections land.
 */
async function scaleTo(ctx: Ctx, n: number, step: number): Promise<ScaleStep> {
  await settleWindows(ctx);
  const names = Array.from({ length: n }, (_, i) => endpointName(i));
  const before = ctx.set;
  const now = Date.now();
  const fewest = rebalanceEach(ctx.set, names, { now, windowMs: ctx.o.windowMs });
  const back = n === ownersOf(ctx.home) ? returnHome(ctx.set, ctx.home, now, ctx.o.windowMs) : undefined;
  const r = back ?? fewest;
  ctx.set = r.set;
  const ownerIn = (set: ssa.SliceSet, key: string): string | undefined => ssa.sliceAt(set, IPv6.fromString(ctx.destinations.get(key)!))?.owner;
  await steer(ctx.router, ctx.set);
  // The DNS agent follows the same file: one read at start, one per step.
  const loads = await dnsLoads(ctx, step + 2);
  const checked = await ctx.fleet.client.must('check', {}, 120_000);
  const open = (checked.open as number) - ctx.broken.size;
  const broken = (checked.broken as { key: string }[]).map((b) => b.key).filter((k) => !ctx.broken.has(k));
  for (const k of broken) ctx.broken.add(k);
  const brokenUnmoved = broken.filter((k) => ownerIn(before, k) === ownerIn(ctx.set, k)).length;
  const fresh = await openBatch(ctx);
  const label = `scale to ${n} endpoints`;
  ctx.o.log(`${label}: ${r.moved} slices moved (${back ? 'home' : 'rebalance'}), ${broken.length} of ${open} open connections broken, ${fresh.onOwner}/${fresh.opened} new ones on their slice's owner`);
  return {
    label, endpoints: n, moved: r.moved, fewest: fewest.moved, how: back ? 'return home' : 'rebalance', dnsLoads: loads,
    open, broken: broken.length, brokenUnmoved, brokenKeys: broken, fresh,
  };
}

/** Objects fetched by key (a short connection each): the endpoint that answers against the slice's owner. */
async function fetchObjects(ctx: Ctx): Promise<{ fetched: number; onHolder: number }> {
  const items = Array.from({ length: ctx.o.objects }, (_, i) => ({
    key: `object-${i}`, service: SERVICE_NAMES.content.name, source: clientSource(i % ctx.o.sources), objectKey: `objects/${i}`,
  }));
  const answer = await ctx.fleet.client.must('fetch', { items }, 120_000);
  const b = tally(ctx.set, answer.fetched as Opened[]);
  return { fetched: b.opened, onHolder: b.onOwner };
}

const synsOf = async (fleet: Fleet): Promise<number> =>
  (await Promise.all(fleet.chance.map(async (c) => (await c.counters()).chance_local_syn))).reduce((a, b) => a + b, 0);

/** SYNs from a client source to random addresses of the source-derived service's /64 (not the one
 * its rule gives it), then a round of bytes on every open connection; the router's drop_ssa_source across it. */
async function floodStep(ctx: Ctx): Promise<FloodStep> {
  const before = await synsOf(ctx.fleet);
  const dropsBefore = (await settledTotals(ctx.router)).drop_ssa_source!;
  const brokenBefore = ((await ctx.fleet.client.must('check', {}, 120_000)).broken as unknown[]).length;
  await mustExecIn(ctx.world.client.ns, 'python3', [FLOOD, clientSource(0), ADDRESS_SERVICES.source, String(SERVICE_PORT), String(ctx.o.flood)], { what: 'the flood' });
  const checked = await ctx.fleet.client.must('check', {}, 120_000);
  const broken = (checked.broken as unknown[]).length - brokenBefore;
  const dropped = (await settledTotals(ctx.router)).drop_ssa_source! - dropsBefore;
  const reachedEndpoints = (await synsOf(ctx.fleet)) - before;
  ctx.o.log(`flood: ${ctx.o.flood} non-conforming SYNs, ${dropped} dropped by the router (drop_ssa_source), ${reachedEndpoints} SYNs reached the endpoints, ${broken} open connections broken`);
  return { sent: ctx.o.flood, dropped, reachedEndpoints, open: (checked.open as number) - brokenBefore, broken };
}

async function chanceCounters(fleet: Fleet): Promise<Record<string, Record<string, number>>> {
  const out: Record<string, Record<string, number>> = {};
  for (const [i, c] of fleet.chance.entries()) out[endpointName(i)] = Object.fromEntries(Object.entries(await c.counters()).filter(([, v]) => v > 0));
  return out;
}

/** The whole scenario in a world it builds (the caller tears it down with teardownRun()). */
export async function runScenario(o: ScenarioOptions): Promise<ScenarioResult> {
  const world = await buildSsaWorld(5, o.sources);
  o.log('world built: client, dns, r, e1..e5 on one segment');
  const set = contiguousSlices(SERVICE_PREFIXES, o.sliceLength, ['e1', 'e2', 'e3']);
  // The router's file first: the DNS agent publishes from it.
  const file = join(o.dir, 'ssa-router.json');
  writeConfig(file, set, 5);
  const fleet = await startFleet(world, file);
  const dig = await digAll(world);
  const router = await startRouter(world, file, 5);
  o.log('router attached; endpoints, second chance, DNS and client agents running');
  const ctx: Ctx = { o, world, fleet, router, set, home: set, batches: 0, broken: new Set(), destinations: new Map() };
  const start = await openBatch(ctx);
  o.log(`opened ${start.opened} long-lived connections, ${start.onOwner} on their slice's owner`);
  const steps = [await scaleTo(ctx, 5, 0), await scaleTo(ctx, 3, 1)];
  const content = await fetchObjects(ctx);
  const flood = await floodStep(ctx);
  const chance = await chanceCounters(fleet);
  await router.proc.stop();
  await stopFleet(fleet);
  return { slices: set.slices.length / SERVICE_PREFIXES.length, sliceLength: o.sliceLength, dig, start, steps, content, flood, chance };
}
