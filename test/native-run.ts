// Runs a C test binary from build/native under valgrind (optionally feeding it `input`) and
// returns what it printed; used by the tests that wrap the native test programs.
import { spawnSync } from 'node:child_process';

export function runUnderValgrind(binary: string, args: string[] = [], input?: string): { output: string; status: number | null; stdout: string } {
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
    // Drivers answer a JSON line per command, frames in hex: far past spawnSync's 1 MiB default.
    { encoding: 'utf8', timeout: 300_000, maxBuffer: 512 * 1024 * 1024, ...(input === undefined ? {} : { input }) },
  );
  return { output: `${result.stdout}${result.stderr}`, status: result.status, stdout: result.stdout };
}
