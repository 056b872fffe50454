// Zones with policies and a way to ask them in process (no sockets), shared by the DNS policy tests
// in test/unit (dns-policy*.test.ts).
import * as packet from 'dns-packet';
import { IPv4CidrRange, IPv6CidrRange } from 'ip-num';

import { respond } from '../../src/dns/answer.js';
import type { PolicyContext } from '../../src/dns/policy.js';
import { Xoshiro128 } from '../../src/dns/select.js';
import { zoneOf, type DnsZoneOptions, type Zone } from '../../src/dns/zone.js';

export const KEY = '000102030405060708090a0b0c0d0e0f';
export const v4 = (cidr: string): IPv4CidrRange => IPv4CidrRange.fromCidr(cidr);
export const v6 = (cidr: string): IPv6CidrRange => IPv6CidrRange.fromCidr(cidr);

/** A replayable context: a fixed seed, and a clock the test sets. */
export function context(seed = 1, now = 1_700_000_000_000): PolicyContext & { at: number } {
  const bytes = new Uint8Array(16);
  new DataView(bytes.buffer).setUint32(12, seed);
  const ctx = { at: now, rng: new Xoshiro128(bytes), now: () => ctx.at };
  return ctx;
}

export interface Asked {
  rcode: string;
  answers: { type: string; data: string; ttl: number }[];
  soa: boolean;
}

/** Zones compiled once per options object: a test asks thousands of times. */
const compiled = new WeakMap<DnsZoneOptions, Zone[]>();

/** One question through respond(), as a resolver would see the answer. */
export function ask(zones: readonly Zone[] | DnsZoneOptions, name: string, type: packet.RecordType, ctx: PolicyContext = context()): Asked {
  let list = Array.isArray(zones) ? zones : compiled.get(zones as DnsZoneOptions);
  if (list === undefined) compiled.set(zones as DnsZoneOptions, (list = [zoneOf(zones as DnsZoneOptions)]));
  const query = packet.encode({ id: 1, type: 'query', questions: [{ name, type }] });
  const decoded = packet.decode(respond(query, list, 'udp', ctx)!);
  return {
    rcode: decoded.rcode ?? 'NOERROR',
    answers: (decoded.answers ?? []).map((a) => ({ type: a.type, data: String((a as { data: unknown }).data), ttl: (a as { ttl: number }).ttl })),
    soa: (decoded.authorities ?? []).some((a) => a.type === 'SOA'),
  };
}

/** The only address of an answer, or a failure that says what came instead. */
export function address(asked: Asked): string {
  if (asked.rcode !== 'NOERROR' || asked.answers.length !== 1) throw new Error(`Expected one address but received ${JSON.stringify(asked)}`);
  return asked.answers[0]!.data;
}

/** 198.51.100.7 as a number. */
export function ipv4Number(text: string): number {
  return text.split('.').reduce((n, octet) => n * 256 + Number(octet), 0);
}
