// The DNS host of the structured-addressing world (examples/ssa-demo, test/netns/ssa-demo.test.ts):
// the library's authoritative responder serving one name per client rule, each with the service's
// APL record, its rule TXT and an AAAA for clients that know no APL.
// argv[2]: { host, apl, aaaa }. stdin: {"cmd":"publish","id","apl"} swaps the zone (a new APL
// list after slices moved). stdout: ready, published, error.
import { createInterface } from 'node:readline';

import { IPv6 } from 'ip-num';

import { dns, ssa } from '../../../src/index.js';
import { SERVICE_NAMES, SERVICE_ORIGIN } from '../rules.js';

interface DnsConfig {
  host: string;
  apl: string;
  aaaa: string;
}

const config = JSON.parse(process.argv[2] ?? '{}') as DnsConfig;
const say = (event: Record<string, unknown>): void => void process.stdout.write(`${JSON.stringify(event)}\n`);

function zone(apl: string): dns.DnsZoneOptions {
  const names = Object.fromEntries(Object.values(SERVICE_NAMES).map(({ name, rule }) =>
    [name, ssa.serviceRecords({ prefixes: apl, rule, aaaa: [IPv6.fromString(config.aaaa)] })]));
  return { origin: SERVICE_ORIGIN, ttl: 30, names };
}

const responder = await dns.DnsResponder.start({ zones: [zone(config.apl)], host: config.host, port: 53 });
createInterface({ input: process.stdin }).on('line', (line) => {
  const msg = JSON.parse(line) as { cmd: string; id: string; apl?: string };
  try {
    if (msg.cmd !== 'publish') throw new Error(`Expected the command publish but received ${msg.cmd}`);
    responder.setZones([zone(String(msg.apl))]);
    say({ event: 'published', id: msg.id });
  } catch (e) {
    say({ event: 'error', id: msg.id, error: { name: (e as Error).name, message: (e as Error).message } });
  }
});
say({ event: 'ready', port: 53 });
