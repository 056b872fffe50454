// Structured service addressing (issue 16), exported from src/index.ts as the namespace `ssa`:
// so far the client rule's versioned TXT format and a service's records; the address-slice key kind and the client come next.
export {
  RULE_VERSION, formatRule, parseRule, findRule,
  type ClientRule, type RandomRule, type SourceDerivedRule, type ContentAddressedRule,
} from './rule.js';
export { serviceRecords, type ServiceRecordsOptions } from './records.js';
