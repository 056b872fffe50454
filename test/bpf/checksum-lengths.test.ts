// The XDP program's packet sums (bpf/csum.h: 512-byte chunks, then pieces of 256 down to 4 bytes,
// then a ragged tail) at every length from 0 to 1,100 bytes, through the real program under
// BPF_PROG_TEST_RUN (native/test/steer_run.c, valgrind): the UDP checksum of GUE sent over IPv6
// is right on the wire, and GUE received over IPv6 with a right checksum is unwrapped, with a
// wrong one dropped. Needs root.
import { beforeAll, describe, expect, it } from 'vitest';

import { CLIENT6, fromPeer, goldenCompiled, HOST6, PEER6, PORTS, reply, SHARED6 } from '../fixtures/golden-world.js';
import { checksum, fromHex, gue0, ipv6, udp } from '../fixtures/packets.js';
import { SteerScript, XDP } from './steer-run.js';

const LENGTHS = Array.from({ length: 1101 }, (_, n) => n);

/** The UDP checksum of an IPv6 frame without extension headers, summed over what it covers with
 * the field itself: 0xffff (RFC 1071, RFC 8200 8.1) when it is right. */
function udp6Sum(frame: Uint8Array): number {
  const ip = frame.subarray(14);
  const segment = ip.subarray(40, 40 + ((ip[4]! << 8) | ip[5]!));
  const pseudo = new Uint8Array(40);
  pseudo.set(ip.subarray(8, 40), 0);
  new DataView(pseudo.buffer).setUint32(32, segment.length);
  pseudo[39] = 17;
  return ~checksum(pseudo, segment) & 0xffff;
}

/** GUE over IPv6 from data centre B to this host, carrying a UDP datagram of `n` payload bytes
 * for a local slice; `wrong`: the outer checksum off by one. */
function gueFromPeer(n: number, wrong: boolean): Uint8Array {
  const inner = ipv6({ src: CLIENT6, dst: SHARED6, hopLimit: 57 }, udp({ src: 53, dst: PORTS.self + 1, payload: new Uint8Array(n).map((_, i) => (i * 7) & 0xff) }));
  const frame = fromPeer({ outer: 6, src: PEER6, dst: HOST6, payload: gue0(inner) });
  if (wrong) {
    const at = 14 + 40 + 6;
    const sum = ((frame[at]! << 8) | frame[at + 1]!) ^ 0x0100;
    frame[at] = sum >> 8;
    frame[at + 1] = sum & 0xff;
  }
  return frame;
}

const script = new SteerScript();
script.table(goldenCompiled().image);
// a3 is reached in GUE over IPv6: the program sums the whole datagram it sends.
const sent = LENGTHS.map((n) => script.run(reply(6, PORTS.a3 + 5, { udp: true, payload: n }).frame));
const received = LENGTHS.map((n) => script.run(gueFromPeer(n, false)));
const corrupted = LENGTHS.filter((n) => n % 7 === 0).map((n) => script.run(gueFromPeer(n, true)));

beforeAll(() => {
  script.execute();
}, 600_000);

describe('packet sums of the XDP program at every length (BPF_PROG_TEST_RUN, valgrind)', () => {
  it('sends GUE over IPv6 with a right UDP checksum, the same bytes as the user-space core', () => {
    const wrong = LENGTHS.filter((_, i) => {
      const a = script.answer(sent[i]!);
      return !(a.retval === XDP.TX && a.out !== undefined && udp6Sum(fromHex(a.out)) === 0xffff && a.core?.out === a.out);
    });
    expect(wrong).toEqual([]);
  });

  it('unwraps GUE over IPv6 whose UDP checksum is right', () => {
    const wrong = LENGTHS.filter((_, i) => {
      const a = script.answer(received[i]!);
      return !(a.retval === XDP.PASS && a.fates?.decap_local === 1);
    });
    expect(wrong).toEqual([]);
  });

  it('drops GUE over IPv6 whose UDP checksum is wrong', () => {
    const kept = corrupted.filter((index) => {
      const a = script.answer(index);
      return !(a.retval === XDP.DROP && a.fates?.drop_malformed === 1);
    });
    expect(kept).toEqual([]);
  });
});
