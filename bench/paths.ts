// Where the benchmarks find the built tree: the repository root, the native build and their own
// scratch directory. Used by every file under bench/.
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (this file runs as dist/bench/paths.js). */
export const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const nativeBuild = join(root, 'build', 'native');
/** Images, callgrind output and other scratch files of a bench run. */
export const benchBuild = join(root, 'build', 'bench');
