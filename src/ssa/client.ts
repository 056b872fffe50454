// The structured-addressing client: resolves a service's APL record and ssa1 rule from a DNS server,
// then chooses destinations by the rule. Exported as `ssa.resolveService` / `ssa.chooseDestination`.
import type { IPv6 } from 'ip-num';
import type * as packet from 'dns-packet';

import { decodeApl, type AplItem } from '../dns/apl.js';
import { describe, InvalidOptionError, InvalidRecordError } from '../errors.js';
import { contentDestination, publishedOf, randomDestination, sourceDestination, type Published } from './destination.js';
import { queryAny, type DnsServer } from './dns-query.js';
import { findRule, type ClientRule } from './rule.js';

/** What a client learned about a service: its published prefixes and the rule to follow. */
export interface Service {
  readonly name: string;
  readonly apl: readonly AplItem[];
  readonly rule: ClientRule;
  readonly published: Published;
  /** The smaller TTL of the two answers: when to resolve again (slices move). */
  readonly ttl: number;
}

export interface ResolveOptions {
  /** The server to ask; or `servers`, asked in turn until one answers (exactly one of the two). */
  readonly server?: DnsServer;
  readonly servers?: readonly DnsServer[];
  /** Per question and transport (default 2000 ms). */
  readonly timeoutMs?: number;
}

/** The input a rule needs: the client's source address (source-derived), the object's key (content-addressed). */
export interface ChooseInput {
  readonly source?: IPv6;
  readonly objectKey?: string | Uint8Array;
  /** 16 random bytes per call for rule=random; node:crypto unless given (tests give their own). */
  readonly random?: (size: number) => Uint8Array;
}


function answersOf(response: packet.DecodedPacket, name: string, type: string): packet.Answer[] {
  // dns-packet names the response code (rcode) at run time; its type declarations leave it out.
  const rcode = (response as { rcode?: string }).rcode;
  if (rcode !== undefined && rcode !== 'NOERROR') throw new InvalidRecordError(`Expected ${type} records for ${name} but received ${rcode}`);
  const want = name.toLowerCase().replace(/\.$/, '');
  return (response.answers ?? []).filter((a) => a.type === type && a.name.toLowerCase().replace(/\.$/, '') === want);
}

/** The APL items of the answer: one record (RFC 3123 makes the whole list one RDATA). */
function aplOfAnswers(answers: packet.Answer[], name: string): { apl: AplItem[]; ttl: number } {
  if (answers.length !== 1) throw new InvalidRecordError(`Expected one APL record for ${name} but received ${answers.length}`);
  const a = answers[0] as packet.Answer & { data: unknown; ttl?: number };
  // dns-packet knows APL only by its number: the RDATA comes as raw bytes, which our codec reads.
  if (!(a.data instanceof Uint8Array)) throw new InvalidRecordError(`Expected raw APL RDATA for ${name} but received ${describe(a.data)}`);
  return { apl: decodeApl(a.data), ttl: a.ttl ?? 0 };
}

function textsOf(answers: packet.Answer[]): { texts: string[]; ttl: number } {
  const texts = answers.map((a) => {
    const data = (a as { data: unknown }).data;
    const parts = Array.isArray(data) ? data : [data];
    return parts.map((p) => (p instanceof Uint8Array ? Buffer.from(p).toString('utf8') : String(p))).join('');
  });
  return { texts, ttl: Math.min(...answers.map((a) => (a as { ttl?: number }).ttl ?? 0)) };
}

/** The servers to ask, from options that give exactly one of server and servers. */
export function serversOf(options: ResolveOptions): readonly DnsServer[] {
  if (typeof options !== 'object' || options === null) throw new InvalidOptionError(`Expected { server or servers, timeoutMs? } for options but received ${describe(options)}`);
  if ((options.server === undefined) === (options.servers === undefined)) {
    throw new InvalidOptionError(`Expected one of options.server and options.servers but received ${options.server === undefined ? 'neither' : 'both'}`);
  }
  return options.servers ?? [options.server!];
}

/**
 * Asks `server` (or each of `servers` in turn, until one answers) for the APL and TXT records of
 * `name` (UDP, then TCP if truncated) and reads the published prefixes and the one `v=ssa1` rule.
 * Refuses a name without APL or without a rule.
 */
export async function resolveService(name: string, options: ResolveOptions): Promise<Service> {
  const servers = serversOf(options);
  const [aplResponse, txtResponse] = await Promise.all([queryAny(name, 'APL', servers, options.timeoutMs), queryAny(name, 'TXT', servers, options.timeoutMs)]);
  const { apl, ttl: aplTtl } = aplOfAnswers(answersOf(aplResponse, name, 'APL'), name);
  const { texts, ttl: txtTtl } = textsOf(answersOf(txtResponse, name, 'TXT'));
  const rule = findRule(texts);
  if (rule === undefined) throw new InvalidRecordError(`Expected a TXT record starting with v=ssa1 for ${name} but received ${texts.length} other TXT records`);
  return { name, apl, rule, published: publishedOf(apl), ttl: Math.min(aplTtl, txtTtl) };
}

/** A service from records already at hand (a cache, a test): the same checks as resolveService. */
export function serviceOf(name: string, apl: readonly AplItem[], rule: ClientRule): Service {
  return { name, apl, rule, published: publishedOf(apl), ttl: 0 };
}

/** The destination the service's rule gives for this input; refuses an input the rule needs but lacks. */
export function chooseDestination(service: Service, input: ChooseInput = {}): IPv6 {
  const { rule, published } = service;
  if (rule.rule === 'random') return randomDestination(published, input.random);
  if (rule.rule === 'source-derived') {
    if (input.source === undefined) throw new InvalidOptionError(`Expected the client's source address for input.source (rule=source-derived) but received undefined`);
    return sourceDestination(published, rule, input.source);
  }
  if (input.objectKey === undefined) throw new InvalidOptionError(`Expected an object key for input.objectKey (rule=content-addressed) but received undefined`);
  return contentDestination(published, rule, input.objectKey);
}
