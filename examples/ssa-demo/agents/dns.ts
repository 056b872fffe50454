// The DNS host of the structured-addressing world (examples/ssa-demo, test/netns/ssa-demo.test.ts):
// the library's authoritative responder serving one name per client rule, each with its address
// service's APL record, its rule TXT and an AAAA for clients that know no APL, kept in step with the
// router's own configuration file by ssa.ZoneFollower, so DNS publishes what the router steers.
// argv[2]: { host, file, server }. stdin: {"cmd":"status","id"} answers the loads so far and each name's APL. stdout: ready, status, error.
import { createInterface } from 'node:readline';

import { dns, FileSource, ssa } from '../../../src/index.js';
import { SERVICE_NAMES, SERVICE_ORIGIN } from '../rules.js';

interface DnsConfig {
  host: string;
  file: string;
  /** The file's server whose view the source validates (the router's). */
  server: string;
}

const config = JSON.parse(process.argv[2] ?? '{}') as DnsConfig;
const say = (event: Record<string, unknown>): void => void process.stdout.write(`${JSON.stringify(event)}\n`);

const names = Object.fromEntries(Object.values(SERVICE_NAMES).map(({ name, rule, service }) => [name, { service, rule, aaaa: 'first' as const }]));
// A file that does not load, or whose services no longer publish, keeps the zone as it was, as the router keeps its table.
const follower = await ssa.ZoneFollower.start({
  source: new FileSource({ path: config.file, host: config.server, debounceMs: 50 }),
  names: { origin: SERVICE_ORIGIN, ttl: 30, names },
  target: (zone) => dns.DnsResponder.start({ zones: [zone], host: config.host, port: 53 }),
});

createInterface({ input: process.stdin }).on('line', (line) => {
  const msg = JSON.parse(line) as { cmd: string; id: string };
  if (msg.cmd === 'status') {
    const { loads, zone, lastError } = follower.status();
    say({ event: 'status', id: msg.id, loads, apl: ssa.aplTextOf(zone), ...(lastError !== undefined && { lastError: lastError.message }) });
  } else say({ event: 'error', id: msg.id, error: { name: 'Error', message: `Expected the command status but received ${msg.cmd}` } });
});
say({ event: 'ready', port: 53 });
