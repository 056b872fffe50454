// The DNS building blocks (issues 16 and 17), exported from src/index.ts as the namespace `dns`:
// APL records (RFC 3123), zones, policies with address pools, and the authoritative responder; the client rule's format as `ssa`.
export { APL_TYPE, encodeApl, decodeApl, formatApl, parseApl, type AplItem } from './apl.js';
export { zoneOf, canonicalName, type DnsZoneOptions, type DnsNameRecords, type Zone, type ZoneRecord } from './zone.js';
export { respond, lookup, RCODE, type Transport } from './answer.js';
export { DnsResponder, type DnsResponderOptions, type DnsResponderCounters } from './responder.js';
export { DnsNameSet } from './names.js';
export { type DnsPolicyOptions, type DnsSelection, type PolicyContext } from './policy.js';
export { type DnsPoolOptions } from './pool.js';
export { Xoshiro128 } from './select.js';
