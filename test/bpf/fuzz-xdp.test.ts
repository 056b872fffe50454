// The route fuzzer's inputs (seeds, regressions, and whatever long runs collected) through the XDP
// program itself with BPF_PROG_TEST_RUN, beside the core as the XDP program decides
// (native/fuzz/xdp_replay.c): same fate counted, same verdict, same bytes. Needs root to load BPF.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

import { expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

it('the XDP program decides every fuzz input frame as su_core_route_as_xdp does', () => {
  const r = spawnSync('bash', ['native/fuzz/xdp_replay.sh'], { cwd: ROOT, encoding: 'utf8' });
  const output = `${r.stdout}\n${r.stderr}`;
  expect(output).not.toMatch(/^not ok/m);
  const summary = /^xdp_replay: (\d+) frames, (\d+) differ/m.exec(r.stdout);
  expect(summary, output).not.toBeNull();
  // Every seed reached the program (the golden packets and one frame per rule at least).
  expect(Number(summary![1])).toBeGreaterThan(150);
  expect(Number(summary![2])).toBe(0);
  expect(r.status, output).toBe(0);
}, 120_000);
