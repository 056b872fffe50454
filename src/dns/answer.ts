// One DNS query in, one response out (or none): the authoritative answer from the zones, the
// right error code, truncation when a UDP answer does not fit. Used by src/dns/responder.ts.
import * as packet from 'dns-packet';

import { policyAddress, resolvePolicy, type Policy, type PolicyContext, type PolicySet } from './policy.js';
import { Xoshiro128 } from './select.js';
import { inZone, type Zone, type ZoneRecord } from './zone.js';

export type Transport = 'udp' | 'tcp';

/** RFC 1035 and 6895 response codes the responder gives. */
export const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;

/** UDP answers without EDNS fit in 512 bytes (RFC 1035); with EDNS, at most 1232 (DNS flag day 2020: no fragments). */
const UDP_PLAIN = 512;
const UDP_EDNS_MAX = 1232;
const QR = 1 << 15;

interface Lookup {
  rcode: number;
  answers: packet.Answer[];
  authorities: packet.Answer[];
}

function asAnswer(name: string, ttl: number, record: ZoneRecord): packet.Answer {
  return { name, ttl, class: 'IN', ...record } as packet.Answer;
}

/** The zone's SOA, synthesized: resolvers take negative answers' TTL from its minimum (RFC 2308). */
function soaOf(zone: Zone): packet.Answer {
  const data = { mname: zone.origin, rname: `hostmaster.${zone.origin}`, serial: 1, refresh: 3600, retry: 600, expire: 86400, minimum: zone.ttl };
  return { name: zone.origin, type: 'SOA', class: 'IN', ttl: zone.ttl, data };
}

/** The clock and generator of a process that was given none: wall time, a generator seeded by the system CSPRNG. */
const DEFAULT_CONTEXT: PolicyContext = { now: () => Date.now(), rng: new Xoshiro128() };

/** A policy's answer: one address per question (the paper's one random address per answer); NODATA for other types. */
function policyLookup(zone: Zone, set: PolicySet, policy: Policy, name: string, question: packet.Question, context: PolicyContext): Lookup {
  const type = question.type.toUpperCase();
  const answers: packet.Answer[] = [];
  for (const [t, family] of [['A', 4], ['AAAA', 6]] as const) {
    if (type !== t && type !== 'ANY') continue;
    const data = policyAddress(set, policy, family, name, context);
    if (data !== undefined) answers.push({ name: question.name, type: t, class: 'IN', ttl: policy.ttl, data });
  }
  return { rcode: RCODE.NOERROR, answers, authorities: answers.length === 0 ? [soaOf(zone)] : [] };
}

/**
 * Answers one question from the zone whose origin is the longest suffix of the name: its static
 * records first, then its policies (src/dns/policy.ts) for names without records.
 */
export function lookup(zones: readonly Zone[], question: packet.Question, context: PolicyContext = DEFAULT_CONTEXT): Lookup {
  const name = question.name.toLowerCase().replace(/\.$/, '');
  const zone = zones.filter((z) => inZone(name, z.origin)).sort((a, b) => b.origin.length - a.origin.length)[0];
  // Not ours, or not the Internet class: an authoritative server refuses (RFC 8906 section 3.1.3.1).
  if (zone === undefined || (question.class !== undefined && question.class !== 'IN')) return { rcode: RCODE.REFUSED, answers: [], authorities: [] };
  const records = zone.records.get(name);
  if (records === undefined && zone.policies !== undefined) {
    const verdict = resolvePolicy(zone.policies, name);
    if (typeof verdict === 'object') return policyLookup(zone, zone.policies, verdict, name, question, context);
    if (verdict === 'nxdomain' && !zone.nonTerminals.has(name)) return { rcode: RCODE.NXDOMAIN, answers: [], authorities: [soaOf(zone)] };
    // 'nodata', or a static non-terminal: the path below answers it (the SOA at the origin, else NODATA).
  } else if (records === undefined && !zone.nonTerminals.has(name)) return { rcode: RCODE.NXDOMAIN, answers: [], authorities: [soaOf(zone)] };
  const type = question.type.toUpperCase();
  const answers = (records ?? []).filter((r) => type === 'ANY' || r.type === type).map((r) => asAnswer(question.name, zone.ttl, r));
  if (name === zone.origin && (type === 'SOA' || type === 'ANY')) answers.push(soaOf(zone));
  return { rcode: RCODE.NOERROR, answers, authorities: answers.length === 0 ? [soaOf(zone)] : [] };
}

/** A header-only answer (FORMERR for what dns-packet cannot read): id, opcode and RD copied. */
export function bare(query: Buffer, rcode: number): Buffer {
  const out = Buffer.alloc(12);
  out.writeUInt16BE(query.readUInt16BE(0), 0);
  out.writeUInt16BE(QR | (query.readUInt16BE(2) & 0x7900) | rcode, 2);
  return out;
}

/**
 * dns-packet writes classes it has no name for as 0; the answer must echo the question as asked
 * (a resolver drops answers to another question), so the class is copied back from the query.
 */
function echoClass(response: Buffer, query: Buffer, question: packet.Question): Buffer {
  if (!String(question.class).startsWith('UNKNOWN_')) return response;
  const at = 12 + (question.name === '' ? 1 : Buffer.byteLength(question.name) + 2) + 2;
  if (query.length >= at + 2) response.writeUInt16BE(query.readUInt16BE(at), at);
  return response;
}

/** The size a UDP answer must fit: the client's EDNS payload size, between 512 and 1232. */
function udpLimit(opt: packet.OptAnswer | undefined): number {
  if (opt === undefined) return UDP_PLAIN;
  return Math.min(Math.max(opt.udpPayloadSize, UDP_PLAIN), UDP_EDNS_MAX);
}

/**
 * The response to one query message, or undefined when none is due (too short to carry an id,
 * or itself a response). Over UDP, an answer that does not fit goes out empty with TC set, so
 * that the client retries over TCP (RFC 1035 section 4.2.1, RFC 7766).
 */
export function respond(query: Buffer, zones: readonly Zone[], transport: Transport, context: PolicyContext = DEFAULT_CONTEXT): Buffer | undefined {
  if (query.length < 12 || (query.readUInt16BE(2) & QR) !== 0) return undefined;
  let decoded: packet.DecodedPacket;
  try {
    decoded = packet.decode(query);
  } catch {
    return bare(query, RCODE.FORMERR);
  }
  const opcode = (query.readUInt16BE(2) >> 11) & 0xf;
  if (opcode !== 0) return bare(query, RCODE.NOTIMP);
  const questions = decoded.questions ?? [];
  if (questions.length !== 1) return bare(query, RCODE.FORMERR);
  const opt = (decoded.additionals ?? []).find((a): a is packet.OptAnswer => a.type === 'OPT');
  // RFC 6891 section 6.1.3: an EDNS version we do not speak gets BADVERS (16: 1 in the OPT's upper bits).
  const badVersion = opt !== undefined && opt.ednsVersion > 0;
  const { rcode, answers, authorities } = badVersion ? { rcode: 0, answers: [], authorities: [] } : lookup(zones, questions[0]!, context);
  const flags = packet.AUTHORITATIVE_ANSWER | (decoded.flag_rd ? packet.RECURSION_DESIRED : 0) | rcode;
  const additionals: packet.Answer[] = opt === undefined ? [] : [{ name: '.', type: 'OPT', udpPayloadSize: UDP_EDNS_MAX, extendedRcode: badVersion ? 1 : 0, ednsVersion: 0, flags: 0, flag_do: false, options: [] }];
  const response = { id: decoded.id, type: 'response' as const, flags, questions, answers, authorities, additionals };
  const full = echoClass(packet.encode(response), query, questions[0]!);
  if (transport === 'tcp' || full.length <= udpLimit(opt)) return full;
  return echoClass(packet.encode({ ...response, flags: flags | packet.TRUNCATED_RESPONSE, answers: [], authorities: [] }), query, questions[0]!);
}
