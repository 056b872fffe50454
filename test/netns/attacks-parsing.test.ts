// Packets the kernel would act on in another's name, against the router binary on srv
// (test/netns/edge-world.ts draws the world), in both lanes. Source-routed packets to srv's own
// slice (IPv4 LSRR/SSRR, an IPv6 segment routing header with segments left), in GUE from a
// trusted peer or straight from the wire, are never handed to srv's kernel, which forwards and
// follows source routes here: none reaches third. IPv6 extension chains longer than the router
// walks, to another server's slice, never reach srv's kernel either, which would answer for that
// server with a reset (TCP) or port unreachable (UDP). Controls show the kernel does both
// where the router lets it: these tests can fail. Run by vitest as root.
import { rmSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { mustExecIn, requireNetnsPrivileges, teardownRun, waitFor } from '../../src/netns/index.js';
import { carrying, expectFates, RouterRun, tag, TOOLS } from './attack-world.js';
import {
  buildEdge, CLIENT4, CLIENT6, E2_4, edgeConfig, gueToSrv, P2_4, PORT, SHARED4, SHARED6, SRV4, SRV6, THIRD4, THIRD6, toSrv, UNMANAGED_PORT,
  type Edge,
} from './edge-world.js';
import { addressBytes, ipv4, ipv6, raw, tcp, udp, type IpPacket, type Ipv6Extension } from '../fixtures/packets.js';

let edge: Edge;

beforeAll(async () => {
  requireNetnsPrivileges(TOOLS);
  edge = await buildEdge();
  for (const peer of [P2_4, E2_4]) await mustExecIn(edge.srv, 'ping', ['-c', '1', '-W', '2', peer]);
}, 60_000);
afterAll(async () => {
  await teardownRun();
  if (edge !== undefined) rmSync(edge.dir, { recursive: true, force: true });
});
beforeEach(() => requireNetnsPrivileges(TOOLS));

// ---- Source routes ---------------------------------------------------------------------------

/** UDP from the client to `dst` with an IPv4 source route (RFC 791 3.1: LSRR 131, SSRR 137) whose
 * one hop left is third; the UDP checksum is over the final destination, as a sender's is. */
function sourceRouted4(dst: string, port: number, name: string, type: 131 | 137 = 131): IpPacket {
  const options = new Uint8Array([1, type, 7, 4, ...addressBytes(THIRD4)]); // no-op, then type, length, pointer, route
  return ipv4({ src: CLIENT4, dst, options }, raw(17, udp({ src: 40000, dst: port, payload: tag(name) }).encode(addressBytes(CLIENT4), addressBytes(THIRD4))));
}

/** UDP from the client to `dst` with a segment routing header (RFC 8754: routing type 4) whose
 * next segment, one left, is third. */
function sourceRouted6(dst: string, port: number, name: string): IpPacket {
  const routing: Ipv6Extension = { type: 'routing', routingType: 4, segmentsLeft: 1, length: 4 };
  const packet = ipv6({ src: CLIENT6, dst, extensions: [routing] }, raw(17, udp({ src: 40000, dst: port, payload: tag(name) }).encode(addressBytes(CLIENT6), addressBytes(THIRD6))));
  const bytes = new Uint8Array(packet.bytes);
  bytes[40 + 4] = 1; // last entry: segments 0 and 1
  bytes.set(addressBytes(THIRD6), 40 + 8); // segment 0: the final destination
  bytes.set(addressBytes(dst), 40 + 24); // segment 1: where it is now
  return { ...packet, bytes };
}

/** Waits until third has received a frame carrying each of `names`. */
async function atThird(names: readonly string[]): Promise<void> {
  await waitFor(async () => {
    const frames = await edge.thirdAgent.frames('third');
    return names.every((n) => carrying(frames, n).length > 0);
  }, { what: `third to receive ${names.join(', ')}`, timeoutMs: 10_000 });
}

// ---- The kernel's answers --------------------------------------------------------------------

const IPV6 = 0x86dd;
/** A TCP reset from srv's kernel to the client's port `sport` (no extension headers in srv's answer). */
const isReset = (f: Buffer, sport: number) => f.readUInt16BE(12) === IPV6 && f[20] === 6 && f.readUInt16BE(54 + 2) === sport && (f[54 + 13]! & 0x04) !== 0;
/** An ICMPv6 port unreachable (type 1, code 4) quoting probe `name`. */
const isUnreachable = (f: Buffer, name: string) => f.readUInt16BE(12) === IPV6 && f[20] === 58 && f[54] === 1 && f[55] === 4 && f.includes(Buffer.from(tag(name)));

/** `count` destination options headers (each 8 bytes of padding): a chain longer than 8 is one the router does not walk. */
const chain = (count: number): Ipv6Extension[] => Array.from({ length: count }, () => ({ type: 'destination' as const }));
const synWithChain = (dst: string, port: number, sport: number, count: number) => ipv6({ src: CLIENT6, dst, extensions: chain(count) }, tcp({ src: sport, dst: port }));
const udpWithChain = (dst: string, port: number, name: string, count: number) => ipv6({ src: CLIENT6, dst, extensions: chain(count) }, udp({ src: 40000, dst: port, payload: tag(name) }));

describe.each(['auto', 'afxdp'] as const)('the router in lane %s', (lane) => {
  let router: RouterRun;
  const probe = (name: string) => `${lane}-${name}`;
  // Client ports of the TCP probes: each lane its own, so a late reset names its probe.
  const sport = (n: number) => (lane === 'auto' ? 41000 : 42000) + n;

  beforeAll(async () => {
    router = await RouterRun.start(edge.srv, { host: 'srv', configPath: join(edge.dir, `srv-${lane}.yaml`), config: edgeConfig(), socket: join(edge.dir, `srv-${lane}.sock`), lane });
    await router.resolved();
  }, 60_000);
  afterAll(async () => {
    await router?.proc.stop();
  });

  it('never hands its kernel a source-routed packet for its own slice: nothing is relayed to third', async () => {
    // Controls: to srv's own address, which no slice covers, the kernel follows both routes.
    await edge.wireAgent.send('eth0', [toSrv(edge, sourceRouted4(SRV4, UNMANAGED_PORT, probe('control4'))), toSrv(edge, sourceRouted6(SRV6, UNMANAGED_PORT, probe('control6')))]);
    await atThird([probe('control4'), probe('control6')]);

    const before = await router.fates();
    const attacks = {
      lsrr: toSrv(edge, sourceRouted4(SHARED4, PORT.srv, probe('lsrr'))),
      ssrr: toSrv(edge, sourceRouted4(SHARED4, PORT.srv, probe('ssrr'), 137)),
      srh: toSrv(edge, sourceRouted6(SHARED6, PORT.srv, probe('srh'))),
      'gue-lsrr': gueToSrv(edge, sourceRouted4(SHARED4, PORT.srv, probe('gue-lsrr'))),
      'gue-srh': gueToSrv(edge, sourceRouted6(SHARED6, PORT.srv, probe('gue-srh')), { outer: 6 }),
    };
    await edge.wireAgent.send('eth0', Object.values(attacks));
    // The same routes again to srv's own address: once they are at third, so would be any attack.
    await edge.wireAgent.send('eth0', [toSrv(edge, sourceRouted4(SRV4, UNMANAGED_PORT, probe('control4-after'))), toSrv(edge, sourceRouted6(SRV6, UNMANAGED_PORT, probe('control6-after')))]);
    await atThird([probe('control4-after'), probe('control6-after')]);
    const third = await edge.thirdAgent.frames('third');
    const datagrams = [...(await edge.srvAgent.datagrams('slice4')), ...(await edge.srvAgent.datagrams('slice6'))];
    expect(Object.keys(attacks).map((name) => ({ name, atThird: carrying(third, probe(name)).length, delivered: carrying(datagrams, probe(name)).length })))
      .toEqual(Object.keys(attacks).map((name) => ({ name, atThird: 0, delivered: 0 })));
    await expectFates(router, before, { drop_source_routed: 5 });
  });

  it('never hands its kernel a long IPv6 extension chain for another server\'s slice: no reset, no port unreachable in its name', async () => {
    const wireFrames = () => edge.wireAgent.frames('wire');
    const answered = async (tcpPort: number, udpName: string) => {
      const frames = await wireFrames();
      return { reset: frames.some((f) => isReset(f, tcpPort)), unreachable: frames.some((f) => isUnreachable(f, udpName)) };
    };
    // Controls: the same chains to srv's own address, which no slice covers, are the kernel's to answer.
    const controls = (round: string, n: number) => [toSrv(edge, synWithChain(SRV6, UNMANAGED_PORT, sport(n), 9)), toSrv(edge, udpWithChain(SRV6, UNMANAGED_PORT, probe(round), 9))];
    await edge.wireAgent.send('eth0', controls('chain-control', 0));
    await waitFor(async () => { const a = await answered(sport(0), probe('chain-control')); return a.reset && a.unreachable; }, { what: 'srv\'s kernel to answer the controls', timeoutMs: 10_000 });

    const before = await router.fates();
    await edge.wireAgent.send('eth0', [
      toSrv(edge, synWithChain(SHARED6, PORT.p2, sport(1), 9)),
      toSrv(edge, udpWithChain(SHARED6, PORT.p2 + 1, probe('chain-udp'), 9)),
      // Eight headers are walked: the packet is p2's, and goes to p2.
      toSrv(edge, udpWithChain(SHARED6, PORT.p2 + 2, probe('chain-8'), 8)),
      ...controls('chain-control-after', 2),
    ]);
    await waitFor(async () => { const a = await answered(sport(2), probe('chain-control-after')); return a.reset && a.unreachable; }, { what: 'srv\'s kernel to answer the second controls', timeoutMs: 10_000 });
    expect(await answered(sport(1), probe('chain-udp'))).toEqual({ reset: false, unreachable: false });
    await expectFates(router, before, { drop_ipv6_chain: 2, forward_server_gue: 1 });
  });
});
