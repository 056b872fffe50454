// The names a DNS responder is authoritative for, with their records (A, AAAA, APL, TXT), checked
// once and looked up per question. Used by src/dns/answer.ts; knows nothing of sockets or wire format.
import type { IPv4, IPv6 } from 'ip-num';

import { encodeApl, type AplItem } from './apl.js';
import { canonicalName, inZone } from './domain.js';
import type { DnsNameSet } from './names.js';
import { policySetOf, type DnsPolicyOptions, type PolicySet } from './policy.js';
import { describe, InvalidOptionError, InvalidRecordError } from '../errors.js';
import { isIPv4, isIPv6 } from '../ip.js';

export { canonicalName, inZone } from './domain.js';

/** The records of one name; every list may be empty or left out. */
export interface DnsNameRecords {
  readonly a?: readonly IPv4[];
  readonly aaaa?: readonly IPv6[];
  readonly apl?: readonly AplItem[];
  /** Each string is one TXT record; strings longer than 255 bytes are cut into character-strings. */
  readonly txt?: readonly string[];
}

export interface DnsZoneOptions {
  /** The zone's apex, e.g. 'svc.example'; a trailing dot is allowed. */
  readonly origin: string;
  /** Names at or under the origin, fully qualified, with their records (default: none). */
  readonly names?: Readonly<Record<string, DnsNameRecords>>;
  /** Seconds; short by default because slices move (default 30). */
  readonly ttl?: number;
  /** Policies that answer A and AAAA for names without records of their own (docs/agility.md). */
  readonly policies?: readonly DnsPolicyOptions[];
  /** Key of `stable` policies: 16 to 64 bytes in hex, the same on every responder of the zone. */
  readonly stableKey?: string;
  /** The hostnames that exist (DnsNameSet.build), when not every name a policy matches should. */
  readonly hostnames?: DnsNameSet;
}

/** A record ready for the message encoder: type, and data in dns-packet's shape (APL as raw RDATA). */
export type ZoneRecord =
  | { type: 'A' | 'AAAA'; data: string }
  | { type: 'TXT'; data: Buffer[] }
  | { type: 'APL'; data: Buffer };

/** A checked zone: lower-case names without the trailing dot. */
export interface Zone {
  readonly origin: string;
  readonly ttl: number;
  readonly records: ReadonlyMap<string, readonly ZoneRecord[]>;
  /** Names that exist without records of their own (parents of defined names, down to the origin). */
  readonly nonTerminals: ReadonlySet<string>;
  /** Policies for names without records, most specific first; undefined when the zone has none. */
  readonly policies: PolicySet | undefined;
}

/** A TXT record's character-strings: at most 255 bytes each (RFC 1035 section 3.3). */
function characterStrings(text: string): Buffer[] {
  const bytes = Buffer.from(text, 'utf8');
  const parts: Buffer[] = [];
  for (let at = 0; at < bytes.length; at += 255) parts.push(bytes.subarray(at, at + 255));
  return parts.length === 0 ? [Buffer.alloc(0)] : parts;
}

function recordsOf(value: DnsNameRecords, path: string): ZoneRecord[] {
  if (typeof value !== 'object' || value === null) throw new InvalidRecordError(`Expected { a?, aaaa?, apl?, txt? } for ${path} but received ${describe(value)}`);
  const list = <T>(key: string, items: readonly T[] | undefined): readonly T[] => {
    if (items === undefined) return [];
    if (!Array.isArray(items)) throw new InvalidRecordError(`Expected an array for ${path}.${key} but received ${describe(items)}`);
    return items;
  };
  const records: ZoneRecord[] = [];
  list('a', value.a).forEach((a, i) => {
    if (!isIPv4(a)) throw new InvalidRecordError(`Expected an ip-num IPv4 for ${path}.a[${i}] but received ${describe(a)}`);
    records.push({ type: 'A', data: a.toString() });
  });
  list('aaaa', value.aaaa).forEach((a, i) => {
    if (!isIPv6(a)) throw new InvalidRecordError(`Expected an ip-num IPv6 for ${path}.aaaa[${i}] but received ${describe(a)}`);
    records.push({ type: 'AAAA', data: a.toString() });
  });
  // One APL record holds every item: RFC 3123 gives the list's meaning as a whole.
  const apl = list('apl', value.apl);
  if (apl.length > 0) records.push({ type: 'APL', data: encodeApl(apl) });
  list('txt', value.txt).forEach((t, i) => {
    if (typeof t !== 'string') throw new InvalidRecordError(`Expected a string for ${path}.txt[${i}] but received ${describe(t)}`);
    records.push({ type: 'TXT', data: characterStrings(t) });
  });
  return records;
}

/** Checks a zone's options: names under the origin, ip-num addresses, clean APL prefixes, a TTL. */
export function zoneOf(options: DnsZoneOptions, path = 'zone'): Zone {
  const origin = canonicalName(options?.origin, `${path}.origin`);
  const ttl = options.ttl ?? 30;
  if (!Number.isInteger(ttl) || ttl < 0 || ttl > 0x7fffffff) throw new InvalidRecordError(`Expected a TTL from 0 to 2147483647 seconds for ${path}.ttl but received ${describe(ttl)}`);
  const names = options.names ?? {};
  if (typeof names !== 'object' || names === null) throw new InvalidRecordError(`Expected an object of names for ${path}.names but received ${describe(options.names)}`);
  const records = new Map<string, ZoneRecord[]>();
  const nonTerminals = new Set<string>([origin]);
  for (const [key, value] of Object.entries(names)) {
    const name = canonicalName(key, `${path}.names`);
    if (!inZone(name, origin)) throw new InvalidRecordError(`Expected a name at or under '${origin}' for ${path}.names but received ${describe(key)}`);
    if (records.has(name)) throw new InvalidRecordError(`Expected each name once for ${path}.names but received ${describe(key)} twice (names are case-insensitive)`);
    records.set(name, recordsOf(value, `${path}.names['${key}']`));
    for (let parent = name; parent !== origin; parent = parent.slice(parent.indexOf('.') + 1)) nonTerminals.add(parent);
  }
  return { origin, ttl, records, nonTerminals, policies: policiesOf(options, origin, ttl, path) };
}

function policiesOf(options: DnsZoneOptions, origin: string, ttl: number, path: string): PolicySet | undefined {
  if (options.policies === undefined) {
    if (options.hostnames !== undefined || options.stableKey !== undefined) {
      throw new InvalidOptionError(`Expected policies for ${path}.policies (hostnames and stableKey serve policies) but received undefined`);
    }
    return undefined;
  }
  return policySetOf(options.policies, options.stableKey, options.hostnames, origin, ttl, path);
}
