// The fuzzers of the C core (native/fuzz/: su_core_route on arbitrary frames, su_view_build on
// arbitrary table images; libFuzzer with ASan and UBSan) for 10 s each from their seeds: a crash,
// a sanitizer report or a broken invariant fails the run. Long runs: `npm run fuzz`.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

import { expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

it('fuzz_route and fuzz_view run 10 s each from their seeds without a crash', () => {
  const r = spawnSync('bash', ['native/fuzz/run.sh', '10'], { cwd: ROOT, encoding: 'utf8' });
  expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
  expect(r.stdout).toMatch(/^fuzz_route: 10 s, \d+ executions, coverage \d+ edges, corpus \d+ inputs, no crash$/m);
  expect(r.stdout).toMatch(/^fuzz_view: 10 s, \d+ executions, coverage \d+ edges, corpus \d+ inputs, no crash$/m);
}, 180_000);
