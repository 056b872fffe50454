// validateConfig: a parsed configuration file (plain JSON data) -> a Config, checked whole before
// anything is returned. Structure here; egress slices in egress.ts, who can reach whom in reach.ts.
import { IPv4, IPv6 } from 'ip-num';

import { ABI } from '../generated/abi.js';
import { parseMac } from '../slices/owner.js';
import type { DatacenterEncap, ServerEncap } from '../slices/types.js';
import { resolveOptions } from '../xdp/options.js';
import { checkEgress } from './egress.js';
import { CONFIG_KEYS } from './keys.js';
import { fail, within, type Path } from './path.js';
import { checkReach } from './reach.js';
import type { Config, DatacenterConfig, HostAddresses, ServerConfig, ServerInterface, StatsConfig } from './types.js';
import { addressOrPrefix, checkName, integer, ipv4, ipv6, isIPv4Text, isIPv6Text, map, object, oneOf } from './values.js';

/** Configurations made by validateConfig, the only ones tableFor and friends accept. */
const made = new WeakSet<Config>();

/** Whether `value` came from validateConfig (parseConfig, loadConfig). */
export function isConfig(value: unknown): value is Config {
  return typeof value === 'object' && value !== null && made.has(value as Config);
}

const GUE_ENCAPS: readonly DatacenterEncap[] = ['gue0', 'gue1'];
const SERVER_ENCAPS: readonly ServerEncap[] = ['gue0', 'gue1', 'l2'];

interface Gue {
  port: number;
  encap: DatacenterEncap;
  trustedPeers: Config['gue']['trustedPeers'] | undefined;
}

function checkGue(value: unknown): Gue {
  const path = ['gue'];
  if (value === undefined) return { port: ABI.gue.defaultPort, encap: 'gue0', trustedPeers: undefined };
  const g = object(value, path, 'gue', 'an object { port?, encap?, trustedPeers? }');
  let trustedPeers: Gue['trustedPeers'];
  if (g.trustedPeers !== undefined) {
    const list = g.trustedPeers;
    const at = [...path, 'trustedPeers'];
    if (!Array.isArray(list)) fail(at, 'a list of addresses and prefixes', list);
    // The XDP program holds a fixed number of them (SU_TRUSTED_PEERS_MAX, abi.h).
    const max = ABI.table.trustedPeersMax;
    if (list.length > max) fail(at, `at most ${max} addresses and prefixes (SU_TRUSTED_PEERS_MAX; prefixes can cover many servers)`, list);
    trustedPeers = list.map((p: unknown, i) => addressOrPrefix(p, [...at, i]));
  }
  return {
    // Port 0 would turn decapsulation off on every router: not something a file says by default.
    port: integer(g.port, [...path, 'port'], 1, 65535, ABI.gue.defaultPort),
    encap: oneOf(g.encap, [...path, 'encap'], GUE_ENCAPS, 'gue0'),
    trustedPeers,
  };
}

function checkAddresses(h: Record<string, unknown>, path: Path, what: string): HostAddresses {
  if (h.ipv4 === undefined && h.ipv6 === undefined) fail([...path, 'ipv4'], `an IPv4 address (or one under ipv6): ${what} needs at least one`, undefined);
  return {
    ...(h.ipv4 !== undefined && { ipv4: ipv4(h.ipv4, [...path, 'ipv4']) }),
    ...(h.ipv6 !== undefined && { ipv6: ipv6(h.ipv6, [...path, 'ipv6']) }),
  };
}

function checkInterface(value: unknown, path: Path): ServerInterface {
  const spec = typeof value === 'string' ? { name: value } : object(value, path, 'interface', 'an interface name, or { name, queues?, ... }');
  if (spec.rings !== undefined) object(spec.rings, [...path, 'rings'], 'rings', 'an object of ring sizes { rx?, tx?, fill?, completion? }');
  const { name, ...rest } = spec;
  const options = { interface: name, ...rest } as ServerInterface;
  // XdpPort's own validation, so that the file refuses exactly what XdpPort.open() would. The
  // queue count behind 'all' is only known on the host itself.
  within(path, { interface: typeof value === 'string' ? '' : 'name' }, () => resolveOptions(options, () => 1));
  return options;
}

function checkServer(value: unknown, path: Path, name: string, dc: string, gue: Gue, guePort: number): ServerConfig {
  const s = object(value, path, 'server', 'a server { ipv4?, ipv6?, encap?, mac?, guePort?, interface? }');
  const addresses = checkAddresses(s, path, 'a server');
  const encap = oneOf(s.encap, [...path, 'encap'], SERVER_ENCAPS, gue.encap);
  let mac: string | undefined;
  if (encap === 'l2') {
    within([...path, 'mac'], {}, () => parseMac(s.mac, 'options'));
    mac = (s.mac as string).toLowerCase();
    if (s.guePort !== undefined) fail([...path, 'guePort'], "no GUE port for a server reached by 'l2' (its peers do not encapsulate)", s.guePort);
  } else if (s.mac !== undefined) {
    fail([...path, 'mac'], "no MAC address unless encap is 'l2' (GUE next hops come from the neighbour table)", s.mac);
  }
  return {
    name,
    datacenter: dc,
    ...addresses,
    encap,
    ...(mac !== undefined && { mac }),
    // An l2 server still runs a router, which receives GUE from other data centres when it is
    // its data centre's endpoint: it keeps a receive port, its data centre's unless set.
    guePort: integer(s.guePort, [...path, 'guePort'], 1, 65535, guePort),
    ...(s.interface !== undefined && { interface: checkInterface(s.interface, [...path, 'interface']) }),
  };
}

function checkDatacenters(value: unknown, gue: Gue): { datacenters: Map<string, DatacenterConfig>; servers: Map<string, ServerConfig> } {
  const path = ['datacenters'];
  const dcs = map(value, path, 'a map of data centre names to { endpoint, servers, ... }');
  const names = Object.keys(dcs);
  if (names.length === 0) fail(path, 'at least one data centre', value);
  const datacenters = new Map<string, DatacenterConfig>();
  const servers = new Map<string, ServerConfig>();
  const where = new Map<string, string>();
  for (const dcName of names) {
    const at = [...path, dcName];
    checkName(dcName, at, 'data centre');
    const d = object(dcs[dcName], at, 'datacenter', 'a data centre { endpoint?, encap?, guePort?, servers }');
    let endpoint: HostAddresses | undefined;
    if (d.endpoint !== undefined) {
      endpoint = checkAddresses(object(d.endpoint, [...at, 'endpoint'], 'endpoint', 'an endpoint { ipv4?, ipv6? }'), [...at, 'endpoint'], 'an endpoint');
    } else if (names.length > 1) {
      fail([...at, 'endpoint'], 'an endpoint { ipv4?, ipv6? } other data centres send GUE to (there is more than one data centre)', undefined);
    }
    const list = map(d.servers, [...at, 'servers'], 'a map of server names to servers');
    const serverNames = Object.keys(list);
    if (serverNames.length === 0) fail([...at, 'servers'], 'at least one server', d.servers);
    const dc: DatacenterConfig = {
      name: dcName,
      endpoint,
      encap: oneOf(d.encap, [...at, 'encap'], GUE_ENCAPS, gue.encap),
      guePort: integer(d.guePort, [...at, 'guePort'], 1, 65535, gue.port),
      servers: serverNames,
    };
    // Owner names in a router's table are server and data centre names: one name space.
    if (where.has(dcName)) fail(at, `a name used only once (it also names ${where.get(dcName)})`, dcName);
    where.set(dcName, `data centre ${dcName}`);
    for (const serverName of serverNames) {
      const sat = [...at, 'servers', serverName];
      checkName(serverName, sat, 'server');
      if (where.has(serverName)) fail(sat, `a name used only once (it also names ${where.get(serverName)})`, serverName);
      where.set(serverName, `a server of data centre ${dcName}`);
      servers.set(serverName, checkServer(list[serverName], sat, serverName, dcName, gue, dc.guePort));
    }
    datacenters.set(dcName, dc);
  }
  return { datacenters, servers };
}

/** 127.0.0.0/8 or ::1: the endpoint has no authentication, so it stays on this host. */
function loopback(address: IPv4 | IPv6): boolean {
  return address instanceof IPv4 ? address.getValue() >> 24n === 127n : address.getValue() === 1n;
}

function checkStats(value: unknown): StatsConfig {
  const path = ['stats'];
  if (value === undefined) return { intervalSeconds: 5 };
  const s = object(value, path, 'stats', 'an object { intervalSeconds?, prometheus? }');
  const interval = s.intervalSeconds ?? 5;
  if (typeof interval !== 'number' || !(interval > 0) || interval > 3600) fail([...path, 'intervalSeconds'], 'a number of seconds above 0, at most 3600', interval);
  if (s.prometheus === undefined) return { intervalSeconds: interval };
  const at = [...path, 'prometheus'];
  const expected = "a port, or a loopback address and port such as '127.0.0.1:9464' or '[::1]:9464'";
  let address: IPv4 | IPv6 = IPv4.fromString('127.0.0.1');
  let port: unknown = s.prometheus;
  if (typeof s.prometheus === 'string') {
    const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(s.prometheus);
    const host = m?.[1] ?? m?.[2];
    if (m === null || host === undefined || !(m[1] !== undefined ? isIPv6Text(host) : isIPv4Text(host))) fail(at, expected, s.prometheus);
    address = m[1] !== undefined ? IPv6.fromString(host) : IPv4.fromString(host);
    if (!loopback(address)) fail(at, `${expected} (the endpoint has no authentication: loopback only)`, s.prometheus);
    port = Number(m[3]);
  }
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) fail(at, expected, s.prometheus);
  return { intervalSeconds: interval, prometheus: { address, port } };
}

/**
 * Checks a configuration given as plain data (what JSON.parse or a YAML parser gives for the file)
 * and returns it typed, with defaults filled in. Throws InvalidOptionError naming the path of the
 * first bad value, SliceOverlapError for slices of two servers covering the same packets, and
 * OwnerUnreachableError for servers that share no address family with a peer they forward to.
 */
export function validateConfig(value: unknown, source?: string): Config {
  const root = object(value, [], 'config', `a configuration object { ${CONFIG_KEYS.config.filter((k) => k !== '$schema').join(', ')} }`);
  if (root.version !== 1) fail(['version'], 'version 1 (the only format so far)', root.version);
  if (root.$schema !== undefined && typeof root.$schema !== 'string') fail(['$schema'], 'the URL or path of the JSON Schema', root.$schema);
  const gue = checkGue(root.gue);
  const { datacenters, servers } = checkDatacenters(root.datacenters, gue);
  const egress = checkEgress(root.egress, servers);
  const reach = checkReach(datacenters, servers, gue.trustedPeers);
  const config: Config = {
    source,
    gue: { port: gue.port, encap: gue.encap, trustedPeers: gue.trustedPeers ?? reach.sources, trustedPeersDerived: gue.trustedPeers === undefined },
    datacenters,
    servers,
    egress,
    stats: checkStats(root.stats),
  };
  made.add(config);
  return config;
}
