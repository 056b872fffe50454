// Turns a rule set into the sk_lookup program's trie (softunicast/sk_lookup.h): one entry per
// (protocol, prefix) holding every rule that can apply below it, in precedence order. Used by steering.ts.
import { endianness } from 'node:os';

import { TableLimitError } from '../errors.js';
import { ABI } from '../generated/abi.js';
import { refuseRule, precedence, ruleKey, ruleText, type CheckedRule } from './rules.js';

const L = ABI.skLookup;
/** The structs hold host-order numbers (softunicast/sk_lookup.h). */
const LE = endianness() === 'LE';
const PROTO = { tcp: 6, udp: 17 } as const; // IPPROTO_TCP, IPPROTO_UDP

/** A rule with the socket slot it steers to. */
export interface SlottedRule {
  rule: CheckedRule;
  slot: number;
}

/** The packed keys and values for NativeSkLookup.publish. */
export interface CompiledRules {
  keys: Uint8Array;
  values: Uint8Array;
  count: number;
}

/**
 * Refuses a set in which two rules are the same, or tie: one prefix, port ranges of one width
 * that overlap (neither would win). Rules on one prefix with ranges of different widths, or
 * on nested prefixes, are fine: precedence decides.
 */
export function checkSet(rules: readonly CheckedRule[], path = 'rules'): void {
  const byPrefix = new Map<string, CheckedRule[]>();
  for (const r of rules) {
    const k = `${r.protocol}|${r.family}|${r.address}|${r.prefixLength}`;
    const same = byPrefix.get(k) ?? [];
    for (const o of same) {
      if (ruleKey(o) === ruleKey(r)) refuseRule(path, 'each rule once', `${ruleText(r)} twice`);
      if (o.to - o.from === r.to - r.from && o.from <= r.to && r.from <= o.to) {
        refuseRule(path, `port ranges of one prefix that do not overlap at equal width (${ruleText(o)})`, ruleText(r));
      }
    }
    same.push(r);
    byPrefix.set(k, same);
  }
}

const prefixKey = (protocol: string, family: number, address: bigint, length: number) => `${protocol}|${family}|${address}|${length}`;

/** Every (protocol, prefix) of the set with its applicable rules, best first. */
function entries(rules: readonly SlottedRule[]): { prefix: CheckedRule; applicable: SlottedRule[] }[] {
  const byPrefix = new Map<string, SlottedRule[]>();
  for (const r of rules) {
    const k = prefixKey(r.rule.protocol, r.rule.family, r.rule.address, r.rule.prefixLength);
    byPrefix.set(k, [...(byPrefix.get(k) ?? []), r]);
  }
  const out: { prefix: CheckedRule; applicable: SlottedRule[] }[] = [];
  for (const own of byPrefix.values()) {
    const p = own[0]!.rule;
    // A prefix's own rules, and those of every prefix covering it: the longest stored prefix of
    // an address decides which entry the program reads, and any rule that covers the address
    // covers that prefix too (prefixes that hold one address are nested). The covering prefixes
    // are found by shortening this one bit by bit: at most 129 map lookups, not a scan of the set.
    const bits = p.family === 4 ? 32 : 128;
    const applicable = [...own];
    for (let len = p.prefixLength - 1; len >= 0; len--) {
      const masked = (p.address >> BigInt(bits - len)) << BigInt(bits - len);
      applicable.push(...(byPrefix.get(prefixKey(p.protocol, p.family, masked, len)) ?? []));
    }
    applicable.sort((a, b) => precedence(a.rule, b.rule));
    if (applicable.length > L.rangesMax) {
      throw new TableLimitError(
        `Expected at most ${L.rangesMax} rules applying to one prefix but ${applicable.length} apply to ${ruleText(p).split(' ').slice(0, 2).join(' ')}`,
      );
    }
    out.push({ prefix: p, applicable });
  }
  return out;
}

function writeKey(view: DataView, bytes: Uint8Array, at: number, r: CheckedRule): void {
  view.setUint32(at, L.bitsBeforeAddress + r.prefixLength, LE); // prefixlen: host order
  bytes[at + 4] = PROTO[r.protocol];
  bytes[at + 5] = r.family === 4 ? L.familyV4 : L.familyV6;
  const width = r.family === 4 ? 4 : 16;
  for (let i = 0; i < width; i++) bytes[at + 6 + i] = Number((r.address >> BigInt(8 * (width - 1 - i))) & 255n);
}

/** Packs the set; the caller has checked it (checkSet). */
export function compileRules(rules: readonly SlottedRule[]): CompiledRules {
  const list = entries(rules);
  if (list.length > L.prefixesMax) {
    throw new TableLimitError(`Expected at most ${L.prefixesMax} prefixes in the steering rules but received ${list.length}`);
  }
  const keys = new Uint8Array(list.length * L.keySize);
  const values = new Uint8Array(list.length * L.rangesSize);
  const kv = new DataView(keys.buffer);
  const vv = new DataView(values.buffer);
  list.forEach(({ prefix, applicable }, i) => {
    writeKey(kv, keys, i * L.keySize, prefix);
    const at = i * L.rangesSize;
    vv.setUint32(at, applicable.length, LE);
    applicable.forEach(({ rule, slot }, j) => {
      const r = at + 4 + j * L.rangeSize;
      vv.setUint16(r, rule.from, LE);
      vv.setUint16(r + 2, rule.to, LE);
      vv.setUint32(r + 4, slot, LE);
    });
  });
  return { keys, values, count: list.length };
}
