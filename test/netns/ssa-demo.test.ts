// `npm run demo:ssa` at a smaller scale (examples/ssa-demo --small): a /64 as 256 /72 slices behind
// the router, the repo's DNS responder checked with dig, clients by every rule over real TCP,
// scaling 3 -> 5 -> 3 endpoints, objects by key, a flood of non-conforming SYNs. Counts read from the demo's JSON line.

import { beforeEach, describe, expect, it } from 'vitest';

import { listNamespaces, requireNetnsPrivileges } from '../../src/netns/index.js';
import { runDemo as runCompiledDemo } from './run-demo.js';

beforeEach(() => requireNetnsPrivileges(['ip', 'ping', 'sysctl', 'ethtool', 'dig']));

interface Batch {
  opened: number;
  onOwner: number;
  byEndpoint: Record<string, number>;
}
interface Result {
  slices: number;
  dig: { name: string; apl: number; txt: string; aaaa: number }[];
  start: Batch;
  steps: { label: string; endpoints: number; moved: number; open: number; broken: number; brokenUnmoved: number; fresh: Batch }[];
  content: { fetched: number; onHolder: number };
  flood: { sent: number; reachedEndpoints: number; open: number; broken: number };
  chance: Record<string, Record<string, number>>;
}

const runDemo = (args: readonly string[]) => runCompiledDemo('ssa-demo', args);

describe('npm run demo:ssa --small', () => {
  it('publishes the service by DNS, lands every connection and object on its slice owner across 3 -> 5 -> 3, and cleans up', async () => {
    const { code, stdout, stderr } = await runDemo(['--small', '--json']);
    expect(code, `${stdout}\n${stderr}`).toBe(0);
    const line = stdout.split('\n').find((l) => l.startsWith('JSON '));
    expect(line, stdout).toBeDefined();
    const r = JSON.parse(line!.slice(5)) as Result;

    expect(r.slices).toBe(256);
    // dig reads one APL record, one AAAA and the rule for each of the three names.
    expect(r.dig.map((d) => [d.name, d.apl, d.aaaa])).toEqual([
      ['random.svc.test', 1, 1], ['source.svc.test', 1, 1], ['content.svc.test', 1, 1],
    ]);
    expect(r.dig.map((d) => /rule=[a-z-]+/.exec(d.txt)?.[0])).toEqual(['rule=random', 'rule=source-derived', 'rule=content-addressed']);

    // 12 random + 6 source-derived + 6 content-addressed connections per batch, each on its slice's owner.
    expect(r.start).toMatchObject({ opened: 24, onOwner: 24 });
    expect(Object.keys(r.start.byEndpoint).sort()).toEqual(['e1', 'e2', 'e3']);
    const [up, down] = r.steps;
    // 256 slices over 3 then 5 endpoints: floor/ceiling shares, the fewest moves.
    expect(up).toMatchObject({ endpoints: 5, moved: 102, open: 24 });
    expect(up!.fresh).toMatchObject({ opened: 24, onOwner: 24 });
    // New connections reach the new owners (each holds a fifth of the prefix).
    expect((up!.fresh.byEndpoint.e4 ?? 0) + (up!.fresh.byEndpoint.e5 ?? 0)).toBeGreaterThan(0);
    expect(down).toMatchObject({ endpoints: 3, moved: 102 });
    expect(down!.fresh).toMatchObject({ opened: 24, onOwner: 24 });
    expect(Object.keys(down!.fresh.byEndpoint).sort()).toEqual(['e1', 'e2', 'e3']);
    // A connection whose slice kept its owner never breaks.
    expect(r.steps.map((s) => s.brokenUnmoved)).toEqual([0, 0]);
    // Content addressing: every object from the endpoint holding it.
    expect(r.content).toEqual({ fetched: 60, onHolder: 60 });
    // The flood of non-conforming SYNs: without a source filter in the fast path every one reaches
    // an endpoint (a filter will drop them); the open connections are unaffected either way.
    expect(r.flood).toMatchObject({ sent: 200, reachedEndpoints: 200, broken: 0 });
    expect(r.flood.open).toBeGreaterThan(0);
    // The endpoints' second chance saw the SYNs and the packets of their own connections.
    for (const e of ['e1', 'e2', 'e3']) expect(r.chance[e]!.chance_local_syn, e).toBeGreaterThan(0);

    // Nothing of the demo's run is left (other sessions' namespaces come and go meanwhile).
    const prefix = /namespaces (\S+)-\*/.exec(stderr)?.[1];
    expect(prefix, stderr).toBeDefined();
    expect((await listNamespaces()).filter((n) => n.startsWith(`${prefix!}-`))).toEqual([]);
  }, 300_000);
});
