// Policy-driven DNS answers (src/dns/policy.ts, pool.ts, select.ts) asked in process: precedence,
// IPv4 and IPv6 pools, random spread, stable buckets, names that exist or not, and refused policies.
import { IPv6 } from 'ip-num';
import { describe, expect, it } from 'vitest';

import { DnsNameSet } from '../../src/dns/names.js';
import type { DnsZoneOptions } from '../../src/dns/zone.js';
import { address, ask, context, ipv4Number, KEY, v4, v6 } from './dns-policy-fixture.js';

const zone: DnsZoneOptions = {
  origin: 'example.com',
  stableKey: KEY,
  policies: [
    { name: 'default', ipv4: v4('192.0.2.0/24'), ipv6: v6('2001:db8::/44') },
    { name: 'free', labels: ['free'], ipv4: v4('198.51.100.0/28') },
    { name: 'free-eu', labels: ['free', 'eu'], ipv4: v4('198.51.100.16/28') },
    { name: 'cdn', suffix: '*.cdn.example.com', ipv4: v4('203.0.113.0/28'), ttl: 5 },
    { name: 'cdn-stable', suffix: 'cdn.example.com', labels: ['sticky'], ipv4: v4('203.0.113.64/26'), select: 'stable', bucketSeconds: 60 },
  ],
};

function inRange(text: string, cidr: string): boolean {
  const [base, length] = cidr.split('/') as [string, string];
  const size = 2 ** (32 - Number(length));
  return Math.floor(ipv4Number(text) / size) === Math.floor(ipv4Number(base) / size);
}

describe('policy precedence: the longer suffix, then more labels, then the first declared', () => {
  it.each([
    ['www.example.com', 'default', '192.0.2.0/24'],
    ['shop.free.example.com', 'free', '198.51.100.0/28'],
    ['eu.shop.free.example.com', 'free-eu', '198.51.100.16/28'],
    ['a.free.cdn.example.com', 'cdn: its suffix is longer than the labels policy', '203.0.113.0/28'],
    ['x.sticky.cdn.example.com', 'cdn-stable: same suffix as cdn, one label more', '203.0.113.64/26'],
  ])('%s is answered by %s', (name, _why, cidr) => {
    for (let seed = 1; seed <= 20; seed++) expect(inRange(address(ask(zone, name, 'A', context(seed))), cidr)).toBe(true);
  });

  it('among equally specific policies the first declared wins, whatever the order of the labels in the name', () => {
    const z: DnsZoneOptions = {
      origin: 'example.com',
      policies: [
        { name: 'plan-pro', labels: ['pro'], ipv4: v4('192.0.2.1/32') },
        { name: 'plan-free', labels: ['free'], ipv4: v4('192.0.2.2/32') },
      ],
    };
    expect(address(ask(z, 'pro.free.example.com', 'A'))).toBe('192.0.2.1');
    expect(address(ask(z, 'free.pro.example.com', 'A'))).toBe('192.0.2.1');
    expect(address(ask(z, 'a.free.example.com', 'A'))).toBe('192.0.2.2');
  });

  it('a label matches whole labels only, in any case', () => {
    expect(inRange(address(ask(zone, 'freeware.example.com', 'A')), '192.0.2.0/24')).toBe(true);
    expect(inRange(address(ask(zone, 'X.FREE.Example.COM', 'A')), '198.51.100.0/28')).toBe(true);
  });
});

describe('IPv4 and IPv6 pools', () => {
  it('answers A from the IPv4 pool and AAAA from the IPv6 pool, one address each, with the policy TTL', () => {
    const a = ask(zone, 'www.example.com', 'A');
    expect(a.answers).toHaveLength(1);
    expect(a.answers[0]).toMatchObject({ type: 'A', ttl: 30 });
    const aaaa = ask(zone, 'www.example.com', 'AAAA');
    expect(aaaa.answers).toHaveLength(1);
    const value = IPv6.fromString(aaaa.answers[0]!.data).getValue();
    expect(value >> 84n).toBe(0x20010db8000n);
    expect(ask(zone, 'a.cdn.example.com', 'A').answers[0]!.ttl).toBe(5);
  });

  it('a policy without a pool of the family answers NODATA with the SOA; so does any other type', () => {
    expect(ask(zone, 'a.cdn.example.com', 'AAAA')).toEqual({ rcode: 'NOERROR', answers: [], soa: true });
    expect(ask(zone, 'www.example.com', 'TXT')).toEqual({ rcode: 'NOERROR', answers: [], soa: true });
    expect(ask(zone, 'www.example.com', 'MX')).toEqual({ rcode: 'NOERROR', answers: [], soa: true });
  });

  it('ANY gets one address of each family the policy has', () => {
    expect(ask(zone, 'www.example.com', 'ANY').answers.map((a) => a.type).sort()).toEqual(['A', 'AAAA']);
  });

  it('a pool of several prefixes answers from all of them', () => {
    const z: DnsZoneOptions = { origin: 'example.com', policies: [{ name: 'two', ipv4: [v4('192.0.2.8/31'), v4('198.51.100.0/32')] }] };
    const seen = new Set<string>();
    const ctx = context(3);
    for (let i = 0; i < 300; i++) seen.add(address(ask(z, 'www.example.com', 'A', ctx)));
    expect([...seen].sort()).toEqual(['192.0.2.8', '192.0.2.9', '198.51.100.0']);
  });
});

describe('random selection', () => {
  it('spreads uniformly over a /28: chi-square of 16,000 answers below the 0.1% critical value (15 degrees: 37.70)', () => {
    const counts = new Map<string, number>();
    const ctx = context(42);
    for (let i = 0; i < 16_000; i++) {
      const a = address(ask(zone, 'a.cdn.example.com', 'A', ctx));
      counts.set(a, (counts.get(a) ?? 0) + 1);
    }
    expect(counts.size).toBe(16);
    const chi = [...counts.values()].reduce((sum, n) => sum + (n - 1000) ** 2 / 1000, 0);
    expect(chi).toBeLessThan(37.7);
  });

  it('reaches all of a /44: 1,000 AAAA answers are all different', () => {
    const ctx = context(7);
    const seen = new Set(Array.from({ length: 1000 }, () => address(ask(zone, 'www.example.com', 'AAAA', ctx))));
    expect(seen.size).toBe(1000);
  });
});

describe('stable selection', () => {
  const names = Array.from({ length: 50 }, (_, i) => `n${i}.sticky.cdn.example.com`);

  it('gives a name one address per bucket, the same on two responders (different generators, one key)', () => {
    const one = context(1, 1_700_000_000_000);
    const two = context(99, 1_700_000_000_000 + 59_000 - (1_700_000_000_000 % 60_000));
    one.at -= one.at % 60_000;
    for (const name of names) expect(address(ask(zone, name, 'A', one))).toBe(address(ask(zone, name, 'A', two)));
  });

  it('moves names to other addresses in the next bucket, and under another key', () => {
    const now = context(1);
    const later = context(1, now.at + 60_000);
    const before = names.map((n) => address(ask(zone, n, 'A', now)));
    expect(names.filter((n, i) => address(ask(zone, n, 'A', later)) !== before[i]).length).toBeGreaterThan(25);
    const rekeyed = { ...zone, stableKey: 'ff'.repeat(16) };
    expect(names.filter((n, i) => address(ask(rekeyed, n, 'A', now)) !== before[i]).length).toBeGreaterThan(25);
  });
});

describe('which names exist', () => {
  const hostnames = DnsNameSet.build('example.com', ['www.example.com', 'a.free.example.com', 'b.eu.free.example.com']);
  const listed: DnsZoneOptions = { ...zone, hostnames };

  it('with a name set: listed names are answered, their parents are NODATA, others NXDOMAIN with the SOA', () => {
    expect(inRange(address(ask(listed, 'a.free.example.com', 'A')), '198.51.100.0/28')).toBe(true);
    expect(inRange(address(ask(listed, 'b.eu.free.example.com', 'A')), '198.51.100.16/28')).toBe(true);
    expect(ask(listed, 'eu.free.example.com', 'A')).toEqual({ rcode: 'NOERROR', answers: [], soa: true });
    expect(ask(listed, 'c.free.example.com', 'A')).toEqual({ rcode: 'NXDOMAIN', answers: [], soa: true });
    expect(ask(listed, 'example.com', 'SOA').answers.map((a) => a.type)).toEqual(['SOA']);
  });

  it('without one: names no policy matches are NODATA under a suffix and NXDOMAIN elsewhere; other zones are REFUSED', () => {
    const narrow: DnsZoneOptions = { origin: 'example.com', policies: [{ name: 'cdn', suffix: 'cdn.example.com', labels: ['free'], ipv4: v4('192.0.2.0/24') }] };
    expect(ask(narrow, 'x.pro.cdn.example.com', 'A')).toEqual({ rcode: 'NOERROR', answers: [], soa: true });
    expect(ask(narrow, 'cdn.example.com', 'A')).toEqual({ rcode: 'NOERROR', answers: [], soa: true });
    expect(ask(narrow, 'www.example.com', 'A')).toEqual({ rcode: 'NXDOMAIN', answers: [], soa: true });
    expect(ask(narrow, 'www.example.org', 'A')).toEqual({ rcode: 'REFUSED', answers: [], soa: false });
  });

  it('static records win over policies', () => {
    const z: DnsZoneOptions = { ...zone, names: { 'www.example.com': { txt: ['static'] } } };
    expect(ask(z, 'www.example.com', 'A')).toEqual({ rcode: 'NOERROR', answers: [], soa: true });
    expect(ask(z, 'www.example.com', 'TXT').answers).toHaveLength(1);
  });
});
