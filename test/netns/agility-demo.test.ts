// `npm run demo:agility` (examples/agility-demo) at a smaller scale: 1,000 names instead of 100,000, the
// same namespaces, clients and shrink /20 -> /24 -> /32. No request may fail in any phase, the load
// must spread over the pool under random selection (and not under the static binding), the plot
// must be written, and nothing of the run may be left behind. Run as root.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeEach, describe, expect, it } from 'vitest';

import { listNamespaces, requireNetnsPrivileges } from '../../src/netns/index.js';
import { runDemo as runCompiledDemo } from './run-demo.js';

const scratch = mkdtempSync(join(tmpdir(), 'agility-demo-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
beforeEach(() => requireNetnsPrivileges(['ip', 'dig']));

const runDemo = (args: readonly string[]) => runCompiledDemo('agility-demo', args);

const PHASES = ['static /20', 'random /20', 'random /24', 'random /32'];
/** The rows of the table whose first column is a phase name, as cells, in the order printed. */
const rowsOf = (table: string): string[][] => table.split('\n').filter((l) => PHASES.some((p) => l.startsWith(`${p} `))).map((l) => l.split(' | ').map((c) => c.trim()));

describe('npm run demo:agility, with 1,000 names', () => {
  it('fails no request across the shrink /20 -> /24 -> /32, spreads the load over the pool, writes the plot and cleans up', async () => {
    const svg = join(scratch, 'load.svg');
    const { code, stdout, stderr } = await runDemo(['--names', '1000', '--requests', '600', '--svg', svg]);
    expect(code, `${stdout}\n${stderr}`).toBe(0);
    const [phaseTable, loadTable] = stdout.split('IPv4 load per address') as [string, string];

    // phase | DNS answers from | sk_lookup serves | requests | failed | A | AAAA | UDP echoes | resolved by dig
    const phases = rowsOf(phaseTable);
    expect(phases.map((r) => r[0])).toEqual(PHASES);
    for (const [name, , serves, requests, failed, a, aaaa, udp, dig] of phases) {
      expect({ name, failed }).toEqual({ name, failed: '0' });
      expect(Number(requests), name).toBeGreaterThanOrEqual(name === 'random /32' ? 150 : 600);
      for (const n of [a, aaaa, udp, dig]) expect(Number(n), name).toBeGreaterThan(0);
      if (name === 'random /24') expect(serves).toBe('198.18.0.0/20 -> 198.18.0.0/24, 2001:db8:100::/44');
    }

    // phase | connections | addresses used | busiest 3 (count) | least used 3 | max/min | max/mean
    const load = new Map(rowsOf(loadTable).map(([name, connections, used, busiest]) => [name!, {
      connections: Number(connections), used: Number(used!.split(' of ')[0]), size: Number(used!.split(' of ')[1]), busiest: Number(/\((\d+)\)/.exec(busiest!)![1]),
    }]));
    const random20 = load.get('random /20')!;
    const random24 = load.get('random /24')!;
    expect(random20.size).toBe(4096);
    // Random over 4,096 addresses: few connections share one (the /20's expected 8% would be far below 80%).
    expect(random20.used).toBeGreaterThan(0.8 * random20.connections);
    // Over 256 with some 450 connections: about 210 addresses used (2 in 10^20 below 150).
    expect(random24.size).toBe(256);
    expect(random24.used).toBeGreaterThan(150);
    // The static binding: the most popular of 1,000 names (13% of queries at Zipf s = 1) loads one address.
    expect(load.get('static /20')!.busiest).toBeGreaterThan(3 * random20.busiest);
    expect(load.get('random /32')).toMatchObject({ used: 1, size: 1 });
    expect(stdout).toMatch(/198\.18\.0\.7 \(\d+\)/);
    expect(stdout).toMatch(/sk_lookup counters: skl_lookups \d+, skl_steered \d+, skl_no_rule 0, skl_no_socket 0, skl_assign_failed 0/);

    expect([...readFileSync(svg, 'utf8').matchAll(/data-name="([^"]+)"/g)].map((m) => m[1])).toEqual(['static /20 (Zipf names)', 'random /20', 'random /24']);
    const prefix = /namespaces (su[0-9a-f]{6})-dns/.exec(stderr)?.[1];
    expect(prefix, stderr).toBeDefined();
    expect((await listNamespaces()).filter((ns) => ns.startsWith(`${prefix!}-`))).toEqual([]);
  }, 600_000);
});
