// The soft-unicast world in network namespaces: an "Internet" host and two data centres whose
// servers share one IPv4 and one IPv6 address. Built by the demo (main.ts) and, through
// test/netns/topology.ts, by test/netns/soft-unicast*.test.ts; agents/ holds the programs run in it.
//
// What it builds (namespaces `<run prefix>-<name>`: inet, rA, rB, a1, a2, a3, b1, b2; every link
// is made inside them, so teardownRun() removes everything, also after a step failed half-way):
//
//                          inet   203.0.113.10, 2001:db8:ff::10 on lo: HTTP :80, UDP echo :7
//                         /    \   routes 192.0.2.1 via rA and 2001:db8:100::1 via rB (anycast)
//      198.51.100.0/30   /      \   198.51.100.4/30
//    2001:db8:f:a::/64  /        \  2001:db8:f:b::/64          MTU 1500 (links "inet" in rA, rB)
//                      rA ------ rB   backbone "bb": 10.0.0.0/24, 2001:db8:e::/64, MTU 1600
//     br0 10.1.0.254   |          |   br0 10.2.0.254            bridges, MTU 1600; their ports
//     2001:db8:a::fe   |          |   2001:db8:b::fe            are named after the servers
//                  +---+---+    +-+--+
//                  a1  a2  a3   b1   b2    eth0: 10.1.0.N/24, 2001:db8:a::N/64 in A,
//                                                10.2.0.N/24, 2001:db8:b::N/64 in B;
//                                          lo: the shared 192.0.2.1/32 and 2001:db8:100::1/128
//
// rA routes 192.0.2.1 to a1 only, rB routes 2001:db8:100::1 to b1 only (and each the other
// family's shared address over the backbone to the other); 10.1.0.0/24 and
// 10.2.0.0/24 (2001:db8:a::/64, 2001:db8:b::/64) reach each other over the backbone.
//
// Anycast with replies landing wrong, on purpose: whatever server opened a connection from the
// shared IPv4 address, inet's reply enters A and lands at a1; from the shared IPv6 address, it
// enters B and lands at b1. a1 (b1) is each data centre's entry server: its router forwards
// replies for the slices of its neighbours (GUE or L2 over br0) and those of the other data
// centre (GUE over the backbone to that centre's entry server, which unwraps and steers again).
// Servers send with plain kernel routing, from the shared address and a port of their slice.
//
// Offloads: veth hands on packets whose TCP/UDP checksum is only a partial (pseudo-header) sum
// and marks the skb CHECKSUM_PARTIAL; XDP sees those bytes as they are, and the fast path copies
// them into GUE or onto another link, where the receiver then finds a wrong checksum. So inet and
// the routers compute checksums in software (`ethtool -K tx off`): every packet a server's XDP
// program sees from outside carries a complete checksum, as it would from a physical NIC.
// XDP_TX: the servers' routers send forwarded packets back out of the veth they came in on from
// the XDP program itself (the express lane). A veth queues such frames for its peer and wakes the
// peer only when the peer has an XDP program of its own (drivers/net/veth.c, veth_xdp_flush):
// without one they wait, unseen, until other traffic comes by. A physical NIC needs nothing of
// the kind; the routers' data-centre ports get bpf/veth_peer.bpf.c, which passes everything.
// MTU: GUE adds 28 (variant 1 over IPv4) to 52 bytes (variant 0 over IPv6), so the data-centre
// links and the backbone carry 1600 while inet keeps 1500: every packet inet sends fits once
// wrapped.
import { fileURLToPath } from 'node:url';

import type { PortRange } from '../../src/index.js';
import { createNamespace, destroyNamespaces, execIn, macOf, mustExec, mustExecIn, ping, sysctlIn as sysctl, xdpOnVethPeer } from '../../src/netns/index.js';

export const SHARED4 = '192.0.2.1';
export const SHARED6 = '2001:db8:100::1';
export const INET4 = '203.0.113.10';
export const INET6 = '2001:db8:ff::10';
export const HTTP_PORT = 80;
export const UDP_ECHO_PORT = 7;
export const GUE_PORT = 6080;
/** MTU of the data-centre segments and the backbone: room for GUE around a 1500-byte packet. */
export const DC_MTU = 1600;

export type { PortRange };
export type DcName = 'A' | 'B';
export type Family = 'v4' | 'v6';

interface DcPlan {
  servers: readonly string[];
  /** Servers get `${net4}.N` and `${net6}N`, N = position + 1; the router takes .254 / ::fe. */
  net4: string;
  net6: string;
  /** The server the other data centre sends GUE to, and where anycast replies land. */
  entry: string;
}

export const DATACENTRES: Record<DcName, DcPlan> = {
  A: { servers: ['a1', 'a2', 'a3'], net4: '10.1.0', net6: '2001:db8:a::', entry: 'a1' },
  B: { servers: ['b1', 'b2'], net4: '10.2.0', net6: '2001:db8:b::', entry: 'b1' },
};

/** Where inet's packets to the shared address of each family enter: rA for IPv4, rB for IPv6. */
/** Server `i` (from 0) of data centre `dc`: its eth0 addresses. */
export const serverAddresses = (dc: DcName, i: number): { ipv4: string; ipv6: string } => ({ ipv4: `${DATACENTRES[dc].net4}.${i + 1}`, ipv6: `${DATACENTRES[dc].net6}${i + 1}` });

/**
 * GUE is accepted from exactly the servers' addresses, the only hosts that send it. A range
 * such as 2001:db8::/32 would cover inet (2001:db8:ff::10) and the shared address as well: any
 * host of the world could then put packets with any source into every router.
 */
export const TRUSTED_PEERS: readonly string[] = (['A', 'B'] as const).flatMap((dc) =>
  DATACENTRES[dc].servers.flatMap((_, i) => Object.values(serverAddresses(dc, i))),
);

export const ANYCAST_ENTRY: Record<Family, DcName> = { v4: 'A', v6: 'B' };

export interface ServerNode {
  name: string;
  dc: DcName;
  ns: string;
  /** Always 'eth0': the one link into the data centre's bridge. */
  ifname: string;
  ipv4: string;
  ipv6: string;
  mac: string;
}

export interface RouterNode {
  name: 'rA' | 'rB';
  ns: string;
  /** Interface names inside the router's namespace. */
  inetLink: string;
  backbone: string;
  bridge: string;
  /** The bridge port towards server `name` (veth, named after the server). */
  port(server: string): string;
}

export interface World {
  inet: { ns: string; links: Record<DcName, string> };
  routers: Record<DcName, RouterNode>;
  servers: ServerNode[];
  server(name: string): ServerNode;
  destroy(): Promise<void>;
}

const ROUTER_V4 = (dc: DcName): string => `${DATACENTRES[dc].net4}.254`;
const ROUTER_V6 = (dc: DcName): string => `${DATACENTRES[dc].net6}fe`;
// The point-to-point links: inet is .1/.5 (::1), the router .2/.6 (::2).
const INET_LINK: Record<DcName, { inet4: string; router4: string; inet6: string; router6: string }> = {
  A: { inet4: '198.51.100.1', router4: '198.51.100.2', inet6: '2001:db8:f:a::1', router6: '2001:db8:f:a::2' },
  B: { inet4: '198.51.100.5', router4: '198.51.100.6', inet6: '2001:db8:f:b::1', router6: '2001:db8:f:b::2' },
};
const BACKBONE: Record<DcName, { v4: string; v6: string }> = {
  A: { v4: '10.0.0.1', v6: '2001:db8:e::1' },
  B: { v4: '10.0.0.2', v6: '2001:db8:e::2' },
};
export const OTHER: Record<DcName, DcName> = { A: 'B', B: 'A' };

/** `ip -n NS -batch -`: one process for many commands; iproute2 names the failing line. */
async function ipBatch(ns: string, lines: readonly string[], what: string): Promise<void> {
  await mustExec('ip', ['-n', ns, '-batch', '-'], { input: `${lines.join('\n')}\n`, what });
}

/** A veth pair with each end created directly in its namespace (nothing ever sits in the root one). */
async function veth(nsA: string, ifA: string, nsB: string, ifB: string, mtu: number): Promise<void> {
  await mustExec(
    'ip',
    ['link', 'add', 'name', ifA, 'mtu', String(mtu), 'netns', nsA, 'type', 'veth', 'peer', 'name', ifB, 'mtu', String(mtu), 'netns', nsB],
    { what: `creating veth ${nsA}/${ifA} <-> ${nsB}/${ifB}` },
  );
}

/**
 * With br_netfilter loaded, a Linux bridge hands IP frames to iptables, checking and trimming
 * them on the way: a malformed frame sent across it would reach the servers well-formed, and a
 * test of malformed frames would pass for the wrong reason. Off in this namespace (the settings
 * are per namespace, and exist only while the module is loaded).
 */
async function bridgeWithoutNetfilter(ns: string): Promise<void> {
  const loaded = await execIn(ns, 'test', ['-e', '/proc/sys/net/bridge/bridge-nf-call-iptables']);
  if (loaded.code !== 0) return;
  await sysctl(ns, { 'net.bridge.bridge-nf-call-iptables': 0, 'net.bridge.bridge-nf-call-ip6tables': 0, 'net.bridge.bridge-nf-call-arptables': 0 }, `bridge netfilter off in ${ns}`);
}

async function checksumsInSoftware(ns: string, ifnames: readonly string[]): Promise<void> {
  // See the header: complete checksums on every packet XDP may copy elsewhere.
  for (const dev of ifnames) await mustExecIn(ns, 'ethtool', ['-K', dev, 'tx', 'off'], { what: `turning tx checksum offload off on ${dev} in ${ns}` });
}

async function xdpOnPeers(ns: string, ifnames: readonly string[]): Promise<void> {
  // See the header: a veth delivers what the servers' XDP programs send back only to a peer with
  // an XDP program of its own.
  for (const dev of ifnames) await xdpOnVethPeer(ns, dev);
}

// Every namespace: no duplicate address detection (nothing can own an address twice here, and
// a tentative address cannot be used for a second), no reverse-path filter (replies come back
// by another way than requests go out, which is the point of this world).
const COMMON_SYSCTLS = {
  'net.ipv6.conf.all.accept_dad': 0,
  'net.ipv6.conf.default.accept_dad': 0,
  'net.ipv4.conf.all.rp_filter': 0,
  'net.ipv4.conf.default.rp_filter': 0,
};

/**
 * Builds the world in the diagram above and primes every neighbour entry the servers' Routers
 * will need (the Router resolves next hops from the kernel's tables). On failure everything
 * made so far is deleted before the error is rethrown.
 */
export async function buildWorld(options: { dcMtu?: number } = {}): Promise<World> {
  // A smaller MTU leaves no room for GUE around inet's packets: path MTU discovery must work.
  const dcMtu = options.dcMtu ?? DC_MTU;
  const made: string[] = [];
  const namespace = async (suffix: string): Promise<string> => {
    const ns = await createNamespace(suffix);
    made.push(ns);
    await sysctl(ns, COMMON_SYSCTLS, `base settings of ${ns}`);
    return ns;
  };
  try {
    const inetNs = await namespace('inet');
    const routers = {} as Record<DcName, RouterNode>;
    for (const dc of ['A', 'B'] as const) {
      const ns = await namespace(`r${dc}`);
      routers[dc] = { name: `r${dc}`, ns, inetLink: 'inet', backbone: 'bb', bridge: 'br0', port: (server) => server };
    }
    const servers: ServerNode[] = [];
    for (const dc of ['A', 'B'] as const) {
      const plan = DATACENTRES[dc];
      for (const [i, name] of plan.servers.entries()) {
        servers.push({ name, dc, ns: await namespace(name), ifname: 'eth0', ...serverAddresses(dc, i), mac: '' });
      }
    }

    // ---- inet -------------------------------------------------------------------------------
    const inetLinks: Record<DcName, string> = { A: 'rA', B: 'rB' };
    for (const dc of ['A', 'B'] as const) await veth(inetNs, inetLinks[dc], routers[dc].ns, routers[dc].inetLink, 1500);
    await ipBatch(inetNs, [
      `addr add ${INET4}/32 dev lo`,
      `addr add ${INET6}/128 dev lo nodad`,
      ...(['A', 'B'] as const).flatMap((dc) => [
        `addr add ${INET_LINK[dc].inet4}/30 dev ${inetLinks[dc]}`,
        `addr add ${INET_LINK[dc].inet6}/64 dev ${inetLinks[dc]} nodad`,
        `link set dev ${inetLinks[dc]} up`,
      ]),
      // Anycast as the Internet sees it: IPv4 enters A, IPv6 enters B, wherever it came from.
      `route add ${SHARED4}/32 via ${INET_LINK[ANYCAST_ENTRY.v4].router4}`,
      `route add ${SHARED6}/128 via ${INET_LINK[ANYCAST_ENTRY.v6].router6}`,
    ], 'configuring inet');
    await checksumsInSoftware(inetNs, [inetLinks.A, inetLinks.B]);

    // ---- routers, bridges, servers ----------------------------------------------------------
    await veth(routers.A.ns, routers.A.backbone, routers.B.ns, routers.B.backbone, dcMtu);
    for (const dc of ['A', 'B'] as const) {
      const r = routers[dc];
      const plan = DATACENTRES[dc];
      const other = OTHER[dc];
      const dcServers = servers.filter((s) => s.dc === dc);
      for (const s of dcServers) await veth(s.ns, s.ifname, r.ns, r.port(s.name), dcMtu);
      const entry = dcServers.find((s) => s.name === plan.entry)!;
      await sysctl(r.ns, { 'net.ipv4.ip_forward': 1, 'net.ipv6.conf.all.forwarding': 1 }, `forwarding on ${r.ns}`);
      await bridgeWithoutNetfilter(r.ns);
      await ipBatch(r.ns, [
        // STP off (the default) lets ports forward at once instead of after 30 s of learning.
        `link add name ${r.bridge} mtu ${dcMtu} type bridge stp_state 0`,
        ...dcServers.flatMap((s) => [`link set dev ${r.port(s.name)} master ${r.bridge}`, `link set dev ${r.port(s.name)} up`]),
        `link set dev ${r.bridge} up`,
        `addr add ${ROUTER_V4(dc)}/24 dev ${r.bridge}`,
        `addr add ${ROUTER_V6(dc)}/64 dev ${r.bridge} nodad`,
        `addr add ${INET_LINK[dc].router4}/30 dev ${r.inetLink}`,
        `addr add ${INET_LINK[dc].router6}/64 dev ${r.inetLink} nodad`,
        `link set dev ${r.inetLink} up`,
        `addr add ${BACKBONE[dc].v4}/24 dev ${r.backbone}`,
        `addr add ${BACKBONE[dc].v6}/64 dev ${r.backbone} nodad`,
        `link set dev ${r.backbone} up`,
        `route add ${INET4}/32 via ${INET_LINK[dc].inet4}`,
        `route add ${INET6}/128 via ${INET_LINK[dc].inet6}`,
        `route add ${DATACENTRES[other].net4}.0/24 via ${BACKBONE[other].v4}`,
        `route add ${DATACENTRES[other].net6}/64 via ${BACKBONE[other].v6}`,
        // The one route of the shared address inside the centre: its entry server. The other
        // family's shared address is the other centre's, over the backbone (only ICMP errors
        // the router itself sends go there: inet, a host, forwards nothing).
        dc === ANYCAST_ENTRY.v4 ? `route add ${SHARED4}/32 via ${entry.ipv4}` : `route add ${SHARED6}/128 via ${entry.ipv6}`,
        dc === ANYCAST_ENTRY.v4 ? `route add ${SHARED6}/128 via ${BACKBONE[other].v6}` : `route add ${SHARED4}/32 via ${BACKBONE[other].v4}`,
      ], `configuring ${r.ns}`);
      await checksumsInSoftware(r.ns, [r.inetLink, r.backbone, r.bridge, ...dcServers.map((s) => r.port(s.name))]);
      await xdpOnPeers(r.ns, dcServers.map((s) => r.port(s.name)));

      for (const s of dcServers) {
        // The namespace's ephemeral range must hold the slices (the kernel only narrows it per socket).
        await sysctl(s.ns, { 'net.ipv4.ip_local_port_range': '1024 65535' }, `port range of ${s.ns}`);
        await ipBatch(s.ns, [
          // The shared addresses, on every server: the kernel must accept what XDP passes.
          `addr add ${SHARED4}/32 dev lo`,
          `addr add ${SHARED6}/128 dev lo nodad`,
          `addr add ${s.ipv4}/24 dev ${s.ifname}`,
          `addr add ${s.ipv6}/64 dev ${s.ifname} nodad`,
          `link set dev ${s.ifname} up`,
          `route add default via ${ROUTER_V4(dc)}`,
          `route add default via ${ROUTER_V6(dc)}`,
        ], `configuring ${s.ns}`);
        s.mac = await macOf(s.ns, s.ifname);
      }
    }

    const world: World = {
      inet: { ns: inetNs, links: inetLinks },
      routers,
      servers,
      server(name) {
        const s = servers.find((x) => x.name === name);
        if (s === undefined) throw new Error(`no server ${name} in this world`);
        return s;
      },
      destroy: () => destroyNamespaces(made),
    };
    await primeNeighbours(world);
    return world;
  } catch (err) {
    await destroyNamespaces(made).catch(() => undefined);
    throw err;
  }
}

/**
 * Pings, from every server, its router and the other servers of its data centre over both
 * families: the kernel then holds the neighbour entries the Routers resolve next hops from, and
 * the first forwarded packet does not wait for ARP or ND. Throws naming the first silent pair.
 */
export async function primeNeighbours(world: World): Promise<void> {
  await Promise.all(
    world.servers.map(async (s) => {
      const targets = [
        ROUTER_V4(s.dc),
        ROUTER_V6(s.dc),
        ...world.servers.filter((o) => o.dc === s.dc && o !== s).flatMap((o) => [o.ipv4, o.ipv6]),
      ];
      for (const t of targets) {
        if (!(await ping(s.ns, t, { count: 1 }))) throw new Error(`priming neighbours: ${s.name} (${s.ns}) gets no answer from ${t}`);
      }
    }),
  );
}

export const sharedOf = (family: Family): string => (family === 'v4' ? SHARED4 : SHARED6);
export const inetOf = (family: Family): string => (family === 'v4' ? INET4 : INET6);

/**
 * The server that first receives inet's packets to the shared address of `family`: the entry
 * server of the data centre those packets enter (the routes of inet, rA and rB above).
 */
export function landingServer(family: Family): string {
  return DATACENTRES[ANYCAST_ENTRY[family]].entry;
}

// ---- Agents: the programs the demo and the tests run in the world ------------------------------

// Agents run as node processes of their own in the namespaces, always compiled: this module runs
// compiled in the demo (dist/examples/soft-unicast-demo/) and from source under vitest.
const AGENTS = new URL(import.meta.url.endsWith('.ts') ? '../../dist/examples/soft-unicast-demo/agents/' : './agents/', import.meta.url);
/** agents/slice-client.ts: HTTP downloads and UDP streams from a server's slice (connectFromSlice). */
export const SLICE_CLIENT = fileURLToPath(new URL('slice-client.js', AGENTS));
/** agents/inet-server.ts: the Internet host's ordinary HTTP server and UDP echo. */
export const INET_SERVER = fileURLToPath(new URL('inet-server.js', AGENTS));
