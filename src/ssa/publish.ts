// A DNS zone from a deployment's address services (issue 16): each published name gets its service's
// slices as APL, its client rule as TXT, and AAAA if asked. Used by ZoneFollower (zone-follower.ts) and any responder.
import { IPv6 } from 'ip-num';

import type { AddressServiceConfig, Config } from '../config/types.js';
import { formatApl } from '../dns/apl.js';
import { canonicalName, inZone } from '../dns/domain.js';
import { zoneOf, type DnsNameRecords, type DnsZoneOptions } from '../dns/zone.js';
import { describe, InvalidOptionError } from '../errors.js';
import { rangeOf } from './prefix.js';
import { serviceRecords } from './records.js';
import { formatRule, type ClientRule } from './rule.js';
import { aplOf, sliceSet } from './slice-set.js';

/** One DNS name: the address service it publishes and the rule its clients follow. */
export interface PublishedName {
  /** The `name` of an address service of the deployment. */
  readonly service: string;
  readonly rule: ClientRule;
  /** AAAA for clients that know no APL: 'first' is the first address of the service's first slice; default none. */
  readonly aaaa?: 'first' | readonly IPv6[];
}

export interface ServiceZoneOptions {
  /** The zone's apex, e.g. 'svc.example'. */
  readonly origin: string;
  /** Seconds (default 30: slices move). */
  readonly ttl?: number;
  /** Names at or under the origin, fully qualified. */
  readonly names: Readonly<Record<string, PublishedName>>;
}

/**
 * Refuses a rule the service's source filter would not let through: a source-derived rule other than
 * the filter's drops conforming clients, and any other rule's clients are not conforming at all
 * (unless the filter hands them to a low-priority owner instead of dropping them).
 */
function checkRule(service: AddressServiceConfig, rule: ClientRule, path: string): void {
  const filter = service.filter;
  if (filter === undefined) return;
  const published = formatRule(rule);
  const filtered = formatRule(filter.rule);
  if (rule.rule === 'source-derived' && published !== filtered) {
    throw new InvalidOptionError(`Expected the rule of address service '${service.name}''s filter ('${filtered}') for ${path}.rule (the router drops what does not conform to it) but received '${published}'`);
  }
  if (rule.rule !== 'source-derived' && filter.nonConforming === 'drop') {
    throw new InvalidOptionError(`Expected the source-derived rule of address service '${service.name}''s filter ('${filtered}') for ${path}.rule (its filter drops every other destination) but received '${published}'`);
  }
}

function recordsOf(config: Pick<Config, 'addressServices' | 'source'>, name: PublishedName, path: string): DnsNameRecords {
  const service = config.addressServices.find((s) => s.name === name?.service);
  if (service === undefined) {
    const known = config.addressServices.map((s) => `'${s.name}'`).join(', ') || 'none';
    throw new InvalidOptionError(`Expected the name of an address service of ${config.source} (${known}) for ${path}.service but received ${describe(name?.service)}`);
  }
  checkRule(service, name.rule, path);
  const set = sliceSet({ prefixes: [service.prefix], slices: service.slices.map((s) => ({ prefix: s.prefix, owner: s.owner })) });
  const prefixes = aplOf(set);
  let aaaa: readonly IPv6[] = [];
  if (name.aaaa === 'first') aaaa = [IPv6.fromString(rangeOf(set.slices[0]!).getFirst().toString())];
  else if (name.aaaa !== undefined) {
    // Each address is checked by zoneOf below, as the responder checks it.
    if (!Array.isArray(name.aaaa)) throw new InvalidOptionError(`Expected 'first' or an array of IPv6 for ${path}.aaaa but received ${describe(name.aaaa)}`);
    aaaa = name.aaaa;
  }
  return serviceRecords({ prefixes, rule: name.rule, aaaa });
}

/**
 * The zone publishing `options.names` from the deployment's address services; checked as the
 * responder would check it, so that a zone this returns is one setZones takes.
 */
export function serviceZone(config: Pick<Config, 'addressServices' | 'source'>, options: ServiceZoneOptions): DnsZoneOptions {
  const origin = canonicalName(options?.origin, 'origin');
  const names: Record<string, DnsNameRecords> = {};
  for (const [key, name] of Object.entries(options.names ?? {})) {
    const path = `names['${key}']`;
    if (!inZone(canonicalName(key, path), origin)) throw new InvalidOptionError(`Expected a name at or under '${origin}' for ${path} but received ${describe(key)}`);
    names[key] = recordsOf(config, name, path);
  }
  const zone: DnsZoneOptions = { origin: options.origin, ...(options.ttl !== undefined && { ttl: options.ttl }), names };
  zoneOf(zone);
  return zone;
}

/** Each name's APL in presentation text ('2:2001:db8::/65 ...'): what a status shows. */
export function aplTextOf(zone: DnsZoneOptions): Record<string, string> {
  return Object.fromEntries(Object.entries(zone.names ?? {}).map(([name, r]) => [name, formatApl(r.apl ?? [])]));
}
