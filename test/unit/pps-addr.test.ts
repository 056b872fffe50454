// The pps bench's address-slice tables and frames (bench/pps/addr.ts), read by the one core
// (SliceView.explain): every frame conforms to the filter and is sent to a server, back to the
// generator's end; the port-slice frames beside them too.
import { describe, expect, it } from 'vitest';

import { addrFrame, addrHeads, compileAddrPpsTable } from '../../bench/pps/addr.js';
import { native } from '../../src/native.js';

const DUT_MAC = '02:00:00:00:00:0b';
const GEN_MAC = '02:00:00:00:00:0a';
const mac = (b: Uint8Array): string => [...b].map((x) => x.toString(16).padStart(2, '0')).join(':');

describe('the pps address-slice rows', () => {
  const filtered = new (native().SliceView)(compileAddrPpsTable({ slices: 1024, filter: true }, DUT_MAC, GEN_MAC).image);
  const open = new (native().SliceView)(compileAddrPpsTable({ slices: 1024, filter: false }, DUT_MAC, GEN_MAC).image);

  it('sends each frame, filter on or off, to a server in GUE, to the generator, its mark kept', () => {
    for (const view of [filtered, open]) {
      for (const i of [0, 1, 4095, 65535]) {
        const frame = addrFrame(i, GEN_MAC, DUT_MAC);
        expect(frame.length).toBe(64);
        const { fate, output } = view.explain(frame);
        expect(fate).toBe('forward_server_gue');
        expect(mac(output!.subarray(0, 6))).toBe(GEN_MAC);
        expect([...output!.subarray(30, 34)].join('.')).toMatch(/^10\.4\.0\.[1-4]$/);
        expect([...output!.subarray(-2)]).toEqual([0x50, 0x53]);
      }
    }
  });

  it('the filter is on: the same frame from another source is dropped', () => {
    const frame = addrFrame(7, GEN_MAC, DUT_MAC);
    frame.set(addrFrame(8, GEN_MAC, DUT_MAC).subarray(22, 38), 22); // the IPv6 source of client 8
    expect(filtered.explain(frame).fate).toBe('drop_ssa_source');
    expect(open.explain(frame).fate).toBe('forward_server_gue');
  });

  it('spreads the destinations over the slices: 1,024 frames reach most of 1,024 slices', () => {
    const slices = new Set<number>();
    for (let i = 0; i < 1024; i++) {
      const f = addrFrame(i, GEN_MAC, DUT_MAC);
      slices.add(((f[14 + 24 + 8]! << 8) | f[14 + 24 + 9]!) >> 6); // the 10 bits after the /64
    }
    // 1,024 draws of 1,024 slices reach ~63% of them (1 - 1/e) when uniform.
    expect(slices.size).toBeGreaterThan(550);
  });

  it('sends the port-slice frames of the same shape to a server of that table, in GUE over IPv4', () => {
    const ports = new (native().SliceView)(compileAddrPpsTable({ slices: 256, filter: false, ports: true }, DUT_MAC, GEN_MAC).image);
    for (const i of [0, 5, 15]) {
      const { fate, output } = ports.explain(addrFrame(i, GEN_MAC, DUT_MAC, true));
      expect(fate).toBe('forward_server_gue');
      expect([...output!.subarray(30, 34)].join('.')).toMatch(/^10\.1\.0\.\d+$/);
      expect(output!.length).toBe(64 + 20 + 8 + 4);
    }
  });

  it("writes the reflector's heads: the frames back to back", () => {
    const heads = addrHeads(GEN_MAC, DUT_MAC, 4);
    expect(heads.length).toBe(4 * 64);
    expect([...heads.subarray(128, 192)]).toEqual([...addrFrame(2, GEN_MAC, DUT_MAC)]);
  });
});
