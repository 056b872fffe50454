// The golden packets (test/fixtures/golden.ts) through the userspace fast path: a table compiled
// by src/slices, checked and indexed by native/core, each packet decided by SliceView.explain.
// No root needed.
import { describe, expect, it } from 'vitest';

import { native } from '../../src/native.js';
import { goldenCompiled, goldenPackets } from '../fixtures/golden.js';
import { hex } from '../fixtures/packets.js';

describe('golden packets through the fast path', () => {
  const view = new (native().SliceView)(goldenCompiled().image);

  it('carries the generation it was compiled with', () => {
    expect(view.generation()).toBe(7n);
  });

  for (const packet of goldenPackets()) {
    it(packet.name, () => {
      const result = view.explain(packet.input);
      expect(result.fate).toBe(packet.fastPath.fate);
      if (packet.fastPath.output === undefined) {
        expect(result.output).toBeNull();
      } else {
        expect(result.output && hex(result.output)).toBe(hex(packet.fastPath.output));
      }
    });
  }
});
