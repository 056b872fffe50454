// The XDP program through BPF_PROG_TEST_RUN (native/test/steer_prog_test.c): golden packets in,
// verdicts and counters out; run under valgrind. Needs root to load BPF.
import { describe, expect, it } from 'vitest';

import { runUnderValgrind } from '../native-run.js';

describe('steer.bpf.o under BPF_PROG_TEST_RUN (valgrind)', () => {
  it('passes unmanaged and unparsable packets, captures matching ones', () => {
    const { output, status } = runUnderValgrind('steer_prog_test', ['build/native/bpf/steer.bpf.o']);
    expect(output).not.toMatch(/^not ok/m);
    expect(output).toMatch(/^\d+ passed, 0 failed$/m);
    expect(status, output).toBe(0);
  });
});
