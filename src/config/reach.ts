// Who sends GUE to whom, and from which address: the family rule tableFor (view.ts) uses, and the
// checks validateConfig makes with it so that every server's view compiles and is trusted.
import { invalid, OwnerUnreachableError } from '../errors.js';
import { ABI } from '../generated/abi.js';
import { containsPrefix, parsePrefix, type Prefix } from '../slices/address.js';
import { about, fail, formatPath, type Path } from './path.js';
import type { DatacenterConfig, HostAddresses, ServerConfig, TrustedPeer } from './types.js';

export type Family = 'ipv4' | 'ipv6';

/**
 * The family `from` sends GUE to `to` in: IPv4 when both have an IPv4 address, else IPv6 when
 * both have one. One rule for every peer (rather than following each slice's family) because an
 * owner in a SliceTable has one address, and it keeps the set of trusted sources small.
 */
export function familyTo(from: HostAddresses, to: HostAddresses): Family | undefined {
  if (from.ipv4 !== undefined && to.ipv4 !== undefined) return 'ipv4';
  if (from.ipv6 !== undefined && to.ipv6 !== undefined) return 'ipv6';
  return undefined;
}

function only(h: HostAddresses): string {
  return h.ipv4 !== undefined ? 'only an IPv4 address' : 'only an IPv6 address';
}

const serverPath = (s: ServerConfig): Path => ['datacenters', s.datacenter, 'servers', s.name];

function same(a: HostAddresses, b: HostAddresses): boolean {
  return (a.ipv4 !== undefined && a.ipv4.getValue() === b.ipv4?.getValue()) || (a.ipv6 !== undefined && a.ipv6.getValue() === b.ipv6?.getValue());
}

/**
 * Checks that every server shares an address family with each peer it forwards to in GUE (the
 * servers of its data centre not reached by 'l2', the other data centres' endpoints), that an
 * endpoint server receives on its data centre's GUE port, and that `trusted`, when given, covers
 * every address GUE is sent from. Returns those addresses, in file order: the default trust list.
 */
export function checkReach(
  datacenters: ReadonlyMap<string, DatacenterConfig>,
  servers: ReadonlyMap<string, ServerConfig>,
  trusted: readonly TrustedPeer[] | undefined,
): { sources: TrustedPeer[] } {
  const prefixes = trusted?.map((p, i) => parsePrefix(p, `gue.trustedPeers[${i}]`, invalid));
  const sources: TrustedPeer[] = [];
  const seen = new Set<string>();
  const use = (s: ServerConfig, family: Family) => {
    const addr = s[family]!;
    const key = addr.toString();
    if (seen.has(key)) return;
    seen.add(key);
    sources.push(addr);
    if (prefixes === undefined) return;
    const p = parsePrefix(addr, 'source', invalid);
    if (!prefixes.some((t: Prefix) => containsPrefix(t, p))) {
      fail(['gue', 'trustedPeers'], `addresses and prefixes covering every address GUE is sent from (server ${s.name} sends from ${key})`, trusted);
    }
  };
  for (const s of servers.values()) {
    const dc = datacenters.get(s.datacenter)!;
    if (dc.endpoint !== undefined && same(s, dc.endpoint) && s.guePort !== dc.guePort) {
      fail([...serverPath(s), 'guePort'], `${dc.guePort} (the GUE port of data centre ${dc.name}: this server is its endpoint)`, s.guePort);
    }
    for (const name of dc.servers) {
      const peer = servers.get(name)!;
      if (peer === s || peer.encap === 'l2') continue;
      const family = familyTo(s, peer);
      if (family === undefined) {
        throw about(
          new OwnerUnreachableError(
            `Server ${s.name} (${formatPath(serverPath(s))}) has ${only(s)} and server ${peer.name} (${formatPath(serverPath(peer))}) ${only(peer)}, ` +
              `so ${s.name} cannot forward to ${peer.name} in GUE: give both an address of one family, or reach ${peer.name} with encap 'l2'`,
          ),
          serverPath(peer),
        );
      }
      use(s, family);
    }
    for (const other of datacenters.values()) {
      if (other === dc) continue;
      // validateConfig requires an endpoint of every data centre when there are several.
      const endpoint = other.endpoint!;
      const family = familyTo(s, endpoint);
      const at: Path = ['datacenters', other.name, 'endpoint'];
      if (family === undefined) {
        throw about(
          new OwnerUnreachableError(
            `Server ${s.name} (${formatPath(serverPath(s))}) has ${only(s)} and the endpoint of data centre ${other.name} (${formatPath(at)}) ${only(endpoint)}, ` +
              `so ${s.name} cannot forward to data centre ${other.name} in GUE: give both an address of one family`,
          ),
          at,
        );
      }
      use(s, family);
    }
  }
  // Derived, one address per server: more than the XDP program holds must be given as prefixes.
  const max = ABI.table.trustedPeersMax;
  if (prefixes === undefined && sources.length > max) {
    fail(['gue', 'trustedPeers'], `prefixes covering the ${sources.length} addresses GUE is sent from (one by one they exceed the ${max} trusted peers the XDP program holds)`, undefined);
  }
  return { sources };
}
