// The README's main command stays green: the demo builds its namespaces, verifies every echo and
// leaves no namespace behind.
import { spawnSync } from 'node:child_process';

import { beforeEach, describe, expect, it } from 'vitest';

import { listNamespaces, requireNetnsPrivileges } from './harness.js';

beforeEach(() => requireNetnsPrivileges());

describe('npm run demo', () => {
  it('echoes every datagram byte for byte over AF_XDP and cleans up', async () => {
    const result = spawnSync(process.execPath, ['dist/examples/udp-echo/main.js'], { encoding: 'utf8', timeout: 60_000 });
    expect(result.stdout).toMatch(/UDP echo over AF_XDP │ 2000 │ 2000 +│ 0 +│ 0/);
    expect(result.stdout).toMatch(/^OK: every echo verified byte for byte, ping unaffected$/m);
    expect(result.status, result.stderr).toBe(0);
    expect((await listNamespaces()).filter((ns) => ns.startsWith('sudemo'))).toEqual([]);
  });
});
