// The structured-addressing world in network namespaces (npm run demo:ssa and test/netns/ssa-demo.test.ts):
// a client, a DNS responder, a router and up to five endpoints on one Ethernet segment.
//
//   client  fd00:1::c (segment), sources 2001:db8:c0:N::1 (one /64 each: the source-derived rule)
//   dns     fd00:1::53                       the repo's responder: APL, rule TXT, AAAA
//   r       fd00:1::fe, 10.0.0.254           the library's router: XDP on eth0 steers each address slice
//                                            of 2001:db8:5a::/64 and 2001:db8:5b::/64 (the source-derived
//                                            name's, filtered) to its owner, in GLB's GUE back out
//   e1..e5  10.0.0.1N, fd00:1::1N            `local 2001:db8:5a::/64 dev lo` and 5b: every address of the
//                                            prefixes is theirs; a server on :: ; SecondChanceBackend on eth0
//
// The client routes the service prefix via r; endpoints answer the client directly (direct
// server return). The segment is a bridge in namespace sw whose ports get an XDP program each
// (src/netns/veth-peer.ts), so that what an XDP program sends back out of a veth leaves at once.
// Offloads: the client computes checksums in software and sends no TSO/GSO frames (XDP forwards
// bytes as they are; veth would leave them partial).
import { createNamespace, macOf, mustExec, mustExecIn, ping, sysctlIn as sysctl, xdpOnVethPeer } from '../../src/netns/index.js';
import { ADDRESS_SERVICES } from './rules.js';

/** Every prefix of the world's address services. */
export const SERVICE_PREFIXES: readonly string[] = Object.values(ADDRESS_SERVICES);
export const SERVICE_PORT = 80;
export const ROUTER = { ipv4: '10.0.0.254', ipv6: 'fd00:1::fe' } as const;
export const DNS_ADDRESS = 'fd00:1::53';
export const CLIENT_ADDRESS = 'fd00:1::c';
export const SEGMENT_MTU = 1600;
/** The client's sources: one per /64, so that the source-derived rule gives each its own destination. */
export const clientSource = (i: number): string => `2001:db8:c0:${i.toString(16)}::1`;
export const endpointName = (i: number): string => `e${i + 1}`;
export const endpointIpv4 = (i: number): string => `10.0.0.${11 + i}`;
export const endpointIpv6 = (i: number): string => `fd00:1::${(0x11 + i).toString(16)}`;
/** Fixed MACs, so that the router's configuration can name them. */
export const endpointMac = (i: number): string => `02:00:00:00:5a:${(0x11 + i).toString(16)}`;

export interface Host {
  readonly name: string;
  readonly ns: string;
  readonly mac: string;
}

export interface SsaWorld {
  readonly sw: string;
  readonly client: Host;
  readonly dns: Host;
  readonly router: Host;
  readonly endpoints: readonly Host[];
}

/** A host on the segment: eth0 in its own namespace, the peer a bridge port named after it.
 * Duplicate address detection is off: addresses are usable at once. */
async function onSegment(sw: string, name: string, addrs: readonly string[], mac?: string): Promise<Host> {
  const ns = await createNamespace(name);
  await sysctl(ns, { 'net.ipv6.conf.all.accept_dad': 0, 'net.ipv6.conf.default.accept_dad': 0, 'net.ipv4.conf.all.rp_filter': 0, 'net.ipv4.conf.default.rp_filter': 0 });
  await mustExec('ip', ['link', 'add', 'name', name, 'mtu', String(SEGMENT_MTU), 'netns', sw, 'type', 'veth', 'peer', 'name', 'eth0', 'mtu', String(SEGMENT_MTU), 'netns', ns], {
    what: `creating the link of ${name}`,
  });
  await mustExecIn(sw, 'ip', ['link', 'set', 'dev', name, 'master', 'br0', 'up']);
  if (mac !== undefined) await mustExecIn(ns, 'ip', ['link', 'set', 'dev', 'eth0', 'address', mac]);
  for (const a of addrs) await mustExecIn(ns, 'ip', ['addr', 'add', a, 'dev', 'eth0', 'nodad']);
  await mustExecIn(ns, 'ip', ['link', 'set', 'dev', 'eth0', 'up']);
  await mustExecIn(ns, 'ip', ['link', 'set', 'dev', 'lo', 'up']);
  await xdpOnVethPeer(sw, name);
  return { name, ns, mac: await macOf(ns, 'eth0') };
}

/** An endpoint: the whole service prefix local (AnyIP: a socket on :: accepts every address of
 * it), replies to clients on the segment, IPv4 forwarding for second chance's next hops. */
async function endpoint(sw: string, i: number): Promise<Host> {
  const h = await onSegment(sw, endpointName(i), [`${endpointIpv4(i)}/24`, `${endpointIpv6(i)}/64`], endpointMac(i));
  for (const prefix of SERVICE_PREFIXES) await mustExecIn(h.ns, 'ip', ['-6', 'route', 'add', 'local', prefix, 'dev', 'lo']);
  await mustExecIn(h.ns, 'ip', ['-6', 'route', 'add', '2001:db8:c0::/48', 'via', CLIENT_ADDRESS]);
  await sysctl(h.ns, { 'net.ipv4.conf.eth0.forwarding': 1 });
  return h;
}

/**
 * Builds the world with `endpoints` endpoints (e1, e2, ...; the demo scales to five, so it builds
 * five and starts with three) and `sources` client source /64s. Namespaces come from the kit:
 * registered before they exist, removed by teardownRun() also after a failed step.
 */
export async function buildSsaWorld(endpoints: number, sources: number): Promise<SsaWorld> {
  const sw = await createNamespace('sw');
  await mustExecIn(sw, 'ip', ['link', 'add', 'br0', 'mtu', String(SEGMENT_MTU), 'type', 'bridge']);
  await mustExecIn(sw, 'ip', ['link', 'set', 'dev', 'br0', 'up']);
  const srcs = Array.from({ length: sources }, (_, i) => `${clientSource(i)}/64`);
  const client = await onSegment(sw, 'client', [`${CLIENT_ADDRESS}/64`, ...srcs]);
  // Room for the GUE header and a hop list inside the segment's MTU.
  await mustExecIn(client.ns, 'ip', ['link', 'set', 'dev', 'eth0', 'mtu', '1400']);
  await mustExecIn(client.ns, 'ethtool', ['-K', 'eth0', 'tx', 'off', 'tso', 'off', 'gso', 'off']);
  for (const prefix of SERVICE_PREFIXES) await mustExecIn(client.ns, 'ip', ['-6', 'route', 'add', prefix, 'via', ROUTER.ipv6]);
  const dns = await onSegment(sw, 'dns', [`${DNS_ADDRESS}/64`]);
  const router = await onSegment(sw, 'r', [`${ROUTER.ipv4}/24`, `${ROUTER.ipv6}/64`]);
  await sysctl(router.ns, { 'net.ipv6.conf.all.forwarding': 1, 'net.ipv4.ip_forward': 1 });
  await mustExecIn(router.ns, 'ethtool', ['-K', 'eth0', 'tx', 'off']);
  const list: Host[] = [];
  for (let i = 0; i < endpoints; i++) list.push(await endpoint(sw, i));
  // The router sends GUE around the kernel, to next hops its neighbour table knows; the client
  // must know r and the DNS host before the first packet.
  for (let i = 0; i < endpoints; i++) {
    if (!(await ping(router.ns, endpointIpv4(i), { count: 1 }))) throw new Error(`Expected ${endpointName(i)} (${endpointIpv4(i)}) to answer a ping from r but received no answer`);
  }
  for (const to of [ROUTER.ipv6, DNS_ADDRESS]) {
    if (!(await ping(client.ns, to, { count: 1 }))) throw new Error(`Expected ${to} to answer a ping from the client but received no answer`);
  }
  return { sw, client, dns, router, endpoints: list };
}
