// A two data centre configuration as plain data, and every way to break it: one list shared by
// config-validate.test.ts (the validator's messages) and config-schema.test.ts (the schema agrees).
import { InvalidConfigError, InvalidOptionError, InvalidRecordError, InvalidSliceError, OwnerUnreachableError, SliceOverlapError } from '../../src/errors.js';

export type Doc = Record<string, any>;

/**
 * A: a1 and a2 with both families, a3 reached by l2; endpoint a1, encap gue1.
 * B: b1 IPv6 only (its endpoint, GUE port 7000), b2 with both families.
 */
export function base(): Doc {
  return {
    version: 1,
    datacenters: {
      A: {
        endpoint: { ipv4: '10.1.0.1', ipv6: '2001:db8:a::1' },
        encap: 'gue1',
        servers: {
          a1: { ipv4: '10.1.0.1', ipv6: '2001:db8:a::1', interface: { name: 'eth0', queues: 'all' } },
          a2: { ipv4: '10.1.0.2', ipv6: '2001:db8:a::2' },
          a3: { ipv4: '10.1.0.3', ipv6: '2001:db8:a::3', encap: 'l2', mac: '02:00:00:00:0A:03' },
        },
      },
      B: {
        endpoint: { ipv6: '2001:db8:b::1' },
        guePort: 7000,
        servers: {
          b1: { ipv6: '2001:db8:b::1', interface: 'eth1' },
          b2: { ipv4: '10.2.0.2', ipv6: '2001:db8:b::2' },
        },
      },
    },
    egress: [
      { address: '192.0.2.1', tags: { country: 'de', tier: 1 }, slices: { owners: ['a1', 'a2', 'a3', 'b1', 'b2'] } },
      { address: '2001:db8:100::1', protocols: ['tcp'], slices: [{ ports: '2048-4095', owner: 'a1' }, { ports: { from: 4096, to: 6143 }, owner: 'b1' }] },
    ],
    stats: { intervalSeconds: 2, prometheus: '[::1]:9464' },
  };
}

export interface BadCase {
  /** What is wrong, for the test's name. */
  name: string;
  /** Changes the document in place, or returns another to use instead. */
  change: (doc: Doc) => unknown;
  error: typeof InvalidOptionError | typeof SliceOverlapError | typeof OwnerUnreachableError | typeof InvalidSliceError | typeof InvalidRecordError;
  message: string;
  /** Whether the JSON Schema can tell too (references, overlaps and families it cannot). */
  schema: boolean;
}

const A = (d: Doc) => d.datacenters.A;
const B = (d: Doc) => d.datacenters.B;
const a1 = (d: Doc) => A(d).servers.a1;
const a2 = (d: Doc) => A(d).servers.a2;
const e0 = (d: Doc) => d.egress[0];
const e1 = (d: Doc) => d.egress[1];
const IOE = InvalidOptionError;
const SERVERS = 'a1, a2, a3, b1, b2';
const PORTS = "a port, a range such as '2048-4095', or { from, to }";

const bad = (name: string, change: (d: Doc) => unknown, message: string, schema = true, error: BadCase['error'] = IOE): BadCase => ({ name, change, error, message, schema });

/** The InvalidConfigError `fn` throws; fails the test when it throws nothing or something else. */
export function thrown(fn: () => unknown): InvalidConfigError {
  try {
    fn();
  } catch (error) {
    if (error instanceof InvalidConfigError) return error;
    throw error;
  }
  throw new Error('expected an InvalidConfigError');
}

/** The document `c` makes of a fresh base(). */
export function broken(c: BadCase): unknown {
  const doc = base();
  const other = c.change(doc);
  return other === undefined ? doc : other;
}

export const BAD_CASES: BadCase[] = [
  // The top level.
  bad('not an object', () => null, 'Expected a configuration object { version, gue, datacenters, egress, stats, health, services, flowHashSeed, addressServices } for the top level but received null'),
  bad('a list', () => [base()], 'Expected a configuration object { version, gue, datacenters, egress, stats, health, services, flowHashSeed, addressServices } for the top level but received an array of 1'),
  bad('an unknown key', (d) => { d.colour = 'red'; }, "Expected no such key (known here: $schema, version, gue, datacenters, egress, stats, health, services, flowHashSeed, addressServices) for colour but received 'red'"),
  bad('no version', (d) => { delete d.version; }, 'Expected version 1 (the only format so far) for version but received undefined'),
  bad('version 2', (d) => { d.version = 2; }, 'Expected version 1 (the only format so far) for version but received 2'),
  bad('$schema not text', (d) => { d.$schema = 5; }, 'Expected the URL or path of the JSON Schema for $schema but received 5'),
  // gue.
  bad('gue a list', (d) => { d.gue = []; }, 'Expected an object { port?, encap?, trustedPeers? } for gue but received an array of 0'),
  bad('gue unknown key', (d) => { d.gue = { ports: 1 }; }, 'Expected no such key (known here: port, encap, trustedPeers) for gue.ports but received 1'),
  bad('gue port 0', (d) => { d.gue = { port: 0 }; }, 'Expected an integer from 1 to 65535 for gue.port but received 0'),
  bad('gue port text', (d) => { d.gue = { port: '6080' }; }, "Expected an integer from 1 to 65535 for gue.port but received '6080'"),
  bad('gue encap l2', (d) => { d.gue = { encap: 'l2' }; }, "Expected 'gue0' or 'gue1' for gue.encap but received 'l2'"),
  bad('trusted peers not a list', (d) => { d.gue = { trustedPeers: '10.0.0.0/8' }; }, "Expected a list of addresses and prefixes for gue.trustedPeers but received '10.0.0.0/8'"),
  bad('trusted peers too many', (d) => { d.gue = { trustedPeers: Array.from({ length: 65 }, (_, i) => `10.0.${i}.0/24`) }; }, 'Expected at most 64 addresses and prefixes (SU_TRUSTED_PEERS_MAX; prefixes can cover many servers) for gue.trustedPeers but received an array of 65'),
  bad('trusted peer with host bits', (d) => { d.gue = { trustedPeers: ['2001:db8:a::/47', '10.0.0.1/8'] }; }, "Expected a prefix without host bits set (10.0.0.0/8) for gue.trustedPeers[1] but received '10.0.0.1/8'", false),
  bad('trusted peer not an address', (d) => { d.gue = { trustedPeers: ['nonsense'] }; }, "Expected an address or a prefix such as '10.0.0.0/8' or '2001:db8::/32' for gue.trustedPeers[0] but received 'nonsense'"),
  bad('trusted peers not covering a sender', (d) => { d.gue = { trustedPeers: ['2001:db8:a::/47'] }; }, 'Expected addresses and prefixes covering every address GUE is sent from (server a1 sends from 10.1.0.1) for gue.trustedPeers but received an array of 1', false),
  bad(
    'derived trusted peers too many',
    (d) => { for (let i = 0; i < 30; i++) A(d).servers[`x${i}`] = { ipv4: `10.1.1.${i}`, ipv6: `2001:db8:a::1:${i}` }; },
    'Expected prefixes covering the 69 addresses GUE is sent from (one by one they exceed the 64 trusted peers the XDP program holds) for gue.trustedPeers but received undefined',
    false,
  ),
  // Data centres.
  bad('no data centres', (d) => { delete d.datacenters; }, 'Expected a map of data centre names to { endpoint, servers, ... } for datacenters but received undefined'),
  bad('empty data centres', (d) => { d.datacenters = {}; }, 'Expected at least one data centre for datacenters but received an object'),
  bad('data centre name with a space', (d) => { d.datacenters['A B'] = A(d); delete d.datacenters.A; }, "Expected a data centre name of letters, digits, '.', '_' and '-' that starts with a letter or digit for datacenters['A B'] but received 'A B'"),
  bad('data centre not an object', (d) => { d.datacenters.A = 'fra'; }, "Expected a data centre { endpoint?, encap?, guePort?, fallback?, servers } for datacenters.A but received 'fra'"),
  bad('data centre unknown key', (d) => { A(d).colour = 'red'; }, "Expected no such key (known here: endpoint, encap, guePort, fallback, servers) for datacenters.A.colour but received 'red'"),
  bad('no endpoint with two data centres', (d) => { delete B(d).endpoint; }, 'Expected an endpoint { ipv4?, ipv6? } other data centres send GUE to (there is more than one data centre) for datacenters.B.endpoint but received undefined', false),
  bad('endpoint not an object', (d) => { B(d).endpoint = '2001:db8:b::1'; }, "Expected an endpoint { ipv4?, ipv6? } for datacenters.B.endpoint but received '2001:db8:b::1'"),
  bad('endpoint without addresses', (d) => { B(d).endpoint = {}; }, 'Expected an IPv4 address (or one under ipv6): an endpoint needs at least one for datacenters.B.endpoint.ipv4 but received undefined'),
  bad('endpoint unknown key', (d) => { B(d).endpoint.ip = '10.2.0.1'; }, "Expected no such key (known here: ipv4, ipv6) for datacenters.B.endpoint.ip but received '10.2.0.1'"),
  bad('endpoint IPv4 out of range', (d) => { B(d).endpoint.ipv4 = '10.2.0.256'; }, "Expected an IPv4 address such as '192.0.2.1' for datacenters.B.endpoint.ipv4 but received '10.2.0.256'"),
  bad('endpoint IPv4 with a leading zero', (d) => { B(d).endpoint.ipv4 = '10.2.0.01'; }, "Expected an IPv4 address such as '192.0.2.1' for datacenters.B.endpoint.ipv4 but received '10.2.0.01'"),
  bad('endpoint IPv6 not an address', (d) => { B(d).endpoint.ipv6 = '2001:db8:b::g'; }, "Expected an IPv6 address such as '2001:db8::1' for datacenters.B.endpoint.ipv6 but received '2001:db8:b::g'"),
  bad('endpoint IPv6 given IPv4', (d) => { B(d).endpoint.ipv6 = '10.2.0.1'; }, "Expected an IPv6 address such as '2001:db8::1' for datacenters.B.endpoint.ipv6 but received '10.2.0.1'"),
  bad('data centre encap l2', (d) => { A(d).encap = 'l2'; }, "Expected 'gue0' or 'gue1' for datacenters.A.encap but received 'l2'"),
  bad('data centre GUE port too big', (d) => { B(d).guePort = 70000; }, 'Expected an integer from 1 to 65535 for datacenters.B.guePort but received 70000'),
  bad('no servers', (d) => { delete A(d).servers; }, 'Expected a map of server names to servers for datacenters.A.servers but received undefined'),
  bad('empty servers', (d) => { A(d).servers = {}; }, 'Expected at least one server for datacenters.A.servers but received an object'),
  // Servers.
  bad('server name twice', (d) => { B(d).servers.a1 = { ipv4: '10.2.0.9' }; }, "Expected a name used only once (it also names a server of data centre A) for datacenters.B.servers.a1 but received 'a1'", false),
  bad('server named like a data centre', (d) => { B(d).servers.A = { ipv4: '10.2.0.9' }; }, "Expected a name used only once (it also names data centre A) for datacenters.B.servers.A but received 'A'", false),
  bad('server name starting with a dot', (d) => { B(d).servers['.b3'] = { ipv4: '10.2.0.9' }; }, "Expected a server name of letters, digits, '.', '_' and '-' that starts with a letter or digit for datacenters.B.servers['.b3'] but received '.b3'"),
  bad('server not an object', (d) => { A(d).servers.a2 = '10.1.0.2'; }, "Expected a server { ipv4?, ipv6?, encap?, mac?, guePort?, fallback?, interface? } for datacenters.A.servers.a2 but received '10.1.0.2'"),
  bad('server unknown key', (d) => { a2(d).address = '10.1.0.2'; }, "Expected no such key (known here: ipv4, ipv6, encap, mac, guePort, fallback, interface) for datacenters.A.servers.a2.address but received '10.1.0.2'"),
  bad('server without addresses', (d) => { A(d).servers.a2 = {}; }, 'Expected an IPv4 address (or one under ipv6): a server needs at least one for datacenters.A.servers.a2.ipv4 but received undefined'),
  bad('server IPv4 as a number', (d) => { a2(d).ipv4 = 167837698; }, "Expected an IPv4 address such as '192.0.2.1' for datacenters.A.servers.a2.ipv4 but received 167837698"),
  bad('server IPv6 with a zone', (d) => { a2(d).ipv6 = 'fe80::2%eth0'; }, "Expected an IPv6 address such as '2001:db8::1' for datacenters.A.servers.a2.ipv6 but received 'fe80::2%eth0'"),
  bad('server encap vxlan', (d) => { a2(d).encap = 'vxlan'; }, "Expected 'gue0', 'gue1', 'l2' or 'glb' for datacenters.A.servers.a2.encap but received 'vxlan'"),
  bad('l2 without a MAC', (d) => { delete A(d).servers.a3.mac; }, "Expected a MAC address such as '02:00:00:00:00:01' for datacenters.A.servers.a3.mac but received undefined"),
  bad('l2 with a bad MAC', (d) => { A(d).servers.a3.mac = '02-00-00-00-0a-03'; }, "Expected a MAC address such as '02:00:00:00:00:01' for datacenters.A.servers.a3.mac but received '02-00-00-00-0a-03'"),
  bad('l2 with a GUE port', (d) => { A(d).servers.a3.guePort = 7000; }, "Expected no GUE port for a server reached by 'l2' (its peers do not encapsulate) for datacenters.A.servers.a3.guePort but received 7000"),
  bad('MAC without l2', (d) => { a2(d).mac = '02:00:00:00:0a:02'; }, "Expected no MAC address unless encap is 'l2' (GUE next hops come from the neighbour table) for datacenters.A.servers.a2.mac but received '02:00:00:00:0a:02'"),
  bad('server GUE port 0', (d) => { a2(d).guePort = 0; }, 'Expected an integer from 1 to 65535 for datacenters.A.servers.a2.guePort but received 0'),
  bad('endpoint server on another GUE port', (d) => { B(d).servers.b1.guePort = 6080; }, 'Expected 7000 (the GUE port of data centre B: this server is its endpoint) for datacenters.B.servers.b1.guePort but received 6080', false),
  bad('interface a number', (d) => { a1(d).interface = 5; }, 'Expected an interface name, or { name, queues?, ... } for datacenters.A.servers.a1.interface but received 5'),
  bad('interface without a name', (d) => { a1(d).interface = { queues: 'all' }; }, "Expected an interface name of 1 to 15 bytes without '/', ':' or spaces for datacenters.A.servers.a1.interface.name but received undefined"),
  bad('interface name with a slash', (d) => { a1(d).interface.name = 'eth/0'; }, "Expected an interface name of 1 to 15 bytes without '/', ':' or spaces for datacenters.A.servers.a1.interface.name but received 'eth/0'"),
  bad('interface name too long', (d) => { a1(d).interface = 'a-very-long-name0'; }, "Expected an interface name of 1 to 15 bytes without '/', ':' or spaces for datacenters.A.servers.a1.interface but received 'a-very-long-name0'"),
  bad('interface queue twice', (d) => { a1(d).interface.queues = [0, 0]; }, 'Expected a queue not listed before for datacenters.A.servers.a1.interface.queues[1] but received 0'),
  bad('interface queues empty', (d) => { a1(d).interface.queues = []; }, "Expected 'all' or an array of 1 to 64 queue indices for datacenters.A.servers.a1.interface.queues but received an array of 0"),
  bad('interface ring not a power of two', (d) => { a1(d).interface.rings = { rx: 1000 }; }, 'Expected a power of two from 16 to 65536 for datacenters.A.servers.a1.interface.rings.rx but received 1000'),
  bad('interface ring unknown', (d) => { a1(d).interface.rings = { cq: 1024 }; }, 'Expected no such key (known here: rx, tx, fill, completion) for datacenters.A.servers.a1.interface.rings.cq but received 1024'),
  bad('interface bind mode', (d) => { a1(d).interface.bind = 'fast'; }, "Expected 'auto' or 'copy' or 'zero-copy' for datacenters.A.servers.a1.interface.bind but received 'fast'"),
  bad('interface batch size', (d) => { a1(d).interface.batchSize = 0; }, 'Expected an integer from 1 to 1024 for datacenters.A.servers.a1.interface.batchSize but received 0'),
  bad('interface capture rules', (d) => { a1(d).interface.capture = []; }, 'Expected no such key (known here: name, queues, frameSize, frameCount, frameHeadroom, rings, batchSize, bind, attach, needWakeup, busyPoll, replace) for datacenters.A.servers.a1.interface.capture but received an array of 0'),
  // Fallbacks (peer health): what they may name so that they mean an owner in every router's table.
  bad('server fallback a number', (d) => { a2(d).fallback = 7; }, 'Expected the name of a server or data centre for datacenters.A.servers.a2.fallback but received 7'),
  bad('server fallback itself', (d) => { a2(d).fallback = 'a2'; }, "Expected another server or data centre than a2 itself for datacenters.A.servers.a2.fallback but received 'a2'", false),
  bad('server fallback its own data centre', (d) => { a2(d).fallback = 'A'; }, "Expected a server, or a data centre other than its own (A is no owner in its own routers' tables) for datacenters.A.servers.a2.fallback but received 'A'", false),
  bad('server fallback unknown', (d) => { a2(d).fallback = 'a9'; }, `Expected the name of a server or data centre of the file (${SERVERS}, A, B) for datacenters.A.servers.a2.fallback but received 'a9'`, false),
  bad('data centre fallback a data centre', (d) => { B(d).fallback = 'A'; }, "Expected a server of another data centre (a data centre is no owner in its own routers' tables: name the server there that takes B's slices) for datacenters.B.fallback but received 'A'", false),
  bad('data centre fallback its own server', (d) => { B(d).fallback = 'b2'; }, "Expected a server of another data centre than B (its own servers go down with it) for datacenters.B.fallback but received 'b2'", false),
  bad('data centre fallback unknown', (d) => { B(d).fallback = 'zz'; }, `Expected the name of a server of another data centre (${SERVERS}, A, B) for datacenters.B.fallback but received 'zz'`, false),
  // Health.
  bad('health a list', (d) => { d.health = []; }, 'Expected an object { intervalMs?, downAfter?, upAfter?, probeAll? } for health but received an array of 0'),
  bad('health unknown key', (d) => { d.health = { interval: 5 }; }, 'Expected no such key (known here: intervalMs, downAfter, upAfter, probeAll) for health.interval but received 5'),
  bad('health interval too short', (d) => { d.health = { intervalMs: 5 }; }, 'Expected an integer from 10 to 3600000 for health.intervalMs but received 5'),
  bad('health downAfter 0', (d) => { d.health = { downAfter: 0 }; }, 'Expected an integer from 1 to 1000 for health.downAfter but received 0'),
  bad('health probeAll text', (d) => { d.health = { probeAll: 'yes' }; }, "Expected true or false for health.probeAll but received 'yes'"),
  // Egress.
  bad('egress not a list', (d) => { d.egress = {}; }, 'Expected a list of egress entries { address or prefix, slices, ... } for egress but received an object'),
  bad('egress entry not an object', (d) => { d.egress[0] = '192.0.2.1'; }, "Expected an egress entry { address or prefix, protocols?, tags?, slices } for egress[0] but received '192.0.2.1'"),
  bad('egress entry unknown key', (d) => { e0(d).owner = 'a1'; }, "Expected no such key (known here: address, prefix, protocols, tags, slices) for egress[0].owner but received 'a1'"),
  bad('address and prefix', (d) => { e0(d).prefix = '192.0.2.0/24'; }, "Expected no prefix when an address is given (one or the other) for egress[0].prefix but received '192.0.2.0/24'"),
  bad('neither address nor prefix', (d) => { delete e0(d).address; }, 'Expected an address (or a prefix under prefix) the slices share for egress[0].address but received undefined'),
  bad('address with a length', (d) => { e0(d).address = '192.0.2.0/24'; }, "Expected an address without a prefix length (prefixes go under prefix) for egress[0].address but received '192.0.2.0/24'"),
  bad('address incomplete', (d) => { e0(d).address = '192.0.2'; }, "Expected an IPv4 or IPv6 address such as '192.0.2.1' or '2001:db8::1' for egress[0].address but received '192.0.2'"),
  bad('prefix with host bits', (d) => { delete e0(d).address; e0(d).prefix = '198.51.100.7/24'; }, "Expected a prefix without host bits set (198.51.100.0/24) for egress[0].prefix but received '198.51.100.7/24'", false),
  bad('prefix too long', (d) => { delete e0(d).address; e0(d).prefix = '198.51.100.0/33'; }, "Expected a prefix such as '198.51.100.0/24' or '2001:db8::/32' for egress[0].prefix but received '198.51.100.0/33'", false),
  bad('prefix without a length', (d) => { delete e0(d).address; e0(d).prefix = '198.51.100.0'; }, "Expected a prefix such as '198.51.100.0/24' or '2001:db8::/32' for egress[0].prefix but received '198.51.100.0'"),
  bad('protocols empty', (d) => { e0(d).protocols = []; }, "Expected a non-empty list of 'tcp' and 'udp' for egress[0].protocols but received an array of 0"),
  bad('protocol icmp', (d) => { e0(d).protocols = ['icmp']; }, "Expected 'tcp' or 'udp' for egress[0].protocols[0] but received 'icmp'"),
  bad('protocol twice', (d) => { e0(d).protocols = ['tcp', 'tcp']; }, "Expected a protocol not listed before for egress[0].protocols[1] but received 'tcp'"),
  bad('tags a list', (d) => { e0(d).tags = ['de']; }, 'Expected a map of tag names to values for egress[0].tags but received an array of 1'),
  bad('tag value an object', (d) => { e0(d).tags.country = { code: 'de' }; }, 'Expected a string, number or boolean for egress[0].tags.country but received an object'),
  bad('tag name empty', (d) => { e0(d).tags[''] = 'x'; }, "Expected a non-empty tag name for egress[0].tags[''] but received ''"),
  bad('no slices', (d) => { delete e0(d).slices; }, 'Expected a slice rule { size?, reserveLowest?, owners } or a list of slices { ports, owner } for egress[0].slices but received undefined'),
  bad('rule unknown key', (d) => { e0(d).slices.first = 1; }, 'Expected no such key (known here: size, reserveLowest, owners) for egress[0].slices.first but received 1'),
  bad('rule size not a power of two', (d) => { e0(d).slices.size = 3000; }, 'Expected a power of two from 1 to 65536 for egress[0].slices.size but received 3000'),
  bad('rule reserveLowest text', (d) => { e0(d).slices.reserveLowest = 'yes'; }, "Expected true or false for egress[0].slices.reserveLowest but received 'yes'"),
  bad('rule size 65536 with the lowest reserved', (d) => { e0(d).slices.size = 65536; }, 'Expected a size below 65536 when reserveLowest is set (no slice would be left) for egress[0].slices.size but received 65536', false),
  bad('rule without owners', (d) => { e0(d).slices.owners = []; }, 'Expected a non-empty list of server names (null leaves a slice unassigned) for egress[0].slices.owners but received an array of 0'),
  bad('rule with more owners than slices', (d) => { e0(d).slices = { size: 16384, owners: ['a1', 'a2', 'b1', 'b2'] }; }, 'Expected at most 3 owners (ports 16384-65535 hold 3 slices of 16384) for egress[0].slices.owners but received an array of 4', false),
  bad('rule owner unknown', (d) => { e0(d).slices.owners[1] = 'zz'; }, `Expected the name of a server of the configuration (${SERVERS}) for egress[0].slices.owners[1] but received 'zz'`, false),
  bad('rule owner a number', (d) => { e0(d).slices.owners[1] = 7; }, `Expected the name of a server of the configuration (${SERVERS}) for egress[0].slices.owners[1] but received 7`),
  bad('slices empty', (d) => { e1(d).slices = []; }, 'Expected a slice rule or a non-empty list of slices for egress[1].slices but received an array of 0'),
  bad('slice not an object', (d) => { e1(d).slices[0] = 'a1'; }, "Expected a slice { ports, owner, protocols? } for egress[1].slices[0] but received 'a1'"),
  bad('slice unknown key', (d) => { e1(d).slices[0].tags = {}; }, 'Expected no such key (known here: ports, owner, protocols) for egress[1].slices[0].tags but received an object'),
  bad('slice without ports', (d) => { delete e1(d).slices[0].ports; }, `Expected ${PORTS} for egress[1].slices[0].ports but received undefined`),
  bad('ports text', (d) => { e1(d).slices[0].ports = 'low'; }, `Expected ${PORTS} for egress[1].slices[0].ports but received 'low'`),
  bad('ports above 65535', (d) => { e1(d).slices[0].ports = '2048-70000'; }, "Expected ports from 0 to 65535 for egress[1].slices[0].ports but received '2048-70000'", false),
  bad('ports reversed', (d) => { e1(d).slices[0].ports = '4095-2048'; }, "Expected a range whose first port is not above its last for egress[1].slices[0].ports but received '4095-2048'", false),
  bad('port too big', (d) => { e1(d).slices[0].ports = 70000; }, 'Expected a port from 0 to 65535 for egress[1].slices[0].ports but received 70000'),
  bad('port fractional', (d) => { e1(d).slices[0].ports = 80.5; }, 'Expected a port from 0 to 65535 for egress[1].slices[0].ports but received 80.5'),
  bad('ports without to', (d) => { e1(d).slices[1].ports = { from: 4096 }; }, 'Expected a port from 0 to 65535 for egress[1].slices[1].ports.to but received undefined'),
  bad('ports to below from', (d) => { e1(d).slices[1].ports = { from: 4096, to: 4095 }; }, 'Expected a port not below from (4096) for egress[1].slices[1].ports.to but received 4095', false),
  bad('ports unknown key', (d) => { e1(d).slices[1].ports.step = 2; }, 'Expected no such key (known here: from, to) for egress[1].slices[1].ports.step but received 2'),
  bad('slice owner a data centre', (d) => { e1(d).slices[0].owner = 'A'; }, `Expected the name of a server of the configuration (${SERVERS}) for egress[1].slices[0].owner but received 'A'`, false),
  bad('slice protocols bad', (d) => { e1(d).slices[0].protocols = 'tcp'; }, "Expected a non-empty list of 'tcp' and 'udp' for egress[1].slices[0].protocols but received 'tcp'"),
  bad(
    'slices of two servers overlapping',
    (d) => { e1(d).slices.push({ ports: 4000, owner: 'a2' }); },
    "Slice 2001:db8:100::1 tcp port 4000 of owner 'a2' (egress[1].slices[2]) overlaps slice 2001:db8:100::1 tcp ports 2048-4095 of owner 'a1' (egress[1].slices[0]); slices of different owners must not cover the same packets",
    false,
    SliceOverlapError,
  ),
  bad(
    'a prefix overlapping an address of another entry',
    (d) => { d.egress.push({ prefix: '192.0.2.0/30', protocols: ['udp'], slices: [{ ports: '8000-8099', owner: 'b2' }] }); },
    "Slice 192.0.2.0/30 udp ports 8000-8099 of owner 'b2' (egress[2].slices[0]) overlaps slice 192.0.2.1 tcp+udp ports 6144-8191 of owner 'a3' (egress[0].slices.owners[2]); slices of different owners must not cover the same packets",
    false,
    SliceOverlapError,
  ),
  // Who reaches whom.
  bad(
    'servers of one data centre without a common family',
    // B's endpoint gets an IPv4 address too, so that a2 still reaches B: one problem, the pair.
    (d) => { delete a2(d).ipv6; A(d).servers.a4 = { ipv6: '2001:db8:a::4' }; B(d).endpoint.ipv4 = '10.2.0.1'; },
    "Server a2 (datacenters.A.servers.a2) has only an IPv4 address and server a4 (datacenters.A.servers.a4) only an IPv6 address, so a2 cannot forward to a4 in GUE: give both an address of one family, or reach a4 with encap 'l2'",
    false,
    OwnerUnreachableError,
  ),
  bad(
    'a server without the family of another data centre\'s endpoint',
    (d) => { delete a2(d).ipv6; },
    'Server a2 (datacenters.A.servers.a2) has only an IPv4 address and the endpoint of data centre B (datacenters.B.endpoint) only an IPv6 address, so a2 cannot forward to data centre B in GUE: give both an address of one family',
    false,
    OwnerUnreachableError,
  ),
  // Stats.
  bad('stats a number', (d) => { d.stats = 5; }, 'Expected an object { intervalSeconds?, prometheus? } for stats but received 5'),
  bad('stats unknown key', (d) => { d.stats.json = true; }, 'Expected no such key (known here: intervalSeconds, prometheus) for stats.json but received true'),
  bad('stats interval 0', (d) => { d.stats.intervalSeconds = 0; }, 'Expected a number of seconds above 0, at most 3600 for stats.intervalSeconds but received 0'),
  bad('stats interval a day', (d) => { d.stats.intervalSeconds = 86400; }, 'Expected a number of seconds above 0, at most 3600 for stats.intervalSeconds but received 86400'),
  bad('prometheus on every address', (d) => { d.stats.prometheus = '0.0.0.0:9464'; }, "Expected a port, or a loopback address and port such as '127.0.0.1:9464' or '[::1]:9464' (the endpoint has no authentication: loopback only) for stats.prometheus but received '0.0.0.0:9464'"),
  bad('prometheus by host name', (d) => { d.stats.prometheus = 'localhost:9464'; }, "Expected a port, or a loopback address and port such as '127.0.0.1:9464' or '[::1]:9464' for stats.prometheus but received 'localhost:9464'"),
  bad('prometheus port 0', (d) => { d.stats.prometheus = 0; }, "Expected a port, or a loopback address and port such as '127.0.0.1:9464' or '[::1]:9464' for stats.prometheus but received 0"),
  // Address services (src/config/address-services.ts; config-address-services.test.ts has the rest).
  bad('address services an object', (d) => { d.addressServices = {}; }, 'Expected a list of address services for addressServices but received an object'),
  bad('an address slice with an unknown key', (d) => { d.addressServices = [{ prefix: '2001:db8:5::/64', slices: [{ prefix: '2001:db8:5::/64', owner: 'a1', ports: 80 }] }]; }, 'Expected no such key (known here: prefix, owner, secondary) for addressServices[0].slices[0].ports but received 80'),
  bad('five address services', (d) => { d.addressServices = [1, 2, 3, 4, 5].map((i) => ({ prefix: `2001:db8:${i}::/64`, slices: [{ prefix: `2001:db8:${i}::/64`, owner: 'a1' }] })); }, "Expected at most 4 address services (the fast path's limit a table) for addressServices but received an array of 5"),
  bad('a filter whose rule is of another version', (d) => { d.addressServices = [{ prefix: '2001:db8:5::/64', slices: [{ prefix: '2001:db8:5::/64', owner: 'a1' }], filter: { rule: 'v=ssa2 rule=random' } }]; }, "Expected 'v=ssa1' first for the client rule but received 'v=ssa2 rule=random'", true, InvalidRecordError),
  bad('an address slice of an unknown server', (d) => { d.addressServices = [{ prefix: '2001:db8:5::/64', slices: [{ prefix: '2001:db8:5::/64', owner: 'zz' }] }]; }, `Expected the name of a server of the configuration (${SERVERS}) for addressServices[0].slices[0].owner but received 'zz'`, false),
  bad('address slices with a gap', (d) => { d.addressServices = [{ prefix: '2001:db8:5::/64', slices: [{ prefix: '2001:db8:5::/65', owner: 'a1' }] }]; }, 'Expected a slice covering 2001:db8:5:0:8000::/65 (the uncovered range 2001:db8:5:0:8000:: to 2001:db8:5:0:ffff:ffff:ffff:ffff) but received no slice there', false, InvalidSliceError),
  bad('prometheus port too big', (d) => { d.stats.prometheus = '127.0.0.1:70000'; }, "Expected a port, or a loopback address and port such as '127.0.0.1:9464' or '[::1]:9464' for stats.prometheus but received '127.0.0.1:70000'", false),
];
