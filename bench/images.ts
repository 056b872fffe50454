// Writes the table images the C micro benchmark (native/bench/core_bench.c) loads:
// build/bench/slices-<N>.img (IPv4) and slices6-<N>.img (IPv6) for N = 10, 10,000 and 1,000,000.
// Run by bench/run.ts, or alone: node dist/bench/images.js [out dir]. Images are compiled by
// compileTable, never by hand.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { benchBuild } from './paths.js';
import { setSecondaries } from '../test/fixtures/flow-rows.js';
import { addrBenchTable, benchHost, benchTable, compileBenchTable, flowBenchTable, type BenchFamily, type FlowEncap } from './tables.js';

export const TABLE_SIZES = [10, 10_000, 1_000_000] as const;
export const FAMILIES: readonly BenchFamily[] = ['ipv4', 'ipv6'];

export function imagePath(dir: string, slices: number, family: BenchFamily = 'ipv4'): string {
  return join(dir, `slices${family === 'ipv4' ? '' : '6'}-${slices}.img`);
}

export const FLOW_ENCAPS: readonly FlowEncap[] = ['gue0', 'glb', 'glb-hop'];

export function flowImagePath(dir: string, encap: FlowEncap, family: BenchFamily = 'ipv4'): string {
  return join(dir, `flow${family === 'ipv4' ? '' : '6'}-${encap}.img`);
}

/** Writes the flow-hash images (flowBenchTable) into `dir`: for 'glb-hop' every row's secondary is
 * another backend (the next in owner order), so that every packet carries a hop. */
export function writeFlowImages(dir: string): string[] {
  mkdirSync(dir, { recursive: true });
  return FAMILIES.flatMap((family) =>
    FLOW_ENCAPS.map((encap) => {
      const compiled = compileBenchTable(flowBenchTable(encap, family), benchHost('02:00:00:00:00:01'), '02:00:00:00:00:02');
      if (encap === 'glb-hop') setSecondaries(compiled.image, 443, (_row, primary, owners) => owners[(owners.indexOf(primary) + 1) % owners.length]!);
      const path = flowImagePath(dir, encap, family);
      writeFileSync(path, compiled.image);
      return path;
    }),
  );
}

/** Address-slice images (issue 16): slices of one /64 service, flat lookup whatever their number. */
export const ADDR_SIZES = [1024, 16_384, 1_048_576] as const;

export function addrImagePath(dir: string, slices: number, filter: boolean): string {
  return join(dir, `addr-${slices}${filter ? '-filter' : ''}.img`);
}

/** Writes the address-slice images (addrBenchTable) into `dir`, each size with the filter off, the
 * smallest also with it on (the filter's cost does not depend on the slices). */
export function writeAddrImages(dir: string): void {
  mkdirSync(dir, { recursive: true });
  for (const slices of ADDR_SIZES) {
    for (const filter of slices === ADDR_SIZES[0] ? [false, true] : [false]) {
      const compiled = compileBenchTable(addrBenchTable(slices, filter), benchHost('02:00:00:00:00:01'), '02:00:00:00:00:02');
      writeFileSync(addrImagePath(dir, slices, filter), compiled.image);
    }
  }
}

/** Writes one image per size and family into `dir`; returns their paths and sizes. */
export function writeImages(dir: string): { slices: number; family: BenchFamily; path: string; keys: number; bytes: number }[] {
  mkdirSync(dir, { recursive: true });
  return FAMILIES.flatMap((family) =>
    TABLE_SIZES.map((slices) => {
      const compiled = compileBenchTable(benchTable(slices, family), benchHost('02:00:00:00:00:01'), '02:00:00:00:00:02');
      const path = imagePath(dir, slices, family);
      writeFileSync(path, compiled.image);
      return { slices, family, path, keys: compiled.stats.keys, bytes: compiled.image.length };
    }),
  );
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const i of writeImages(process.argv[2] ?? benchBuild)) console.log(`${i.path}: ${i.slices} ${i.family} slices, ${i.keys} keys, ${i.bytes} bytes`);
}
