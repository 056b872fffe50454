// Structured service addressing (issue 16), exported from src/index.ts as the namespace `ssa`: the
// client rule's TXT format, a service's records, address slices with their operations, the client, and a deployment's zone.
export {
  RULE_VERSION, formatRule, parseRule, findRule,
  type ClientRule, type RandomRule, type SourceDerivedRule, type ContentAddressedRule,
} from './rule.js';
export { serviceRecords, type ServiceRecordsOptions } from './records.js';
export { formatPrefix, rangeOf, sizeOf, type Prefix6, type PrefixInput } from './prefix.js';
export {
  sliceSet, checkCoverage, aplOf, sliceAt, spaceByOwner, toInput, evenSlices, formatSlice,
  type AddressSlice, type SliceMove, type SliceSet, type SliceInput, type SliceSetInput,
} from './slice-set.js';
export { split, merge, move, settle, openMoves, DEFAULT_WINDOW_MS, type MoveOptions } from './slice-ops.js';
export { rebalance, type Endpoint, type RebalanceResult } from './rebalance.js';
export {
  publishedOf, addressAt, randomDestination, contentDestination, sourceDestination, deriveLow64, conforms, type Published,
} from './destination.js';
export { resolveService, serviceOf, chooseDestination, type Service, type ResolveOptions, type ChooseInput } from './client.js';
export { ServiceResolver, type ServiceResolverOptions } from './resolver.js';
export { query as dnsQuery, queryAny as dnsQueryAny, type DnsServer } from './dns-query.js';
export { serviceZone, aplTextOf, type PublishedName, type ServiceZoneOptions } from './publish.js';
export { ZoneFollower, type ZoneFollowerOptions, type ZoneFollowerStatus, type ZoneEvent, type ZoneTarget } from './zone-follower.js';
