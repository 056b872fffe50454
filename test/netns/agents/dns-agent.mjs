// The policy DNS responder (dist/src/dns) in a namespace for test/netns/dns-policy.test.ts, as JSON lines.
//   node dns-agent.mjs CONFIG   CONFIG: {"hosts":[addresses],"names":N,"clock":ms?}
//   stdin: {"cmd":"pool","id","ipv4":"cidr"} swaps the zones (the 'pro' policy's IPv4 pool) on every
//          responder; {"cmd":"counters","id"}; stdout: ready (with the port), reloaded, counters, error.
import { createInterface } from 'node:readline';

import { IPv4CidrRange, IPv6CidrRange } from 'ip-num';

import { dns } from '../../../dist/src/index.js';

const say = (event) => process.stdout.write(`${JSON.stringify(event)}\n`);
const config = JSON.parse(process.argv[2]);
const ORIGIN = 'agility.test';
const KEY = '00112233445566778899aabbccddeeff';

// h<i>.<plan>.agility.test: even names on the free plan, odd ones on pro.
const hostnames = dns.DnsNameSet.build(ORIGIN, (function* () {
  for (let i = 0; i < config.names; i++) yield `h${i}.${i % 2 === 0 ? 'free' : 'pro'}.${ORIGIN}`;
})());

function zones(proPool) {
  return [{
    origin: ORIGIN,
    ttl: 30,
    hostnames,
    stableKey: KEY,
    policies: [
      { name: 'pro', labels: ['pro'], ipv4: IPv4CidrRange.fromCidr(proPool), ipv6: IPv6CidrRange.fromCidr('2001:db8:100::/44') },
      { name: 'free', labels: ['free'], ipv4: IPv4CidrRange.fromCidr('198.51.100.0/24'), select: 'stable', bucketSeconds: 3600 },
    ],
  }];
}

const clock = config.clock === undefined ? undefined : () => config.clock;
const responders = [];
try {
  let port = 0;
  for (const host of config.hosts) {
    const r = await dns.DnsResponder.start({ zones: zones('198.18.0.0/20'), host, port, ...(clock ? { clock } : {}) });
    port = r.port;
    responders.push(r);
  }
  say({ event: 'ready', port, names: hostnames.size });
} catch (error) {
  say({ event: 'error', error: { name: error.name, code: error.code, message: error.message } });
  process.exit(1);
}

createInterface({ input: process.stdin }).on('line', (line) => {
  const cmd = JSON.parse(line);
  try {
    if (cmd.cmd === 'pool') {
      for (const r of responders) r.setZones(zones(cmd.ipv4));
      say({ event: 'reloaded', id: cmd.id });
    } else if (cmd.cmd === 'counters') {
      say({ event: 'counters', id: cmd.id, counters: responders.map((r) => r.counters) });
    } else throw new Error(`unknown command ${cmd.cmd}`);
  } catch (error) {
    say({ event: 'error', id: cmd.id, error: { name: error.name, code: error.code, message: error.message } });
  }
});
