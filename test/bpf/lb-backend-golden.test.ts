// Second chance on a backend (bpf/backend.bpf.c) under BPF_PROG_TEST_RUN, byte for byte: a packet
// of no local connection goes on to the next hop (outer addresses and hop index rewritten,
// checksums patched to what a fresh build of the frame sums to), a SYN and a packet with no hop
// left are unwrapped, and each outcome is counted by name. Needs root.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { encodeHopList, GLB_GUE_PORT, SecondChanceBackend, type ChanceCounters } from '../../src/lb/index.js';
import { concat, ethernet, hex, ipv4, ipv6, tcp, TCP_FLAG, udp, type Checksum, type IpPacket } from '../fixtures/packets.js';
import { XDP } from './steer-run.js';

const LB = { ip: '10.9.0.1', mac: '02:00:00:00:09:01' };
const B1 = { ip: '10.9.0.11', mac: '02:00:00:00:09:11' };
const B2 = { ip: '10.9.0.12', mac: '02:00:00:00:09:12' };
const B3 = { ip: '10.9.0.13', mac: '02:00:00:00:09:13' };
const CLIENT = '198.51.100.7';
const SERVICE = '192.0.2.80';

const ack = (payload = 'hello'): IpPacket =>
  ipv4({ src: CLIENT, dst: SERVICE, id: 7 }, tcp({ src: 41000, dst: 80, flags: TCP_FLAG.ack | TCP_FLAG.psh, seq: 1000, ack: 2000, payload: new TextEncoder().encode(payload) }));
const syn = (): IpPacket => ipv4({ src: CLIENT, dst: SERVICE, id: 8 }, tcp({ src: 41001, dst: 80 }));

interface Wrap {
  from: { ip: string; mac: string };
  to: { ip: string; mac: string };
  hops: string[];
  nextHop: number;
  checksum?: Checksum;
}

/** A GLB GUE frame as a load balancer (or an earlier backend) sends it. */
function wrapped(inner: IpPacket, w: Wrap): Uint8Array {
  const gue = encodeHopList({ protocol: inner.version === 4 ? 4 : 41, nextHop: w.nextHop, hops: w.hops });
  return ethernet(
    { src: w.from.mac, dst: w.to.mac },
    ipv4({ src: w.from.ip, dst: w.to.ip, id: 0x1234, dontFragment: true, ttl: 61 },
      udp({ src: 50123, dst: GLB_GUE_PORT, payload: concat(gue, inner.bytes), checksum: w.checksum ?? 'auto' })),
  );
}

let backend: SecondChanceBackend;

async function run(frame: Uint8Array): Promise<{ action: number; out: string; moved: Partial<ChanceCounters> }> {
  const before = await backend.counters();
  const { action, frame: out } = await backend.testRun(frame);
  const after = await backend.counters();
  const moved: Partial<ChanceCounters> = {};
  for (const [name, n] of Object.entries(after) as [keyof ChanceCounters, number][]) if (n !== before[name]) moved[name] = n - before[name];
  return { action, out: hex(out), moved };
}

beforeAll(async () => {
  backend = await SecondChanceBackend.open({ nextHops: [{ address: B2.ip, mac: B2.mac }, { address: B3.ip, mac: B3.mac }] });
}, 60_000);

afterAll(async () => {
  await backend?.close();
});

describe('second chance on a backend (bpf/backend.bpf.c, BPF_PROG_TEST_RUN)', () => {
  for (const checksum of ['auto', 'zero'] as const) {
    it(`sends a packet of no local connection on to the next hop (UDP checksum ${checksum})`, async () => {
      const r = await run(wrapped(ack(), { from: LB, to: B1, hops: [B2.ip, B3.ip], nextHop: 0, checksum }));
      // As B1 would send it: from B1's MAC and address to B2's, the hop index one further.
      const expected = wrapped(ack(), { from: B1, to: B2, hops: [B2.ip, B3.ip], nextHop: 1, checksum });
      expect(r).toEqual({ action: XDP.TX, out: hex(expected), moved: { chance_forwarded: 1 } });
    });
  }

  it('sends it on again from the second backend to the third', async () => {
    const r = await run(wrapped(ack(), { from: B1, to: B2, hops: [B2.ip, B3.ip], nextHop: 1 }));
    expect(r).toEqual({ action: XDP.TX, out: hex(wrapped(ack(), { from: B2, to: B3, hops: [B2.ip, B3.ip], nextHop: 2 })), moved: { chance_forwarded: 1 } });
  });

  it('sends on and unwraps IPv6 inside as it does IPv4 (hops and outer header stay IPv4)', async () => {
    const ack6 = ipv6({ src: '2001:db8::7', dst: '2001:db8::80' }, tcp({ src: 41000, dst: 80, flags: TCP_FLAG.ack, seq: 3, ack: 4 }));
    const syn6 = ipv6({ src: '2001:db8::7', dst: '2001:db8::80' }, tcp({ src: 41003, dst: 80 }));
    expect(await run(wrapped(ack6, { from: LB, to: B1, hops: [B2.ip], nextHop: 0 })))
      .toEqual({ action: XDP.TX, out: hex(wrapped(ack6, { from: B1, to: B2, hops: [B2.ip], nextHop: 1 })), moved: { chance_forwarded: 1 } });
    expect(await run(wrapped(syn6, { from: LB, to: B1, hops: [B2.ip], nextHop: 0 })))
      .toEqual({ action: XDP.PASS, out: hex(ethernet({ src: LB.mac, dst: B1.mac }, syn6)), moved: { chance_local_syn: 1 } });
  });

  it('unwraps a packet with no hop left for the kernel (which answers RST)', async () => {
    const r = await run(wrapped(ack(), { from: B2, to: B3, hops: [B2.ip, B3.ip], nextHop: 2 }));
    expect(r).toEqual({ action: XDP.PASS, out: hex(ethernet({ src: B2.mac, dst: B3.mac }, ack())), moved: { chance_last_hop: 1 } });
  });

  it('unwraps a SYN for the kernel, hops left or not', async () => {
    const r = await run(wrapped(syn(), { from: LB, to: B1, hops: [B2.ip], nextHop: 0 }));
    expect(r).toEqual({ action: XDP.PASS, out: hex(ethernet({ src: LB.mac, dst: B1.mac }, syn())), moved: { chance_local_syn: 1 } });
  });

  it('unwraps UDP, which has no connection to look for', async () => {
    const inner = ipv4({ src: CLIENT, dst: SERVICE }, udp({ src: 5000, dst: 53, payload: new Uint8Array([1, 2, 3]) }));
    const r = await run(wrapped(inner, { from: LB, to: B1, hops: [B2.ip], nextHop: 0 }));
    expect(r).toEqual({ action: XDP.PASS, out: hex(ethernet({ src: LB.mac, dst: B1.mac }, inner)), moved: { chance_local_other: 1 } });
  });

  it('drops a packet for a next hop it has no MAC address for', async () => {
    const frame = wrapped(ack(), { from: LB, to: B1, hops: ['10.9.0.99'], nextHop: 0 });
    expect(await run(frame)).toEqual({ action: XDP.DROP, out: hex(frame), moved: { chance_no_neighbour: 1 } });
  });

  it('drops GUE to the GLB port that is no hop list: flags set, hop count not Hlen - 1', async () => {
    const flags = wrapped(ack(), { from: LB, to: B1, hops: [B2.ip], nextHop: 0, checksum: 'zero' });
    flags[14 + 20 + 8 + 3] = 1;
    const count = wrapped(ack(), { from: LB, to: B1, hops: [B2.ip], nextHop: 0, checksum: 'zero' });
    count[14 + 20 + 8 + 7] = 2;
    expect(await run(flags)).toEqual({ action: XDP.DROP, out: hex(flags), moved: { chance_malformed: 1 } });
    expect(await run(count)).toEqual({ action: XDP.DROP, out: hex(count), moved: { chance_malformed: 1 } });
  });

  it('passes other traffic untouched', async () => {
    const frame = ethernet({ src: LB.mac, dst: B1.mac }, ipv4({ src: LB.ip, dst: B1.ip }, udp({ dst: 53, payload: new Uint8Array([9]) })));
    expect(await run(frame)).toEqual({ action: XDP.PASS, out: hex(frame), moved: { chance_not_gue: 1 } });
  });
});
