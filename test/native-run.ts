// Runs a C test binary from build/native under valgrind and returns its "N passed, M failed"
// summary; used by the tests that wrap the native test programs.
import { spawnSync } from 'node:child_process';

export function runUnderValgrind(binary: string, args: string[] = []): { output: string; status: number | null } {
  const result = spawnSync(
    'valgrind',
    [
      '--error-exitcode=99',
      '--leak-check=full',
      '--errors-for-leak-kinds=definite,indirect',
      '--suppressions=native/test/libbpf-valgrind.supp',
      '-q',
      `build/native/${binary}`,
      ...args,
    ],
    { encoding: 'utf8', timeout: 300_000 },
  );
  return { output: `${result.stdout}${result.stderr}`, status: result.status };
}
