// The balancer and the backend programs together under BPF_PROG_TEST_RUN: what the one core sends to
// a 'glb' owner (test/fixtures/golden-glb.ts) is what bpf/backend.bpf.c reads, so a primary without
// the flow's connection sends a packet on to the row's secondary, and unwraps a SYN. Needs root.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { SecondChanceBackend } from '../../src/lb/index.js';
import { native } from '../../src/native.js';
import { goldenCompiled } from '../fixtures/golden.js';
import { glbSyn } from '../fixtures/golden-glb.js';
import { G5_4, G5_MAC, G6_MAC, HOST_MAC } from '../fixtures/golden-world.js';
import { checksum, ethernet, hex, macBytes } from '../fixtures/packets.js';
import { XDP } from './steer-run.js';

let backend: SecondChanceBackend;

beforeAll(async () => {
  backend = await SecondChanceBackend.open({ nextHops: [{ address: G5_4, mac: G5_MAC }] });
}, 60_000);

afterAll(async () => {
  await backend?.close();
});

/** `sent` as its first hop (g6) forwards it to the next (g5): GLB's step, checksum summed afresh. */
function forwarded(sent: Uint8Array): Uint8Array {
  const out = new Uint8Array(sent);
  out.set(macBytes(G5_MAC), 0);
  out.set(macBytes(G6_MAC), 6);
  out.set(sent.subarray(30, 34), 26); // the old destination becomes the source
  out.set(G5_4.split('.').map(Number), 30);
  out[14 + 20 + 8 + 6] = 1; // next hop index
  out[24] = 0;
  out[25] = 0;
  const sum = checksum(out.subarray(14, 34));
  out[24] = sum >> 8;
  out[25] = sum & 0xff;
  return out;
}

describe("a 'glb' primary reads the balancer's hop list (steer core, then bpf/backend.bpf.c)", () => {
  const view = new (native().SliceView)(goldenCompiled().image);

  it("sends a packet of no connection on to the row's secondary", async () => {
    const sent = view.explain(glbSyn(4, 40002, 5).frame).output!;
    const before = await backend.counters();
    const r = await backend.testRun(sent);
    const after = await backend.counters();
    expect({ action: r.action, out: hex(r.frame), forwarded: after.chance_forwarded - before.chance_forwarded })
      .toEqual({ action: XDP.TX, out: hex(forwarded(sent)), forwarded: 1 });
  });

  it('unwraps a SYN for its own kernel', async () => {
    const { frame, inner } = glbSyn(4, 40002);
    const r = await backend.testRun(view.explain(frame).output!);
    expect({ action: r.action, out: hex(r.frame) }).toEqual({ action: XDP.PASS, out: hex(ethernet({ src: HOST_MAC, dst: G6_MAC }, inner)) });
  });
});
