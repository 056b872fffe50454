// native/router frees the tables it replaces by itself (native/test/router_reclaim_test.c): a
// router on a veth in a namespace the test program unshares, its worker flooded, 60 tables
// published, every replaced one finished without a call to su_router_reclaim. Run as built (the
// flood keeps the worker in a batch at some publishes) and under valgrind (no memory error or leak).
import { spawnSync } from 'node:child_process';

import { describe, expect, it } from 'vitest';

import { runUnderValgrind } from '../native-run.js';

const ARGS = ['build/native/bpf/steer.bpf.o'];

describe('native/router reclaims retired tables itself', () => {
  it('finishes every replaced table while the worker is busy, nobody asking', () => {
    const result = spawnSync('build/native/router_reclaim_test', ARGS, { encoding: 'utf8', timeout: 120_000 });
    const output = `${result.stdout}${result.stderr}`;
    expect(output).not.toMatch(/^not ok/m);
    expect(output).toMatch(/^6 passed, 0 failed$/m);
    expect(result.status, output).toBe(0);
  });

  it('does so with no memory error or leak (valgrind)', () => {
    const { output, status } = runUnderValgrind('router_reclaim_test', ARGS);
    expect(output).not.toMatch(/^not ok/m);
    expect(output).toMatch(/^6 passed, 0 failed$/m);
    expect(status, output).toBe(0);
  });
});
