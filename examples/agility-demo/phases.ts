// The agility demo's phases: the clients run throughout while the DNS policy and the steering rules
// change between phases, in the order that never hands out an address the server does not serve.
// Shrinking: the DNS answers from the smaller pool first; once every request that began before
// has ended and the TTL of the last old answer has passed, the steering drops the rest. Used by
// main.ts.
import type { Agent } from '../../src/netns/index.js';
import { waitFor } from '../../src/netns/index.js';
import type { PhaseCounts } from './agents/client.js';
import type { LoadEntry } from './load.js';
import { POOL6 } from './world.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export interface Phase {
  name: string;
  select: 'random' | 'stable';
  /** The IPv4 pool the DNS answers from and the steering serves (the IPv6 pool stays the /44). */
  ipv4: string;
}

export interface World {
  dns: Agent;
  server: Agent;
  clients: Agent[];
}

export interface PhaseResult extends PhaseCounts {
  phase: Phase;
  /** The IPv4 rules in force during the phase: 'from -> to' when they changed once old answers had drained. */
  steered: string;
}

interface Progress {
  generation: number;
  phases: Record<string, PhaseCounts>;
  inflight: Record<string, number>;
}

const range = (cidr: string): [bigint, bigint] => {
  const [base, length] = cidr.split('/') as [string, string];
  const start = base.split('.').reduce((n, o) => (n << 8n) | BigInt(o), 0n);
  return [start, start + (1n << BigInt(32 - Number(length))) - 1n];
};
/** Whether every address of `inner` is in `outer`. */
const within = (inner: string, outer: string): boolean => {
  const [a, b] = range(inner);
  const [c, d] = range(outer);
  return a >= c && b <= d;
};

async function progress(w: World): Promise<Progress[]> {
  return await Promise.all(w.clients.map(async (c) => (await c.must('progress')) as unknown as Progress));
}

async function requestsIn(w: World, phase: string): Promise<number> {
  return (await progress(w)).reduce((s, p) => s + (p.phases[phase] === undefined ? 0 : p.phases[phase].ok + p.phases[phase].failed), 0);
}

/** Until no client has a request in flight that began before generation `g`. */
async function drained(w: World, g: number): Promise<void> {
  await waitFor(async () => (await progress(w)).every((p) => Object.entries(p.inflight).every(([gen, n]) => Number(gen) >= g || n === 0)), {
    what: 'the requests begun before the DNS change to end', timeoutMs: 60_000, intervalMs: 20,
  });
}

const steer = async (w: World, ipv4: string): Promise<void> => void (await w.server.must('steer', { ipv4, ipv6: POOL6 }));
const policy = async (w: World, p: Phase): Promise<void> => void (await w.dns.must('policy', { ipv4: p.ipv4, select: p.select }));
const mark = async (w: World, p: Phase): Promise<number> => Math.max(...(await Promise.all(w.clients.map(async (c) => (await c.must('phase', { phase: p.name })).generation as number))));

/**
 * Runs the phases: each until the clients finished `requests` in it (the last a quarter as many).
 * Returns each phase's counts and the steering's per-address load at each phase's start (once the
 * requests of the earlier phases have ended) and at the end.
 */
export async function runPhases(
  w: World, phases: readonly Phase[], requests: number, ttlSeconds: number, loadNow: () => Promise<LoadEntry[]>, log: (line: string) => void,
): Promise<{ results: PhaseResult[]; snapshots: LoadEntry[][] }> {
  let steered = phases[0]!.ipv4;
  await steer(w, steered);
  await policy(w, phases[0]!);
  const snapshots = [await loadNow()];
  const steeredIn: string[] = [steered];
  for (const c of w.clients) await c.must('start', { phase: phases[0]!.name });
  for (const [i, p] of phases.entries()) {
    const target = i === phases.length - 1 ? Math.ceil(requests / 4) : requests;
    log(`phase ${p.name}: ${target} requests`);
    await waitFor(async () => (await requestsIn(w, p.name)) >= target, { what: `${target} requests in phase ${p.name}`, timeoutMs: 900_000, intervalMs: 200 });
    const next = phases[i + 1];
    if (next === undefined) break;
    // Each snapshot waits until every request begun before the change has ended: one still in
    // flight may yet connect (under load, long after its answer came) to an address of the old
    // pool, which would count in the new phase (the /32 once counted 2 addresses). So a phase
    // counts no connection of an earlier phase; it may count some of the next phase's, begun
    // before the next snapshot, whose addresses lie in its own pool (phases only shrink).
    if (next.ipv4 === steered) {
      await policy(w, next);
      await drained(w, await mark(w, next));
      snapshots.push(await loadNow());
      steeredIn.push(steered);
    } else if (within(next.ipv4, steered)) {
      // Shrinking: no answer from now on names an address outside the new pool; the old
      // answers are used up (every request begun before has ended) and expired (TTL) before
      // the steering lets go of them.
      await policy(w, next);
      await drained(w, await mark(w, next));
      snapshots.push(await loadNow());
      await sleep(ttlSeconds * 1000);
      await steer(w, next.ipv4);
      steeredIn.push(`${steered} -> ${next.ipv4}`);
      log(`steering ${steered} -> ${next.ipv4} once the old answers had drained and expired`);
      steered = next.ipv4;
    } else {
      // Growing or moving would take the reverse order (steer the new pool beside the old, then
      // the DNS, then drop the old once drained); this demo only shrinks.
      throw new Error(`Expected each phase's pool inside the previous one but received ${next.ipv4} after ${steered}`);
    }
  }
  const final = await Promise.all(w.clients.map(async (c) => (await c.must('stop', {}, 120_000)) as unknown as Progress));
  snapshots.push(await loadNow());
  const results = phases.map((phase, i): PhaseResult => {
    const sum = { ok: 0, failed: 0, a: 0, aaaa: 0, udp: 0, viaDig: 0, errors: [] as string[] };
    for (const f of final) {
      const c = f.phases[phase.name];
      if (c === undefined) continue;
      for (const k of ['ok', 'failed', 'a', 'aaaa', 'udp', 'viaDig'] as const) sum[k] += c[k];
      sum.errors.push(...c.errors);
    }
    return { phase, ...sum, steered: steeredIn[i]! };
  });
  return { results, snapshots };
}
