// The structured-addressing client (src/ssa/client.ts) against the repo's DNS responder on loopback,
// over real UDP (and TCP after truncation): APL and TXT built from a slice set, then destinations by each rule.
import * as dgram from 'node:dgram';

import { IPv6 } from 'ip-num';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { formatApl } from '../../src/dns/apl.js';
import { DnsResponder } from '../../src/dns/responder.js';
import type { DnsZoneOptions } from '../../src/dns/zone.js';
import { InvalidRecordError } from '../../src/errors.js';
import {
  aplOf, chooseDestination, conforms, evenSlices, rebalance, resolveService, serviceRecords, sliceAt, type ClientRule, type SliceSet,
} from '../../src/ssa/index.js';

const KEY = '0f0e0d0c0b0a09080706050403020100';
const RULES: Record<string, ClientRule> = {
  random: { rule: 'random' },
  derived: { rule: 'source-derived', sourceBits: 64, fn: 'flowhash-1', key: KEY },
  objects: { rule: 'content-addressed', hash: 'sha256' },
};

let set: SliceSet = evenSlices('2001:db8:0:1::/64', 78, ['a', 'b', 'c']);

function zone(slices: SliceSet): DnsZoneOptions {
  const names = Object.fromEntries(Object.entries(RULES).map(([label, rule]) => [`${label}.svc.example`, serviceRecords({ prefixes: aplOf(slices), rule })]));
  // 120 host prefixes: an APL record of about 2,400 bytes, more than UDP may carry, so the client retries over TCP.
  const many = Array.from({ length: 120 }, (_, i) => `2:2001:db8:0:2::${(2 * i).toString(16)}/127`).join(' ');
  return { origin: 'svc.example', ttl: 20, names: { ...names, 'big.svc.example': serviceRecords({ prefixes: many, rule: { rule: 'random' } }), 'plain.svc.example': { txt: ['hello'] } } };
}

let responder: DnsResponder;
const server = (): { host: string; port: number } => ({ host: responder.host, port: responder.port });

beforeAll(async () => {
  responder = await DnsResponder.start({ zones: [zone(set)] });
});
afterAll(async () => {
  await responder?.close();
});

describe('resolving a service from the responder', () => {
  it('reads the APL list and the rule over UDP, and chooses destinations inside owned slices by each rule', async () => {
    for (const [label, rule] of Object.entries(RULES)) {
      const service = await resolveService(`${label}.svc.example`, { server: server() });
      expect(formatApl(service.apl)).toBe('2:2001:db8:0:1::/64');
      expect(service.rule).toEqual(rule);
      expect(service.ttl).toBe(20);
      const destination = chooseDestination(service, { source: IPv6.fromString('2001:db8:77:1::5'), objectKey: 'doc/1' });
      expect(sliceAt(set, destination)).toBeDefined();
      expect(conforms(IPv6.fromString('2001:db8:77:1::9'), destination, rule)).toBe(true);
    }
    expect(responder.counters.udp).toBeGreaterThanOrEqual(6);
  });

  it('retries over TCP when the UDP answer is truncated', async () => {
    const before = { truncated: responder.counters.truncated, tcp: responder.counters.tcp };
    const service = await resolveService('big.svc.example', { server: server() });
    expect(service.apl).toHaveLength(120);
    expect(service.published.total).toBe(240n);
    expect(responder.counters.truncated).toBeGreaterThan(before.truncated);
    expect(responder.counters.tcp).toBeGreaterThan(before.tcp);
  });

  it('follows a rebalance and a new prefix once the zone is swapped', async () => {
    const key = 'video/7';
    const first = chooseDestination(await resolveService('objects.svc.example', { server: server() }), { objectKey: key });
    set = rebalance(set, ['a', 'b', 'c', 'd', 'e'], { now: 0, windowMs: 0 }).set;
    responder.setZones([zone(set)]);
    const again = chooseDestination(await resolveService('objects.svc.example', { server: server() }), { objectKey: key });
    // The published list did not change, so the object's address did not: its owner may have.
    expect(again).toEqual(first);
    expect(['d', 'e', 'a', 'b', 'c']).toContain(sliceAt(set, again)!.owner);
    const wider = { prefixes: [...set.prefixes, { network: 0x20010db8000000020000000000000000n, length: 64 }], slices: [...set.slices, { network: 0x20010db8000000020000000000000000n, length: 64, owner: 'f' }] };
    responder.setZones([zone(wider)]);
    const service = await resolveService('random.svc.example', { server: server() });
    expect(formatApl(service.apl)).toBe('2:2001:db8:0:1::/64 2:2001:db8:0:2::/64');
    expect(service.published.total).toBe(2n ** 65n);
    responder.setZones([zone(set)]);
  });

  it('refuses a name without APL, without a rule, and a server that does not answer', async () => {
    await expect(resolveService('nope.svc.example', { server: server() })).rejects.toThrow(new InvalidRecordError('Expected APL records for nope.svc.example but received NXDOMAIN'));
    await expect(resolveService('plain.svc.example', { server: server() })).rejects.toThrow('Expected one APL record for plain.svc.example but received 0');
    const silent = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => silent.bind(0, '127.0.0.1', resolve));
    try {
      const port = silent.address().port;
      const failure = resolveService('random.svc.example', { server: { host: '127.0.0.1', port }, timeoutMs: 200 });
      await expect(failure).rejects.toThrow(`No DNS answer from udp 127.0.0.1:${port} within 200 ms`);
      await expect(failure).rejects.toMatchObject({ code: 'ERR_SYSCALL', errno: 110, syscall: 'dns query' });
    } finally {
      silent.close();
    }
    await expect(resolveService('random.svc.example', { server: { host: 'localhost' } })).rejects.toThrow("Expected { host: an IP address, port? } for server but received an object");
  });
});
