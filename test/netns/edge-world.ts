// The world of attacks-tunnel.test.ts and attacks-parsing.test.ts: one router at the edge of its data
// centre, an attacker on its wire, and a third host behind it that nothing may be relayed to.
// Plain veth links, no bridge: a frame arrives at the router exactly as sent (DESIGN.md).
//
//   wire    eth0 10.8.0.2 2001:db8:8::2 (p2, a server of dc1), 10.8.0.9 2001:db8:8::9 (e2, the
//     |          endpoint of dc2): both trusted GUE peers; sends raw frames from any source
//   srv     eth0 10.8.0.1 2001:db8:8::1, the router; lo 192.0.2.1 2001:db8:100::1 (shared)
//     |     eth1 10.9.0.1 2001:db8:9::1; forwarding on, source routes accepted: a host that
//     |          would relay whatever its kernel is handed
//   third   eth0 10.9.0.3 2001:db8:9::3
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { createNamespace, mustExecIn, xdpOnVethPeer } from '../../src/netns/index.js';
import { addresses, link, macOf, sysctl, tag, Wire } from './attack-world.js';
import { ethernet, gue0, ipv4, ipv6, udp, type IpPacket, type Ipv6Extension } from '../fixtures/packets.js';

export const SRV4 = '10.8.0.1';
export const SRV6 = '2001:db8:8::1';
export const P2_4 = '10.8.0.2';
export const P2_6 = '2001:db8:8::2';
export const E2_4 = '10.8.0.9';
export const E2_6 = '2001:db8:8::9';
/** A peer the file trusts only after a reload. */
export const NEW4 = '10.8.0.7';
export const SHARED4 = '192.0.2.1';
export const SHARED6 = '2001:db8:100::1';
export const CLIENT4 = '203.0.113.10';
export const CLIENT6 = '2001:db8:ff::10';
export const THIRD4 = '10.9.0.3';
export const THIRD6 = '2001:db8:9::3';
/** A port of each owner's slice, on both shared addresses, TCP and UDP. */
export const PORT = { srv: 10000, p2: 20000, e2: 30000 } as const;
/** A port of srv's own address that no slice covers, and one of the shared address below every slice. */
export const UNMANAGED_PORT = 5000;

/** Exactly the peers' addresses (srv's own among them: every server's must be trusted). */
export const TRUSTED = [SRV4, SRV6, P2_4, P2_6, E2_4, E2_6];

/** The deployment, as srv's router reads it: srv and p2 in dc1, e2 alone in dc2. */
export function edgeConfig(trusted: readonly string[] = TRUSTED): string {
  const slices = `slices: [{ ports: 10000-10999, owner: srv }, { ports: 20000-20999, owner: p2 }, { ports: 30000-30999, owner: e2 }]`;
  return `version: 1
gue:
  port: 6080
  trustedPeers: [${trusted.map((t) => `'${t}'`).join(', ')}]
datacenters:
  dc1:
    endpoint: { ipv4: ${SRV4}, ipv6: '${SRV6}' }
    servers:
      srv: { ipv4: ${SRV4}, ipv6: '${SRV6}', interface: eth0 }
      p2: { ipv4: ${P2_4}, ipv6: '${P2_6}' }
  dc2:
    endpoint: { ipv4: ${E2_4}, ipv6: '${E2_6}' }
    servers:
      e2: { ipv4: ${E2_4}, ipv6: '${E2_6}' }
egress:
  - { address: ${SHARED4}, ${slices} }
  - { address: '${SHARED6}', ${slices} }
`;
}

export interface Edge {
  srv: string;
  wire: string;
  third: string;
  dir: string;
  /** srv's eth0, the router's interface: where every frame from the wire is sent to. */
  srvMac: string;
  wireMac: string;
  /** Agents: wire (sends, sniffs eth0), srv (sockets of srv's slice), third (sniffs eth0). */
  wireAgent: Wire;
  srvAgent: Wire;
  thirdAgent: Wire;
}

/** Builds the world; every agent ready, srv's sockets listening on port PORT.srv of both shared addresses. */
export async function buildEdge(): Promise<Edge> {
  const dir = mkdtempSync(join(tmpdir(), 'su-attacks-'));
  const srv = await createNamespace('srv');
  const wire = await createNamespace('wire');
  const third = await createNamespace('third');
  await link(srv, 'eth0', wire, 'eth0');
  await link(srv, 'eth1', third, 'eth0');
  // What srv's XDP program sends back out reaches wire at once (src/netns/veth-peer.ts).
  await xdpOnVethPeer(wire, 'eth0');
  await addresses(srv, 'eth0', [`${SRV4}/24`, `${SRV6}/64`]);
  await addresses(srv, 'eth1', ['10.9.0.1/24', '2001:db8:9::1/64']);
  await addresses(srv, 'lo', [`${SHARED4}/32`, `${SHARED6}/128`]);
  await addresses(wire, 'eth0', [`${P2_4}/24`, `${E2_4}/24`, `${P2_6}/64`, `${E2_6}/64`]);
  await addresses(third, 'eth0', [`${THIRD4}/24`, `${THIRD6}/64`]);
  // Replies to the Internet's addresses go back out to the wire; third's to srv.
  await mustExecIn(srv, 'ip', ['route', 'add', 'default', 'via', P2_4]);
  await mustExecIn(srv, 'ip', ['-6', 'route', 'add', 'default', 'via', P2_6]);
  await mustExecIn(third, 'ip', ['route', 'add', 'default', 'via', '10.9.0.1']);
  await mustExecIn(third, 'ip', ['-6', 'route', 'add', 'default', 'via', '2001:db8:9::1']);
  await sysctl(srv, {
    'net.ipv4.ip_forward': 1,
    'net.ipv6.conf.all.forwarding': 1,
    // A host that follows source routes (IPv4 options; IPv6 segment routing headers): what
    // the router hands its kernel must never carry one.
    'net.ipv4.conf.all.accept_source_route': 1,
    'net.ipv4.conf.eth0.accept_source_route': 1,
    'net.ipv6.conf.all.seg6_enabled': 1,
    'net.ipv6.conf.eth0.seg6_enabled': 1,
    // Spoofed sources arrive on eth0; every answer the kernel would give is to be seen.
    'net.ipv4.conf.all.rp_filter': 0,
    'net.ipv4.conf.eth0.rp_filter': 0,
    'net.ipv4.icmp_ratelimit': 0,
    'net.ipv6.icmp.ratelimit': 0,
  });
  const [srvMac, wireMac] = [await macOf(srv, 'eth0'), await macOf(wire, 'eth0')];
  const [wireAgent, srvAgent, thirdAgent] = await Promise.all([Wire.start(wire), Wire.start(srv), Wire.start(third)]);
  await wireAgent.sniff('wire', 'eth0');
  await thirdAgent.sniff('third', 'eth0');
  await srvAgent.listen('slice4', SHARED4, PORT.srv);
  await srvAgent.listen('slice6', SHARED6, PORT.srv);
  return { srv, wire, third, dir, srvMac, wireMac, wireAgent, srvAgent, thirdAgent };
}

// ---- Frames from the wire -------------------------------------------------------------------

/** A UDP datagram from the Internet's client to `dst`:`port` carrying probe `name`. */
export function clientUdp(family: 4 | 6, dst: string, port: number, name: string, o: { options?: Uint8Array; extensions?: Ipv6Extension[] } = {}): IpPacket {
  const payload = udp({ src: 40000, dst: port, payload: tag(name) });
  return family === 4
    ? ipv4({ src: CLIENT4, dst, ...(o.options && { options: o.options }) }, payload)
    : ipv6({ src: CLIENT6, dst, ...(o.extensions && { extensions: o.extensions }) }, payload);
}

/** An Ethernet frame from the wire to srv's router. */
export function toSrv(edge: Edge, packet: IpPacket | { etherType: number; bytes: Uint8Array }): Uint8Array {
  return ethernet({ dst: edge.srvMac, src: edge.wireMac }, packet);
}

export interface GueOptions {
  /** The outer source; default p2's address of the outer family. */
  src?: string;
  outer?: 4 | 6;
  checksum?: 'auto' | 'zero';
  /** Outer IPv6 extension headers. */
  extensions?: Ipv6Extension[];
}

/** GUE variant 0 around `inner` from a peer to srv, in a frame from the wire. */
export function gueToSrv(edge: Edge, inner: IpPacket, o: GueOptions = {}): Uint8Array {
  return udpToSrv(edge, gue0(inner), o);
}

/** A UDP datagram to srv's GUE port carrying `payload` as it is, from a peer, in a frame from the wire. */
export function udpToSrv(edge: Edge, payload: Uint8Array, o: GueOptions = {}): Uint8Array {
  const outer = o.outer ?? 4;
  const datagram = udp({ src: 50000, dst: 6080, payload, checksum: o.checksum ?? 'auto' });
  const ip = outer === 4
    ? ipv4({ src: o.src ?? P2_4, dst: SRV4 }, datagram)
    : ipv6({ src: o.src ?? P2_6, dst: SRV6, ...(o.extensions && { extensions: o.extensions }) }, datagram);
  return toSrv(edge, ip);
}
