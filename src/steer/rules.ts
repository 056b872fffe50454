// Steering rules: what a caller writes (protocol, destination prefix, port range), checked and
// turned into plain numbers, and the precedence between two rules. Used by compile.ts and steering.ts.
import { describe, InvalidRuleError } from '../errors.js';
import { destinationOf, portRange, type Destination, type PortRange, type Protocol } from '../fields.js';
import { ABI } from '../generated/abi.js';

/** A rule as the API takes it. */
export interface SteerRule {
  protocol: Protocol;
  /** An ip-num prefix (IPv4CidrRange, IPv6CidrRange) or one address (IPv4, IPv6). */
  prefix: Destination;
  /** One port or an inclusive range; every port when left out. */
  ports?: number | PortRange;
}

/** A checked rule: `address` is the network address as an integer. */
export interface CheckedRule {
  protocol: Protocol;
  family: 4 | 6;
  prefixLength: number;
  address: bigint;
  from: number;
  to: number;
}

/** Throws InvalidRuleError in the house format. */
export function failRule(path: string, expected: string, received: unknown): never {
  throw new InvalidRuleError(`Expected ${expected} for ${path} but received ${describe(received)}`);
}

/** Like failRule, with `received` already said in words ('a server that is not listening'). */
export function refuseRule(path: string, expected: string, received: string): never {
  throw new InvalidRuleError(`Expected ${expected} for ${path} but received ${received}`);
}

/** Checks a rule as a caller wrote it; `path` names it in messages ('rule', 'rules[3]'). */
export function checkRule(rule: unknown, path = 'rule'): CheckedRule {
  if (typeof rule !== 'object' || rule === null) failRule(path, 'a rule { protocol, prefix, ports }', rule);
  const r = rule as Partial<SteerRule>;
  if (r.protocol !== 'tcp' && r.protocol !== 'udp') failRule(`${path}.protocol`, "'tcp' or 'udp'", r.protocol);
  const d = destinationOf(r.prefix, `${path}.prefix`, failRule);
  const ports = portRange(r.ports, `${path}.ports`, failRule);
  return {
    protocol: r.protocol,
    family: d.family === ABI.family.ipv4 ? 4 : 6,
    prefixLength: d.prefixLength,
    address: d.address,
    from: ports.from,
    to: ports.to,
  };
}

/** The rule as text for messages and listings: 'tcp 10.20.0.0/20 80-80'. */
export function ruleText(r: CheckedRule): string {
  return `${r.protocol} ${prefixText(r.family, r.address, r.prefixLength)} ${r.from}-${r.to}`;
}

export function prefixText(family: 4 | 6, address: bigint, length: number): string {
  if (family === 4) {
    return `${[24n, 16n, 8n, 0n].map((s) => (address >> s) & 255n).join('.')}/${length}`;
  }
  const groups = [];
  for (let s = 112n; s >= 0n; s -= 16n) groups.push(((address >> s) & 0xffffn).toString(16));
  // Not the shortest form (no '::'): only messages and listings read it.
  return `${groups.join(':')}/${length}`;
}

/** A key that is the same for two rules exactly when they cover the same packets. */
export function ruleKey(r: CheckedRule): string {
  return `${r.protocol}|${r.family}|${r.address}|${r.prefixLength}|${r.from}|${r.to}`;
}

/**
 * Precedence, as docs/agility.md states it: the longer prefix first, then the narrower port
 * range. Negative when `a` wins. Two rules on one prefix with ranges of one width that overlap
 * would tie: checkSet() refuses them.
 */
export function precedence(a: CheckedRule, b: CheckedRule): number {
  if (a.prefixLength !== b.prefixLength) return b.prefixLength - a.prefixLength;
  return a.to - a.from - (b.to - b.from) || a.from - b.from;
}
