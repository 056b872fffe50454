// docs/metrics.md against src/generated/abi.ts: every counter of the five lists has its row, in
// abi.h's order, under the heading that names its list, with abi.h's own words for what it counts.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

import { ABI } from '../../src/generated/abi.js';

const doc = readFileSync(fileURLToPath(new URL('../../docs/metrics.md', import.meta.url)), 'utf8');

/** The rows of the table in the `## ` section whose heading contains `marker`: [name, counts]. */
function rows(marker: string): [string, string][] {
  const sections = doc.split(/^## /m).filter((s) => s.split('\n')[0]!.includes(marker));
  expect(sections, `one section of docs/metrics.md whose heading names ${marker}`).toHaveLength(1);
  return [...sections[0]!.matchAll(/^\| `([a-z0-9_]+)` \| ([^|]+) \|/gm)].map((m) => [m[1]!, m[2]!.trim()]);
}

const LISTS = [
  ['SU_STEER_COUNTERS', ABI.steerCounters],
  ['SU_ROUTE_COUNTERS', ABI.routeCounters],
  ['SU_QUEUE_COUNTERS', ABI.queueCounters],
  ['SU_KERNEL_XDP_STATS', ABI.kernelXdpStats],
  ['SU_SKL_COUNTERS', ABI.skLookupCounters],
] as const;

describe('docs/metrics.md', () => {
  it.each(LISTS)('lists every counter of %s, in order, with what it counts', (marker, counters) => {
    expect(rows(marker)).toEqual(counters.map((c) => [c.name, c.doc]));
  });

  it('mentions every counter name of the ABI', () => {
    const names = LISTS.flatMap(([, counters]) => counters.map((c) => c.name));
    expect(names.filter((n) => !doc.includes(`\`${n}\``))).toEqual([]);
  });
});
