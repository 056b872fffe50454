// The agility demo's DNS namespace: the policy responder (src/dns) with N hostnames h<i>.<origin>
// under one policy for the whole zone. argv[2]: { host, names, origin, ttl, ipv4, ipv6, select }.
// Commands: policy { ipv4, select } swaps the zone live (setZones); counters.
import { IPv4CidrRange, IPv6CidrRange } from 'ip-num';

import { dns } from '../../../src/index.js';
import { failStart, serve } from './lines.js';

interface DnsConfig {
  host: string;
  names: number;
  origin: string;
  ttl: number;
  ipv4: string;
  ipv6: string;
  select: 'random' | 'stable';
}

const config = JSON.parse(process.argv[2] ?? '{}') as DnsConfig;
/** The stable policy's key: the static binding is a keyed hash of the name (src/dns/select.ts). */
const KEY = '00112233445566778899aabbccddeeff';

const hostnames = dns.DnsNameSet.build(config.origin, (function* () {
  for (let i = 0; i < config.names; i++) yield `h${i}.${config.origin}`;
})());

function zones(ipv4: string, select: 'random' | 'stable'): dns.DnsZoneOptions[] {
  return [{
    origin: config.origin,
    ttl: config.ttl,
    hostnames,
    stableKey: KEY,
    policies: [{
      name: 'all', ipv4: IPv4CidrRange.fromCidr(ipv4), ipv6: IPv6CidrRange.fromCidr(config.ipv6), select,
      // A bucket of 68 years: `stable` then binds each name to one address for good (a static binding).
      bucketSeconds: 2_147_483_647,
    }],
  }];
}

let responder: dns.DnsResponder;
try {
  responder = await dns.DnsResponder.start({ zones: zones(config.ipv4, config.select), host: config.host, port: 53 });
} catch (e) {
  failStart(e);
}
serve({
  policy: (c) => (responder.setZones(zones(c.ipv4 as string, c.select as 'random' | 'stable')), {}),
  counters: () => ({ counters: responder.counters }),
}, { port: responder.port, names: hostnames.size });
