// The load-balancer world in network namespaces (npm run demo:lb and test/netns/lb-demo.test.ts):
// a client, a router with an ECMP route to the service over three load-balancer hosts, and
// backends serving long-lived TCP streams from the service address on lo.
//
//   client 10.8.0.2 --- r 10.8.0.1 | 10.0.0.254 --- bridge (namespace sw, MTU 1600) ---+--- lb1 10.0.0.1
//                       ECMP: 192.0.2.80/32 via lb1, lb2, lb3                          +--- lb2 10.0.0.2
//                       (fib_multipath_hash_policy=1: L4 hash)                         +--- lb3 10.0.0.3
//                                                                                      +--- b1..bN 10.0.0.1N
// Each load-balancer host runs examples/load-balancer (the library's router with the service:
// XDP on eth0 sends each flow to its Maglev row's backend back out of eth0, by destination MAC
// (encap l2) or in GLB's GUE with the row's secondary in the hop list (encap glb)). Backends hold
// 192.0.2.80 on lo and answer the client directly through r (direct server return).
//
// Offloads: veth leaves TCP checksums partial (CHECKSUM_PARTIAL); XDP forwards bytes as they are,
// so the client and r compute checksums in software (`ethtool -K tx off`), and the client sends
// no TSO/GSO super-frames. XDP_TX on a veth reaches its peer at once only when the peer has an
// XDP program of its own (src/netns/veth-peer.ts): every bridge port gets one.
import { createNamespace, macOf, mustExec, mustExecIn, ping, sysctlIn as sysctl, xdpOnVethPeer } from 'softunicast/netns';

export const SERVICE = '192.0.2.80';
export const SERVICE_PORT = 80;
export const CLIENT = '10.8.0.2';
export const SEGMENT_MTU = 1600;
export const LB_HOSTS = ['lb1', 'lb2', 'lb3'] as const;
export type LbHost = (typeof LB_HOSTS)[number];

export interface Host {
  readonly name: string;
  readonly ns: string;
  readonly ipv4: string;
  readonly mac: string;
}

export interface LbWorld {
  readonly client: Host;
  readonly router: Host;
  readonly sw: string;
  readonly lbs: readonly Host[];
  readonly backends: readonly Host[];
  backend(name: string): Host;
}

export const lbAddress = (i: number): string => `10.0.0.${i + 1}`;
export const backendAddress = (i: number): string => `10.0.0.${11 + i}`;
/** Fixed MACs, so that the configuration file can name them before the links exist. */
export const backendMac = (i: number): string => `02:00:00:00:00:${(0x11 + i).toString(16).padStart(2, '0')}`;
export const backendName = (i: number): string => `b${i + 1}`;

/** A veth pair with each end created directly in its namespace. */
async function veth(nsA: string, ifA: string, nsB: string, ifB: string, mtu: number): Promise<void> {
  await mustExec('ip', ['link', 'add', 'name', ifA, 'mtu', String(mtu), 'netns', nsA, 'type', 'veth', 'peer', 'name', ifB, 'mtu', String(mtu), 'netns', nsB], {
    what: `creating veth ${nsA}/${ifA} <-> ${nsB}/${ifB}`,
  });
}

const QUIET = { 'net.ipv4.conf.all.rp_filter': 0, 'net.ipv4.conf.default.rp_filter': 0, 'net.ipv6.conf.all.disable_ipv6': 1 };

/** A host on the segment: eth0 in its namespace, its peer a port of the bridge named after it. */
async function onSegment(sw: string, name: string, ipv4: string, mac?: string): Promise<Host> {
  const ns = await createNamespace(name);
  await sysctl(ns, QUIET);
  await veth(sw, name, ns, 'eth0', SEGMENT_MTU);
  await mustExecIn(sw, 'ip', ['link', 'set', 'dev', name, 'master', 'br0', 'up']);
  if (mac !== undefined) await mustExecIn(ns, 'ip', ['link', 'set', 'dev', 'eth0', 'address', mac]);
  await mustExecIn(ns, 'ip', ['addr', 'add', `${ipv4}/24`, 'dev', 'eth0']);
  await mustExecIn(ns, 'ip', ['link', 'set', 'dev', 'eth0', 'up']);
  // What an XDP program sends back out of eth0 reaches the bridge at once.
  await xdpOnVethPeer(sw, name);
  return { name, ns, ipv4, mac: await macOf(ns, 'eth0') };
}

/** A backend: the service address on lo, replies to the client through r, reverse-path filter off. */
async function backendHost(sw: string, i: number): Promise<Host> {
  const h = await onSegment(sw, backendName(i), backendAddress(i), backendMac(i));
  await mustExecIn(h.ns, 'ip', ['addr', 'add', `${SERVICE}/32`, 'dev', 'lo']);
  await mustExecIn(h.ns, 'ip', ['route', 'add', '10.8.0.0/24', 'via', '10.0.0.254']);
  await sysctl(h.ns, { 'net.ipv4.conf.eth0.rp_filter': 0, 'net.ipv4.conf.eth0.forwarding': 1 });
  return h;
}

/** The ECMP route of r to the service over `hosts` (replaced, so that a host can leave it). */
export async function routeOver(world: LbWorld, hosts: readonly Host[]): Promise<void> {
  const hops = hosts.flatMap((h) => ['nexthop', 'via', h.ipv4, 'dev', 'eth1']);
  await mustExecIn(world.router.ns, 'ip', ['route', 'replace', `${SERVICE}/32`, ...hops]);
}

/**
 * Builds the world with `backends` backends (b1, b2, ...; the demo adds one later, so it builds
 * one more than it starts with). Namespaces come from the kit: registered before they exist and
 * removed by teardownRun(), also after a failed step.
 */
export async function buildLbWorld(backends: number): Promise<LbWorld> {
  const sw = await createNamespace('sw');
  await mustExecIn(sw, 'ip', ['link', 'add', 'br0', 'mtu', String(SEGMENT_MTU), 'type', 'bridge']);
  await mustExecIn(sw, 'ip', ['link', 'set', 'dev', 'br0', 'up']);
  const clientNs = await createNamespace('client');
  const routerNs = await createNamespace('r');
  await sysctl(clientNs, QUIET);
  await sysctl(routerNs, { ...QUIET, 'net.ipv4.ip_forward': 1, 'net.ipv4.fib_multipath_hash_policy': 1 });
  await veth(clientNs, 'eth0', routerNs, 'c0', 1500);
  await veth(sw, 'r', routerNs, 'eth1', SEGMENT_MTU);
  await mustExecIn(sw, 'ip', ['link', 'set', 'dev', 'r', 'master', 'br0', 'up']);
  await mustExecIn(clientNs, 'ip', ['addr', 'add', `${CLIENT}/24`, 'dev', 'eth0']);
  await mustExecIn(clientNs, 'ip', ['link', 'set', 'dev', 'eth0', 'up']);
  await mustExecIn(clientNs, 'ip', ['route', 'add', 'default', 'via', '10.8.0.1']);
  await mustExecIn(clientNs, 'ethtool', ['-K', 'eth0', 'tx', 'off', 'tso', 'off', 'gso', 'off']);
  await mustExecIn(routerNs, 'ip', ['addr', 'add', '10.8.0.1/24', 'dev', 'c0']);
  await mustExecIn(routerNs, 'ip', ['addr', 'add', '10.0.0.254/24', 'dev', 'eth1']);
  for (const dev of ['c0', 'eth1']) {
    await mustExecIn(routerNs, 'ip', ['link', 'set', 'dev', dev, 'up']);
    await mustExecIn(routerNs, 'ethtool', ['-K', dev, 'tx', 'off']);
  }
  const lbs: Host[] = [];
  for (const [i, name] of LB_HOSTS.entries()) lbs.push(await onSegment(sw, name, lbAddress(i)));
  const list: Host[] = [];
  for (let i = 0; i < backends; i++) list.push(await backendHost(sw, i));
  const world: LbWorld = {
    client: { name: 'client', ns: clientNs, ipv4: CLIENT, mac: await macOf(clientNs, 'eth0') },
    router: { name: 'r', ns: routerNs, ipv4: '10.0.0.254', mac: await macOf(routerNs, 'eth1') },
    sw,
    lbs,
    backends: list,
    backend: (name) => list.find((b) => b.name === name) ?? fail(name, list),
  };
  await routeOver(world, lbs);
  // The routers send GUE around the kernel, to next hops its neighbour table knows: every
  // balancer host resolves every backend before its router starts (and r the balancer hosts).
  for (const from of [...lbs, world.router]) {
    for (const to of from === world.router ? lbs : list) {
      if (!(await ping(from.ns, to.ipv4, { count: 1 }))) throw new Error(`Expected ${to.name} (${to.ipv4}) to answer a ping from ${from.name} but received no answer`);
    }
  }
  return world;
}

function fail(name: string, list: readonly Host[]): never {
  throw new Error(`Expected a backend of the world (${list.map((b) => b.name).join(', ')}) but received ${JSON.stringify(name)}`);
}
