// Writes the table images the C micro benchmark (native/bench/core_bench.c) loads:
// build/bench/slices-<N>.img for N = 10, 10,000 and 1,000,000. Run by bench/run.ts, or
// alone: node dist/bench/images.js [out dir]. Images are compiled by compileTable, never by hand.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { benchBuild } from './paths.js';
import { benchHost, benchTable, compileBenchTable } from './tables.js';

export const TABLE_SIZES = [10, 10_000, 1_000_000] as const;

export function imagePath(dir: string, slices: number): string {
  return join(dir, `slices-${slices}.img`);
}

/** Writes one image per size into `dir`; returns their paths and sizes. */
export function writeImages(dir: string): { slices: number; path: string; keys: number; bytes: number }[] {
  mkdirSync(dir, { recursive: true });
  return TABLE_SIZES.map((slices) => {
    const compiled = compileBenchTable(benchTable(slices), benchHost('02:00:00:00:00:01'), '02:00:00:00:00:02');
    const path = imagePath(dir, slices);
    writeFileSync(path, compiled.image);
    return { slices, path, keys: compiled.stats.keys, bytes: compiled.image.length };
  });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const i of writeImages(process.argv[2] ?? benchBuild)) console.log(`${i.path}: ${i.slices} slices, ${i.keys} keys, ${i.bytes} bytes`);
}
