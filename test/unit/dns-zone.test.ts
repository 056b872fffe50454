// Zones of the DNS responder (src/dns/zone.ts) and lookups in them (src/dns/answer.ts): what is
// refused when a zone is given, and which answer each question gets.
import { IPv4, IPv6, IPv6CidrRange } from 'ip-num';
import { describe, expect, it } from 'vitest';

import { lookup, RCODE } from '../../src/dns/answer.js';
import { zoneOf } from '../../src/dns/zone.js';
import * as api from '../../src/index.js';

const zone = zoneOf({
  origin: 'svc.example',
  names: { 'a.svc.example': { a: [IPv4.fromString('192.0.2.1')] }, 'x.y.svc.example': { txt: ['t'.repeat(300)] } },
});
const inner = zoneOf({ origin: 'y.svc.example', ttl: 5, names: { 'x.y.svc.example': { aaaa: [IPv6.fromString('2001:db8::5')] } } });

describe('DNS zones', () => {
  it('refuses bad names, addresses, prefixes and TTLs with the path of the value', () => {
    const bad = (names: object, ttl?: number) => () => zoneOf({ origin: 'svc.example', names: names as never, ttl });
    expect(bad({ 'a..svc.example': {} })).toThrow(
      new api.InvalidRecordError("Expected a domain name (labels of letters, digits, '-' and '_', at most 253 characters) for zone.names but received 'a..svc.example'"),
    );
    expect(bad({ 'a.svc.example': { a: ['192.0.2.1'] } })).toThrow(new api.InvalidRecordError("Expected an ip-num IPv4 for zone.names['a.svc.example'].a[0] but received '192.0.2.1'"));
    expect(bad({ 'a.svc.example': { aaaa: [IPv4.fromString('192.0.2.1')] } })).toThrow(/Expected an ip-num IPv6 for zone.names\['a.svc.example'\].aaaa\[0\]/);
    expect(bad({ 'a.svc.example': { apl: [{ negated: false, prefix: IPv6CidrRange.fromCidr('2001:db8::1/64') }] } })).toThrow(/without host bits set \(2001:db8::\/64\)/);
    expect(bad({ 'a.svc.example': {}, 'A.svc.example.': {} })).toThrow(/each name once/);
    expect(bad({}, -1)).toThrow(new api.InvalidRecordError('Expected a TTL from 0 to 2147483647 seconds for zone.ttl but received -1'));
  });

  it('answers from the zone with the longest origin, and keeps the case the question was asked in', () => {
    const got = lookup([zone, inner], { name: 'X.y.svc.example', type: 'AAAA' });
    expect(got.rcode).toBe(RCODE.NOERROR);
    expect(got.answers).toEqual([{ name: 'X.y.svc.example', ttl: 5, class: 'IN', type: 'AAAA', data: '2001:db8:0:0:0:0:0:5' }]);
  });

  it('cuts long TXT records into 255-byte character-strings', () => {
    const [txt] = lookup([zone], { name: 'x.y.svc.example', type: 'TXT' }).answers as { data: Buffer[] }[];
    expect(txt!.data.map((b) => b.length)).toEqual([255, 45]);
  });

  it('gives the SOA at the origin, NXDOMAIN with the SOA below it, REFUSED for other classes', () => {
    expect(lookup([zone], { name: 'svc.example', type: 'SOA' }).answers.map((a) => a.type)).toEqual(['SOA']);
    const nx = lookup([zone], { name: 'b.svc.example', type: 'A' });
    expect([nx.rcode, nx.answers.length, nx.authorities.map((a) => a.type)]).toEqual([RCODE.NXDOMAIN, 0, ['SOA']]);
    expect(lookup([zone], { name: 'a.svc.example', type: 'A', class: 'CH' }).rcode).toBe(RCODE.REFUSED);
  });

  it('is reachable from the package root as dns and ssa', () => {
    expect(api.dns.parseApl('1:10.0.0.0/8')).toHaveLength(1);
    expect(api.ssa.parseRule('v=ssa1 rule=random')).toEqual({ rule: 'random' });
  });
});
