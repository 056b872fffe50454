// The file's `datacenters` section: data centres, their endpoints and servers, each checked in
// full. What failed is left out of the maps, and its names are remembered so that later checks
// (slices naming a server, who reaches whom) skip it instead of piling up problems. Used by validate.ts.
import { ABI } from '../generated/abi.js';
import { GLB_GUE_PORT } from '../lb/hop-list.js';
import { parseMac } from '../slices/owner.js';
import type { DatacenterEncap, ServerEncap } from '../slices/types.js';
import { resolveOptions } from '../xdp/options.js';
import type { Owners } from './egress.js';
import { fail, within, type Path } from './path.js';
import type { Problems } from './problems.js';
import type { DatacenterConfig, HostAddresses, ServerConfig, ServerInterface } from './types.js';
import { checkName, integer, ipv4, ipv6, map, object, oneOf } from './values.js';

export const GUE_ENCAPS: readonly DatacenterEncap[] = ['gue0', 'gue1'];
const SERVER_ENCAPS: readonly ServerEncap[] = ['gue0', 'gue1', 'l2', 'glb'];

/** The `gue` settings the data centres and servers default to. */
export interface GueDefaults {
  port: number;
  encap: DatacenterEncap;
}

function checkAddresses(p: Problems, h: Record<string, unknown>, path: Path, what: string): HostAddresses | undefined {
  if (h.ipv4 === undefined && h.ipv6 === undefined) return p.expected([...path, 'ipv4'], `an IPv4 address (or one under ipv6): ${what} needs at least one`, undefined);
  const a = h.ipv4 === undefined ? undefined : p.attempt(path, () => ipv4(h.ipv4, [...path, 'ipv4']));
  const b = h.ipv6 === undefined ? undefined : p.attempt(path, () => ipv6(h.ipv6, [...path, 'ipv6']));
  if ((h.ipv4 !== undefined && a === undefined) || (h.ipv6 !== undefined && b === undefined)) return undefined;
  return { ...(a !== undefined && { ipv4: a }), ...(b !== undefined && { ipv6: b }) };
}

function checkInterface(p: Problems, value: unknown, path: Path): ServerInterface | undefined {
  const before = p.count;
  const spec = typeof value === 'string' ? { name: value } : object(p, value, path, 'interface', 'an interface name, or { name, queues?, ... }');
  if (spec === undefined) return undefined;
  if (spec.rings !== undefined) object(p, spec.rings, [...path, 'rings'], 'rings', 'an object of ring sizes { rx?, tx?, fill?, completion? }');
  // Unknown keys were reported: XdpPort's validator would only report them again.
  if (p.count > before) return undefined;
  const { name, ...rest } = spec;
  const options = { interface: name, ...rest } as ServerInterface;
  // XdpPort's own validation, so that the file refuses exactly what XdpPort.open() would. The
  // queue count behind 'all' is only known on the host itself.
  const ok = p.attempt(path, () => within(path, { interface: typeof value === 'string' ? '' : 'name' }, () => resolveOptions(options, () => 1)));
  return ok === undefined ? undefined : options;
}

function checkMac(p: Problems, s: Record<string, unknown>, path: Path, encap: ServerEncap | undefined): string | undefined {
  if (encap === 'l2') {
    const mac = p.attempt(path, () => within([...path, 'mac'], {}, () => parseMac(s.mac, 'options')));
    if (s.guePort !== undefined) p.expected([...path, 'guePort'], "no GUE port for a server reached by 'l2' (its peers do not encapsulate)", s.guePort);
    return mac === undefined ? undefined : (s.mac as string).toLowerCase();
  }
  if (s.mac !== undefined) p.expected([...path, 'mac'], "no MAC address unless encap is 'l2' (GUE next hops come from the neighbour table)", s.mac);
  return undefined;
}

/** A server, or undefined when any of its settings has a problem (each is recorded). */
function checkServer(p: Problems, value: unknown, path: Path, name: string, dc: string, gue: GueDefaults, guePort: number): ServerConfig | undefined {
  const before = p.count;
  const s = object(p, value, path, 'server', 'a server { ipv4?, ipv6?, encap?, mac?, guePort?, fallback?, interface? }');
  if (s === undefined) return undefined;
  const addresses = checkAddresses(p, s, path, 'a server');
  const encap = p.attempt(path, () => oneOf(s.encap, [...path, 'encap'], SERVER_ENCAPS, gue.encap));
  const mac = checkMac(p, s, path, encap);
  // GLB hop lists hold IPv4 addresses only: its peers reach a 'glb' server at its IPv4 address.
  if (encap === 'glb' && s.ipv4 === undefined) p.expected([...path, 'ipv4'], "an IPv4 address: a server reached by 'glb' needs one (GLB hop lists are IPv4 only)", undefined);
  // An l2 server still runs a router, which receives GUE from other data centres when it is
  // its data centre's endpoint: it keeps a receive port, its data centre's unless set (GLB
  // director's for a 'glb' server, which its peers send to).
  const port = p.attempt(path, () => integer(s.guePort, [...path, 'guePort'], 1, 65535, encap === 'glb' ? GLB_GUE_PORT : guePort));
  const iface = s.interface === undefined ? undefined : checkInterface(p, s.interface, [...path, 'interface']);
  const fallback = p.attempt(path, () => fallbackName(s.fallback, [...path, 'fallback']));
  if (p.count > before) return undefined;
  return {
    name,
    datacenter: dc,
    ...addresses,
    encap: encap!,
    ...(mac !== undefined && { mac }),
    guePort: port!,
    ...(iface !== undefined && { interface: iface }),
    ...(fallback !== undefined && { fallback }),
  };
}

/** A fallback as written: a name (fallbacks.ts checks what it names once every name is known). */
function fallbackName(value: unknown, path: Path): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string') fail(path, 'the name of a server or data centre', value);
  checkName(value, path, 'server or data centre');
  return value;
}

/** What checkDatacenters found: the valid parts, and what slices may name. */
export interface Found {
  datacenters: Map<string, DatacenterConfig>;
  servers: Map<string, ServerConfig>;
  owners: Owners;
}

interface State extends Found {
  /** Names used so far, for the one name space of data centres and servers. */
  where: Map<string, string>;
  failed: Set<string>;
  declared: string[];
  complete: boolean;
}

function checkServers(p: Problems, list: Record<string, unknown>, at: Path, dc: DatacenterConfig, gue: GueDefaults, st: State): void {
  const index = st.owners.index as Map<string, number>;
  for (const serverName of dc.servers) {
    const sat = [...at, 'servers', serverName];
    const before = p.count;
    p.attempt(sat, () => checkName(serverName, sat, 'server'));
    const named = p.count === before;
    // Owner names in a router's table are server and data centre names: one name space.
    const twice = st.where.get(serverName);
    if (twice !== undefined) p.expected(sat, `a name used only once (it also names ${twice})`, serverName);
    else {
      st.where.set(serverName, `a server of data centre ${dc.name}`);
      st.declared.push(serverName);
    }
    const server = named && twice === undefined ? checkServer(p, list[serverName], sat, serverName, dc.name, gue, dc.guePort) : undefined;
    if (server === undefined) {
      if (twice === undefined) st.failed.add(serverName);
      continue;
    }
    index.set(serverName, st.servers.size);
    st.servers.set(serverName, server);
  }
}

function checkDatacenter(p: Problems, name: string, value: unknown, several: boolean, gue: GueDefaults, st: State): void {
  const at = ['datacenters', name];
  const before = p.count;
  p.attempt(at, () => checkName(name, at, 'data centre'));
  const d = object(p, value, at, 'datacenter', 'a data centre { endpoint?, encap?, guePort?, fallback?, servers }');
  if (d === undefined) {
    st.complete = false;
    return;
  }
  let endpoint: HostAddresses | undefined;
  if (d.endpoint !== undefined) {
    const e = object(p, d.endpoint, [...at, 'endpoint'], 'endpoint', 'an endpoint { ipv4?, ipv6? }');
    if (e !== undefined) endpoint = checkAddresses(p, e, [...at, 'endpoint'], 'an endpoint');
  } else if (several) {
    p.expected([...at, 'endpoint'], 'an endpoint { ipv4?, ipv6? } other data centres send GUE to (there is more than one data centre)', undefined);
  }
  const list = map(p, d.servers, [...at, 'servers'], 'a map of server names to servers');
  const names = list === undefined ? [] : Object.keys(list);
  if (list !== undefined && names.length === 0) p.expected([...at, 'servers'], 'at least one server', d.servers);
  // Without its servers, no slice name can be called unknown: it may be one of them.
  if (names.length === 0) st.complete = false;
  const fallback = p.attempt(at, () => fallbackName(d.fallback, [...at, 'fallback']));
  const dc: DatacenterConfig = {
    name,
    endpoint,
    encap: p.attempt(at, () => oneOf(d.encap, [...at, 'encap'], GUE_ENCAPS, gue.encap)) ?? gue.encap,
    guePort: p.attempt(at, () => integer(d.guePort, [...at, 'guePort'], 1, 65535, gue.port)) ?? gue.port,
    servers: names,
    ...(fallback !== undefined && { fallback }),
  };
  const twice = st.where.get(name);
  if (twice !== undefined) p.expected(at, `a name used only once (it also names ${twice})`, name);
  else st.where.set(name, `data centre ${name}`);
  const ok = p.count === before;
  checkServers(p, list ?? {}, at, dc, gue, st);
  if (ok) st.datacenters.set(name, { ...dc, servers: names.filter((n) => st.servers.get(n)?.datacenter === name) });
}

/** Checks every data centre and server; what failed is left out and named in `owners`. */
export function checkDatacenters(p: Problems, value: unknown, gue: GueDefaults): Found {
  const st: State = {
    datacenters: new Map(),
    servers: new Map(),
    owners: undefined as unknown as Owners,
    where: new Map(),
    failed: new Set(),
    declared: [],
    complete: true,
  };
  st.owners = { index: new Map(), declared: st.declared, failed: st.failed, complete: true };
  const dcs = map(p, value, ['datacenters'], 'a map of data centre names to { endpoint, servers, ... }');
  const names = dcs === undefined ? [] : Object.keys(dcs);
  if (dcs !== undefined && names.length === 0) p.expected(['datacenters'], 'at least one data centre', value);
  if (names.length === 0) st.complete = false;
  for (const name of names) checkDatacenter(p, name, dcs![name], names.length > 1, gue, st);
  return { datacenters: st.datacenters, servers: st.servers, owners: { ...st.owners, complete: st.complete } };
}
