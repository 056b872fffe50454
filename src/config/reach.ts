// Who sends GUE to whom, and from which address: the family rule tableFor (view.ts) uses, and the
// checks validateConfig makes with it so that every server's view compiles and is trusted.
import { invalid } from '../errors.js';
import { ABI } from '../generated/abi.js';
import { containsPrefix, parsePrefix, type Prefix } from '../slices/address.js';
import { formatPath, type Path } from './path.js';
import type { Problems } from './problems.js';
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

function unreachable(from: ServerConfig, to: string, toPath: Path, toAddresses: HostAddresses, advice: string): string {
  return (
    `Server ${from.name} (${formatPath(serverPath(from))}) has ${only(from)} and ${to} (${formatPath(toPath)}) ${only(toAddresses)}, ` +
    `so ${from.name} cannot forward to ${advice}`
  );
}

/** Records that `trusted` leaves out the first address GUE is sent from that it does not cover. */
function checkTrust(p: Problems, trusted: readonly TrustedPeer[], sources: readonly [TrustedPeer, ServerConfig][]): void {
  const prefixes = trusted.map((t, i) => parsePrefix(t, `gue.trustedPeers[${i}]`, invalid));
  for (const [addr, s] of sources) {
    const source = parsePrefix(addr, 'source', invalid);
    if (prefixes.some((t: Prefix) => containsPrefix(t, source))) continue;
    // One problem for the list, naming the first sender it misses: the fix is one list.
    p.expected(['gue', 'trustedPeers'], `addresses and prefixes covering every address GUE is sent from (server ${s.name} sends from ${addr.toString()})`, trusted);
    return;
  }
}

/**
 * Checks that every server shares an address family with each peer it forwards to in GUE (the
 * servers of its data centre not reached by 'l2', the other data centres' endpoints), that an
 * endpoint server receives on its data centre's GUE port, and that `trusted`, when given, covers
 * every address GUE is sent from. Returns those addresses, in file order: the default trust list.
 * Servers and data centres that failed validation are not in the maps and are left out;
 * `trusted` is 'failed' when the file's list had a problem of its own.
 */
export function checkReach(
  p: Problems,
  datacenters: ReadonlyMap<string, DatacenterConfig>,
  servers: ReadonlyMap<string, ServerConfig>,
  trusted: readonly TrustedPeer[] | undefined | 'failed',
): { sources: TrustedPeer[] } {
  const sources: [TrustedPeer, ServerConfig][] = [];
  const seen = new Set<string>();
  const use = (s: ServerConfig, family: Family) => {
    const addr = s[family]!;
    const key = addr.toString();
    if (seen.has(key)) return;
    seen.add(key);
    sources.push([addr, s]);
  };
  // A pair of servers without a common family is one problem, not one per direction.
  const pairs = new Set<string>();
  for (const s of servers.values()) {
    const dc = datacenters.get(s.datacenter);
    if (dc === undefined) continue;
    if (dc.endpoint !== undefined && same(s, dc.endpoint) && s.guePort !== dc.guePort) {
      p.expected([...serverPath(s), 'guePort'], `${dc.guePort} (the GUE port of data centre ${dc.name}: this server is its endpoint)`, s.guePort);
    }
    for (const name of dc.servers) {
      const peer = servers.get(name);
      if (peer === undefined || peer === s || peer.encap === 'l2') continue;
      // GLB GUE (encap 'glb') goes over IPv4 only: the sender needs an IPv4 address.
      const family = peer.encap === 'glb' ? (s.ipv4 !== undefined && peer.ipv4 !== undefined ? 'ipv4' : undefined) : familyTo(s, peer);
      if (family !== undefined) {
        use(s, family);
        continue;
      }
      const pair = [s.name, peer.name].sort().join('\n');
      if (pairs.has(pair)) continue;
      pairs.add(pair);
      const advice = `${peer.name} in GUE: give both an address of one family, or reach ${peer.name} with encap 'l2'`;
      p.error(serverPath(peer), 'ERR_OWNER_UNREACHABLE', unreachable(s, `server ${peer.name}`, serverPath(peer), peer, advice));
    }
    for (const other of datacenters.values()) {
      // A data centre without an endpoint was refused already (with several, each needs one).
      if (other === dc || other.endpoint === undefined) continue;
      const family = familyTo(s, other.endpoint);
      const at: Path = ['datacenters', other.name, 'endpoint'];
      if (family !== undefined) use(s, family);
      else p.error(at, 'ERR_OWNER_UNREACHABLE', unreachable(s, `the endpoint of data centre ${other.name}`, at, other.endpoint, `data centre ${other.name} in GUE: give both an address of one family`));
    }
  }
  if (Array.isArray(trusted)) checkTrust(p, trusted, sources);
  // Derived, one address per server: more than the XDP program holds must be given as prefixes.
  const max = ABI.table.trustedPeersMax;
  if (trusted === undefined && sources.length > max) {
    p.expected(['gue', 'trustedPeers'], `prefixes covering the ${sources.length} addresses GUE is sent from (one by one they exceed the ${max} trusted peers the XDP program holds)`, undefined);
  }
  return { sources: sources.map(([addr]) => addr) };
}
