// Domain names as the DNS code keeps them (lower case, no trailing dot), checked once: used by
// src/dns/zone.ts, src/dns/names.ts and src/dns/policy.ts, and exported through zone.ts.
import { describe, InvalidRecordError } from '../errors.js';

const LABEL = /^(?!-)[a-z0-9_-]{1,63}(?<!-)$/;

/** A domain name as the zone keeps it; refuses what no query could ask for. */
export function canonicalName(value: unknown, path: string): string {
  const name = typeof value === 'string' ? value.toLowerCase().replace(/\.$/, '') : undefined;
  if (name === undefined || name.length > 253 || !name.split('.').every((l) => LABEL.test(l))) {
    throw new InvalidRecordError(`Expected a domain name (labels of letters, digits, '-' and '_', at most 253 characters) for ${path} but received ${describe(value)}`);
  }
  return name;
}

/** Whether `name` is the origin or under it. */
export function inZone(name: string, origin: string): boolean {
  return name === origin || name.endsWith(`.${origin}`);
}

