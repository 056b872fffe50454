// The README's main command stays green: `npm run demo` (examples/soft-unicast-demo) downloads
// from every server's slice intact, shows all three paths for IPv4 and IPv6, and leaves nothing behind.

import { beforeEach, describe, expect, it } from 'vitest';

import { listNamespaces, requireNetnsPrivileges } from '../../src/netns/index.js';
import { runDemo as runCompiledDemo } from './run-demo.js';

beforeEach(() => requireNetnsPrivileges(['ip', 'ping', 'sysctl', 'ethtool', 'ss', 'curl']));

const runDemo = (args: readonly string[]) => runCompiledDemo('soft-unicast-demo', args);

const PATHS = ['GUE from the other data centre', 'local', 'same data centre'];

describe('npm run demo', () => {
  it.each([
    ['the express lane (default)', 'auto', []],
    ['the AF_XDP lane', 'afxdp', ['--lane', 'afxdp']],
  ] as const)('with %s: downloads intact from every slice, shows the three paths for IPv4 and IPv6, and cleans up', async (_name, lane, args) => {
    const { code, stdout, stderr } = await runDemo(args);
    expect(code, `${stdout}\n${stderr}`).toBe(0);

    // The flows table: "a2 IPv4 curl | a2 (A) | 4096-6143 (4096) | a1 (A) | same data centre | a1 -GUE-> a2 | 1048576 | verified"
    const rows = stdout
      .split('\n')
      .filter((l) => /^[ab]\d (IPv4|IPv6) (connectFromSlice|curl) /.test(l))
      .map((l) => l.split(' | ').map((c) => c.trim()));
    const flows = rows.map(([flow]) => flow).sort();
    expect(flows).toEqual(
      ['a1', 'a2', 'a3', 'b1', 'b2'].flatMap((s) => ['IPv4', 'IPv6'].flatMap((f) => [`${s} ${f} connectFromSlice`, `${s} ${f} curl`])).sort(),
    );
    for (const [flow, , , , , , bytes, sha256] of rows) expect({ flow, bytes, sha256 }).toEqual({ flow, bytes: '1048576', sha256: 'verified' });
    for (const family of ['IPv4', 'IPv6']) {
      const kinds = new Set(rows.filter(([flow]) => flow!.includes(family)).map((r) => r[4]));
      expect([...kinds].sort(), family).toEqual(PATHS);
    }
    // Where the replies landed and how they went on, as the routes make them go.
    expect(rows.find(([flow]) => flow === 'b2 IPv4 curl')!.slice(3, 6)).toEqual(['a1 (A)', 'GUE from the other data centre', 'a1 =GUE=> b1 -L2-> b2']);
    expect(rows.find(([flow]) => flow === 'a2 IPv6 connectFromSlice')!.slice(3, 6)).toEqual(['b1 (B)', 'GUE from the other data centre', 'b1 =GUE=> a1 -GUE-> a2']);
    expect(stdout).toContain(`\nOK: 20 of 20 transfers intact (sha256 verified); all three paths for IPv4 and IPv6 (lane ${lane}); routers stopped, then detached cleanly\n`);

    // The routers' counters follow the table; the express lane hands the workers nothing.
    expect(stdout).toMatch(/^fate encap_datacenter +\| +\d+ \|/m);
    if (lane === 'auto') expect(stdout).not.toMatch(/^xdp redirected /m);
    else expect(stdout).toMatch(/^xdp redirected +\| +\d+ \|/m);

    // Nothing of the demo's run is left.
    const prefix = /namespaces (su[0-9a-f]{6})-\*/.exec(stderr)?.[1];
    expect(prefix, stderr).toBeDefined();
    expect((await listNamespaces()).filter((ns) => ns.startsWith(`${prefix!}-`))).toEqual([]);
  }, 120_000);
});
