// The balancer's side of second chance, read by the TypeScript side: what the one core sends to a
// 'glb' owner (test/fixtures/golden-glb.ts) decoded by lb.decodeHopList, the public reader of GLB
// director's header, so that the encoder in C and the decoder in TypeScript are seen to agree.
import { describe, expect, it } from 'vitest';

import { lb } from '../../src/index.js';
import { native } from '../../src/native.js';
import { goldenCompiled } from '../fixtures/golden.js';
import { glbSyn } from '../fixtures/golden-glb.js';
import { G5_4, G6_4 } from '../fixtures/golden-world.js';
import { hex } from '../fixtures/packets.js';

const UDP_PAYLOAD = 14 + 20 + 8; // Ethernet, outer IPv4, UDP

describe("the 'glb' encapsulation, read by lb.decodeHopList", () => {
  const view = new (native().SliceView)(goldenCompiled().image);

  it("names the row's secondary as the one hop, the next hop index 0, then the inner packet", () => {
    const { frame, inner } = glbSyn(4, 40002);
    const out = view.explain(frame).output!;
    const payload = out.subarray(UDP_PAYLOAD);
    const list = lb.decodeHopList(payload);
    expect(list).toEqual({ protocol: 4, nextHop: 0, hops: [G5_4], length: 12 });
    expect(hex(payload.subarray(list.length))).toBe(hex(inner.bytes));
    // Outer destination: the primary, g6. A backend without the flow sends it to the hop.
    expect([...out.subarray(30, 34)].join('.')).toBe(G6_4);
    expect(lb.advanceHop(new Uint8Array(payload))).toBe(G5_4);
  });

  it('carries IPv6 as Proto 41 under the same IPv4 hop list', () => {
    const { frame, inner } = glbSyn(6, 40003);
    const payload = view.explain(frame).output!.subarray(UDP_PAYLOAD);
    const list = lb.decodeHopList(payload);
    expect(list).toEqual({ protocol: 41, nextHop: 0, hops: [G6_4], length: 12 });
    expect(hex(payload.subarray(list.length))).toBe(hex(inner.bytes));
  });

  it('writes an empty list when the row\'s secondary is its primary: no hop to try', () => {
    const payload = view.explain(glbSyn(4, 40003).frame).output!.subarray(UDP_PAYLOAD);
    expect(lb.decodeHopList(payload)).toEqual({ protocol: 4, nextHop: 0, hops: [], length: 8 });
    expect(lb.advanceHop(new Uint8Array(payload))).toBeNull();
  });
});
