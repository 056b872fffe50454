// Forwarding loops, against two routers (the binary) of one data centre whose tables disagree
// about a slice, as during a move when one has the new table and the other not yet: each packet
// of the slice is forwarded once and refused by the other (drop_loop_server), never bounced back.
// A GUE packet claiming to come from s2, over either family, is never sent back to s2; one from
// another data centre is never sent to a data centre. Servers reached in GUE and by L2 rewrite
// alike. Run by vitest as root.
//
//   s1  eth0 10.7.1.1 2001:db8:71::1; the router; its table: slice X (10000-10999) is s2's
//    |  veth (each end's agent sends "wire" frames to the other end with a router's MAC)
//   s2  eth0 10.7.1.2 2001:db8:71::2; the router; its table: slice X is s1's
//   (e2, 10.7.1.9 2001:db8:71::9, is the endpoint of dc2: a trusted peer nowhere on this link)
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, beforeEach, describe, it } from 'vitest';

import { createNamespace, mustExecIn, requireNetnsPrivileges, teardownRun } from '../../src/netns/index.js';
import { addresses, expectFates, link, macOf, RouterRun, tag, TOOLS, Wire, type Fates } from './attack-world.js';
import { ethernet, gue0, ipv4, ipv6, udp, type IpPacket } from '../fixtures/packets.js';

const S1_4 = '10.7.1.1';
const S1_6 = '2001:db8:71::1';
const S2_4 = '10.7.1.2';
const S2_6 = '2001:db8:71::2';
const E2_4 = '10.7.1.9';
const E2_6 = '2001:db8:71::9';
const SHARED4 = '192.0.2.1';
const SHARED6 = '2001:db8:100::1';
/** The slice the two tables disagree about, and slices they agree about. */
const PORT = { x: 10000, s1: 20000, s2: 30000, e2: 40000 } as const;
/** Where frames "from the wire" come from: a router of the data centre, no server. */
const ROUTER_MAC = '02:00:00:00:99:01';

interface Node {
  ns: string;
  mac: string;
  agent: Wire;
}

/** The file one router reads: slice X owned by `x`, servers reached by `encap`. */
function loopConfig(x: 's1' | 's2', encap: 'gue0' | 'l2', macs: { s1: string; s2: string }): string {
  const how = (name: 's1' | 's2') => (encap === 'l2' ? `, encap: l2, mac: '${macs[name]}'` : '');
  const slices = `slices: [{ ports: 10000-10999, owner: ${x} }, { ports: 20000-20999, owner: s1 }, { ports: 30000-30999, owner: s2 }, { ports: 40000-40999, owner: e2 }]`;
  return `version: 1
gue:
  trustedPeers: ['${S1_4}', '${S1_6}', '${S2_4}', '${S2_6}', '${E2_4}', '${E2_6}']
datacenters:
  dc1:
    endpoint: { ipv4: ${S1_4}, ipv6: '${S1_6}' }
    servers:
      s1: { ipv4: ${S1_4}, ipv6: '${S1_6}', interface: eth0${how('s1')} }
      s2: { ipv4: ${S2_4}, ipv6: '${S2_6}', interface: eth0${how('s2')} }
  dc2:
    endpoint: { ipv4: ${E2_4}, ipv6: '${E2_6}' }
    servers:
      e2: { ipv4: ${E2_4}, ipv6: '${E2_6}' }
egress:
  - { address: ${SHARED4}, protocols: [udp], ${slices} }
  - { address: '${SHARED6}', protocols: [udp], ${slices} }
`;
}

let dir: string;
let s1: Node;
let s2: Node;

beforeAll(async () => {
  requireNetnsPrivileges(TOOLS);
  dir = mkdtempSync(join(tmpdir(), 'su-loops-'));
  const ns1 = await createNamespace('s1');
  const ns2 = await createNamespace('s2');
  await link(ns1, 'eth0', ns2, 'eth0');
  await addresses(ns1, 'eth0', [`${S1_4}/24`, `${S1_6}/64`]);
  await addresses(ns2, 'eth0', [`${S2_4}/24`, `${S2_6}/64`]);
  for (const ns of [ns1, ns2]) await addresses(ns, 'lo', [`${SHARED4}/32`, `${SHARED6}/128`]);
  // Each side's neighbour table knows the other: the routers' next hops resolve at once.
  await mustExecIn(ns1, 'ping', ['-c', '1', '-W', '2', S2_4]);
  await mustExecIn(ns2, 'ping', ['-c', '1', '-W', '2', S1_4]);
  s1 = { ns: ns1, mac: await macOf(ns1, 'eth0'), agent: await Wire.start(ns1) };
  s2 = { ns: ns2, mac: await macOf(ns2, 'eth0'), agent: await Wire.start(ns2) };
}, 60_000);
afterAll(async () => {
  await teardownRun();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => requireNetnsPrivileges(TOOLS));

/** UDP from the Internet to the shared address of `family`, port `port`, carrying probe `name`. */
const client = (family: 4 | 6, port: number, name: string): IpPacket =>
  family === 4 ? ipv4({ src: '203.0.113.10', dst: SHARED4 }, udp({ src: 40000, dst: port, payload: tag(name) })) : ipv6({ src: '2001:db8:ff::10', dst: SHARED6 }, udp({ src: 40000, dst: port, payload: tag(name) }));

/** Sends `packets` to `to`'s router as frames from the data centre's router (injected on the other end of the link). */
async function sendTo(to: Node, packets: readonly (IpPacket | Uint8Array)[]): Promise<void> {
  const from = to === s1 ? s2 : s1;
  await from.agent.send('eth0', packets.map((p) => (p instanceof Uint8Array ? p : ethernet({ dst: to.mac, src: ROUTER_MAC }, p))));
}

/** GUE variant 0 around `inner`, from `src` to s1 (over the family of `src`). */
function gueToS1(src: string, inner: IpPacket): Uint8Array {
  const datagram = udp({ src: 50000, dst: 6080, payload: gue0(inner) });
  const outer = src.includes(':') ? ipv6({ src, dst: S1_6 }, datagram) : ipv4({ src, dst: S1_4 }, datagram);
  return ethernet({ dst: s1.mac, src: ROUTER_MAC }, outer);
}

describe.each(['gue0', 'l2'] as const)('servers reached by %s', (encap) => {
  let r1: RouterRun;
  let r2: RouterRun;
  // How a router forwards to the other server, and how that server counts what is its own.
  const forward = encap === 'l2' ? 'forward_server_l2' : 'forward_server_gue';
  const local = encap === 'l2' ? 'pass_local' : 'decap_local';
  const probe = (name: string) => `${encap}-${name}`;

  beforeAll(async () => {
    const macs = { s1: s1.mac, s2: s2.mac };
    const start = (node: Node, host: 's1' | 's2', x: 's1' | 's2') =>
      RouterRun.start(node.ns, { host, configPath: join(dir, `${host}-${encap}.yaml`), config: loopConfig(x, encap, macs), socket: join(dir, `${host}-${encap}.sock`) });
    [r1, r2] = await Promise.all([start(s1, 's1', 's2'), start(s2, 's2', 's1')]);
    await Promise.all([r1.resolved(['s2']), r2.resolved(['s1'])]);
  }, 60_000);
  afterAll(async () => {
    await Promise.all([r1?.proc.stop(), r2?.proc.stop()]);
  });

  it('forwards each packet of the disputed slice once; the other router refuses it, no ping-pong', async () => {
    const [b1, b2]: [Fates, Fates] = [await r1.fates(), await r2.fates()];
    // Five packets of slice X reach s1 (which sends them to s2), three reach s2 (which sends them to s1).
    await sendTo(s1, [1, 2, 3, 4, 5].map((i) => client(i % 2 ? 4 : 6, PORT.x, probe(`x-s1-${i}`))));
    await sendTo(s2, [1, 2, 3].map((i) => client(i % 2 ? 4 : 6, PORT.x, probe(`x-s2-${i}`))));
    await expectFates(r1, b1, { [forward]: 5, drop_loop_server: 3 });
    await expectFates(r2, b2, { [forward]: 3, drop_loop_server: 5 });
    // One packet of s2's own slice through s1 after them: once s2 has it, anything still
    // bouncing would have been counted again.
    await sendTo(s1, [client(4, PORT.s2, probe('s2-own'))]);
    await expectFates(r2, b2, { [forward]: 3, drop_loop_server: 5, [local]: 1 });
    await expectFates(r1, b1, { [forward]: 6, drop_loop_server: 3 });
  });

  it('never sends a GUE packet claiming to come from s2 back to s2, whichever of its addresses it names', async () => {
    const [b1, b2]: [Fates, Fates] = [await r1.fates(), await r2.fates()];
    await sendTo(s1, [
      gueToS1(S2_4, client(4, PORT.x, probe('spoof-x'))),
      gueToS1(S2_4, client(4, PORT.s2, probe('spoof-s2'))),
      // s2's other address: s1 reaches s2 over IPv4, yet this is s2 too.
      gueToS1(S2_6, client(6, PORT.s2, probe('spoof-s2-v6'))),
    ]);
    await expectFates(r1, b1, { drop_loop_server: 3 });
    // A packet for s2 that s1 does send: once s2 has it, s2 would have had the others.
    await sendTo(s1, [client(6, PORT.s2, probe('to-s2'))]);
    await expectFates(r1, b1, { drop_loop_server: 3, [forward]: 1 });
    await expectFates(r2, b2, { [local]: 1 });
  });

  it('never sends a packet from another data centre on to a data centre', async () => {
    const b1 = await r1.fates();
    await sendTo(s1, [gueToS1(E2_4, client(4, PORT.e2, probe('dc-e2'))), gueToS1(E2_6, client(6, PORT.e2, probe('dc-e2-v6')))]);
    await expectFates(r1, b1, { drop_loop: 2 });
  });
});
