// Attacks through the tunnel, against the router binary on srv (test/netns/edge-world.ts draws the
// world), in both lanes: the XDP program finishing what it can (auto), and the AF_XDP workers
// forwarding and dropping everything (afxdp). GUE from a trusted peer is no open relay; the trust
// list changes on reload; the inner packet ends exactly where the outer UDP length says (bytes
// past it, inside the IP datagram or as an Ethernet trailer, reach the router unchanged and never
// a socket); harmless outer IPv6 headers and the zero UDP checksum of Linux tunnels are accepted
// by one rule in both lanes; tunnel control traffic is named. Run by vitest as root.
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { readCaptureFrames } from '../../examples/soft-unicast-router/pcap-read.js';
import { mustExecIn, requireNetnsPrivileges, teardownRun, waitFor } from '../../src/netns/index.js';
import { carrying, expectFates, RouterRun, tag, TOOLS } from './attack-world.js';
import {
  buildEdge, clientUdp, E2_4, E2_6, edgeConfig, gueToSrv, udpToSrv, NEW4, P2_4, PORT, SHARED4, SHARED6, SRV4, THIRD4, THIRD6, toSrv, TRUSTED, UNMANAGED_PORT,
  type Edge,
} from './edge-world.js';
import { concat, gue0, icmp6, ipv4, ipv6, raw, udp } from '../fixtures/packets.js';

let edge: Edge;

beforeAll(async () => {
  requireNetnsPrivileges(TOOLS);
  edge = await buildEdge();
  // A socket on srv's own address that no slice covers, and one where p2 receives GUE.
  await edge.srvAgent.listen('own', SRV4, UNMANAGED_PORT);
  await edge.wireAgent.listen('gue-p2', P2_4, 6080);
  // The peers' MAC addresses in srv's neighbour table: the router's next hops resolve at once.
  for (const peer of [P2_4, E2_4]) await mustExecIn(edge.srv, 'ping', ['-c', '1', '-W', '2', peer]);
}, 60_000);
afterAll(async () => {
  await teardownRun();
  if (edge !== undefined) rmSync(edge.dir, { recursive: true, force: true });
});
beforeEach(() => requireNetnsPrivileges(TOOLS));

/** The datagrams srv's sockets received carrying probe `name`'s payload (whole or with more). */
async function delivered(socket: string, name: string): Promise<Buffer[]> {
  return (await edge.srvAgent.datagrams(socket)).filter((d) => d.includes(Buffer.from(tag(name))));
}

/** Sends a plain datagram from the wire to third through srv (the kernel's to forward) and waits
 * until third has it: what the attacks before it could have relayed would be there by now. */
async function controlToThird(name: string): Promise<void> {
  await edge.wireAgent.send('eth0', [toSrv(edge, clientUdp(4, THIRD4, 7000, name))]);
  await waitFor(async () => carrying(await edge.thirdAgent.frames('third'), name).length === 1, { what: `third to receive ${name}`, timeoutMs: 10_000 });
}

describe.each(['auto', 'afxdp'] as const)('the router in lane %s', (lane) => {
  let router: RouterRun;
  const configPath = () => join(edge.dir, `srv-${lane}.yaml`);
  const probe = (name: string) => `${lane}-${name}`;

  beforeAll(async () => {
    router = await RouterRun.start(edge.srv, { host: 'srv', configPath: configPath(), config: edgeConfig(), socket: join(edge.dir, `srv-${lane}.sock`), lane });
    await router.resolved();
  }, 60_000);
  afterAll(async () => {
    await router?.proc.stop();
  });

  it('is no open relay: GUE from a trusted peer for nothing it manages is dropped, and reaches no third host', async () => {
    const before = await router.fates();
    await edge.wireAgent.send('eth0', [
      // The spoofed source is p2's: trusted. The inner destinations are nobody's slice.
      gueToSrv(edge, clientUdp(4, THIRD4, 7000, probe('relay4'))),
      gueToSrv(edge, clientUdp(6, THIRD6, 7000, probe('relay6')), { outer: 6 }),
      gueToSrv(edge, clientUdp(4, SRV4, UNMANAGED_PORT, probe('relay-own'))),
    ]);
    await controlToThird(probe('relay-control'));
    const third = await edge.thirdAgent.frames('third');
    expect({ relay4: carrying(third, probe('relay4')).length, relay6: carrying(third, probe('relay6')).length }).toEqual({ relay4: 0, relay6: 0 });
    expect((await edge.srvAgent.datagrams('own')).filter((d) => d.includes(Buffer.from(tag(probe('relay-own')))))).toEqual([]);
    await expectFates(router, before, { drop_gue_not_managed: 3 });
  });

  it('applies a change of the trusted peers on reload, without a restart', async () => {
    const fromNew = (name: string) => gueToSrv(edge, clientUdp(4, SHARED4, PORT.srv, probe(name)), { src: NEW4 });
    let before = await router.fates();
    await edge.wireAgent.send('eth0', [fromNew('untrusted-1')]);
    await expectFates(router, before, { drop_untrusted_gue: 1 });

    await router.reload(configPath(), edgeConfig([...TRUSTED, NEW4]), 2);
    before = await router.fates();
    await edge.wireAgent.send('eth0', [fromNew('trusted')]);
    await expectFates(router, before, { decap_local: 1 });
    await waitFor(async () => (await delivered('slice4', probe('trusted'))).length === 1, { what: 'the trusted peer\'s datagram on srv\'s socket', timeoutMs: 10_000 });

    await router.reload(configPath(), edgeConfig(TRUSTED), 3);
    before = await router.fates();
    await edge.wireAgent.send('eth0', [fromNew('untrusted-2')]);
    await expectFates(router, before, { drop_untrusted_gue: 1 });
    expect((await delivered('slice4', probe('untrusted-1'))).length + (await delivered('slice4', probe('untrusted-2'))).length).toBe(0);
  });

  it('unwraps exactly what the outer UDP length holds; bytes past it reach the router unchanged and never a socket', async () => {
    const extra = new Uint8Array(32).fill(0xee);
    const src = new Uint8Array([10, 8, 0, 2]);
    const dst = new Uint8Array([10, 8, 0, 1]);
    // An inner datagram whose own headers claim 32 bytes past the outer UDP length.
    const long = (name: string) => ipv4({ src: '203.0.113.10', dst: SHARED4 }, udp({ src: 40000, dst: PORT.srv, payload: concat(tag(probe(name)), extra) }));
    /** The outer UDP datagram over the GUE payload minus its last 32 bytes, its checksum valid over what its length covers. */
    const short = (name: string, checksum: 'auto' | 'zero') => {
      const payload = gue0(long(name));
      return udp({ src: 50000, dst: 6080, payload: payload.subarray(0, payload.length - 32), checksum }).encode(src, dst);
    };
    const outer = (bytes: Uint8Array) => toSrv(edge, ipv4({ src: P2_4, dst: SRV4 }, raw(17, bytes)));
    const malformed = [
      // Inside the outer IP datagram, after the UDP length; no UDP checksum (allowed over IPv4).
      outer(concat(short('inside', 'zero'), extra)),
      // The same, with a UDP checksum that is valid over the length it covers.
      outer(concat(short('inside-summed', 'auto'), extra)),
      // After the outer IP datagram, as an Ethernet trailer.
      concat(outer(short('trailer', 'auto')), extra),
      // An inner packet that ends 32 bytes before the UDP datagram does.
      udpToSrv(edge, concat(gue0(ipv4({ src: '203.0.113.10', dst: SHARED4 }, udp({ src: 40000, dst: PORT.srv, payload: tag(probe('short-inner')) }))), extra)),
    ];
    const capture = join(edge.dir, `drops-${lane}.pcapng`);
    await router.request({ cmd: 'capture', action: 'start', path: capture, seconds: 600 });
    const before = await router.fates();
    await edge.wireAgent.send('eth0', [...malformed, gueToSrv(edge, clientUdp(4, SHARED4, PORT.srv, probe('length-control')))]);
    await waitFor(async () => (await delivered('slice4', probe('length-control'))).length === 1, { what: 'the well-formed datagram on srv\'s socket', timeoutMs: 10_000 });
    const names = ['inside', 'inside-summed', 'trailer', 'short-inner'];
    const got = await Promise.all(names.map(async (name) => ({ name, delivered: (await delivered('slice4', probe(name))).map((d) => d.toString('hex')) })));
    expect(got).toEqual(names.map((name) => ({ name, delivered: [] })));
    await expectFates(router, before, { drop_gue_length: 4, decap_local: 1 });

    // The router saw each malformed frame exactly as it was sent, trailer and all: nothing on
    // the way (a bridge with br_netfilter would check and trim IP frames) made it well-formed.
    await router.request({ cmd: 'capture', action: 'stop' });
    await router.logged(/drop capture ended/);
    const dropped = readCaptureFrames(readFileSync(capture), capture).map((f) => Buffer.from(f));
    const ours = dropped.filter((f) => f.includes(Buffer.from(`su-probe:${lane}-`)));
    expect(ours.map((f) => f.toString('hex'))).toEqual(malformed.map((f) => Buffer.from(f).toString('hex')));
  });

  it('accepts outer IPv6 headers that change nothing: a routing header with no segments left, an atomic fragment header', async () => {
    const before = await router.fates();
    await edge.wireAgent.send('eth0', [
      gueToSrv(edge, clientUdp(4, SHARED4, PORT.srv, probe('outer-routing')), { outer: 6, extensions: [{ type: 'routing', segmentsLeft: 0 }] }),
      gueToSrv(edge, clientUdp(6, SHARED6, PORT.srv, probe('outer-atomic')), { outer: 6, extensions: [{ type: 'fragment' }] }),
    ]);
    await expectFates(router, before, { decap_local: 2 });
    await waitFor(async () => (await delivered('slice4', probe('outer-routing'))).length === 1 && (await delivered('slice6', probe('outer-atomic'))).length === 1, {
      what: 'both datagrams on srv\'s sockets',
      timeoutMs: 10_000,
    });
  });

  it('accepts a zero outer UDP checksum over IPv6 from a trusted peer (Linux noencap-csum6), unwrapped or sent on', async () => {
    const before = await router.fates();
    await edge.wireAgent.send('eth0', [
      // From e2 (another data centre): one for srv's own slice, one for p2's, sent on to p2.
      gueToSrv(edge, clientUdp(4, SHARED4, PORT.srv, probe('zero-local')), { outer: 6, src: E2_6, checksum: 'zero' }),
      gueToSrv(edge, clientUdp(4, SHARED4, PORT.p2, probe('zero-p2')), { outer: 6, src: E2_6, checksum: 'zero' }),
    ]);
    await expectFates(router, before, { decap_local: 1, forward_server_gue: 1 });
    await waitFor(async () => (await delivered('slice4', probe('zero-local'))).length === 1, { what: 'the datagram on srv\'s socket', timeoutMs: 10_000 });
    await waitFor(async () => carrying(await edge.wireAgent.datagrams('gue-p2'), probe('zero-p2')).length === 1, { what: 'p2 to receive its datagram in GUE', timeoutMs: 10_000 });
  });

  it('counts tunnel control traffic by name: a router solicitation, link-local multicast', async () => {
    const before = await router.fates();
    await edge.wireAgent.send('eth0', [
      // What a Linux host sends through its own ip6tnl/sit tunnel as it comes up.
      gueToSrv(edge, ipv6({ src: 'fe80::1', dst: 'ff02::2', hopLimit: 255 }, icmp6({ type: 133 })), { outer: 6 }),
      gueToSrv(edge, ipv4({ src: '169.254.7.7', dst: '224.0.0.251', ttl: 255 }, udp({ src: 5353, dst: 5353, payload: tag(probe('mdns')) }))),
    ]);
    await expectFates(router, before, { drop_tunnel_control: 2 });
  });
});
