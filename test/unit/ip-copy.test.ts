// Addresses from a second copy of ip-num (another package's dependency, as an application may
// have): accepted wherever the API takes one, with the same results as our own copy's.
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import * as ours from 'ip-num';
import { afterAll, describe, expect, it } from 'vitest';

import { egressSpec } from '../../src/egress.js';
import { isAddress, isIPv4, isIPv4Range, isIPv6, isIPv6Range } from '../../src/ip.js';
import { compileTable } from '../../src/slices/compile.js';
import { SliceTable } from '../../src/slices/table.js';
import { compileCaptureRules } from '../../src/xdp/capture.js';

// A real second copy: the installed package copied elsewhere and loaded from there.
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const dir = mkdtempSync(join(tmpdir(), 'softunicast-ipnum-'));
cpSync(join(root, 'node_modules', 'ip-num'), join(dir, 'node_modules', 'ip-num'), { recursive: true });
const theirs = createRequire(join(dir, 'app.js'))('ip-num') as typeof ours;
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The same values from either copy. */
function values(ip: typeof ours) {
  return {
    shared4: ip.IPv4.fromString('192.0.2.1'),
    shared6: ip.IPv6.fromString('2001:db8:100::1'),
    pool: ip.IPv4CidrRange.fromCidr('198.51.100.0/24'),
    pool6: ip.IPv6CidrRange.fromCidr('2001:db8:200::/48'),
    host4: ip.IPv4.fromString('10.1.0.1'),
    host6: ip.IPv6.fromString('2001:db8:a::1'),
    peer: ip.IPv4.fromString('10.1.0.2'),
    trusted: [ip.IPv4CidrRange.fromCidr('10.1.0.0/24'), ip.IPv6.fromString('2001:db8:a::2')],
  };
}

function table(v: ReturnType<typeof values>): SliceTable {
  return new SliceTable()
    .defineOwner('me', { kind: 'local' })
    .defineOwner('peer', { kind: 'server', address: v.peer })
    .assignMany([
      { destination: v.shared4, ports: { from: 2048, to: 4095 }, owner: 'me' },
      { destination: v.shared4, ports: { from: 4096, to: 6143 }, owner: 'peer' },
      { destination: v.shared6, protocols: ['tcp'], ports: 5000, owner: 'peer' },
      { destination: v.pool, ports: { from: 8192, to: 9999 }, owner: 'me' },
      { destination: v.pool6, protocols: ['udp'], ports: { from: 1000, to: 1999 }, owner: 'peer' },
    ]);
}

describe('a second copy of ip-num', () => {
  const mine = values(ours);
  const other = values(theirs);

  it('is a real second copy: its classes are not ours', () => {
    expect(other.shared4).not.toBeInstanceOf(ours.IPv4);
    expect(other.pool).not.toBeInstanceOf(ours.IPv4CidrRange);
  });

  it('is recognised by shape, and nothing else is', () => {
    expect([isIPv4(other.shared4), isIPv6(other.shared6), isIPv4Range(other.pool), isIPv6Range(other.pool6), isAddress(other.host6)]).toEqual([true, true, true, true, true]);
    expect([isIPv4(other.shared6), isIPv6(other.shared4), isIPv4Range(other.shared4), isIPv6Range(other.pool), isAddress(other.pool)]).toEqual([false, false, false, false, false]);
    expect([isIPv4({ type: 'IPv4', bitSize: 32, value: 1 }), isAddress('192.0.2.1'), isIPv4Range({ cidrPrefix: {} })]).toEqual([false, false, false]);
  });

  it('builds and answers the same slice table', () => {
    const t = table(other);
    expect([...t.slices()].map((s) => ({ ...s, destination: s.destination.toString() }))).toEqual(
      [...table(mine).slices()].map((s) => ({ ...s, destination: s.destination.toString() })),
    );
    expect(t.lookup(theirs.IPv4.fromString('192.0.2.1'), 'udp', 5000)).toBe('peer');
    expect(t.lookup(theirs.IPv4.fromString('198.51.100.77'), 'tcp', 9000)).toBe('me');
    expect(t.lookup(theirs.IPv6.fromString('2001:db8:200::9'), 'udp', 1500)).toBe('peer');
  });

  it('compiles the same image, host addresses and trusted peers included', () => {
    const host = (v: ReturnType<typeof values>) => ({ mac: '02:00:00:00:00:01', mtu: 1500, ipv4: v.host4, ipv6: v.host6, trustedPeers: v.trusted });
    const a = compileTable(table(mine), host(mine), { generation: 1 });
    const b = compileTable(table(other), host(other), { generation: 1 });
    expect(Buffer.from(b.image).equals(Buffer.from(a.image))).toBe(true);
  });

  it('gives the same capture rules and egress options', () => {
    const rules = (v: ReturnType<typeof values>) => [{ destination: v.shared4 }, { destination: v.pool6, protocols: ['udp'] as const, ports: 53 }];
    expect(Buffer.from(compileCaptureRules(rules(other))).equals(Buffer.from(compileCaptureRules(rules(mine))))).toBe(true);
    const options = (v: ReturnType<typeof values>) => ({ source: v.shared4, ports: { from: 2048, to: 4095 }, host: v.peer, port: 80 });
    expect(egressSpec('tcp', options(other))).toEqual(egressSpec('tcp', options(mine)));
  });
});
