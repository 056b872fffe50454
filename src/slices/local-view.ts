// The XDP program's two rule lists, compiled from a SliceTable by compileTable (compile.ts):
// the local view (slices this host owns: passed to the kernel) and the capture rules (what
// reaches the fast path). Both are struct su_capture_rule arrays (abi.h), both bounded.
import { endianness } from 'node:os';

import { TableLimitError } from '../errors.js';
import { ABI } from '../generated/abi.js';
import { FAMILY_V4, mask4, mask6, writeAddress } from './address.js';
import { fromOf, ownerOf, protoOf, toOf, type Group } from './slice.js';

/** One su_capture_rule before encoding. */
export interface Rule {
  family: number;
  len: number;
  /** IPv4 address (uint32) or IPv6 address (bigint), host bits zero. */
  addr: number | bigint;
  protocols: number;
  from: number;
  to: number;
}

interface Ops<K> {
  mask(addr: K, len: number): K;
  /** The other half of the parent of a /len. */
  sibling(addr: K, len: number): K;
}

const OPS4: Ops<number> = { mask: mask4, sibling: (a, len) => (a ^ (2 ** (32 - len))) >>> 0 };
const OPS6: Ops<bigint> = { mask: mask6, sibling: (a, len) => a ^ (1n << BigInt(128 - len)) };

const byAddress = (x: { addr: number | bigint; len: number }, y: { addr: number | bigint; len: number }) =>
  x.addr < y.addr ? -1 : x.addr > y.addr ? 1 : x.len - y.len;

/**
 * The fewest prefixes covering exactly the union of `rules` (one family; the rules are changed
 * in place): prefixes inside another are folded into it, and two halves present together
 * become their parent. `merge` combines the rules of folded prefixes. Over prefixes sorted by
 * address one stack does it in one pass: a new prefix is either inside the top one or after it,
 * and a completed upper half always lands right above its lower half.
 */
function collapse<K extends number | bigint>(rules: Rule[], ops: Ops<K>, merge: (into: Rule, from: Rule) => void): Rule[] {
  let sorted = true;
  for (let i = 1; i < rules.length && sorted; i++) sorted = byAddress(rules[i - 1]!, rules[i]!) <= 0;
  if (!sorted) rules.sort(byAddress);
  const stack: Rule[] = [];
  for (const r of rules) {
    const top = stack[stack.length - 1];
    if (top !== undefined && top.len <= r.len && ops.mask(r.addr as K, top.len) === top.addr) {
      merge(top, r);
      continue;
    }
    stack.push(r);
    while (stack.length >= 2) {
      const upper = stack[stack.length - 1]!;
      const lower = stack[stack.length - 2]!;
      if (lower.len !== upper.len || lower.len === 0 || ops.sibling(lower.addr as K, lower.len) !== upper.addr) break;
      stack.pop();
      merge(lower, upper);
      lower.len -= 1; // the lower half's address is already its parent's
    }
  }
  return stack;
}

function collapseFamily(rules: Rule[], merge: (into: Rule, from: Rule) => void): Rule[] {
  const v4 = rules.filter((r) => r.family === FAMILY_V4);
  const v6 = rules.filter((r) => r.family !== FAMILY_V4);
  return [...(v4.length > 0 ? collapse(v4, OPS4, merge) : []), ...(v6.length > 0 ? collapse(v6, OPS6, merge) : [])];
}

const addrOf = (g: Group): number | bigint => (g.prefix.family === FAMILY_V4 ? g.prefix.v4 : g.prefix.v6);

/**
 * The slices of local owners as rules: per prefix and exact protocol set, ranges that touch or
 * overlap merged; then prefixes with identical protocols and ports folded into their parents
 * (a /16 in which this host owns ports 2048-4095 of every address is one rule, not 65536).
 */
export function localRules(groups: readonly Group[], isLocal: Uint8Array): Rule[] {
  // Class: protocol bits * 2^32 + from * 65536 + to; only rules of one class fold together.
  const perClass = new Map<number, Rule[]>();
  let slices = 0;
  const runs: number[][] = [[], [], [], []]; // ports of local slices, by protocol bits
  for (const g of groups) {
    let found = 0;
    for (let i = 0; i < g.n * 2; i += 2) {
      const meta = g.s[i + 1]!;
      if (isLocal[ownerOf(meta)] !== 1) continue;
      runs[protoOf(meta)]!.push(g.s[i]!);
      found++;
    }
    if (found === 0) continue;
    slices += found;
    for (let bits = 1; bits <= 3; bits++) {
      const list = runs[bits]!;
      if (list.length === 0) continue;
      list.sort((x, y) => x - y);
      let from = fromOf(list[0]!);
      let to = toOf(list[0]!);
      for (let k = 1; k <= list.length; k++) {
        const next = list[k];
        if (next !== undefined && fromOf(next) <= to + 1) {
          to = Math.max(to, toOf(next));
          continue;
        }
        const key = bits * 2 ** 32 + from * 65536 + to;
        let rules = perClass.get(key);
        if (rules === undefined) perClass.set(key, (rules = []));
        rules.push({ family: g.prefix.family, len: g.prefix.len, addr: addrOf(g), protocols: bits, from, to });
        if (next !== undefined) {
          from = fromOf(next);
          to = toOf(next);
        }
      }
      list.length = 0;
    }
  }
  const out: Rule[] = [];
  for (const rules of perClass.values()) out.push(...collapseFamily(rules, () => undefined));
  out.sort((x, y) => x.family - y.family || byAddress(x, y) || x.protocols - y.protocols || x.from - y.from);
  if (out.length > ABI.table.localRulesMax) {
    throw new TableLimitError(
      `This host owns ${slices} local slice${slices === 1 ? '' : 's'}, which take ${out.length} XDP rules after merging ` +
        `adjacent ranges and sibling prefixes, more than the ${ABI.table.localRulesMax} the XDP program checks (SU_LOCAL_RULES_MAX)`,
    );
  }
  return out;
}

/**
 * The capture rules: every managed prefix with the union of its slices' protocols and the span
 * of their ports, folded into the fewest prefixes; then UDP `guePort` on each host address.
 */
export function captureRules(groups: readonly Group[], gue: readonly Rule[]): Rule[] {
  const managed: Rule[] = groups.map((g) => {
    let protocols = 0;
    let from = 65535;
    let to = 0;
    for (let i = 0; i < g.n * 2; i += 2) {
      protocols |= protoOf(g.s[i + 1]!);
      from = Math.min(from, fromOf(g.s[i]!));
      to = Math.max(to, toOf(g.s[i]!));
    }
    return { family: g.prefix.family, len: g.prefix.len, addr: addrOf(g), protocols, from, to };
  });
  const merged = collapseFamily(managed, (into, other) => {
    into.protocols |= other.protocols;
    into.from = Math.min(into.from, other.from);
    into.to = Math.max(into.to, other.to);
  });
  const out = [...merged, ...gue];
  if (out.length > ABI.limits.captureRulesMax) {
    throw new TableLimitError(
      `The table needs ${out.length} capture rules (${merged.length} for managed prefixes after merging siblings, ${gue.length} for GUE), ` +
        `more than the ${ABI.limits.captureRulesMax} the XDP program holds (SU_CAPTURE_RULES_MAX)`,
    );
  }
  return out;
}

/** Encodes rules as struct su_capture_rule[]: ports in host byte order, addresses in network order. */
export function encodeRules(rules: readonly Rule[]): Uint8Array {
  const { size, fields } = ABI.captureRule;
  const bytes = new Uint8Array(size * rules.length);
  const view = new DataView(bytes.buffer);
  const little = endianness() === 'LE';
  rules.forEach((r, i) => {
    const base = i * size;
    bytes[base + fields.family.offset] = r.family;
    bytes[base + fields.prefix_len.offset] = r.len;
    bytes[base + fields.protocols.offset] = r.protocols;
    view.setUint16(base + fields.port_first.offset, r.from, little);
    view.setUint16(base + fields.port_last.offset, r.to, little);
    writeAddress(bytes, base + fields.addr.offset, r.family, typeof r.addr === 'number' ? r.addr : 0, typeof r.addr === 'bigint' ? r.addr : 0n);
  });
  return bytes;
}
