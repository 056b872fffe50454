// One definition: src/generated/abi.ts must be what native/include produces now, and the built
// addon must have been compiled from the same headers.
import { execFileSync } from 'node:child_process';

import { describe, expect, it } from 'vitest';

import { native } from '../../src/native.js';
import { ABI } from '../../src/generated/abi.js';

describe('ABI', () => {
  it('src/generated/abi.ts is current with native/include', () => {
    expect(() => execFileSync('node', ['scripts/gen-abi.mjs', '--check'], { stdio: 'pipe' })).not.toThrow();
  });

  it('the loaded addon was built from the same headers', () => {
    const abi = native().abi;
    expect(abi.abiVersion).toBe(ABI.abiVersion);
    expect(abi.queueCounters).toEqual(ABI.queueCounters.map((c) => c.name));
    expect(abi.steerCounters).toEqual(ABI.steerCounters.map((c) => c.name));
    expect(abi.errorCodes).toEqual([...ABI.errorCodes]);
    expect(abi.captureRuleSize).toBe(ABI.captureRule.size);
  });
});
