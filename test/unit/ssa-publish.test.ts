// The zone of a deployment's address services (src/ssa/publish.ts) and ZoneFollower keeping a real
// DnsResponder on loopback in step with a file source: what ssa.resolveService reads, and every refusal.
import { writeFileSync } from 'node:fs';

import { IPv6 } from 'ip-num';
import { afterEach, describe, expect, it } from 'vitest';

import { dns, FileSource, parseConfig, ssa } from '../../src/index.js';
import { base, type Doc } from './config-fixture.js';
import { file } from './router-fixtures.js';

const KEY = '5a5a0123456789abcdeffedcba987654';
const SOURCE: ssa.ClientRule = { rule: 'source-derived', sourceBits: 64, fn: 'flowhash-1', key: KEY };
const OTHER_KEY: ssa.ClientRule = { ...SOURCE, key: 'ffff0123456789abcdeffedcba987654' };

/** 'web' (2001:db8:5::/64 in two /65 of a1 and a2) and 'filtered' (2001:db8:6::/64, a source filter dropping the rest). */
function doc(webSecondHalf = 'a2'): Doc {
  return {
    ...base(),
    addressServices: [
      { name: 'web', prefix: '2001:db8:5::/64', slices: [{ prefix: '2001:db8:5::/65', owner: 'a1' }, { prefix: '2001:db8:5:0:8000::/65', owner: webSecondHalf }] },
      { name: 'filtered', prefix: '2001:db8:6::/64', slices: [{ prefix: '2001:db8:6::/64', owner: 'b1' }], filter: { rule: ssa.formatRule(SOURCE) } },
    ],
  };
}
const configOf = (d: Doc) => parseConfig(JSON.stringify(d), 'json', 'deploy.json');

const NAMES: ssa.ServiceZoneOptions = {
  origin: 'svc.test',
  ttl: 20,
  names: {
    'web.svc.test': { service: 'web', rule: { rule: 'random' }, aaaa: 'first' },
    'src.svc.test': { service: 'filtered', rule: SOURCE, aaaa: [IPv6.fromString('2001:db8:6::7')] },
  },
};

describe('serviceZone', () => {
  it('publishes each name as its service prefix in APL, its rule in TXT and the AAAA asked for', () => {
    const zone = ssa.serviceZone(configOf(doc()), NAMES);
    expect(zone.origin).toBe('svc.test');
    expect(zone.ttl).toBe(20);
    expect(ssa.aplTextOf(zone)).toEqual({ 'web.svc.test': '2:2001:db8:5::/64', 'src.svc.test': '2:2001:db8:6::/64' });
    expect(zone.names?.['web.svc.test']?.txt).toEqual(['v=ssa1 rule=random']);
    expect(zone.names?.['src.svc.test']?.txt).toEqual([`v=ssa1 rule=source-derived source-bits=64 fn=flowhash-1 key=${KEY}`]);
    expect(zone.names?.['web.svc.test']?.aaaa?.map(String)).toEqual(['2001:db8:5:0:0:0:0:0']);
    expect(zone.names?.['src.svc.test']?.aaaa?.map(String)).toEqual(['2001:db8:6:0:0:0:0:7']);
  });

  it('refuses a service the deployment lacks, naming it and the services there are', () => {
    const names = { origin: 'svc.test', names: { 'x.svc.test': { service: 'mail', rule: { rule: 'random' } as const } } };
    expect(() => ssa.serviceZone(configOf(doc()), names)).toThrow("Expected the name of an address service of deploy.json ('web', 'filtered') for names['x.svc.test'].service but received 'mail'");
  });

  it('refuses a rule the service filter would drop: another source-derived key, or another rule', () => {
    const other = { origin: 'svc.test', names: { 'src.svc.test': { service: 'filtered', rule: OTHER_KEY } } };
    expect(() => ssa.serviceZone(configOf(doc()), other)).toThrow(
      `Expected the rule of address service 'filtered''s filter ('v=ssa1 rule=source-derived source-bits=64 fn=flowhash-1 key=${KEY}') for names['src.svc.test'].rule (the router drops what does not conform to it) but received 'v=ssa1 rule=source-derived source-bits=64 fn=flowhash-1 key=ffff0123456789abcdeffedcba987654'`,
    );
    const random = { origin: 'svc.test', names: { 'src.svc.test': { service: 'filtered', rule: { rule: 'random' } as const } } };
    expect(() => ssa.serviceZone(configOf(doc()), random)).toThrow(
      `Expected the source-derived rule of address service 'filtered''s filter ('v=ssa1 rule=source-derived source-bits=64 fn=flowhash-1 key=${KEY}') for names['src.svc.test'].rule (its filter drops every other destination) but received 'v=ssa1 rule=random'`,
    );
    const handedOn = doc();
    handedOn.addressServices[1].filter.nonConforming = { owner: 'a3' };
    expect(ssa.aplTextOf(ssa.serviceZone(configOf(handedOn), random))).toEqual({ 'src.svc.test': '2:2001:db8:6::/64' });
  });

  it('refuses an AAAA that is neither first nor a list, naming it', () => {
    const names = { origin: 'svc.test', names: { 'web.svc.test': { service: 'web', rule: { rule: 'random' } as const, aaaa: 'last' as unknown as 'first' } } };
    expect(() => ssa.serviceZone(configOf(doc()), names)).toThrow("Expected 'first' or an array of IPv6 for names['web.svc.test'].aaaa but received 'last'");
  });

  it('refuses a name outside the origin, naming it', () => {
    const names = { origin: 'svc.test', names: { 'web.other.test': { service: 'web', rule: { rule: 'random' } as const } } };
    expect(() => ssa.serviceZone(configOf(doc()), names)).toThrow("Expected a name at or under 'svc.test' for names['web.other.test'] but received 'web.other.test'");
  });
});

describe('ZoneFollower', () => {
  const closing: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const close of closing.splice(0).reverse()) await close();
  });

  it('follows a file: a change is served, a bad change keeps the zone and is reported, a good one recovers', async () => {
    const path = file('ssa-publish.json', JSON.stringify(doc()));
    const source = new FileSource({ path, host: 'a1', debounceMs: 0 });
    const events: ssa.ZoneEvent[] = [];
    const follower = await ssa.ZoneFollower.start({
      source, names: NAMES, onEvent: (e) => events.push(e),
      target: (zone) => dns.DnsResponder.start({ zones: [zone] }),
    });
    closing.push(() => follower.target.close(), () => follower.close());
    const server = { host: '127.0.0.1', port: follower.target.port };
    const web = await ssa.resolveService('web.svc.test', { server });
    expect([dns.formatApl(web.apl), ssa.formatRule(web.rule)]).toEqual(['2:2001:db8:5::/64', 'v=ssa1 rule=random']);
    const src = await ssa.resolveService('src.svc.test', { server });
    expect(src.rule).toEqual(SOURCE);
    const aaaa = await ssa.dnsQuery('web.svc.test', 'AAAA', server);
    expect(aaaa.answers?.map((a) => a.data)).toEqual(['2001:db8:5::']);
    expect(follower.status()).toMatchObject({ loads: 1, failures: 0, generation: 1 });

    // The web service now one /64 of a2: published under a new prefix.
    const moved = doc();
    moved.addressServices[0] = { name: 'web', prefix: '2001:db8:7::/64', slices: [{ prefix: '2001:db8:7::/64', owner: 'a2' }] };
    writeFileSync(path, JSON.stringify(moved));
    await source.refresh('file changed', false);
    expect(dns.formatApl((await ssa.resolveService('web.svc.test', { server })).apl)).toBe('2:2001:db8:7::/64');
    expect(follower.status()).toMatchObject({ loads: 2, failures: 0, generation: 2 });

    // The filtered service gone: the zone cannot be built, the one in use stays.
    const gone = { ...moved, addressServices: [moved.addressServices[0]] };
    writeFileSync(path, JSON.stringify(gone));
    await source.refresh('file changed', false);
    expect(dns.formatApl((await ssa.resolveService('src.svc.test', { server })).apl)).toBe('2:2001:db8:6::/64');
    const failed = follower.status();
    expect([failed.loads, failed.failures, failed.generation, failed.lastError?.message]).toEqual([
      2, 1, 2, "Expected the name of an address service of " + path + " ('web') for names['src.svc.test'].service but received 'filtered'",
    ]);

    // A file that is not a deployment: refused by the source, counted the same way.
    writeFileSync(path, '{ "version": 1 ');
    await source.refresh('file changed', false);
    expect(follower.status()).toMatchObject({ loads: 2, failures: 2 });
    expect(follower.status().lastError?.message).toBe(`The configuration ${path} has 1 problem:\n${path}:1:16: Expected valid JSON but received a syntax error: Expected ',' or '}' after property value`);

    writeFileSync(path, JSON.stringify(doc()));
    await source.refresh('file changed', false);
    expect(dns.formatApl((await ssa.resolveService('web.svc.test', { server })).apl)).toBe('2:2001:db8:5::/64');
    expect(follower.status()).toMatchObject({ loads: 3, failures: 2 });
    expect(follower.status().lastError).toBeUndefined();
    expect(events.map((e) => `${e.kind} ${e.reason}`)).toEqual(['loaded file changed', 'refused file changed', 'refused file changed', 'loaded file changed']);
  });

  it('refuses to start on a deployment whose zone does not build, and a target that takes no zones', async () => {
    const path = file('ssa-publish-bad.json', JSON.stringify(doc()));
    const names = { origin: 'svc.test', names: { 'x.svc.test': { service: 'mail', rule: { rule: 'random' } as const } } };
    const source = new FileSource({ path, host: 'a1', debounceMs: 0 });
    closing.push(() => source.close());
    await expect(ssa.ZoneFollower.start({ source, names, target: { setZones: () => undefined } })).rejects.toThrow("for names['x.svc.test'].service but received 'mail'");
    await expect(ssa.ZoneFollower.start({ source, names: NAMES, target: {} as ssa.ZoneTarget })).rejects.toThrow('Expected a DNS responder, or a function starting one with a zone, for options.target but received');
  });
});
