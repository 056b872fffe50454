// The router binary's `slices` command and --check against a real etcd on loopback (started and
// stopped here): load a file, list, move (exit 3 when another writer moved the slice first),
// split, and --check of the deployment as one router sees it. Runs dist/: build first.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { EtcdServer } from '../fixtures/etcd-server.js';

const MAIN = fileURLToPath(new URL('../../dist/examples/soft-unicast-router/main.js', import.meta.url));
const DEPLOYMENT = `version: 1
datacenters:
  dc1:
    servers:
      r1: { ipv4: 10.8.0.1, interface: eth0 }
      r2: { ipv4: 10.8.0.2, interface: eth0 }
egress:
  - address: 192.0.2.1
    protocols: [udp]
    slices:
      - { ports: 10000-10999, owner: r1 }
      - { ports: 20000-20999, owner: r2 }
`;

let etcd: EtcdServer;
let dir: string;
let file: string;
let at: string[];

/** Runs the built binary; resolves with its exit status and output. */
function router(...args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'su-etcd-cli-'));
  file = join(dir, 'deploy.yaml');
  writeFileSync(file, DEPLOYMENT);
  etcd = await EtcdServer.start();
  at = ['--etcd', etcd.url, '--prefix', '/su/cli'];
});
afterAll(async () => {
  await etcd?.stop();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

describe('soft-unicast-router slices', () => {
  it('loads a file, lists its slices, moves and splits one, and --check shows the result', async () => {
    const load = await router('slices', 'load', '--config', file, ...at);
    expect(load).toMatchObject({ status: 0, stderr: '' });
    expect(load.stdout).toMatch(new RegExp(`^loaded ${file} into /su/cli: 1 destination keys, 2 slices; revision (\\d+)\\n$`));
    const list = await router('slices', 'list', ...at);
    expect(list.stdout.split('\n')).toEqual([
      expect.stringMatching(/^\/su\/cli at revision \d+: 2 slices$/),
      'DESTINATION  PROTOCOLS  PORTS        OWNER  CHANGED',
      expect.stringMatching(/^192\.0\.2\.1    udp        10000-10999  r1     revision \d+$/),
      expect.stringMatching(/^192\.0\.2\.1    udp        20000-20999  r2     revision \d+$/),
      '',
    ]);
    const move = await router('slices', 'move', '192.0.2.1', '10000-10999', '--to', 'r2', '--from', 'r1', ...at);
    expect(move).toMatchObject({ status: 0, stderr: '' });
    expect(move.stdout).toMatch(/^moved 192\.0\.2\.1 udp 10000-10999 from r1 to r2; revision \d+\n$/);
    const split = await router('slices', 'split', '192.0.2.1', '20000-20999', '--at', '20500', ...at);
    expect(split.stdout).toMatch(/^split 192\.0\.2\.1 udp 20000-20999 \(owner r2\) into 20000-20499 and 20500-20999; revision \d+\n$/);
    const check = await router('--check', '--host', 'r1', ...at);
    expect(check.status).toBe(0);
    expect(check.stdout.split('\n').slice(0, 5)).toEqual([
      `etcd ${etcd.url} /su/cli is valid. The table of r1, data centre dc1, on interface eth0:`,
      'DESTINATION  PROTOCOLS  PORTS        SERVER  OWNER  KIND    REACHED                     TAGS',
      '192.0.2.1    udp        10000-10999  r2      r2     server  gue0 to 10.8.0.2 port 6080',
      '192.0.2.1    udp        20000-20499  r2      r2     server  gue0 to 10.8.0.2 port 6080',
      '192.0.2.1    udp        20500-20999  r2      r2     server  gue0 to 10.8.0.2 port 6080',
    ]);
  });

  it('exits 3 when the slice is no longer the owner\'s it was said to be, 1 for other failures', async () => {
    const conflict = await router('slices', 'move', '192.0.2.1', '10000-10999', '--to', 'r1', '--from', 'r1', ...at);
    expect(conflict.status).toBe(3);
    expect(conflict.stderr).toMatch(/^soft-unicast-router: Slice 192\.0\.2\.1 udp 10000-10999 is owned by 'r2' in etcd at revision \d+ \(key \/su\/cli\/egress\/192\.0\.2\.1\), not by 'r1' as expected: another writer moved it first; list the slices again and decide\n$/);
    const json = await router('slices', 'move', '192.0.2.1', '10000-10999', '--to', 'r1', '--from', 'r1', '--json', ...at);
    expect(JSON.parse(json.stdout)).toMatchObject({ error: { name: 'SliceConflictError', code: 'ERR_SLICE_CONFLICT' } });
    const gone = await router('slices', 'list', '--etcd', 'http://127.0.0.1:1', '--prefix', '/su/cli');
    expect(gone).toEqual({ status: 1, stdout: '', stderr: 'soft-unicast-router: Could not reach etcd at http://127.0.0.1:1 for the range of /su/cli/: connect ECONNREFUSED 127.0.0.1:1\n' });
  });
});
