// deploy/soft-unicast-router.service: systemd accepts it as written, and it grants exactly the
// capabilities XdpPort.open asks for (src/xdp/capabilities.ts), no more, no fewer. No root needed.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { afterAll, describe, expect, it } from 'vitest';

import { missingCapabilities } from '../../src/xdp/capabilities.js';

const UNIT = fileURLToPath(new URL('../../deploy/soft-unicast-router.service', import.meta.url));
const text = readFileSync(UNIT, 'utf8');
const dir = mkdtempSync(join(tmpdir(), 'su-unit-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The values of `key=` lines of the unit. */
const values = (key: string) => [...text.matchAll(new RegExp(`^${key}=(.*)$`, 'gm'))].map((m) => m[1]!);

describe('the systemd unit', () => {
  it('passes systemd-analyze verify without a warning', () => {
    // verify checks that ExecStart exists; the package's bin is not installed on the test machine.
    const copy = join(dir, 'soft-unicast-router.service');
    writeFileSync(copy, text.replace(/^ExecStart=\S+/m, 'ExecStart=/bin/true'));
    const r = spawnSync('systemd-analyze', ['verify', copy], { encoding: 'utf8' });
    expect(r.error).toBeUndefined();
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('grants the capabilities the capability check names, as ambient and bounding set', () => {
    // With none at all and a UMEM beyond any RLIMIT_MEMLOCK, the check names every one.
    const needed = missingCapabilities({ effective: 0n, memlockBytes: 0 }, 1).map((m) => m.split(' ')[0]!);
    expect(needed).toEqual(['CAP_BPF', 'CAP_NET_ADMIN', 'CAP_NET_RAW', 'CAP_PERFMON', 'CAP_IPC_LOCK']);
    for (const key of ['AmbientCapabilities', 'CapabilityBoundingSet']) {
      expect(values(key).map((v) => v.split(' ').sort()), key).toEqual([[...needed].sort()]);
    }
  });

  it('reloads with SIGHUP, restarts on failure and runs as its own user', () => {
    expect(values('ExecReload')).toEqual(['/bin/kill -HUP $MAINPID']);
    expect(values('Restart')).toEqual(['on-failure']);
    expect(values('User')).toEqual(['softunicast']);
    expect(values('NoNewPrivileges')).toEqual(['yes']);
    expect(values('ExecStart')[0]).toMatch(/^\/usr\/local\/bin\/soft-unicast-router --config /);
  });
});
