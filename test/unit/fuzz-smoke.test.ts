// The fuzzers of the C core (native/fuzz/: su_core_route on arbitrary frames and su_view_build on
// arbitrary table images, under libFuzzer with ASan, UBSan and a reference model) for a few
// seconds each: their seeds, then whatever long runs (`npm run fuzz`) have collected, then
// mutations. A crash, a sanitizer report or a disagreement with the model fails the test and
// leaves the reproducer in build/fuzz/crashes/.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { beforeAll, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
// run.sh's own default; another directory keeps an experiment away from the real corpus.
const OUT = process.env.SU_FUZZ_OUT ?? 'build/fuzz';
const CRASHES = join(ROOT, OUT, 'crashes');
const SECONDS = 5;

// The sanitizer builds of a fresh checkout take a minute or more on a busy machine: built first,
// under a budget of their own, so that the run's timeout measures the fuzzers alone.
beforeAll(() => {
  const r = spawnSync('bash', ['native/fuzz/build.sh', OUT], { cwd: ROOT, encoding: 'utf8' });
  expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
}, 600_000);

const crashes = (): string[] => (existsSync(CRASHES) ? readdirSync(CRASHES) : []);

it(`fuzz_route and fuzz_view run ${SECONDS} s each without a crash`, () => {
  const before = crashes();
  // Not through `npm run fuzz`: the suite's pretest has bootstrapped already.
  const r = spawnSync('bash', ['native/fuzz/run.sh', '--smoke', String(SECONDS)], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, SU_FUZZ_OUT: OUT } });
  const found = crashes().filter((f) => !before.includes(f));
  expect(found, `new reproducers in ${CRASHES}:\n${r.stderr}`).toEqual([]);
  expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
  for (const target of ['route', 'view']) {
    // Executions happened (libFuzzer ran and mutated), and the seeds reached the core.
    const line = new RegExp(`^fuzz_${target}: ${SECONDS} s, (\\d+) executions .*cov (\\d+) edges.*, no crash$`, 'm').exec(r.stdout);
    expect(line, r.stdout).not.toBeNull();
    expect(Number(line![1])).toBeGreaterThan(1000);
    expect(Number(line![2])).toBeGreaterThan(200);
  }
}, 120_000);
