// The golden packets (test/fixtures/golden.ts) through the real XDP program under
// BPF_PROG_TEST_RUN (native/test/steer_run.c, valgrind), the golden table published into its maps
// as a router publishes it: in the express lane every packet meets its golden fate with the
// golden bytes (XDP_PASS, XDP_TX or XDP_DROP); in the AF_XDP lane the kernel's packets are the
// same and the rest go to the workers untouched. Needs root.
import { beforeAll, describe, expect, it } from 'vitest';

import { goldenCompiled, goldenPackets, KERNEL_FATES, TRANSMIT_FATES } from '../fixtures/golden.js';
import { hex } from '../fixtures/packets.js';
import { SteerScript, TEST_RUN_FRAME_MAX, XDP } from './steer-run.js';

const packets = goldenPackets().filter((p) => p.notForXdp === undefined);
const script = new SteerScript();
const published = script.table(goldenCompiled().image);
script.mode('express');
const express = packets.map((p) => script.run(p.input));
script.mode('afxdp');
const afxdp = packets.map((p) => script.run(p.input));

beforeAll(() => {
  script.execute();
}, 300_000);

describe('golden packets through the XDP program (BPF_PROG_TEST_RUN, valgrind)', () => {
  it('takes the golden table', () => {
    expect(script.answer(published)).toEqual({ ok: true, generation: 7 });
  });

  it('leaves out only frames no XDP program of ours can see, each with its reason', () => {
    const left = goldenPackets().filter((p) => p.notForXdp !== undefined);
    expect(left.map((p) => p.input.length > TEST_RUN_FRAME_MAX)).toEqual(left.map(() => true));
    expect(packets.every((p) => p.input.length <= TEST_RUN_FRAME_MAX)).toBe(true);
  });

  packets.forEach((packet, i) => {
    const kernel = KERNEL_FATES.includes(packet.fate);
    const transmit = TRANSMIT_FATES.includes(packet.fate);

    describe(packet.name, () => {
      it(`express lane: ${packet.fate}`, () => {
        const answer = script.answer(express[i]!);
        expect(answer.ok, JSON.stringify(answer)).toBe(true);
        expect({ fates: answer.fates, steer: answer.steer }).toEqual({ fates: { [packet.fate]: 1 }, steer: { packets: 1 } });
        expect(answer.retval).toBe(kernel ? XDP.PASS : transmit ? XDP.TX : XDP.DROP);
        if (packet.output !== null) expect(answer.out).toBe(hex(packet.output));
      });

      it(kernel ? `AF_XDP lane: ${packet.fate} in XDP` : 'AF_XDP lane: to the workers, untouched', () => {
        const answer = script.answer(afxdp[i]!);
        expect(answer.ok, JSON.stringify(answer)).toBe(true);
        if (kernel) {
          expect({ fates: answer.fates, steer: answer.steer }).toEqual({ fates: { [packet.fate]: 1 }, steer: { packets: 1 } });
          expect(answer.retval).toBe(XDP.PASS);
          expect(answer.out).toBe(hex(packet.output!));
        } else {
          // No socket is bound in a test run: the redirect finds none, and a router's packet
          // never falls back to the kernel.
          expect({ fates: answer.fates, steer: answer.steer }).toEqual({ fates: {}, steer: { packets: 1, drop_no_socket: 1 } });
          expect(answer.retval).toBe(XDP.DROP);
          expect(answer.out).toBe(hex(packet.input));
        }
      });
    });
  });
});
