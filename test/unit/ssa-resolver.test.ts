// The structured-addressing client with several DNS servers (src/ssa/dns-query.ts queryAny) and its
// TTL cache (src/ssa/resolver.ts), against the repo's DNS responders on loopback over real UDP.
import * as dgram from 'node:dgram';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { formatApl } from '../../src/dns/apl.js';
import { DnsResponder } from '../../src/dns/responder.js';
import type { DnsZoneOptions } from '../../src/dns/zone.js';
import { InvalidOptionError, InvalidRecordError } from '../../src/errors.js';
import { resolveService, serviceRecords, ServiceResolver } from '../../src/ssa/index.js';

function zone(origin: string, prefixes: string, ttl = 20): DnsZoneOptions {
  return { origin, ttl, names: { [`web.${origin}`]: serviceRecords({ prefixes, rule: { rule: 'random' } }) } };
}

let serving: DnsResponder;
/** Serves another zone only: it answers REFUSED for ours. */
let elsewhere: DnsResponder;
/** Serves our zone without the name: its NXDOMAIN is an answer. */
let empty: DnsResponder;
let silent: dgram.Socket;
const at = (r: DnsResponder): { host: string; port: number } => ({ host: r.host, port: r.port });
const silentServer = (): { host: string; port: number } => ({ host: '127.0.0.1', port: silent.address().port });

beforeAll(async () => {
  serving = await DnsResponder.start({ zones: [zone('svc.example', '2:2001:db8:0:1::/64')] });
  elsewhere = await DnsResponder.start({ zones: [zone('other.example', '2:2001:db8:0:9::/64')] });
  empty = await DnsResponder.start({ zones: [{ origin: 'svc.example', ttl: 20, names: {} }] });
  silent = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => silent.bind(0, '127.0.0.1', resolve));
});
afterAll(async () => {
  await Promise.all([serving?.close(), elsewhere?.close(), empty?.close()]);
  silent?.close();
});

describe('asking several DNS servers in turn', () => {
  it('passes over a server that does not answer and one that refuses the zone', async () => {
    const before = serving.counters.udp;
    const service = await resolveService('web.svc.example', { servers: [silentServer(), at(elsewhere), at(serving)], timeoutMs: 200 });
    expect(formatApl(service.apl)).toBe('2:2001:db8:0:1::/64');
    expect(serving.counters.udp - before).toBe(2);
    expect(elsewhere.counters.udp).toBeGreaterThanOrEqual(2);
  });

  it('stops at an NXDOMAIN: another server of the zone would say the same', async () => {
    await expect(resolveService('web.svc.example', { servers: [at(empty), at(serving)] }))
      .rejects.toThrow(new InvalidRecordError('Expected APL records for web.svc.example but received NXDOMAIN'));
  });

  it('names every server and what it did when none answers', async () => {
    const { port } = silentServer();
    const failure = resolveService('web.svc.example', { servers: [silentServer(), at(elsewhere)], timeoutMs: 200 });
    await expect(failure).rejects.toThrow(
      `Expected an answer to web.svc.example APL from one of 2 DNS servers but received none (127.0.0.1:${port}: No DNS answer from udp 127.0.0.1:${port} within 200 ms; 127.0.0.1:${elsewhere.port} answered REFUSED)`);
    await expect(failure).rejects.toMatchObject({ code: 'ERR_SYSCALL', errno: 110, syscall: 'dns query' });
  });

  it('refuses options with neither or both of server and servers, and an empty list', async () => {
    await expect(resolveService('web.svc.example', {})).rejects.toThrow(new InvalidOptionError('Expected one of options.server and options.servers but received neither'));
    await expect(resolveService('web.svc.example', { server: at(serving), servers: [at(serving)] })).rejects.toThrow(new InvalidOptionError('Expected one of options.server and options.servers but received both'));
    await expect(resolveService('web.svc.example', { servers: [] })).rejects.toThrow(new InvalidOptionError('Expected a non-empty list of DNS servers for servers but received an array of 0'));
    expect(() => new ServiceResolver({})).toThrow(new InvalidOptionError('Expected one of options.server and options.servers but received neither'));
    expect(() => new ServiceResolver({ server: at(serving), now: 5 as unknown as () => number })).toThrow(new InvalidOptionError('Expected a function returning milliseconds for options.now but received 5'));
  });
});

describe('ServiceResolver', () => {
  it('asks DNS once per TTL, shares one resolution between concurrent callers, and asks again after the TTL', async () => {
    let now = 1_000_000;
    const resolver = new ServiceResolver({ server: at(serving), now: () => now });
    const before = serving.counters.udp;
    const [a, b] = await Promise.all([resolver.service('web.svc.example'), resolver.service('WEB.svc.example.')]);
    expect(b).toBe(a);
    now += 19_999;
    expect(await resolver.service('web.svc.example')).toBe(a);
    expect(resolver.counters).toEqual({ hits: 2, resolutions: 1 });
    expect(serving.counters.udp - before).toBe(2);

    serving.setZones([zone('svc.example', '2:2001:db8:0:2::/64')]);
    now += 1;
    const fresh = await resolver.service('web.svc.example');
    expect(formatApl(fresh.apl)).toBe('2:2001:db8:0:2::/64');
    expect(resolver.counters.resolutions).toBe(2);
    const destination = await resolver.choose('web.svc.example', { random: () => new Uint8Array(16).fill(0xff) });
    expect(destination.toString()).toBe('2001:db8:0:2:ffff:ffff:ffff:ffff');
  });

  it('gives the error, not the expired answer, when asking again fails', async () => {
    let now = 0;
    const lonely = await DnsResponder.start({ zones: [zone('svc.example', '2:2001:db8:0:3::/64', 5)] });
    const resolver = new ServiceResolver({ server: at(lonely), timeoutMs: 200, now: () => now });
    expect(formatApl((await resolver.service('web.svc.example')).apl)).toBe('2:2001:db8:0:3::/64');
    await lonely.close();
    now += 5_000;
    await expect(resolver.service('web.svc.example')).rejects.toMatchObject({ code: 'ERR_SYSCALL', syscall: 'dns query' });
    resolver.forget();
    await expect(resolver.service('')).rejects.toThrow(new InvalidOptionError("Expected a DNS name for name but received ''"));
  });
});
