// The golden packets (test/fixtures/golden.ts) through the user-space core: a table compiled by
// src/slices, checked and indexed by native/core, each packet decided by SliceView.explain both
// ways: as the XDP program decides (the golden expectation itself) and as a worker of the AF_XDP
// lane does (derived: what is the kernel's is drop_local there). No root needed.
import { describe, expect, it } from 'vitest';

import { native } from '../../src/native.js';
import { goldenCompiled, goldenPackets } from '../fixtures/golden.js';
import { hex } from '../fixtures/packets.js';

const show = (bytes: Uint8Array | null | undefined): string | null => (bytes ? hex(bytes) : null);

describe('golden packets through the user-space core', () => {
  const view = new (native().SliceView)(goldenCompiled().image);

  it('carries the generation it was compiled with', () => {
    expect(view.generation()).toBe(7n);
  });

  for (const packet of goldenPackets()) {
    describe(packet.name, () => {
      it(`as the XDP program decides: ${packet.fate}`, () => {
        const result = view.explain(packet.input, true);
        expect({ fate: result.fate, output: show(result.output) }).toEqual({ fate: packet.fate, output: show(packet.output) });
      });

      it(`as a worker decides: ${packet.fastPath.fate}`, () => {
        const result = view.explain(packet.input);
        expect({ fate: result.fate, output: show(result.output) }).toEqual({ fate: packet.fastPath.fate, output: show(packet.fastPath.output) });
      });
    });
  }
});
