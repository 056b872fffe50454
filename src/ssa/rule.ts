// The client rule of structured service addressing: how a client turns the published prefixes (APL)
// into a destination, as a small versioned TXT text. Used by whoever publishes a service's records, and by clients.
import { describe, InvalidRecordError } from '../errors.js';

/** The only version so far; a new rule or a new required key makes ssa2. */
export const RULE_VERSION = 'ssa1';

/** Any address inside the published prefixes, uniformly at random. */
export interface RandomRule {
  readonly rule: 'random';
}

/**
 * The destination's host bits are a keyed function of the first `sourceBits` bits of the client's
 * source address, so that the fast path can check each packet statelessly.
 */
export interface SourceDerivedRule {
  readonly rule: 'source-derived';
  /** How many leading bits of the source address feed the function (1 to 128; 64 for a /64 per site). */
  readonly sourceBits: number;
  /**
   * The keyed function: flowhash-1, the steps of the fast path's flow hash (native/core/flow_hash.h)
   * over the source's bits and the key (src/ssa/destination.ts deriveLow64), a few multiplies per packet.
   */
  readonly fn: 'flowhash-1';
  /** The function's 128-bit key, 32 lower-case hex digits. Public: it spreads load, it does not authenticate. */
  readonly key: string;
}

/** The destination's host bits come from a hash of the object key: the endpoint holding it is reached directly. */
export interface ContentAddressedRule {
  readonly rule: 'content-addressed';
  readonly hash: 'sha256';
}

export type ClientRule = RandomRule | SourceDerivedRule | ContentAddressedRule;

/** The keys each rule takes, in the order the text writes them; every one is required. */
const KEYS = {
  random: [],
  'source-derived': ['source-bits', 'fn', 'key'],
  'content-addressed': ['hash'],
} as const;

/** The TXT text of a rule: `v=ssa1 rule=source-derived source-bits=64 fn=flowhash-1 key=<32 hex>`. */
export function formatRule(rule: ClientRule): string {
  const parsed = parseRule(textOf(rule));
  return textOf(parsed);
}

function textOf(rule: ClientRule): string {
  const head = `v=${RULE_VERSION} rule=${String((rule as { rule?: unknown })?.rule)}`;
  if (rule?.rule === 'source-derived') return `${head} source-bits=${rule.sourceBits} fn=${rule.fn} key=${rule.key}`;
  if (rule?.rule === 'content-addressed') return `${head} hash=${rule.hash}`;
  return head;
}

function bad(expected: string, path: string, received: unknown): never {
  throw new InvalidRecordError(`Expected ${expected} for ${path} but received ${describe(received)}`);
}

/** Pairs of `key=value` separated by spaces; each key once. */
function pairsOf(text: string): Map<string, string> {
  const pairs = new Map<string, string>();
  for (const token of text.trim().split(/ +/)) {
    const at = token.indexOf('=');
    if (at <= 0) bad("'key=value' pairs separated by spaces", 'the client rule', text);
    const key = token.slice(0, at);
    if (pairs.has(key)) bad(`each key once`, `'${key}' in the client rule`, text);
    pairs.set(key, token.slice(at + 1));
  }
  return pairs;
}

/** A rule from its TXT text; refuses another version, an unknown rule, a missing, extra or bad key. */
export function parseRule(text: string): ClientRule {
  if (typeof text !== 'string') bad('client rule text', 'the client rule', text);
  const pairs = pairsOf(text);
  if (pairs.get('v') !== RULE_VERSION || [...pairs.keys()][0] !== 'v') bad(`'v=${RULE_VERSION}' first`, 'the client rule', text);
  const name = pairs.get('rule');
  if (name !== 'random' && name !== 'source-derived' && name !== 'content-addressed') {
    bad("rule=random, rule=source-derived or rule=content-addressed", 'the client rule', text);
  }
  const keys: readonly string[] = KEYS[name];
  for (const key of pairs.keys()) if (key !== 'v' && key !== 'rule' && !keys.includes(key)) bad(`only the keys ${['v', 'rule', ...keys].join(', ')}`, `rule=${name}`, text);
  for (const key of keys) if (!pairs.has(key)) bad(`a ${key}= key`, `rule=${name}`, text);
  if (name === 'random') return { rule: name };
  if (name === 'content-addressed') {
    if (pairs.get('hash') !== 'sha256') bad('hash=sha256', `rule=${name}`, text);
    return { rule: name, hash: 'sha256' };
  }
  const bits = pairs.get('source-bits')!;
  if (!/^[0-9]{1,3}$/.test(bits) || Number(bits) < 1 || Number(bits) > 128) bad('source-bits from 1 to 128', `rule=${name}`, text);
  if (pairs.get('fn') !== 'flowhash-1') bad('fn=flowhash-1', `rule=${name}`, text);
  const key = pairs.get('key')!;
  if (!/^[0-9a-f]{32}$/.test(key)) bad('key= as 32 lower-case hex digits (128 bits)', `rule=${name}`, text);
  return { rule: name, sourceBits: Number(bits), fn: 'flowhash-1', key };
}

/**
 * The rule among a name's TXT records: the one text that starts with `v=ssa`. None is undefined
 * (the client may fall back to AAAA); two are refused, since a client could not tell which holds.
 */
export function findRule(texts: readonly string[]): ClientRule | undefined {
  const rules = texts.filter((t) => t.startsWith('v=ssa'));
  if (rules.length > 1) bad('one TXT record starting with v=ssa', 'the name', `${rules.length} of them: ${rules.join(' | ')}`);
  return rules.length === 0 ? undefined : parseRule(rules[0]!);
}
