// The load-balancer example's command line, as a user runs it: --check of the example file and
// of a broken one (every problem with its line and column), and arguments it refuses. Runs
// dist/ (build first, as bootstrap does); the prometheus text of a snapshot, from its source.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { afterAll, describe, expect, it } from 'vitest';

import { prometheusText } from '../../examples/load-balancer/stats.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const MAIN = join(ROOT, 'dist/examples/load-balancer/main.js');
const EXAMPLE = 'examples/load-balancer/example.yaml';
const dir = mkdtempSync(join(tmpdir(), 'lb-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function lbRun(args: string[]) {
  const r = spawnSync(process.execPath, [MAIN, ...args], { cwd: ROOT, encoding: 'utf8', timeout: 30_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('load-balancer --check', () => {
  it('prints the services of the host, each backend with its share of new flows, and no warning', () => {
    const r = lbRun(['--check', '--config', EXAMPLE, '--host', 'lb2']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(
      `${EXAMPLE} is valid; services of lb2: 1\n` +
        '  web: tcp 192.0.2.80:80, 65537 rows (stateless rebuilds)\n' +
        '    health: http GET /healthz expecting 200 on port 8080 every 2000 ms (timeout 1000 ms), up after 2, down after 3; drain deadline 60000 ms\n' +
        '    web1         10.0.0.11        weight 1   20.00% of new flows\n' +
        '    web2         10.0.0.12        weight 2   40.00% of new flows\n' +
        '    web3         10.0.0.13        weight 1   20.00% of new flows\n' +
        '    web4         10.0.0.14        weight 1   20.00% of new flows\n',
    );
  });

  it('lists every problem of a broken file with its line and column, and exits 1', () => {
    const text = readFileSync(join(ROOT, EXAMPLE), 'utf8').replace('{ server: web2, weight: 2 }', '{ server: web9, weight: 0 }').replace('rise: 2 ', 'rise: 0 ');
    const file = join(dir, 'broken.yaml');
    writeFileSync(file, text);
    const r = lbRun(['--check', '--config', file, '--host', 'lb1']);
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('');
    const lines = r.stderr.trim().split('\n');
    expect(lines[0]).toBe(`load-balancer: ${file} is not valid (3 problems):`);
    expect(lines.slice(1)).toEqual([
      `${file}:37:9: Expected the name of a server of the file (lb1, lb2, lb3, web1, web2, web3, web4) for services[0].backends[1].server but received 'web9'`,
      `${file}:37:9: Expected an integer from 1 to 65535 for services[0].backends[1].weight but received 0`,
      `${file}:49:13: Expected an integer from 1 to 100 for services[0].health.rise but received 0`,
    ]);
  });

  it('refuses unknown arguments and bad values with the usage, exit 2', () => {
    const r = lbRun(['--config', EXAMPLE, '--host', 'lb1', '--lane', 'fast']);
    expect(r.status).toBe(2);
    expect(r.stderr.split('\n')[0]).toBe(`load-balancer: Expected 'auto' or 'afxdp' for --lane but received "fast"`);
    expect(r.stderr).toContain('Usage: load-balancer --config FILE --host NAME');
  });
});

describe('prometheus text', () => {
  it('has health and drain per backend and the counters of changes', () => {
    const text = prometheusText({
      time: '2026-12-07T00:00:00.000Z', generation: 3, fates: {}, owners: { web1: { packets: 5, bytes: 300 } },
      balancer: { rebuilds: 2, healthUp: 1, healthDown: 1, drainChanges: 1, publishFailures: 0 },
      services: [{ name: 'web', rebuilds: 2, lingering: [], backends: [
        { owner: 'web1', health: 'up', drain: 'none', primaryRows: 7, secondaryRows: 3, probes: 9, failures: 0, since: '' },
        { owner: 'web2', health: 'down', drain: 'draining', primaryRows: 0, secondaryRows: 4, probes: 9, failures: 3, since: '' },
      ] }],
    });
    expect(text).toContain('lb_health_changes_total{to="down"} 1\n');
    expect(text).toContain('lb_backend_up{service="web",backend="web2"} 0\n');
    expect(text).toContain('lb_backend_drain{service="web",backend="web2"} 1\n');
    expect(text).toContain('lb_backend_secondary_rows{service="web",backend="web1"} 3\n');
    expect(text).toContain('lb_owner_packets_total{owner="web1"} 5\n');
  });
});
