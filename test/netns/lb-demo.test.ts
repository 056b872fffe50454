// `npm run demo:lb` at a smaller scale (examples/lb-demo): the compiled demo in namespaces, its
// counts read from its --json line. Losing a balancer host breaks no stream; killing a backend
// breaks its streams only; a drained backend gets no new connection; new connections follow the
// weights; with GLB's second chance (encap glb) adding and draining break nothing either.

import { beforeEach, describe, expect, it } from 'vitest';

import { listNamespaces, requireNetnsPrivileges } from '../../src/netns/index.js';
import { runDemo as runCompiledDemo } from './run-demo.js';

beforeEach(() => requireNetnsPrivileges(['ip', 'sysctl', 'ethtool']));

interface Step {
  step: string;
  broken: number;
  alive: number;
  brokenByBackend: Record<string, number>;
  counts: Record<string, any>;
}

const runDemo = (args: readonly string[]) => runCompiledDemo('lb-demo', args);

describe('npm run demo:lb', () => {
  it('keeps streams through a lost balancer host, breaks only a killed backend\'s, avoids a drained one, and follows the weights', async () => {
    const { code, stdout, stderr } = await runDemo(['--connections', '60', '--probes', '600', '--json']);
    const context = `${stdout}\n${stderr}`;
    expect(code, context).toBe(0);
    const line = stdout.split('\n').find((l) => l.startsWith('{"result"'));
    expect(line, context).toBeDefined();
    const { encap, steps } = (JSON.parse(line!) as { result: { encap: 'l2' | 'glb'; steps: Step[] } }).result;
    const [open, lbHost, add, drain, kill, balance] = steps;
    expect(open!.alive).toBe(60);
    expect(open!.broken).toBe(0);
    expect(lbHost!.broken, context).toBe(0);
    expect(lbHost!.alive).toBe(60);
    // The added backend takes new connections; the drained one none.
    expect(add!.counts.newConnections.b5, context).toBeGreaterThan(0);
    expect(drain!.counts.drainedGot, context).toBe(0);
    if (encap === 'glb') {
      expect(add!.broken, context).toBe(0);
      expect(drain!.broken, context).toBe(0);
    } else {
      expect(Object.keys(drain!.brokenByBackend).filter((b) => b !== 'b2'), context).toEqual([]);
    }
    expect(kill!.counts.had, context).toBeGreaterThan(0);
    expect(kill!.counts.brokeOwn, context).toBe(kill!.counts.had);
    expect(kill!.counts.brokeOthers, context).toBe(0);
    // b1 has weight 2 and b4, b5 weight 1 (b2 drained, b3 dead): 50%, 25%, 25%, each within five
    // standard deviations of sampling 600 connections.
    const { total, shares } = balance!.counts as { total: number; shares: Record<string, { got: number; expected: number }> };
    expect(Object.fromEntries(Object.entries(shares).map(([b, s]) => [b, s.expected]))).toEqual({ b1: 50, b4: 25, b5: 25 });
    for (const s of Object.values(shares)) expect(Math.abs(s.got - s.expected)).toBeLessThanOrEqual(500 * Math.sqrt((s.expected / 100) * (1 - s.expected / 100) / total));
    expect(balance!.counts.elsewhere).toEqual([]);
    // Every balancer host computed the same rows after every change.
    for (const s of [lbHost, add, drain, kill]) expect(s!.counts.hostsAgree, s!.step).toBe(true);
    const prefix = /namespaces (su[0-9a-f]{6})-\*/.exec(stdout)?.[1];
    expect(prefix, context).toBeDefined();
    expect((await listNamespaces()).filter((ns) => ns.startsWith(`${prefix!}-`))).toEqual([]);
  }, 600_000);
});
