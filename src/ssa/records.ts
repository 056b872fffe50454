// A service's DNS records under structured addressing: its prefixes as one APL record, its client
// rule as TXT, and AAAA for clients that know no APL. Feeds a zone of src/dns/responder.ts.
import type { IPv6 } from 'ip-num';

import { parseApl, type AplItem } from '../dns/apl.js';
import type { DnsNameRecords } from '../dns/zone.js';
import { describe, InvalidRecordError } from '../errors.js';
import { formatRule, type ClientRule } from './rule.js';

export interface ServiceRecordsOptions {
  /** The published prefixes: APL items, or their presentation text. */
  readonly prefixes: readonly AplItem[] | string;
  readonly rule: ClientRule;
  /** Addresses for clients that know no APL (a few endpoints' addresses inside the prefixes). */
  readonly aaaa?: readonly IPv6[];
  /** Other TXT records of the name, kept beside the rule. */
  readonly txt?: readonly string[];
}

/** The records of one service name; refuses a list without any prefix to choose from, or a second rule. */
export function serviceRecords(options: ServiceRecordsOptions): DnsNameRecords {
  const apl = typeof options.prefixes === 'string' ? parseApl(options.prefixes) : options.prefixes;
  if (!Array.isArray(apl) || !apl.some((item) => item?.negated === false)) {
    throw new InvalidRecordError(`Expected at least one prefix without '!' for prefixes but received ${describe(options.prefixes)}`);
  }
  const txt = options.txt ?? [];
  const clash = txt.find((t) => typeof t === 'string' && t.startsWith('v=ssa'));
  if (clash !== undefined) throw new InvalidRecordError(`Expected no client rule among the other TXT records for txt but received ${describe(clash)}`);
  return { apl, txt: [...txt, formatRule(options.rule)], aaaa: options.aaaa ?? [] };
}
