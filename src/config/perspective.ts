// One router's perspective on the deployment: itself local, servers of its data centre as server owners,
// other data centres as datacenter owners. tableFor and routerOptionsFor; describe.ts reads perspectiveOf.
import type { IPv4, IPv6 } from 'ip-num';

import { invalid, OwnerUnreachableError } from '../errors.js';
import type { RouterOptions } from '../router/router.js';
import type { PackedRun } from '../slices/state.js';
import { assignPacked, SliceTable } from '../slices/table.js';
import type { OwnerSpec } from '../slices/types.js';
import { packedOf } from './packed.js';
import { fail } from './path.js';
import { familyTo } from './reach.js';
import type { Config, ServerConfig } from './types.js';
import { isConfig } from './validate.js';

/** Owners of one host's table and, for every server, the owner its slices belong to there. */
export interface Perspective {
  readonly server: ServerConfig;
  /** Owner name -> spec: the host itself, its data centre's other servers, the other data centres. */
  readonly owners: ReadonlyMap<string, OwnerSpec>;
  /** Server name -> owner name in this perspective: the server itself in this data centre, else its data centre. */
  readonly ownerOf: ReadonlyMap<string, string>;
}

function serverOf(config: Config, host: string): ServerConfig {
  if (!isConfig(config)) invalid('config', 'a Config from parseConfig(), loadConfig() or validateConfig()', config);
  const server = typeof host === 'string' ? config.servers.get(host) : undefined;
  if (server === undefined) {
    const known = [...config.servers.keys()];
    invalid('host', `the name of a server of the configuration (${known.slice(0, 10).join(', ')}${known.length > 10 ? ', ...' : ''})`, host);
  }
  return server;
}

function unreachable(from: ServerConfig, to: string): never {
  // validateConfig checks every pair; reaching this means a Config changed after validation.
  throw new OwnerUnreachableError(`Server ${from.name} shares no address family with ${to}`);
}

/**
 * The server's address that its owner spec does not name: GUE from it is the server's too, and
 * a packet it sends from there must not be sent back to it (the loop rule; DESIGN.md).
 */
function othersOf(peer: ServerConfig, used: IPv4 | IPv6): { otherAddresses?: (IPv4 | IPv6)[] } {
  const others = [peer.ipv4, peer.ipv6].filter((a): a is IPv4 | IPv6 => a !== undefined && a !== used);
  return others.length === 0 ? {} : { otherAddresses: others };
}

/** The owners and owner names of `host`'s perspective. */
export function perspectiveOf(config: Config, host: string): Perspective {
  const server = serverOf(config, host);
  const owners = new Map<string, OwnerSpec>();
  const ownerOf = new Map<string, string>();
  for (const dc of config.datacenters.values()) {
    if (dc.name === server.datacenter) {
      for (const name of dc.servers) {
        const peer = config.servers.get(name)!;
        ownerOf.set(name, name);
        if (peer === server) {
          owners.set(name, { kind: 'local' });
        } else if (peer.encap === 'l2') {
          const address = (peer.ipv4 ?? peer.ipv6)!;
          owners.set(name, { kind: 'server', address, encap: 'l2', mac: peer.mac!, ...othersOf(peer, address) });
        } else if (peer.encap === 'glb') {
          // GLB GUE is IPv4 only (the peer has an IPv4 address: datacenters.ts checks it).
          if (server.ipv4 === undefined) unreachable(server, `server ${name}`);
          owners.set(name, { kind: 'server', address: peer.ipv4!, encap: 'glb', guePort: peer.guePort, ...othersOf(peer, peer.ipv4!) });
        } else {
          const family = familyTo(server, peer) ?? unreachable(server, `server ${name}`);
          owners.set(name, { kind: 'server', address: peer[family]!, encap: peer.encap, guePort: peer.guePort, ...othersOf(peer, peer[family]!) });
        }
      }
      continue;
    }
    const endpoint = dc.endpoint!;
    const family = familyTo(server, endpoint) ?? unreachable(server, `data centre ${dc.name}`);
    owners.set(dc.name, { kind: 'datacenter', endpoint: endpoint[family]!, encap: dc.encap, guePort: dc.guePort });
    for (const name of dc.servers) ownerOf.set(name, dc.name);
  }
  withFallbacks(config, owners, ownerOf);
  return { server, owners, ownerOf };
}

/**
 * The file's fallbacks as owners of this perspective: a server named stands for its owner here (itself,
 * this host, or its data centre); a data centre for itself (validation keeps a fallback from
 * naming the data centre it would be no owner in).
 */
function withFallbacks(config: Config, owners: Map<string, OwnerSpec>, ownerOf: ReadonlyMap<string, string>): void {
  for (const [name, spec] of owners) {
    if (spec.kind === 'local') continue;
    const named = spec.kind === 'server' ? config.servers.get(name)?.fallback : config.datacenters.get(name)?.fallback;
    const fallback = named === undefined ? undefined : ownerOf.get(named) ?? named;
    if (fallback !== undefined && fallback !== name && owners.has(fallback)) owners.set(name, { ...spec, fallback });
  }
}

/**
 * The slice table of the router on server `host`: every egress slice, owned by `host` itself
 * (local), by a server of its data centre, or by the data centre of the server that owns it.
 */
export function tableFor(config: Config, host: string): SliceTable {
  const p = perspectiveOf(config, host);
  const table = new SliceTable();
  for (const [name, spec] of p.owners) table.defineOwner(name, spec);
  const packed = packedOf(config)!;
  // Straight from the packed slices: a million slices, no object each.
  const runs: PackedRun[] = [];
  packed.prefixes.forEach((prefix, i) => runs.push({ prefix: prefix!, first: packed.starts[i]!, end: packed.starts[i + 1]! }));
  const names = packed.servers.map((server) => p.ownerOf.get(server)!);
  assignPacked(table, { ports: packed.ports, bits: packed.bits, owners: packed.owners, names, runs });
  addServices(config, p, table);
  addAddressServices(config, p, table);
  return table;
}

/**
 * The file's address services, on every router: each slice's server as the owner it is in `p` (itself,
 * a server of its data centre, or that server's data centre). A slice whose old and new owner are one
 * owner here (two servers of another data centre) is no move for this router.
 */
function addAddressServices(config: Config, p: Perspective, table: SliceTable): void {
  const owner = (server: string): string => p.ownerOf.get(server)!;
  for (const s of config.addressServices) {
    const slices = s.slices.map((x) => ({ prefix: x.prefix, owner: owner(x.owner), ...(x.secondary !== undefined && { secondary: owner(x.secondary) }) }));
    const f = s.filter;
    const nonConforming = f?.nonConforming === 'drop' || f === undefined ? 'drop' : { owner: owner(f.nonConforming.owner) };
    table.addAddressService({ prefix: s.prefix, slices, ...(f !== undefined && { filter: { rule: f.rule, nonConforming } }) });
  }
}

/**
 * The file's services whose backends are servers of `p`'s data centre (owners of their own there),
 * with fresh rows of the backends not draining (all of them when every one drains). A load
 * balancer (examples/load-balancer) rebuilds them from there with second chance.
 */
function addServices(config: Config, p: Perspective, table: SliceTable): void {
  for (const s of config.services) {
    if (config.servers.get(s.backends[0]!.server)!.datacenter !== p.server.datacenter) continue;
    const open = s.backends.filter((b) => !b.drain);
    const backends = (open.length > 0 ? open : s.backends).map((b) => ({ owner: b.server, weight: b.weight }));
    table.addService({ address: s.address, protocol: s.protocol, port: s.port, rows: s.rows, backends });
  }
}

/**
 * Everything Router.open() needs on server `host`: its interface settings, its addresses, the
 * GUE port it receives on, the trusted peers and its table. Throws InvalidOptionError when the
 * server has no interface (it owns slices but runs no router).
 */
export function routerOptionsFor(config: Config, host: string): RouterOptions {
  const server = serverOf(config, host);
  if (server.interface === undefined) {
    fail(['datacenters', server.datacenter, 'servers', server.name, 'interface'], 'the interface the router of this server runs on', undefined);
  }
  return {
    port: { ...server.interface },
    host: {
      ...(server.ipv4 !== undefined && { ipv4: server.ipv4 }),
      ...(server.ipv6 !== undefined && { ipv6: server.ipv6 }),
      guePort: server.guePort,
      trustedPeers: config.gue.trustedPeers,
      ...(config.flowHashSeed !== undefined && { flowHashSeed: config.flowHashSeed }),
    },
    table: tableFor(config, host),
    health: { ...config.health },
  };
}
