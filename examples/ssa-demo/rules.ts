// The service names of the structured-addressing world, one per client rule (the DNS agent serves
// them, the client agent resolves them, main.ts and test/netns/ssa-demo.test.ts name them).
import type { ssa } from '../../src/index.js';

export const SERVICE_ORIGIN = 'svc.test';
/** The source-derived rule's key: public, it spreads load and lets the fast path check sources. */
export const SOURCE_KEY = '5a5a0123456789abcdeffedcba987654';

export type RuleName = 'random' | 'source' | 'content';

export const SERVICE_NAMES: Record<RuleName, { name: string; rule: ssa.ClientRule }> = {
  random: { name: `random.${SERVICE_ORIGIN}`, rule: { rule: 'random' } },
  source: { name: `source.${SERVICE_ORIGIN}`, rule: { rule: 'source-derived', sourceBits: 64, fn: 'flowhash-1', key: SOURCE_KEY } },
  content: { name: `content.${SERVICE_ORIGIN}`, rule: { rule: 'content-addressed', hash: 'sha256' } },
};
