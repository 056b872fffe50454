// Bad policies are refused with typed errors that name the bad value (src/dns/policy.ts, pool.ts),
// and the name set for millions of names (src/dns/names.ts) holds what it was given.
import { describe, expect, it } from 'vitest';

import { DnsNameSet } from '../../src/dns/names.js';
import { zoneOf, type DnsZoneOptions } from '../../src/dns/zone.js';
import { InvalidOptionError, InvalidRecordError } from '../../src/errors.js';
import { KEY, v4, v6 } from './dns-policy-fixture.js';

function refused(policies: unknown[], extra: Partial<DnsZoneOptions> = {}): InvalidOptionError {
  try {
    zoneOf({ origin: 'example.com', policies, ...extra } as DnsZoneOptions);
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidOptionError);
    expect((error as InvalidOptionError).code).toBe('ERR_INVALID_OPTION');
    return error as InvalidOptionError;
  }
  throw new Error('the zone was accepted');
}

const ok = { name: 'p', ipv4: v4('192.0.2.0/24') };

describe('refused policies', () => {
  it.each([
    ['a prefix with host bits set', [{ name: 'p', ipv4: v4('192.0.2.1/24') }], /Expected a prefix without host bits set \(192\.0\.2\.0\/24\) for zone\.policies\[0\]\.ipv4 but received '192\.0\.2\.1\/24'/],
    ['overlapping prefixes in one pool', [{ name: 'p', ipv4: [v4('192.0.2.0/24'), v4('192.0.2.128/25')] }], /overlap for zone\.policies\[0\]\.ipv4 but received '192\.0\.2\.0\/24' and '192\.0\.2\.128\/25'/],
    ['an IPv6 prefix in the IPv4 pool', [{ name: 'p', ipv4: v6('2001:db8::/32') }], /Expected an ip-num IPv4CidrRange for zone\.policies\[0\]\.ipv4 but received an instance of IPv6CidrRange/],
    ['a string for a pool', [{ name: 'p', ipv6: ['2001:db8::/32'] }], /IPv6CidrRange for zone\.policies\[0\]\.ipv6\[0\] but received '2001:db8::\/32'/],
    ['an empty pool', [{ name: 'p', ipv4: [] }], /at least one IPv4 prefix for zone\.policies\[0\]\.ipv4 but received an empty array/],
    ['no pool at all', [{ name: 'p' }], /an IPv4 or an IPv6 pool .* for zone\.policies\[0\]\.ipv4/],
    ['an unknown selection', [{ ...ok, select: 'round-robin' }], /'random' or 'stable' for zone\.policies\[0\]\.select but received 'round-robin'/],
    ['a misspelt field', [{ ...ok, ipv44: v4('192.0.2.0/24') }], /only the fields .* for zone\.policies\[0\] but received 'ipv44'/],
    ['a suffix outside the zone', [{ ...ok, suffix: '*.example.org' }], /at or under the zone origin 'example\.com' for zone\.policies\[0\]\.suffix but received '\*\.example\.org'/],
    ['a label with a dot', [{ ...ok, labels: ['free.eu'] }], /one DNS label .* for zone\.policies\[0\]\.labels\[0\] but received 'free\.eu'/],
    ['a negative TTL', [{ ...ok, ttl: -1 }], /whole seconds from 0 .* for zone\.policies\[0\]\.ttl but received -1/],
    ['a bucket of 0 seconds', [{ ...ok, select: 'stable', bucketSeconds: 0 }], /whole seconds from 1 .* for zone\.policies\[0\]\.bucketSeconds but received 0/],
    ['two policies of one name', [ok, { ...ok, labels: ['x'] }], /a name no other policy has for zone\.policies\[1\]\.name but received 'p'/],
    ['two policies with one match', [{ ...ok, labels: ['a', 'b'] }, { ...ok, name: 'q', labels: ['b', 'a'] }], /no other policy has, but policy 'p' has the same for zone\.policies\[1\] but received 'q'/],
    ['a stable policy without a key', [{ ...ok, select: 'stable' }], /a key of 16 to 64 bytes in hex .* for zone\.stableKey but received undefined/],
  ])('%s', (_what, policies, message) => {
    expect(refused(policies).message).toMatch(message);
  });

  it('a short key, a name set of another origin, and a name set without policies', () => {
    expect(refused([{ ...ok, select: 'stable' }], { stableKey: 'abcd' }).message).toMatch(/for zone\.stableKey but received 'abcd'/);
    const other = DnsNameSet.build('example.org', ['a.example.org']);
    expect(refused([ok], { hostnames: other }).message).toMatch(/origin 'example\.com' for zone\.hostnames but received 'example\.org'/);
    expect(() => zoneOf({ origin: 'example.com', hostnames: other })).toThrow(/Expected policies for zone\.policies/);
  });

  it('accepts the same policy with a key', () => {
    expect(zoneOf({ origin: 'example.com', stableKey: KEY, policies: [{ ...ok, select: 'stable' }] }).policies?.policies).toHaveLength(1);
  });
});

describe('DnsNameSet', () => {
  it('holds 100,000 names: every one of them, none of 100,000 others, 8 bytes a name', () => {
    const name = (i: number, plan: string): string => `h${i}.${plan}.cdn.example.com`;
    const set = DnsNameSet.build('example.com', (function* () {
      for (let i = 0; i < 100_000; i++) yield name(i, i % 2 === 0 ? 'free' : 'pro');
    })());
    expect(set.size).toBe(100_000);
    expect(set.bytes).toBe(800_000);
    let found = 0;
    let strays = 0;
    for (let i = 0; i < 100_000; i++) {
      if (set.has(name(i, i % 2 === 0 ? 'free' : 'pro'))) found++;
      if (set.has(name(i, i % 2 === 0 ? 'pro' : 'free'))) strays++;
    }
    expect([found, strays]).toEqual([100_000, 0]);
    expect([set.isParent('free.cdn.example.com'), set.isParent('cdn.example.com'), set.isParent('h1.pro.cdn.example.com')]).toEqual([true, true, false]);
  });

  it('counts a name given twice (in any case) once', () => {
    expect(DnsNameSet.build('example.com', ['a.example.com', 'A.Example.Com.', 'b.example.com']).size).toBe(2);
  });

  it('refuses a name outside the origin or not a name, naming it and its place', () => {
    expect(() => DnsNameSet.build('example.com', ['a.example.com', 'a.example.org'])).toThrow(new InvalidOptionError("Expected a name under 'example.com' for names[1] but received 'a.example.org'"));
    expect(() => DnsNameSet.build('example.com', ['a b.example.com'])).toThrow(InvalidRecordError);
    expect(() => DnsNameSet.build('example.com', 7 as unknown as string[])).toThrow(/an iterable of names for names but received 7/);
  });
});
