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

/** The half of the parent of a /len that `addr` is not in. */
function sibling(r: Rule): number | bigint {
  return r.family === FAMILY_V4 ? ((r.addr as number) ^ (2 ** (32 - r.len))) >>> 0 : (r.addr as bigint) ^ (1n << BigInt(128 - r.len));
}

function inside(outer: Rule, r: Rule): boolean {
  if (outer.len > r.len) return false;
  return r.family === FAMILY_V4 ? mask4(r.addr as number, outer.len) === outer.addr : mask6(r.addr as bigint, outer.len) === outer.addr;
}

/**
 * Folds rules of one family, pushed in address order (a prefix before the prefixes inside it),
 * into the fewest prefixes covering exactly their union: a prefix inside the top of the stack is
 * merged into it; two halves of one parent, which always end up next to each other on top,
 * become the parent. `merge` combines the rules of folded prefixes.
 */
class Folder {
  readonly stack: Rule[] = [];

  constructor(private readonly merge: (into: Rule, from: Rule) => void) {}

  push(r: Rule): void {
    const stack = this.stack;
    const top = stack[stack.length - 1];
    if (top !== undefined && inside(top, r)) {
      this.merge(top, r);
      return;
    }
    stack.push(r);
    while (stack.length >= 2) {
      const upper = stack[stack.length - 1]!;
      const lower = stack[stack.length - 2]!;
      if (lower.len !== upper.len || lower.len === 0 || sibling(lower) !== upper.addr) break;
      stack.pop();
      this.merge(lower, upper);
      lower.len -= 1; // the lower half's address is already its parent's
    }
  }
}

const addrOf = (g: Group): number | bigint => (g.prefix.family === FAMILY_V4 ? g.prefix.v4 : g.prefix.v6);

/**
 * The slices of local owners as rules: per prefix and exact protocol set, ranges that touch or
 * overlap merged; then prefixes with identical protocols and ports folded into their parents
 * (a /16 in which this host owns ports 2048-4095 of every address is one rule, not 65536).
 * `groups` in sortedGroups() order; `isLocal[ownerId]` is 1 for local owners.
 */
export function localRules(groups: readonly Group[], data: Float64Array, isLocal: Uint8Array): Rule[] {
  // Class: family, protocol bits, ports; only rules of one class fold together.
  const folders = new Map<number, Folder>();
  const keep = () => undefined;
  let slices = 0;
  const runs: number[][] = [[], [], [], []]; // ports of local slices, by protocol bits
  for (const g of groups) {
    let found = 0;
    for (let i = g.at; i < g.at + g.n * 2; i += 2) {
      const meta = data[i + 1]!;
      if (isLocal[ownerOf(meta)] !== 1) continue;
      runs[protoOf(meta)]!.push(data[i]!);
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
        const key = (g.prefix.family * 4 + bits) * 2 ** 32 + from * 65536 + to;
        let folder = folders.get(key);
        if (folder === undefined) folders.set(key, (folder = new Folder(keep)));
        folder.push({ family: g.prefix.family, len: g.prefix.len, addr: addrOf(g), protocols: bits, from, to });
        if (next !== undefined) {
          from = fromOf(next);
          to = toOf(next);
        }
      }
      list.length = 0;
    }
  }
  const out: Rule[] = [];
  for (const folder of folders.values()) out.push(...folder.stack);
  out.sort((x, y) => x.family - y.family || (x.addr < y.addr ? -1 : x.addr > y.addr ? 1 : 0) || x.len - y.len || x.protocols - y.protocols || x.from - y.from);
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
 * of their ports, folded into the fewest prefixes; then `gue` (UDP guePort on each host address).
 * `groups` in sortedGroups() order, IPv4 before IPv6.
 */
export function captureRules(groups: readonly Group[], data: Float64Array, gue: readonly Rule[]): Rule[] {
  const merge = (into: Rule, other: Rule) => {
    into.protocols |= other.protocols;
    into.from = Math.min(into.from, other.from);
    into.to = Math.max(into.to, other.to);
  };
  const v4 = new Folder(merge);
  const v6 = new Folder(merge);
  for (const g of groups) {
    let protocols = 0;
    let from = 65535;
    let to = 0;
    for (let i = g.at; i < g.at + g.n * 2; i += 2) {
      protocols |= protoOf(data[i + 1]!);
      from = Math.min(from, fromOf(data[i]!));
      to = Math.max(to, toOf(data[i]!));
    }
    (g.prefix.family === FAMILY_V4 ? v4 : v6).push({ family: g.prefix.family, len: g.prefix.len, addr: addrOf(g), protocols, from, to });
  }
  const managed = [...v4.stack, ...v6.stack];
  const out = [...managed, ...gue];
  if (out.length > ABI.limits.captureRulesMax) {
    throw new TableLimitError(
      `The table needs ${out.length} capture rules (${managed.length} for managed prefixes after merging siblings, ${gue.length} for GUE), ` +
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

/**
 * Encoded local rules (encodeRules) of `a` and of `b` together, each rule once: the XDP program
 * passes a packet that matches any rule, so this passes what either view calls local. Undefined
 * when they do not fit in SU_LOCAL_RULES_MAX.
 */
export function unionOfEncodedRules(a: Uint8Array, b: Uint8Array): Uint8Array | undefined {
  const { size } = ABI.captureRule;
  const seen = new Set<string>();
  const parts: Uint8Array[] = [];
  for (const list of [a, b]) {
    for (let at = 0; at + size <= list.length; at += size) {
      const rule = list.subarray(at, at + size);
      const key = Buffer.from(rule).toString('hex');
      if (!seen.has(key)) {
        seen.add(key);
        parts.push(rule);
      }
    }
  }
  if (parts.length > ABI.table.localRulesMax) return undefined;
  const out = new Uint8Array(parts.length * size);
  parts.forEach((rule, i) => out.set(rule, i * size));
  return out;
}
