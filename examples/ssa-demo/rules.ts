// The service names of the structured-addressing world, one per client rule, and the address services
// (a /64 each in the router's file) they publish: the DNS agent serves them, the client agent resolves
// them, deployment.ts writes the services, main.ts and test/netns/ssa-demo.test.ts name them.
import type { ssa } from '../../src/index.js';

export const SERVICE_ORIGIN = 'svc.test';
/** The source-derived rule's key: public, it spreads load and lets the fast path check sources. */
export const SOURCE_KEY = '5a5a0123456789abcdeffedcba987654';

/**
 * The address services of the router's file by name: random and content-addressed clients share one
 * /64; the source-derived name has a /64 of its own, so that the router's source filter can hold every
 * packet to it to the rule (a random destination there is not conforming).
 */
export const ADDRESS_SERVICES = { shared: '2001:db8:5a::/64', source: '2001:db8:5b::/64' } as const;
export type AddressServiceName = keyof typeof ADDRESS_SERVICES;

export type RuleName = 'random' | 'source' | 'content';

export const SERVICE_NAMES: Record<RuleName, { name: string; rule: ssa.ClientRule; service: AddressServiceName }> = {
  random: { name: `random.${SERVICE_ORIGIN}`, rule: { rule: 'random' }, service: 'shared' },
  source: { name: `source.${SERVICE_ORIGIN}`, rule: { rule: 'source-derived', sourceBits: 64, fn: 'flowhash-1', key: SOURCE_KEY }, service: 'source' },
  content: { name: `content.${SERVICE_ORIGIN}`, rule: { rule: 'content-addressed', hash: 'sha256' }, service: 'shared' },
};
