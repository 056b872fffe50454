// Second chance on backends with real kernel TCP (issue 15): GLB-style GUE reaches two backends
// running bpf/backend.bpf.c (test/netns/lb-chance-world.ts draws the world). A SYN is answered
// where it lands; a packet of a connection that lives on the other backend is sent on to it and
// answered there; a packet of no connection is answered with RST by the last hop; a connection
// outlives a change of primary at the balancer. Answers come straight from the backends (direct
// server return), each recognised by its MAC address. Run by vitest as root.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { encodeHopList, GLB_GUE_PORT, type ChanceCounters } from '../../src/lb/index.js';
import { mustExecIn, requireNetnsPrivileges, teardownRun, waitFor } from '../../src/netns/index.js';
import { concat, ethernet, ipv4, tcp, TCP_FLAG, udp, type IpPacket } from '../fixtures/packets.js';
import { sysctl, TOOLS } from './attack-world.js';
import { balanceTo, buildChanceWorld, IP, SERVICE, SERVICE_PORT, type Backend, type ChanceWorld } from './lb-chance-world.js';

let world: ChanceWorld | undefined;
const w = (): ChanceWorld => world!;

beforeAll(async () => {
  requireNetnsPrivileges([...TOOLS, 'ethtool', 'ping', 'ss']);
  world = await buildChanceWorld();
}, 120_000);
afterAll(async () => {
  if (world) {
    await Promise.all([world.chance.b1.close(), world.chance.b2.close()]);
    for (const p of world.processes) await p.stop();
  }
  await teardownRun();
});
beforeEach(() => requireNetnsPrivileges([...TOOLS, 'ethtool', 'ping', 'ss']));

interface Segment {
  srcMac: string;
  src: string;
  dst: string;
  sport: number;
  dport: number;
  flags: number;
}

/** The IPv4 TCP segments among `frames`. */
function segments(frames: readonly Buffer[]): Segment[] {
  const out: Segment[] = [];
  for (const f of frames) {
    if (f.length < 54 || f.readUInt16BE(12) !== 0x0800 || f[23] !== 6) continue;
    const l4 = 14 + (f[14]! & 0x0f) * 4;
    out.push({
      srcMac: [...f.subarray(6, 12)].map((b) => b.toString(16).padStart(2, '0')).join(':'),
      src: [...f.subarray(26, 30)].join('.'),
      dst: [...f.subarray(30, 34)].join('.'),
      sport: f.readUInt16BE(l4),
      dport: f.readUInt16BE(l4 + 2),
      flags: f[l4 + 13]!,
    });
  }
  return out;
}

/** What the client received from the service to its port `port`, once something has come. */
async function answersTo(port: number): Promise<Segment[]> {
  let found: Segment[] = [];
  await waitFor(async () => {
    found = segments(await w().clientWire.frames('client')).filter((s) => s.src === SERVICE && s.dport === port);
    return found.length > 0;
  }, { what: `an answer from ${SERVICE} to the client's port ${port}`, timeoutMs: 10_000 });
  return found;
}

/** GUE from the balancer to `to`, carrying `inner` with the alternates `hops`. */
function fromBalancer(to: Backend, hops: readonly Backend[], inner: IpPacket): Uint8Array {
  const gue = encodeHopList({ protocol: 4, nextHop: 0, hops: hops.map((h) => IP[h]) });
  return ethernet({ src: w().lb.mac, dst: w()[to].mac },
    ipv4({ src: IP.lb, dst: IP[to] }, udp({ src: 50000, dst: GLB_GUE_PORT, payload: concat(gue, inner.bytes) })));
}

/** What `backend`'s kernel holds of the client's connection from `port` to the service (ss lines). */
async function heldBy(backend: Backend, port: number): Promise<string> {
  return (await mustExecIn(w()[backend].ns, 'ss', ['-Htn', 'state', 'all', 'src', `${SERVICE}:${SERVICE_PORT}`, 'dst', `${IP.client}:${port}`])).stdout.trim();
}

async function counters(): Promise<Record<Backend, ChanceCounters>> {
  return { b1: await w().chance.b1.counters(), b2: await w().chance.b2.counters() };
}

/** The counters that moved since `before`, by backend; chance_not_gue aside, which ARP and the
 * client's own answers (RST to a SYN-ACK it never asked for) move as well. */
async function moved(before: Record<Backend, ChanceCounters>): Promise<Record<Backend, Partial<ChanceCounters>>> {
  const after = await counters();
  const diff = (b: Backend) =>
    Object.fromEntries(Object.entries(after[b]).filter(([k, v]) => k !== 'chance_not_gue' && v !== before[b][k as keyof ChanceCounters]).map(([k, v]) => [k, v - before[b][k as keyof ChanceCounters]]));
  return { b1: diff('b1'), b2: diff('b2') };
}

describe('second chance on backends, real kernel TCP', () => {
  it('delivers a SYN to the backend it reaches, whose kernel answers from the service address', async () => {
    const before = await counters();
    await w().lbWire.send('eth0', [fromBalancer('b1', ['b2'], ipv4({ src: IP.client, dst: SERVICE }, tcp({ src: 41001, dst: SERVICE_PORT })))]);
    const answers = await answersTo(41001);
    expect(answers[0]).toMatchObject({ srcMac: w().b1.mac, sport: SERVICE_PORT, flags: TCP_FLAG.syn | TCP_FLAG.ack });
    expect(await moved(before)).toEqual({ b1: { chance_local_syn: 1 }, b2: {} });
    // b1 now holds a half-open connection: the client's RST to the SYN-ACK went to the balancer,
    // which has no hops yet and drops it. b1 would resend its SYN-ACK 1, 3, 7, 15 and 31 s later,
    // and once the balancer has hops the client's RST to one of them reaches b1 and counts
    // chance_local_socket there, in whichever later test is counting (seen: a 3.5 s wait with
    // hops b1, b2 counted it). So the client's RST goes the way it would (seq: the SYN's + 1),
    // and the test ends once b1 holds nothing of it.
    const rst = ipv4({ src: IP.client, dst: SERVICE }, tcp({ src: 41001, dst: SERVICE_PORT, flags: TCP_FLAG.rst, seq: 2 }));
    expect(await heldBy('b1', 41001)).toMatch(/^SYN-RECV /);
    await w().lbWire.send('eth0', [fromBalancer('b1', ['b2'], rst)]);
    await waitFor(async () => (await heldBy('b1', 41001)) === '', { what: 'b1 to drop the half-open connection from the client\'s port 41001', timeoutMs: 10_000 });
  });

  it('sends a packet of no connection on to the last hop, whose kernel answers RST', async () => {
    const before = await counters();
    const stray = ipv4({ src: IP.client, dst: SERVICE }, tcp({ src: 41002, dst: SERVICE_PORT, flags: TCP_FLAG.ack, seq: 5, ack: 7 }));
    await w().lbWire.send('eth0', [fromBalancer('b1', ['b2'], stray)]);
    const answers = await answersTo(41002);
    expect(answers[0]).toMatchObject({ srcMac: w().b2.mac, sport: SERVICE_PORT, flags: TCP_FLAG.rst });
    expect(await moved(before)).toEqual({ b1: { chance_forwarded: 1 }, b2: { chance_last_hop: 1 } });
  });

  it('finds a next hop the loader did not name in the kernel\'s neighbour table', async () => {
    await w().chance.b2.forgetNextHop(IP.b1);
    try {
      // The kernel's lookup helper answers only on a link that forwards IPv4.
      await sysctl(w().b2.ns, { 'net.ipv4.conf.eth0.forwarding': 1 });
      await mustExecIn(w().b2.ns, 'ping', ['-c', '1', '-W', '2', IP.b1]);
      const before = await counters();
      const stray = ipv4({ src: IP.client, dst: SERVICE }, tcp({ src: 41004, dst: SERVICE_PORT, flags: TCP_FLAG.ack, seq: 5, ack: 7 }));
      await w().lbWire.send('eth0', [fromBalancer('b2', ['b1'], stray)]);
      const answers = await answersTo(41004);
      expect(answers[0]).toMatchObject({ srcMac: w().b1.mac, sport: SERVICE_PORT, flags: TCP_FLAG.rst });
      expect(await moved(before)).toEqual({ b1: { chance_last_hop: 1 }, b2: { chance_forwarded: 1 } });
    } finally {
      await sysctl(w().b2.ns, { 'net.ipv4.conf.eth0.forwarding': 0 });
      await w().chance.b2.setNextHop({ address: IP.b1, mac: w().b1.mac });
    }
  });

  it('keeps a connection through a change of primary: the new primary sends its packets on to the backend that has it', async () => {
    const { tcp: client } = w();
    const ask = (cmd: Record<string, unknown>) => client.child.stdin!.write(`${JSON.stringify(cmd)}\n`);
    const reply = (conn: string) => client.waitForLine((l) => l.includes(`"conn":"${conn}"`) && /"event":"(data|error|close)"/.test(l), 15_000).then((l) => JSON.parse(l) as { event: string; data?: string });

    await balanceTo(w(), ['b2']);
    ask({ cmd: 'open', conn: 'old', address: SERVICE, port: SERVICE_PORT });
    ask({ cmd: 'send', conn: 'old', text: 'first' });
    expect(await reply('old')).toEqual({ event: 'data', conn: 'old', data: 'b2:first' });

    // b1 becomes the primary (as after a rebuild), b2 the row's previous backend, its secondary.
    await balanceTo(w(), ['b1', 'b2']);
    const before = await counters();
    ask({ cmd: 'send', conn: 'old', text: 'second' });
    expect(await reply('old')).toEqual({ event: 'data', conn: 'old', data: 'b2:second' });
    const m = await moved(before);
    expect({ b1forwarded: (m.b1.chance_forwarded ?? 0) > 0, b2local: (m.b2.chance_local_socket ?? 0) > 0, b1local: m.b1.chance_local_socket ?? 0 })
      .toEqual({ b1forwarded: true, b2local: true, b1local: 0 });

    // A connection opened now belongs to the new primary.
    ask({ cmd: 'open', conn: 'new', address: SERVICE, port: SERVICE_PORT });
    ask({ cmd: 'send', conn: 'new', text: 'third' });
    expect(await reply('new')).toEqual({ event: 'data', conn: 'new', data: 'b1:third' });
    ask({ cmd: 'send', conn: 'old', text: 'fourth' });
    expect(await reply('old')).toEqual({ event: 'data', conn: 'old', data: 'b2:fourth' });
  });

  it('keeps a connection whose handshake ended in a SYN cookie, which its listener vouches for', async () => {
    const { tcp: client } = w();
    const ask = (cmd: Record<string, unknown>) => client.child.stdin!.write(`${JSON.stringify(cmd)}\n`);
    // Cookies for every SYN: the kernel keeps no half-open socket, only the listener sees the ACK.
    for (const b of ['b1', 'b2'] as const) await sysctl(w()[b].ns, { 'net.ipv4.tcp_syncookies': 2 });
    try {
      await balanceTo(w(), ['b1', 'b2']);
      const before = await counters();
      ask({ cmd: 'open', conn: 'cookie', address: SERVICE, port: SERVICE_PORT });
      ask({ cmd: 'send', conn: 'cookie', text: 'baked' });
      const line = await client.waitForLine((l) => l.includes('"conn":"cookie"') && /"event":"(data|error|close)"/.test(l), 15_000);
      expect(JSON.parse(line)).toEqual({ event: 'data', conn: 'cookie', data: 'b1:baked' });
      // b1 sends on every packet of a connection it does not hold, and the previous test left one
      // on b2 ('old'). On a loaded machine a late packet of it (the client's delayed ACK, which
      // waits up to the connection's smoothed RTT, or a retransmission, or one the stand-in
      // balancer relays late) reaches b1 while this test counts: b1 counts it chance_forwarded, b2
      // chance_local_socket. So b1 may send packets on, but only ones b2 holds a connection for. A
      // packet of this connection sent on would count anything else at b2 (chance_last_hop, or
      // chance_local_cookie), as b2 holds no socket for it. Wait until b2 has counted at least what
      // b1 sent on (b1's counters are read first; a packet sent on just before `before` may count
      // at b2 only after it), then check what b2 counted.
      let m = await moved(before);
      await waitFor(async () => {
        m = await moved(before);
        return Object.values(m.b2).reduce((sum, n) => sum + (n ?? 0), 0) >= (m.b1.chance_forwarded ?? 0);
      }, { what: 'b2 to count every packet b1 sent on', timeoutMs: 10_000 });
      expect({ cookie: m.b1.chance_local_cookie, atB2: { ...m.b2, chance_local_socket: undefined } }).toEqual({ cookie: 1, atB2: {} });
    } finally {
      for (const b of ['b1', 'b2'] as const) await sysctl(w()[b].ns, { 'net.ipv4.tcp_syncookies': 1 });
    }
  });
});
