// SocketSteering: the sk_lookup program attached to a network namespace, steering rules
// (protocol, prefix, port range) to Node sockets, counters and per-address load. Exported by src/index.ts.
import { existsSync } from 'node:fs';

import { IPv4, IPv6 } from 'ip-num';

import { ClosedError, invalid, InvalidOptionError, NativeBuildError } from '../errors.js';
import { ABI } from '../generated/abi.js';
import { native, skLookupObjectPath, type NativeSkLookup } from '../native.js';
import { checkSet, compileRules, type SlottedRule } from './compile.js';
import { checkRule, refuseRule, ruleKey, ruleText, type CheckedRule, type SteerRule } from './rules.js';
import { checkFits, socketOf, type SteerTarget } from './sockets.js';

export type SkLookupCounterName = (typeof ABI.skLookupCounters)[number]['name'];
/** The program's counters, summed over CPUs (docs/metrics.md, SU_SKL_COUNTERS). */
export type SkLookupCounters = Record<SkLookupCounterName, number>;

export interface SocketSteeringOptions {
  /** A namespace name (ip netns), or a path such as /proc/PID/ns/net; default this process's. */
  netns?: string;
  /**
   * Count lookups per destination address for load() (default true). About 30 ns of the
   * program's ~90 per steered lookup (bench/RESULTS.md); false leaves the code out entirely.
   */
  perAddressLoad?: boolean;
}

/** Lookups that matched a rule, for one destination address. */
export interface AddressLoad {
  address: IPv4 | IPv6;
  protocol: 'tcp' | 'udp';
  count: number;
}

/** A rule in force, as rules() lists it. */
export interface SteerRuleInfo {
  rule: string;
  target: SteerTarget;
  /** False once the socket closed: the rule's lookups fall back to the kernel (skl_no_socket). */
  socketOpen: boolean;
}

/** A socket in a SOCKMAP slot; `rules` counts the rules that point at the slot. */
interface Slot {
  index: number;
  target: SteerTarget;
  open: boolean;
  rules: number;
  onClose: () => void;
}

interface Entry {
  rule: CheckedRule;
  slot: Slot;
}

function netnsPath(netns: unknown): string {
  if (netns === undefined) return '/proc/self/ns/net';
  if (typeof netns !== 'string' || netns === '') invalid('netns', 'a namespace name or a path', netns);
  return netns.includes('/') ? netns : `/run/netns/${netns}`;
}

export class SocketSteering {
  private entries = new Map<string, Entry>();
  private readonly slots: (Slot | undefined)[] = [];
  private readonly live = new Map<SteerTarget, Slot>();
  private handle: NativeSkLookup | null;

  private constructor(
    handle: NativeSkLookup,
    private readonly perAddressLoad: boolean,
  ) {
    this.handle = handle;
  }

  /** Loads the program and attaches it to the namespace, with no rules (nothing changes yet). */
  static async attach(options: SocketSteeringOptions = {}): Promise<SocketSteering> {
    if (typeof options !== 'object' || options === null) invalid('options', 'an object', options);
    const path = netnsPath(options.netns);
    const perAddressLoad = options.perAddressLoad ?? true;
    if (typeof perAddressLoad !== 'boolean') invalid('perAddressLoad', 'a boolean', perAddressLoad);
    const binding = native();
    if (!existsSync(skLookupObjectPath)) {
      throw new NativeBuildError(`Expected the sk_lookup program at ${skLookupObjectPath} but it is missing: run npm rebuild softunicast (npm run build in a checkout)`);
    }
    return new SocketSteering(new binding.NativeSkLookup(skLookupObjectPath, path, perAddressLoad), perAddressLoad);
  }

  /** Adds one rule steering to `target`; refuses a rule already present (replaceRules changes one). */
  addRule(rule: SteerRule, target: SteerTarget): void {
    const checked = checkRule(rule);
    checkFits(checked, socketOf(target, 'server'), 'server');
    if (this.entries.has(ruleKey(checked))) refuseRule('rule', 'a rule not present yet (replaceRules changes one)', `${ruleText(checked)}, present`);
    const next = new Map(this.entries);
    next.set(ruleKey(checked), { rule: checked, slot: null as unknown as Slot });
    this.install(next, new Map([[ruleKey(checked), target]]));
  }

  /** Removes the rule that covers the same packets as `rule`; false when there was none. */
  removeRule(rule: SteerRule): boolean {
    const key = ruleKey(checkRule(rule));
    if (!this.entries.has(key)) return false;
    const next = new Map(this.entries);
    next.delete(key);
    this.install(next, new Map());
    return true;
  }

  /**
   * Replaces every rule at once: the program sees the old set or the new one, never a mix and
   * never a moment without rules. Checked as a whole first; nothing changes when it is refused.
   */
  replaceRules(rules: readonly { rule: SteerRule; target: SteerTarget }[]): void {
    if (!Array.isArray(rules)) invalid('rules', 'an array of { rule, target }', rules);
    const next = new Map<string, Entry>();
    const targets = new Map<string, SteerTarget>();
    rules.forEach((r, i) => {
      const checked = checkRule(r?.rule, `rules[${i}].rule`);
      checkFits(checked, socketOf(r.target, `rules[${i}].target`), `rules[${i}].target`);
      if (next.has(ruleKey(checked))) refuseRule(`rules[${i}].rule`, 'each rule once', `${ruleText(checked)} again`);
      next.set(ruleKey(checked), { rule: checked, slot: null as unknown as Slot });
      targets.set(ruleKey(checked), r.target);
    });
    this.install(next, targets);
  }

  /** Sockets first, then the trie swap, then slots no rule points at are emptied. */
  private install(next: Map<string, Entry>, targets: Map<string, SteerTarget>): void {
    const h = this.alive();
    checkSet([...next.values()].map((e) => e.rule));
    const added: Slot[] = [];
    try {
      for (const [key, entry] of next) {
        const target = targets.get(key);
        entry.slot = target === undefined ? this.entries.get(key)!.slot : this.slotFor(h, target, added);
      }
      const slotted: SlottedRule[] = [...next.values()].map((e) => ({ rule: e.rule, slot: e.slot.index }));
      const compiled = compileRules(slotted);
      h.publish(compiled.keys, compiled.values, compiled.count);
    } catch (e) {
      for (const s of added) this.release(s);
      throw e;
    }
    for (const e of this.entries.values()) e.slot.rules--;
    for (const e of next.values()) e.slot.rules++;
    const old = this.entries;
    this.entries = next;
    for (const e of old.values()) if (e.slot.rules === 0) this.release(e.slot);
    for (const s of added) if (s.rules === 0) this.release(s);
  }

  /** The slot of a live target, or a new one with its socket in the SOCKMAP. */
  private slotFor(h: NativeSkLookup, target: SteerTarget, added: Slot[]): Slot {
    const existing = this.live.get(target);
    if (existing?.open) return existing;
    const info = socketOf(target, 'server');
    let index = this.slots.findIndex((s) => s === undefined);
    if (index < 0) index = this.slots.length;
    if (index >= ABI.skLookup.socketsMax) invalid('server', `at most ${ABI.skLookup.socketsMax} sockets steered to`, target);
    h.setSocket(index, info.fd);
    const slot: Slot = { index, target, open: true, rules: 0, onClose: () => this.closed(slot) };
    this.slots[index] = slot;
    this.live.set(target, slot);
    target.once('close', slot.onClose);
    added.push(slot);
    return slot;
  }

  /** The socket closed: the kernel dropped it from the SOCKMAP already; rules stay and fall back, counted. */
  private closed(slot: Slot): void {
    slot.open = false;
    if (this.live.get(slot.target) === slot) this.live.delete(slot.target);
    try {
      this.handle?.clearSocket(slot.index);
    } catch {
      // An event handler has no caller to tell; the kernel emptied the slot when the socket
      // closed, so this delete is only a second broom.
    }
  }

  private release(slot: Slot): void {
    if (this.slots[slot.index] !== slot) return;
    slot.target.removeListener('close', slot.onClose);
    if (this.live.get(slot.target) === slot) this.live.delete(slot.target);
    this.slots[slot.index] = undefined;
    this.handle?.clearSocket(slot.index);
  }

  /** The rules in force, best first within each prefix. */
  rules(): SteerRuleInfo[] {
    return [...this.entries.values()].map((e) => ({ rule: ruleText(e.rule), target: e.slot.target, socketOpen: e.slot.open }));
  }

  /** The program's counters, summed over CPUs. */
  counters(): SkLookupCounters {
    const values = this.alive().counters();
    return Object.fromEntries(ABI.skLookupCounters.map((c, i) => [c.name, values[i]!])) as SkLookupCounters;
  }

  /** Lookups that matched a rule, per destination address, most first (a bounded LRU: rare addresses may be forgotten). */
  load(): AddressLoad[] {
    const h = this.alive();
    if (!this.perAddressLoad) {
      throw new InvalidOptionError('Expected perAddressLoad: true at attach() for load() but received perAddressLoad: false (nothing is counted per address)');
    }
    const { keys, counts } = h.load();
    const size = ABI.skLookup.loadKeySize;
    const seen = new Map<string, AddressLoad>();
    for (let i = 0; i < counts.length; i++) {
      const k = keys.subarray(i * size, (i + 1) * size);
      const v4 = k[0] === ABI.skLookup.familyV4;
      const bytes = k.subarray(4, v4 ? 8 : 20);
      const value = bytes.reduce((acc, b) => (acc << 8n) | BigInt(b), 0n);
      const address = v4 ? IPv4.fromNumber(value) : IPv6.fromBigInt(value);
      const protocol = k[1] === 6 ? 'tcp' : 'udp';
      seen.set(`${protocol}|${address.toString()}`, { address, protocol, count: counts[i]! });
    }
    return [...seen.values()].sort((a, b) => b.count - a.count);
  }

  /** Detaches the program (the namespace's lookups are the kernel's own again); idempotent. */
  close(): void {
    if (this.handle === null) return;
    for (const s of this.slots) if (s !== undefined) s.target.removeListener('close', s.onClose);
    this.handle.close();
    this.handle = null;
  }

  private alive(): NativeSkLookup {
    if (this.handle === null) throw new ClosedError('The socket steering was closed');
    return this.handle;
  }
}
