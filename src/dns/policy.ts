// Policy-driven answers (issue 17): hostnames matched to policies by suffix and label set, each
// with IPv4/IPv6 pools and a selection (random per query, stable per name and time bucket).
// Checked once by src/dns/zone.ts, asked per query by src/dns/answer.ts. docs/agility.md has the rules.
import type { IPv4CidrRange, IPv6CidrRange } from 'ip-num';

import { canonicalName, inZone } from './domain.js';
import type { DnsNameSet } from './names.js';
import { addressAt, poolOf, randomAddress, type AddressPool, type DnsPoolOptions } from './pool.js';
import { bucketOf, stableIndex, type Xoshiro128 } from './select.js';
import { describe, InvalidOptionError } from '../errors.js';

export type DnsSelection = 'random' | 'stable';

export interface DnsPolicyOptions {
  /** Names the policy in messages; unique within the zone. */
  readonly name: string;
  /** Names strictly below this one match ('cdn.example.com' or '*.cdn.example.com'); default: the zone origin. */
  readonly suffix?: string;
  /** Labels that must all appear among the name's labels below the suffix (a plan, a product): ['free']. */
  readonly labels?: readonly string[];
  readonly ipv4?: DnsPoolOptions<IPv4CidrRange>;
  readonly ipv6?: DnsPoolOptions<IPv6CidrRange>;
  /** 'random' (default): a uniformly random address per query; 'stable': one per (name, time bucket) for every responder with the key. */
  readonly select?: DnsSelection;
  /** Length of a stable policy's time bucket in seconds (default 300). */
  readonly bucketSeconds?: number;
  /** TTL of the answers in seconds (default: the zone's TTL, itself 30 by default). */
  readonly ttl?: number;
}

export interface Policy {
  readonly name: string;
  readonly suffix: string;
  readonly suffixLabels: number;
  readonly labels: readonly string[];
  readonly ipv4: AddressPool | undefined;
  readonly ipv6: AddressPool | undefined;
  readonly select: DnsSelection;
  readonly bucketSeconds: number;
  readonly ttl: number;
}

/** A zone's policies, most specific first; what answer.ts asks. */
export interface PolicySet {
  readonly policies: readonly Policy[];
  readonly key: Buffer | undefined;
  readonly hostnames: DnsNameSet | undefined;
}

/** What a query needs beyond the zone: the clock (stable buckets) and the generator (random). */
export interface PolicyContext {
  readonly now: () => number;
  readonly rng: Xoshiro128;
}

const FIELDS = new Set(['name', 'suffix', 'labels', 'ipv4', 'ipv6', 'select', 'bucketSeconds', 'ttl']);
const LABEL = /^(?!-)[a-z0-9_-]{1,63}(?<!-)$/;

function bad(path: string, expected: string, received: unknown): never {
  throw new InvalidOptionError(`Expected ${expected} for ${path} but received ${describe(received)}`);
}

function seconds(value: unknown, fallback: number, min: number, path: string): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || (value as number) < min || (value as number) > 0x7fffffff) bad(path, `whole seconds from ${min} to 2147483647`, value);
  return value as number;
}

function suffixOf(value: unknown, origin: string, path: string): string {
  if (value === undefined) return origin;
  const text = typeof value === 'string' && value.startsWith('*.') ? value.slice(2) : value;
  let suffix: string;
  try {
    suffix = canonicalName(text, path);
  } catch {
    bad(path, `a domain name such as '*.${origin}'`, value);
  }
  if (!inZone(suffix, origin)) bad(path, `a suffix at or under the zone origin '${origin}'`, value);
  return suffix;
}

function labelsOf(value: unknown, path: string): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) bad(path, 'an array of labels', value);
  const labels = value.map((l, i) => (typeof l === 'string' && LABEL.test(l.toLowerCase()) ? l.toLowerCase() : bad(`${path}[${i}]`, 'one DNS label (letters, digits, - and _)', l)));
  return [...new Set(labels)].sort();
}

/** One policy's options, checked: every bad value is named with its path. */
export function policyOf(options: DnsPolicyOptions, origin: string, zoneTtl: number, path: string): Policy {
  if (typeof options !== 'object' || options === null) bad(path, 'a policy { name, suffix?, labels?, ipv4?, ipv6?, select? }', options);
  for (const key of Object.keys(options)) if (!FIELDS.has(key)) bad(path, `only the fields ${[...FIELDS].join(', ')}`, key);
  if (typeof options.name !== 'string' || options.name === '') bad(`${path}.name`, 'a non-empty string', options.name);
  const select = options.select ?? 'random';
  if (select !== 'random' && select !== 'stable') bad(`${path}.select`, "'random' or 'stable'", select);
  if (options.ipv4 === undefined && options.ipv6 === undefined) bad(`${path}.ipv4`, 'an IPv4 or an IPv6 pool (or both)', undefined);
  const suffix = suffixOf(options.suffix, origin, `${path}.suffix`);
  return {
    name: options.name,
    suffix,
    suffixLabels: suffix.split('.').length,
    labels: labelsOf(options.labels, `${path}.labels`),
    ipv4: options.ipv4 === undefined ? undefined : poolOf(options.ipv4, 4, `${path}.ipv4`),
    ipv6: options.ipv6 === undefined ? undefined : poolOf(options.ipv6, 6, `${path}.ipv6`),
    select,
    bucketSeconds: seconds(options.bucketSeconds, 300, 1, `${path}.bucketSeconds`),
    ttl: seconds(options.ttl, zoneTtl, 0, `${path}.ttl`),
  };
}

function keyOf(value: unknown, path: string): Buffer {
  if (typeof value !== 'string' || !/^([0-9a-fA-F]{2}){16,64}$/.test(value)) bad(path, 'a key of 16 to 64 bytes in hex (32 to 128 hex digits)', value);
  return Buffer.from(value, 'hex');
}

/**
 * A zone's policies, checked and ordered most specific first: the longer suffix (in labels) wins,
 * then the larger label set; among equals, the one declared first. Two policies with the same suffix
 * and the same labels could never both be meant, and are refused.
 */
export function policySetOf(list: readonly DnsPolicyOptions[], key: unknown, hostnames: DnsNameSet | undefined, origin: string, ttl: number, path: string): PolicySet {
  if (!Array.isArray(list)) bad(`${path}.policies`, 'an array of policies', list);
  const policies = list.map((p, i) => policyOf(p, origin, ttl, `${path}.policies[${i}]`));
  const seen = new Map<string, string>();
  const names = new Set<string>();
  for (const [i, p] of policies.entries()) {
    if (names.has(p.name)) bad(`${path}.policies[${i}].name`, 'a name no other policy has', p.name);
    names.add(p.name);
    const match = `${p.suffix}|${p.labels.join(',')}`;
    const other = seen.get(match);
    if (other !== undefined) bad(`${path}.policies[${i}]`, `a match (suffix and labels) no other policy has, but policy '${other}' has the same`, p.name);
    seen.set(match, p.name);
  }
  const stable = policies.some((p) => p.select === 'stable');
  // Without a shared key, two responders would answer a stable name differently: refused, not guessed.
  if (stable || key !== undefined) key = keyOf(key, `${path}.stableKey`);
  if (hostnames !== undefined && hostnames.origin !== origin) bad(`${path}.hostnames`, `a name set built for origin '${origin}'`, hostnames.origin);
  const order = policies.map((p, i) => ({ p, i })).sort((x, y) => y.p.suffixLabels - x.p.suffixLabels || y.p.labels.length - x.p.labels.length || x.i - y.i);
  return { policies: order.map((o) => o.p), key: key as Buffer | undefined, hostnames };
}

/** The most specific policy whose suffix and labels the name has, if any. */
export function matchPolicy(set: PolicySet, name: string): Policy | undefined {
  for (const p of set.policies) {
    // The name must end in '.suffix' with at least one label before it (46 is '.').
    const cut = name.length - p.suffix.length - 1;
    if (cut <= 0 || name.charCodeAt(cut) !== 46 || !name.endsWith(p.suffix)) continue;
    if (p.labels.length === 0) return p;
    const below = name.slice(0, cut).split('.');
    if (p.labels.every((l) => below.includes(l))) return p;
  }
  return undefined;
}

/**
 * What a name without static records is: answered by a policy, an existing name with no address
 * (NODATA), or no name at all (NXDOMAIN). With a name set, a name exists when it is in the set or
 * lies between one and the origin. Without one, every name a policy matches exists; so does any
 * name at or under a policy's suffix or above it, since a descendant could match (RFC 8020: an
 * NXDOMAIN denies every name below, and resolvers cache it so).
 */
export function resolvePolicy(set: PolicySet, name: string): Policy | 'nodata' | 'nxdomain' {
  if (set.hostnames !== undefined) {
    if (set.hostnames.has(name)) return matchPolicy(set, name) ?? 'nodata';
    return set.hostnames.isParent(name) ? 'nodata' : 'nxdomain';
  }
  const policy = matchPolicy(set, name);
  if (policy !== undefined) return policy;
  return set.policies.some((p) => inZone(name, p.suffix) || inZone(p.suffix, name)) ? 'nodata' : 'nxdomain';
}

/** The address a policy gives a name for an A or AAAA question now, or undefined when it has no pool of that family. */
export function policyAddress(set: PolicySet, policy: Policy, family: 4 | 6, name: string, context: PolicyContext): string | undefined {
  const pool = family === 4 ? policy.ipv4 : policy.ipv6;
  if (pool === undefined) return undefined;
  if (policy.select === 'random') return randomAddress(pool, context.rng);
  const bucket = bucketOf(context.now(), policy.bucketSeconds);
  return addressAt(pool, stableIndex(set.key!, `${family}|${name}`, bucket, pool.size));
}
