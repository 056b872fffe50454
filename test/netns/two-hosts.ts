// The two-host world of the router tests: `srv` (runs the router on eth0, holds the shared
// address on lo) and `peer` (another server of its data centre, and the senders), joined by one
// veth pair. Used by router-binary, router-restart, router-operations, fragment-flood and
// updates-under-load tests.
import { createNamespace, mustExec, mustExecIn, xdpOnVethPeer } from '../../src/netns/index.js';

export interface TwoHostAddresses {
  srv4: string;
  peer4: string;
  /** The shared address: on srv's lo, routed to srv from peer. */
  shared: string;
}

/** The configuration of that world: srv's slices 10000-10999, peer's 20000-20999, UDP. */
export function twoHostConfig(a: TwoHostAddresses): string {
  return `version: 1
datacenters:
  dc1:
    servers:
      srv: { ipv4: ${a.srv4}, interface: eth0 }
      peer: { ipv4: ${a.peer4} }
egress:
  - address: ${a.shared}
    protocols: [udp]
    slices:
      - { ports: 10000-10999, owner: srv }
      - { ports: 20000-20999, owner: peer }
`;
}

/** Makes both namespaces (registered for teardown by the kit) and wires them. */
export async function twoHosts(a: TwoHostAddresses): Promise<{ srv: string; peer: string }> {
  const srv = await createNamespace('srv');
  const peer = await createNamespace('peer');
  // Both ends named eth0, each made directly in its namespace.
  await mustExec('ip', ['link', 'add', 'name', 'eth0', 'netns', srv, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', peer]);
  // What srv's XDP program sends back out reaches peer at once (src/netns/veth-peer.ts).
  await xdpOnVethPeer(peer, 'eth0');
  for (const [ns, address] of [[srv, a.srv4], [peer, a.peer4]] as const) {
    await mustExecIn(ns, 'ip', ['addr', 'add', `${address}/24`, 'dev', 'eth0']);
    await mustExecIn(ns, 'ip', ['link', 'set', 'dev', 'eth0', 'up']);
  }
  // The shared address on srv's lo, so its kernel accepts what the XDP program passes (DESIGN.md).
  await mustExecIn(srv, 'ip', ['addr', 'add', `${a.shared}/32`, 'dev', 'lo']);
  await mustExecIn(peer, 'ip', ['route', 'add', `${a.shared}/32`, 'via', a.srv4]);
  // veth hands locally sent packets on with a partial checksum; the router copies those bytes
  // into GUE as they are. Checksums in software on the sender, as a physical NIC would deliver them.
  await mustExecIn(peer, 'ethtool', ['-K', 'eth0', 'tx', 'off']);
  return { srv, peer };
}
