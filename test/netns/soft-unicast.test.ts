// Soft-unicast end to end: two data centres whose five servers share 192.0.2.1 and
// 2001:db8:100::1 by port slices, an Internet host, and a Router on every server
// (test/netns/topology.ts draws the world, test/netns/soft-unicast-suite.ts builds it). Downloads
// from every server's slice arrive intact although every reply lands at the wrong server first;
// the backbone carries inet's packets in GUE byte for byte; a slice moves under traffic without
// losing a packet of the slices that stay. ICMP errors and fragments: soft-unicast-no-ports.test.ts.
// Run by vitest as root.
import { constants } from 'node:os';
import { join } from 'node:path';

import { beforeAll, describe, expect, it } from 'vitest';

import { execIn, waitFor } from '../../src/netns/index.js';
import {
  BLOB, DOWNLOADS_PER_FAMILY, FAMILIES, getCommand, inetOf, inSlice, SERVERS, sliceOf, SMALL_BLOB, softUnicastSuite,
} from './soft-unicast-suite.js';
import {
  Agent, CAPTURE_SETTLE_MS, DATACENTRES, GUE_PORT, HTTP_PORT, INET4, INET6, SHARED4, SHARED6, UDP_ECHO_PORT,
  ipPacketOf, ownerName, readPcap, sharedOf, startCapture, type Capture, type Family, type PortRange,
} from './topology.js';

const suite = softUnicastSuite();

/**
 * An IP packet as a router forwards it: TTL (hop limit) one lower and, for IPv4, the header
 * checksum computed anew (RFC 791 3.1: ones' complement of the ones' complement sum of the
 * header's 16-bit words, the checksum field taken as zero).
 */
function routedOnce(packet: Buffer): Buffer {
  const p = Buffer.from(packet);
  if (p[0]! >> 4 === 6) {
    p[7] = p[7]! - 1;
    return p;
  }
  p[8] = p[8]! - 1;
  p.writeUInt16BE(0, 10);
  let sum = 0;
  for (let i = 0; i < (p[0]! & 15) * 4; i += 2) sum += p.readUInt16BE(i);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  p.writeUInt16BE(~sum & 0xffff, 10);
  return p;
}

/** Resolves once `ns` holds no TCP connection but those in TIME-WAIT. */
async function quiet(ns: string): Promise<void> {
  const states = ['established', 'syn-sent', 'syn-recv', 'fin-wait-1', 'fin-wait-2', 'close-wait', 'last-ack', 'closing'];
  await waitFor(
    async () => (await execIn(ns, 'ss', ['-Htn', ...states.flatMap((st) => ['state', st])])).stdout.trim() === '',
    { what: `the TCP connections in ${ns} to close`, timeoutMs: 10_000, intervalMs: 50 },
  );
}

describe('the world without Routers', () => {
  it('lands every IPv4 reply at a1 and every IPv6 reply at b1: only their own downloads complete', async () => {
    // The entry servers' replies land where they belong: plain kernel routing works end to end.
    suite.expectIntact('a1', 'v4', await suite.download('a1', 'v4', SMALL_BLOB, 1), SMALL_BLOB);
    suite.expectIntact('b1', 'v6', await suite.download('b1', 'v6', SMALL_BLOB, 1), SMALL_BLOB);
    // Everyone else's SYN-ACK lands at an entry server, which has no such connection (and
    // resets it): the handshake never completes.
    const stranded = await Promise.all(
      (
        [['a2', 'v4'], ['b2', 'v4'], ['a3', 'v6'], ['a1', 'v6'], ['b1', 'v4']] as const
      ).map(([server, family]) => suite.clients.get(server)!.run('get', getCommand(server, family, SMALL_BLOB, 1, 1_500))),
    );
    for (const answer of stranded) {
      expect(answer.error).toMatchObject({ name: 'SyscallError', code: 'ERR_SYSCALL', errno: constants.errno.ETIMEDOUT, syscall: 'connect' });
    }
  });
});

describe('a Router on every server', () => {
  beforeAll(() => suite.startRouters(), 120_000);

  it('every server downloads over IPv4 and IPv6 from its slice, every body intact', async () => {
    const runs = SERVERS.flatMap((server) => FAMILIES.map((family) => ({ server, family })));
    const results = await Promise.all(runs.map(({ server, family }) => suite.download(server, family, BLOB, DOWNLOADS_PER_FAMILY)));
    runs.forEach(({ server, family }, i) => suite.expectIntact(server, family, results[i]!, BLOB));

    const all = await suite.allCounters();
    // a1: inet's IPv4 replies for a2 and a3 go on in GUE variant 0, those for B's servers in
    // GUE over the backbone; its own IPv6 replies come back from b1 in GUE and are unwrapped.
    expect(all.a1!.fates.forward_server_gue).toBeGreaterThan(0);
    expect(all.a1!.fates.encap_datacenter).toBeGreaterThan(0);
    expect(all.a1!.fates.decap_local).toBeGreaterThan(0);
    // b1: its own IPv4 replies arrive in GUE from a1 and are unwrapped by XDP; b2's arrive the
    // same way and go on by L2 rewrite; b2's IPv6 replies go on in GUE variant 1; A's IPv6
    // replies go over the backbone to a1.
    expect(all.b1!.fates.decap_local).toBeGreaterThan(0);
    expect(all.b1!.fates.forward_server_l2).toBeGreaterThan(0);
    expect(all.b1!.fates.forward_server_gue).toBeGreaterThan(0);
    expect(all.b1!.fates.encap_datacenter).toBeGreaterThan(0);
    // The others only receive: GUE for their slices is unwrapped by XDP, b2's IPv4 comes bare.
    for (const s of ['a2', 'a3', 'b2']) expect(all[s]!.fates.decap_local, s).toBeGreaterThan(0);
    expect(all.b2!.fates.pass_local).toBeGreaterThan(0);
    for (const s of ['a2', 'a3', 'b2']) {
      const { forward_server_gue, forward_server_l2, encap_datacenter } = all[s]!.fates;
      expect({ s, forward_server_gue, forward_server_l2, encap_datacenter }).toEqual({ s, forward_server_gue: 0, forward_server_l2: 0, encap_datacenter: 0 });
    }
    suite.expectNoDrops(all);
  });

  it('the backbone carries what inet sent, in GUE variant 1, byte for byte', async () => {
    const rA = suite.world.routers.A;
    const rB = suite.world.routers.B;
    // Where the bytes must match exactly: the GUE inner packet is what the entry server
    // received, so it equals the frame its router's bridge port sent it (rA's port "a1", rB's
    // "b1"). On the router's link from inet the same packet is one routing hop younger: TTL
    // (hop limit) one higher and, for IPv4, another header checksum; nothing else differs.
    const tcpFromInet4 = `ip dst ${SHARED4} and tcp src port ${HTTP_PORT}`;
    const tcpFromInet6 = `ip6 dst ${SHARED6} and tcp src port ${HTTP_PORT}`;
    // Upstream first: captures stop in this order, so nothing seen upstream misses the
    // capture downstream because that one stopped first.
    const plan = [
      ['inetA', rA.ns, rA.inetLink, tcpFromInet4],
      ['inetB', rB.ns, rB.inetLink, tcpFromInet6],
      ['a1port', rA.ns, rA.port('a1'), tcpFromInet4],
      ['b1port', rB.ns, rB.port('b1'), tcpFromInet6],
      ['bb', rA.ns, rA.backbone, `udp dst port ${GUE_PORT}`],
    ] as const;
    const captures: Record<string, Capture> = {};
    try {
      for (const [name, ns, ifname, filter] of plan) captures[name] = await startCapture(ns, ifname, join(suite.dir, `${name}.pcap`), filter);
      const runs = [['b1', 'v4'], ['b2', 'v4'], ['a1', 'v6'], ['a2', 'v6'], ['a3', 'v6']] as const;
      const results = await Promise.all(runs.map(([server, family]) => suite.download(server, family, SMALL_BLOB, 1)));
      runs.forEach(([server, family], i) => suite.expectIntact(server, family, results[i]!, SMALL_BLOB));
      // inet closes first (Connection: close), so a client's socket is gone (not in LAST-ACK)
      // once inet's last packet of the flow reached it: by then every capture saw that packet.
      for (const [server] of runs) await quiet(suite.world.server(server).ns);
      await new Promise((resolve) => setTimeout(resolve, CAPTURE_SETTLE_MS));
    } finally {
      for (const c of Object.values(captures)) await c.stop();
    }

    // tshark decodes variant 1 (a bare IP packet as UDP payload; FACTS.md): outer and inner
    // addresses, and the inner TCP ports, for each family.
    const decode = async (as: 'ip' | 'ipv6', filter: string, fields: string[]): Promise<string[][]> => {
      const r = await execIn(rA.ns, 'tshark', [
        '-n', '-r', captures.bb!.file, '-d', `udp.port==${GUE_PORT},${as}`, '-Y', filter, '-T', 'fields', '-E', 'occurrence=a', '-E', 'separator=/t',
        ...fields.flatMap((f) => ['-e', f]),
      ]);
      expect(r.code, r.stderr).toBe(0);
      return r.stdout.trim().split('\n').filter((l) => l !== '').map((l) => l.split('\t'));
    };
    const a1 = suite.world.server('a1');
    const b1 = suite.world.server('b1');
    // Filtered by the outer EtherType: decoded "as ipv6", an IPv4 payload still shows an
    // (invalid) ipv6 layer.
    const v4 = await decode('ip', `eth.type == 0x0800 && udp.dstport == ${GUE_PORT}`, ['ip.src', 'ip.dst', 'tcp.srcport', 'tcp.dstport']);
    const v6 = await decode('ipv6', `eth.type == 0x86dd && udp.dstport == ${GUE_PORT}`, ['ipv6.src', 'ipv6.dst', 'tcp.srcport', 'tcp.dstport']);
    expect(v4.length).toBeGreaterThan(100);
    expect(v6.length).toBeGreaterThan(100);
    const bSlices = DATACENTRES.B.servers.map(sliceOf);
    const aSlices = DATACENTRES.A.servers.map(sliceOf);
    for (const [src, dst, sport, dport] of v4) {
      expect({ src, dst, sport }).toEqual({ src: `${a1.ipv4},${INET4}`, dst: `${b1.ipv4},${SHARED4}`, sport: String(HTTP_PORT) });
      expect(bSlices.some((s) => inSlice(Number(dport), s)), `inner port ${dport} in a slice of B`).toBe(true);
    }
    for (const [src, dst, sport, dport] of v6) {
      expect({ src, dst, sport }).toEqual({ src: `${b1.ipv6},${INET6}`, dst: `${a1.ipv6},${SHARED6}`, sport: String(HTTP_PORT) });
      expect(aSlices.some((s) => inSlice(Number(dport), s)), `inner port ${dport} in a slice of A`).toBe(true);
    }

    // Bytes: the inner packets of GUE on the backbone, per outer family.
    const inner = { v4: [] as Buffer[], v6: [] as Buffer[] };
    for (const frame of readPcap(captures.bb!.file)) {
      const outer = ipPacketOf(frame);
      if (outer === undefined) continue;
      const v = outer[0]! >> 4;
      const udp = outer.subarray(v === 4 ? (outer[0]! & 15) * 4 : 40); // no IPv6 extension headers here
      if (udp.readUInt16BE(2) !== GUE_PORT) continue;
      (v === 4 ? inner.v4 : inner.v6).push(udp.subarray(8, udp.readUInt16BE(4)));
    }
    expect(inner.v4.length).toBe(v4.length);
    expect(inner.v6.length).toBe(v6.length);
    const packets = (name: string): string[] => readPcap(captures[name]!.file).map((f) => ipPacketOf(f)!.toString('hex'));
    // What the entry server received for the other data centre: all of it went over the backbone.
    const toOtherDc = (hex: string[], slices: PortRange[], v: 4 | 6): string[] =>
      hex.filter((h) => {
        const p = Buffer.from(h, 'hex');
        const tcp = p.subarray(v === 4 ? (p[0]! & 15) * 4 : 40);
        return slices.some((s) => inSlice(tcp.readUInt16BE(2), s));
      });
    const sorted = (l: string[]): string[] => [...l].sort();
    expect(sorted(inner.v4.map((p) => p.toString('hex')))).toEqual(sorted(toOtherDc(packets('a1port'), bSlices, 4)));
    expect(sorted(inner.v6.map((p) => p.toString('hex')))).toEqual(sorted(toOtherDc(packets('b1port'), aSlices, 6)));
    // And each one is a packet inet sent, one hop older.
    const fromInetA = new Set(packets('inetA').map((h) => routedOnce(Buffer.from(h, 'hex')).toString('hex')));
    const fromInetB = new Set(packets('inetB').map((h) => routedOnce(Buffer.from(h, 'hex')).toString('hex')));
    for (const p of inner.v4) expect(fromInetA.has(p.toString('hex')), `inner IPv4 packet ${p.subarray(0, 40).toString('hex')}... seen on rA's link from inet`).toBe(true);
    for (const p of inner.v6) expect(fromInetB.has(p.toString('hex')), `inner IPv6 packet ${p.subarray(0, 48).toString('hex')}... seen on rB's link from inet`).toBe(true);
  });

  it('moves a2\'s slice to a3 under traffic: the slices that stay lose no packet', async () => {
    const client = (server: string): Agent => suite.clients.get(server)!;
    // UDP request/response streams, one request every 2 ms, each reply echoing its sequence
    // number: a missing number is a packet lost on the way there or back.
    const start = async (server: string, family: Family, ports: PortRange) => {
      const answer = await client(server).must('udp-start', {
        source: sharedOf(family), host: inetOf(family), port: UDP_ECHO_PORT, ...ports, intervalMs: 2,
      });
      return { server, family, id: answer.id as string };
    };
    const status = async (s: { server: string; id: string }) =>
      (await client(s.server).must('udp-status', { target: s.id })) as unknown as { next: number; replies: number };
    const flowing = (streams: { server: string; id: string }[], replies: number) =>
      waitFor(async () => (await Promise.all(streams.map(status))).every((st) => st.replies >= replies), {
        what: `${replies} replies on every stream`, timeoutMs: 20_000, intervalMs: 100,
      });

    const moved = sliceOf('a2');
    const staying = await Promise.all(
      (['a3', 'b2'] as const).flatMap((server) => FAMILIES.map((family) => start(server, family, sliceOf(server)))),
    );
    const leaving = await Promise.all(FAMILIES.map((family) => start('a2', family, moved)));
    await flowing([...staying, ...leaving], 100);

    // The move, as an operator makes it: the new owner first (it accepts the slice's packets
    // from then on), then the entry servers that forward them, then everyone else. Every
    // server publishes, also those whose view does not change (B sees A as one data centre).
    const before = await suite.counters('a1');
    const order = ['a3', 'a1', 'b1', 'a2', 'b2'];
    for (const viewer of order) {
      const moves = FAMILIES.map((family) => ({
        destination: sharedOf(family), protocols: ['tcp', 'udp'], ports: moved, owner: ownerName(suite.world, viewer, 'a3', family),
      }));
      await suite.routers.get(viewer)!.must('move', { moves });
    }
    // Every request a2 sends from now on is answered after every table changed: to a3.
    const marks = await Promise.all(leaving.map(status));
    // a3 now owns the slice: its own streams from it get their replies.
    const arrived = await Promise.all(FAMILIES.map((family) => start('a3', family, moved)));
    await flowing(arrived, 200);

    const stop = (s: { server: string; id: string }) =>
      client(s.server).must('udp-stop', { target: s.id, graceMs: 2_000 }) as unknown as Promise<{ sent: number; received: number[]; duplicates: number }>;
    const [stayed, left, newcomers] = await Promise.all([Promise.all(staying.map(stop)), Promise.all(leaving.map(stop)), Promise.all(arrived.map(stop))]);

    const lost = (r: { sent: number; received: number[] }): number[] => {
      const got = new Set(r.received);
      return Array.from({ length: r.sent }, (_, i) => i).filter((i) => !got.has(i));
    };
    [...staying, ...arrived].forEach((s, i) => {
      const r = [...stayed, ...newcomers][i]!;
      expect({ stream: `${s.server} ${s.family}`, sentMany: r.sent > 200, lost: lost(r), duplicates: r.duplicates }).toEqual({
        stream: `${s.server} ${s.family}`, sentMany: true, lost: [], duplicates: 0,
      });
    });
    leaving.forEach((s, i) => {
      const r = left[i]!;
      expect(r.received.length, `${s.server} ${s.family}: replies before the move`).toBeGreaterThanOrEqual(100);
      expect(r.received.filter((seq) => seq >= marks[i]!.next), `${s.server} ${s.family}: replies to requests sent after the move`).toEqual([]);
    });

    const after = await suite.allCounters();
    expect(BigInt(after.a1!.generation)).toBeGreaterThan(BigInt(before.generation));
    suite.expectNoDrops(after);
  });
});
