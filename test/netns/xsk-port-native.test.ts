// native/xsk without Node, under valgrind (native/test/xsk_port_test.c): a port on a veth in a
// network namespace the test program unshares for itself, a C batch handler bouncing 2000
// frames byte for byte, frames allocated and submitted from another thread, counters, close.
import { describe, expect, it } from 'vitest';

import { runUnderValgrind } from '../native-run.js';

describe('native/xsk end to end (valgrind)', () => {
  it('bounces, transmits, counts and closes with no memory error or leak', () => {
    const { output, status } = runUnderValgrind('xsk_port_test', ['build/native/bpf/steer.bpf.o']);
    expect(output).not.toMatch(/^not ok/m);
    expect(output).toMatch(/^\d+ passed, 0 failed$/m);
    expect(status, output).toBe(0);
  });
});
