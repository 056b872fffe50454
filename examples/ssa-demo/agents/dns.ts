// The DNS host of the structured-addressing world (examples/ssa-demo, test/netns/ssa-demo.test.ts):
// the library's authoritative responder serving one name per client rule, each with its address
// service's APL record (ssa.aplOf of the service's slices), its rule TXT and an AAAA for clients that
// know no APL. The source is the router's own configuration file: read at start and again whenever it
// changes, so DNS publishes what the router steers. argv[2]: { host, file }.
// stdin: {"cmd":"status","id"} answers the loads so far and each name's APL. stdout: ready, status, error.
import { watchFile } from 'node:fs';
import { createInterface } from 'node:readline';

import { IPv6 } from 'ip-num';

import { dns, loadConfig, ssa, type Config } from '../../../src/index.js';
import { SERVICE_NAMES, SERVICE_ORIGIN } from '../rules.js';

interface DnsConfig {
  host: string;
  file: string;
}

const config = JSON.parse(process.argv[2] ?? '{}') as DnsConfig;
const say = (event: Record<string, unknown>): void => void process.stdout.write(`${JSON.stringify(event)}\n`);

/** The file's address services as slice sets, by name; aplOf checks each still covers its prefix. */
function zoneOf(file: Config): { zone: dns.DnsZoneOptions; apl: Record<string, string> } {
  const apl: Record<string, string> = {};
  const names = Object.fromEntries(Object.values(SERVICE_NAMES).map(({ name, rule, service }) => {
    const s = file.addressServices.find((a) => a.name === service);
    if (s === undefined) throw new Error(`Expected an address service named '${service}' in ${config.file} but it has none`);
    const set = ssa.sliceSet({ prefixes: [s.prefix], slices: s.slices.map((x) => ({ prefix: x.prefix, owner: x.owner })) });
    const items = ssa.aplOf(set);
    apl[name] = dns.formatApl(items);
    const first = ssa.rangeOf(set.slices[0]!).getFirst();
    return [name, ssa.serviceRecords({ prefixes: items, rule, aaaa: [IPv6.fromString(first.toString())] })];
  }));
  return { zone: { origin: SERVICE_ORIGIN, ttl: 30, names }, apl };
}

let current = zoneOf(await loadConfig(config.file));
let loads = 1;
let lastError: string | undefined;
const responder = await dns.DnsResponder.start({ zones: [current.zone], host: config.host, port: 53 });

// Polling, not fs.watch: the file is rewritten whole (a new inode on some writers), which a poll of
// its stat always sees. A file that does not load keeps the zone as it was, as the router keeps its table.
watchFile(config.file, { interval: 100 }, () => {
  loadConfig(config.file).then((file) => {
    current = zoneOf(file);
    responder.setZones([current.zone]);
    loads++;
    lastError = undefined;
  }).catch((e: Error) => {
    lastError = e.message;
  });
});

createInterface({ input: process.stdin }).on('line', (line) => {
  const msg = JSON.parse(line) as { cmd: string; id: string };
  if (msg.cmd === 'status') say({ event: 'status', id: msg.id, loads, apl: current.apl, ...(lastError !== undefined && { lastError }) });
  else say({ event: 'error', id: msg.id, error: { name: 'Error', message: `Expected the command status but received ${msg.cmd}` } });
});
say({ event: 'ready', port: 53 });
