// Checks for the values of the configuration file: objects with known keys, names, numbers,
// addresses and prefixes written as text, port ranges, protocols, tags. Used by validate.ts and
// egress.ts. Each throws at its value's problem (fail()); the caller records it (Problems.attempt).
import { isIPv6 } from 'node:net';

import { IPv4, IPv4CidrRange, IPv6, IPv6CidrRange } from 'ip-num';

import type { Destination, PortRange, Protocol } from '../fields.js';
import { CONFIG_KEYS, type ConfigObjectKind } from './keys.js';
import { fail, type Path } from './path.js';
import type { Problems } from './problems.js';

/**
 * A plain object of its kind: undefined (and a problem) when `value` is not an object; each key
 * the kind does not know (keys.ts) is a problem of its own, the rest is still checked.
 */
export function object(p: Problems, value: unknown, path: Path, kind: ConfigObjectKind, expected: string): Record<string, unknown> | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return p.expected(path, expected, value);
  const known: readonly string[] = CONFIG_KEYS[kind];
  for (const key of Object.keys(value)) {
    if (!known.includes(key)) p.expected([...path, key], `no such key (known here: ${known.join(', ')})`, (value as Record<string, unknown>)[key]);
  }
  return value as Record<string, unknown>;
}

/** A plain object used as a map from names to entries (datacenters, servers, tags); undefined and a problem if not. */
export function map(p: Problems, value: unknown, path: Path, expected: string): Record<string, unknown> | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return p.expected(path, expected, value);
  return value as Record<string, unknown>;
}

// Host names and more: letters, digits, '.', '_', '-', starting with a letter or digit. Names
// become owner names and appear in tables, so they are kept printable and unambiguous.
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$/;

/** Checks a data centre or server name (a map key). */
export function checkName(name: string, path: Path, what: string): void {
  if (!NAME.test(name)) fail(path, `a ${what} name of letters, digits, '.', '_' and '-' that starts with a letter or digit`, name);
}

/** An integer from min to max, or `fallback` when absent. */
export function integer(value: unknown, path: Path, min: number, max: number, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) fail(path, `an integer from ${min} to ${max}`, value);
  return value;
}

/** true or false, or `fallback` when absent. */
export function boolean(value: unknown, path: Path, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') fail(path, 'true or false', value);
  return value;
}

/** One of `allowed`, or `fallback` when absent. */
export function oneOf<T extends string>(value: unknown, path: Path, allowed: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if (!allowed.includes(value as T)) fail(path, allowed.map((a) => `'${a}'`).join(', ').replace(/, ([^,]*)$/, ' or $1'), value);
  return value as T;
}

// Dotted quad with no leading zeros: "010.0.0.1" means octal to some tools and decimal to others.
const OCTET = '(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)';
const V4 = new RegExp(`^${OCTET}(?:\\.${OCTET}){3}$`);

/** Whether `text` is an IPv4 address in dotted-quad form. */
export function isIPv4Text(text: string): boolean {
  return V4.test(text);
}

/** Whether `text` is an IPv6 address without a zone index (these are global addresses). */
export function isIPv6Text(text: string): boolean {
  return !text.includes('%') && isIPv6(text);
}

/** An IPv4 address written as text. */
export function ipv4(value: unknown, path: Path): IPv4 {
  if (typeof value !== 'string' || !V4.test(value)) fail(path, "an IPv4 address such as '192.0.2.1'", value);
  return IPv4.fromString(value);
}

/** An IPv6 address written as text. */
export function ipv6(value: unknown, path: Path): IPv6 {
  if (typeof value !== 'string' || !isIPv6Text(value)) fail(path, "an IPv6 address such as '2001:db8::1'", value);
  return IPv6.fromString(value);
}

/** An IPv4 or IPv6 address written as text. */
export function address(value: unknown, path: Path): IPv4 | IPv6 {
  if (typeof value === 'string' && V4.test(value)) return IPv4.fromString(value);
  if (typeof value === 'string' && isIPv6Text(value)) return IPv6.fromString(value);
  return fail(path, "an IPv4 or IPv6 address such as '192.0.2.1' or '2001:db8::1'", value);
}

/** A prefix 'address/length' with no host bits set. */
export function prefix(value: unknown, path: Path): IPv4CidrRange | IPv6CidrRange {
  const expected = "a prefix such as '198.51.100.0/24' or '2001:db8::/32'";
  if (typeof value !== 'string') return fail(path, expected, value);
  const m = /^([^/]+)\/(0|[1-9]\d{0,2})$/.exec(value);
  const v4 = m !== null && V4.test(m[1]!);
  if (m === null || (!v4 && !isIPv6Text(m[1]!)) || Number(m[2]) > (v4 ? 32 : 128)) return fail(path, expected, value);
  const range = v4 ? IPv4CidrRange.fromCidr(value) : IPv6CidrRange.fromCidr(value);
  // A prefix with host bits set is almost always a typo for another prefix; say which.
  const network = `${range.getFirst().toString()}/${m[2]}`;
  if (range.getFirst().getValue() !== (v4 ? IPv4 : IPv6).fromString(m[1]!).getValue()) fail(path, `a prefix without host bits set (${network})`, value);
  return range;
}

/** An address, or a prefix 'address/length' (trusted peers). */
export function addressOrPrefix(value: unknown, path: Path): Destination {
  if (typeof value === 'string' && value.includes('/')) return prefix(value, path);
  if (typeof value === 'string' && (V4.test(value) || isIPv6Text(value))) return address(value, path);
  return fail(path, "an address or a prefix such as '10.0.0.0/8' or '2001:db8::/32'", value);
}

const PORTS_EXPECTED = "a port, a range such as '2048-4095', or { from, to }";

function port(value: unknown, path: Path): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 65535) fail(path, 'a port from 0 to 65535', value);
  return value;
}

/** A port (53), a range as text ('2048-4095' or '53') or as { from, to }; inclusive. */
export function ports(value: unknown, path: Path): PortRange {
  if (typeof value === 'number') {
    const p = port(value, path);
    return { from: p, to: p };
  }
  if (typeof value === 'string') {
    const m = /^\s*(\d{1,5})\s*(?:-\s*(\d{1,5})\s*)?$/.exec(value);
    if (m === null) return fail(path, PORTS_EXPECTED, value);
    const from = Number(m[1]);
    const to = m[2] === undefined ? from : Number(m[2]);
    if (from > 65535 || to > 65535) fail(path, 'ports from 0 to 65535', value);
    if (to < from) fail(path, 'a range whose first port is not above its last', value);
    return { from, to };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return fail(path, PORTS_EXPECTED, value);
  for (const key of Object.keys(value)) {
    if (key !== 'from' && key !== 'to') fail([...path, key], 'no such key (known here: from, to)', (value as Record<string, unknown>)[key]);
  }
  const r = value as Record<string, unknown>;
  const from = port(r.from, [...path, 'from']);
  const to = port(r.to, [...path, 'to']);
  if (to < from) fail([...path, 'to'], `a port not below from (${from})`, to);
  return { from, to };
}

/** Digits from `start` to `end` as a number, or -1 unless 1 to 5 of them. */
function digits(text: string, start: number, end: number): number {
  if (end <= start || end - start > 5) return -1;
  let n = 0;
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return -1;
    n = n * 10 + c;
  }
  return n;
}

/**
 * The common forms of ports() without a regular expression or an object: from * 65536 + to,
 * or -1 for anything else (then ports() decides, with its messages). A million slices take this.
 */
export function packedPorts(value: unknown): number {
  let from = -1;
  let to = -1;
  if (typeof value === 'string') {
    const dash = value.indexOf('-');
    from = digits(value, 0, dash < 0 ? value.length : dash);
    to = dash < 0 ? from : digits(value, dash + 1, value.length);
  } else if (typeof value === 'number') {
    from = to = Number.isInteger(value) ? value : -1;
  } else if (typeof value === 'object' && value !== null) {
    const r = value as { from?: unknown; to?: unknown };
    let keys = 0;
    for (const _ in r) keys++;
    if (keys === 2 && Number.isInteger(r.from) && Number.isInteger(r.to)) {
      from = r.from as number;
      to = r.to as number;
    }
  }
  return from >= 0 && to <= 65535 && from <= to ? from * 65536 + to : -1;
}

/** A non-empty list of 'tcp' and 'udp', each once; `fallback` when absent. */
export function protocols(value: unknown, path: Path, fallback: readonly Protocol[]): readonly Protocol[] {
  if (value === undefined) return fallback;
  if (!Array.isArray(value) || value.length === 0) fail(path, "a non-empty list of 'tcp' and 'udp'", value);
  const seen = new Set<Protocol>();
  value.forEach((p: unknown, i) => {
    if (p !== 'tcp' && p !== 'udp') fail([...path, i], "'tcp' or 'udp'", p);
    if (seen.has(p)) fail([...path, i], 'a protocol not listed before', p);
    seen.add(p);
  });
  // TCP first, as SliceTable lists them.
  return seen.size === 2 ? ['tcp', 'udp'] : [...seen];
}

/** Labels: names to strings (numbers and booleans are taken as their text); each bad one a problem. */
export function tags(p: Problems, value: unknown, path: Path): Record<string, string> {
  if (value === undefined) return {};
  const t = map(p, value, path, 'a map of tag names to values');
  const out: Record<string, string> = {};
  if (t === undefined) return out;
  for (const [key, v] of Object.entries(t)) {
    if (key === '') p.expected([...path, key], 'a non-empty tag name', key);
    else if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') p.expected([...path, key], 'a string, number or boolean', v);
    else out[key] = String(v);
  }
  return out;
}
