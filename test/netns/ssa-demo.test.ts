// `npm run demo:ssa` at a smaller scale (examples/ssa-demo --small): two /64s as 256 /72 address slices
// each behind the router (the file's addressServices), the repo's DNS responder on the same file checked
// with dig, clients by every rule over real TCP, scaling 3 -> 5 -> 3 endpoints, objects by key, a flood of
// non-conforming SYNs at the source-derived /64. Counts read from the demo's JSON line.

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
  sliceLength: number;
  dig: { name: string; apl: number; txt: string; aaaa: number }[];
  start: Batch;
  steps: { label: string; endpoints: number; moved: number; fewest: number; how: string; dnsLoads: number; open: number; broken: number; brokenUnmoved: number; fresh: Batch }[];
  content: { fetched: number; onHolder: number };
  flood: { sent: number; dropped: number; reachedEndpoints: number; open: number; broken: number };
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

    expect([r.slices, r.sliceLength]).toEqual([256, 72]);
    // dig reads one APL record, one AAAA and the rule for each of the three names.
    expect(r.dig.map((d) => [d.name, d.apl, d.aaaa])).toEqual([
      ['random.svc.test', 1, 1], ['source.svc.test', 1, 1], ['content.svc.test', 1, 1],
    ]);
    expect(r.dig.map((d) => /rule=[a-z-]+/.exec(d.txt)?.[0])).toEqual(['rule=random', 'rule=source-derived', 'rule=content-addressed']);

    // 12 random + 6 source-derived + 6 content-addressed connections per batch, each on its slice's owner.
    expect(r.start).toMatchObject({ opened: 24, onOwner: 24 });
    expect(Object.keys(r.start.byEndpoint).sort()).toEqual(['e1', 'e2', 'e3']);
    const [up, down] = r.steps;
    // 2 x 256 slices over 3 then 5 endpoints: floor/ceiling shares, the fewest moves; back home as many.
    expect(up).toMatchObject({ endpoints: 5, how: 'rebalance', moved: 204, fewest: 204, open: 24 });
    expect(down).toMatchObject({ endpoints: 3, how: 'return home', moved: 204, fewest: 204, open: 48 });
    // Moved slices keep their connections (the old owner as secondary, second chance): none broke.
    expect(r.steps.map((s) => s.broken)).toEqual([0, 0]);
    // Fresh connections land on the slice's (new) owner, every one.
    expect(up!.fresh).toMatchObject({ opened: 24, onOwner: 24 });
    expect(down!.fresh).toMatchObject({ opened: 24, onOwner: 24 });
    expect((up!.fresh.byEndpoint.e4 ?? 0) + (up!.fresh.byEndpoint.e5 ?? 0)).toBeGreaterThan(0);
    expect(Object.keys(down!.fresh.byEndpoint).sort()).toEqual(['e1', 'e2', 'e3']);
    // The DNS agent read the router's file at start and after each step.
    expect(r.steps.map((s) => s.dnsLoads)).toEqual([2, 3]);
    // Content addressing: every object from the endpoint holding it.
    expect(r.content).toEqual({ fetched: 60, onHolder: 60 });
    // The flood of non-conforming SYNs at the source-derived /64: the router's filter drops every one
    // (a random destination conforms with odds of 2^-64: no slack), none reaches an endpoint, and the
    // conforming clients' connections (source-derived ones included) go on.
    expect(r.flood).toMatchObject({ sent: 200, dropped: 200, reachedEndpoints: 0, broken: 0 });
    expect(r.flood.open).toBe(72);
    // The endpoints' second chance saw the SYNs, and handed packets of moved slices on to the old owner.
    for (const e of ['e1', 'e2', 'e3']) expect(r.chance[e]!.chance_local_syn, e).toBeGreaterThan(0);
    expect(Object.values(r.chance).reduce((n, c) => n + (c.chance_forwarded ?? 0), 0)).toBeGreaterThan(0);

    // Nothing of the demo's run is left (other sessions' namespaces come and go meanwhile).
    const prefix = /namespaces (\S+)-\*/.exec(stderr)?.[1];
    expect(prefix, stderr).toBeDefined();
    expect((await listNamespaces()).filter((n) => n.startsWith(`${prefix!}-`))).toEqual([]);
  }, 300_000);
});
