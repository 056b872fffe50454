// The pps bench's table and frames (bench/pps/table.ts, flow.ts), read by the one core
// (SliceView.explain): the 'flow' frames reach a 'glb' backend with a hop, back to the generator's end.
import { describe, expect, it } from 'vitest';

import { flowRow, flowSourcePort } from '../../bench/pps/flow.js';
import { compilePpsTable, ppsFrame, ppsTable, type Family } from '../../bench/pps/table.js';
import { lb } from '../../src/index.js';
import { native } from '../../src/native.js';

const DUT_MAC = '02:00:00:00:00:0b';
const GEN_MAC = '02:00:00:00:00:0a';
const ETHERNET = 14;
const OUTER = ETHERNET + 20 + 8; // Ethernet, outer IPv4, UDP

describe('the pps table', () => {
  const table = ppsTable(100);
  const view = new (native().SliceView)(compilePpsTable(100, DUT_MAC, GEN_MAC).image);

  it('gives a share of the flow-hash rows a hop (second chance), not all of them', () => {
    const ports = Array.from({ length: 2000 }, (_, i) => 20000 + i);
    const withHop = ports.filter((p) => { const r = flowRow(table, 4, p); return r.primary !== r.secondary; }).length;
    expect(withHop).toBeGreaterThan(0);
    expect(withHop).toBeLessThan(ports.length / 2);
  });

  for (const family of [4, 6] as Family[]) {
    it(`sends the IPv${family} 'flow' frame to the row's primary with its secondary as the hop, to the generator's end`, () => {
      const frame = ppsFrame({ family, verdict: 'flow', bytes: 64, srcMac: GEN_MAC, dstMac: DUT_MAC });
      expect(frame.length).toBe(64);
      const row = flowRow(table, family, flowSourcePort(table, family));
      const owners = table.owners();
      const address = (name: string): string => String((owners.get(name) as { address: { toString(): string } }).address);
      const { fate, output } = view.explain(frame);
      expect(fate).toBe('forward_server_gue');
      // The frame grows by the outer IPv4 and UDP headers, GUE's and GLB's words and one hop.
      expect(output!.length).toBe(64 + 20 + 8 + 4 + 4 + 4);
      expect([...output!.subarray(0, 6)].map((b) => b.toString(16).padStart(2, '0')).join(':')).toBe(GEN_MAC);
      expect([...output!.subarray(30, 34)].join('.')).toBe(address(row.primary));
      expect(lb.decodeHopList(output!.subarray(OUTER))).toEqual({ protocol: family === 4 ? 4 : 41, nextHop: 0, hops: [address(row.secondary)], length: 12 });
      // The reflector knows a test frame by its last two bytes: the device leaves them.
      expect([...output!.subarray(-2)]).toEqual([0x50, 0x53]);
    });
  }

  it("still sends the 'server' frame to a port slice's server in GUE variant 0", () => {
    const { fate, output } = view.explain(ppsFrame({ family: 4, verdict: 'server', bytes: 64, srcMac: GEN_MAC, dstMac: DUT_MAC }));
    expect(fate).toBe('forward_server_gue');
    expect([...output!.subarray(30, 34)].join('.')).toMatch(/^10\.1\.0\.\d+$/);
  });
});
