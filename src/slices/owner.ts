// Owner specs: validation with defaults filled in, fallbacks, MAC address parsing, equality for
// diffs; OwnerCheck, how service sets ask their table about owners. Used by SliceTable (table.ts),
// its service sets, compileTable (compile.ts) and diffTables (diff.ts).
import type { IPv4, IPv6 } from 'ip-num';

import { describe, invalid, UnknownOwnerError } from '../errors.js';
import { ABI } from '../generated/abi.js';
import { isAddress, isIPv4 } from '../ip.js';
import { GLB_GUE_PORT } from '../lb/hop-list.js';
import type { OwnerSpec } from './types.js';

/**
 * How a table's service sets (flow-service-set.ts, address-service-set.ts) ask the table about
 * owners without importing it: whether `name` is an owner, and a thrower of UnknownOwnerError
 * (naming the owners there are) for a name that is not.
 */
export interface OwnerCheck {
  readonly isOwner: (name: string) => boolean;
  readonly unknownOwner: (name: unknown, path: string) => never;
}

/** Throws UnknownOwnerError for `name` at `path`, listing (the first ten of) the owners `known`. */
export function unknownOwner(known: readonly string[], name: unknown, path: string): never {
  const list = known.length === 0 ? 'none defined yet' : `known: ${known.slice(0, 10).join(', ')}${known.length > 10 ? ', ...' : ''}`;
  throw new UnknownOwnerError(`Expected an owner defined with defineOwner() (${list}) for ${path} but received ${describe(name)}`);
}

const MAC = /^[0-9a-f]{2}(?::[0-9a-f]{2}){5}$/i;

/** Six bytes from 'aa:bb:cc:dd:ee:ff' (colons, two hex digits per byte, nothing else). */
export function parseMac(value: unknown, path: string): Uint8Array {
  if (typeof value !== 'string' || !MAC.test(value)) invalid(path, "a MAC address such as '02:00:00:00:00:01'", value);
  return Uint8Array.from(value.split(':'), (h) => parseInt(h, 16));
}

/** Checks a user-defined owner name. */
export function checkOwnerName(name: unknown, path: string): string {
  if (typeof name !== 'string' || name.length === 0) invalid(path, 'a non-empty owner name', name);
  return name;
}

function checkKeys(spec: Record<string, unknown>, path: string, keys: readonly string[]): void {
  for (const key of Object.keys(spec)) {
    if (!keys.includes(key)) invalid(`${path}.${key}`, `no such option (known for this kind: ${keys.join(', ')})`, spec[key]);
  }
}

function checkAddress(value: unknown, path: string): IPv4 | IPv6 {
  if (!isAddress(value)) invalid(path, 'an ip-num IPv4 or IPv6 address', value);
  return value;
}

/** The other addresses of a server, frozen; undefined when there are none (the spec then has no such key). */
function checkOtherAddresses(value: unknown, path: string): readonly (IPv4 | IPv6)[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value)) invalid(path, 'an array of ip-num IPv4 and IPv6 addresses', value);
  const list = (value as unknown[]).map((a, i) => checkAddress(a, `${path}[${i}]`));
  return list.length === 0 ? undefined : Object.freeze(list);
}

function checkGuePort(value: unknown, path: string, fallback: number = ABI.gue.defaultPort): number {
  if (value === undefined) return fallback;
  // Port 0 cannot be a UDP destination; the native image check refuses it too (view.c).
  if (!Number.isInteger(value) || (value as number) < 1 || (value as number) > 65535) invalid(path, 'a UDP port from 1 to 65535', value);
  return value as number;
}

/** The fallback option: absent, or another owner's name (whether it exists is checkFallbacks'). */
function checkFallback(value: unknown, path: string): { fallback?: string } {
  if (value === undefined) return {};
  if (typeof value !== 'string' || value.length === 0) invalid(path, 'the name of another owner of the table', value);
  return { fallback: value };
}

/**
 * Every fallback names an owner `specs` defines, other than its own: a table whose fallbacks
 * point nowhere is refused before it is compiled. Cycles are harmless (a fallback that is down
 * itself is not used), so they are allowed.
 */
export function checkFallbacks(specs: ReadonlyMap<string, OwnerSpec>): void {
  for (const [name, spec] of specs) {
    if (spec.kind === 'local' || spec.fallback === undefined) continue;
    if (spec.fallback === name) invalid(`owners['${name}'].fallback`, 'another owner than the owner itself', spec.fallback);
    if (!specs.has(spec.fallback)) {
      const known = [...specs.keys()].filter((n) => n !== name);
      throw new UnknownOwnerError(
        `Expected an owner defined with defineOwner() (${known.slice(0, 10).join(', ') || 'none other'}${known.length > 10 ? ', ...' : ''}) for owners['${name}'].fallback but received ${describe(spec.fallback)}`,
      );
    }
  }
}

/**
 * Validates `spec` and returns a frozen copy with every default filled in (encap 'gue0',
 * guePort 6080, or 19523 for 'glb'), which is what SliceTable.owners() reports.
 */
export function normalizeOwner(spec: unknown, path: string): OwnerSpec {
  if (typeof spec !== 'object' || spec === null || Array.isArray(spec)) invalid(path, 'an owner spec object', spec);
  const s = spec as Record<string, unknown>;
  switch (s.kind) {
    case 'local':
      checkKeys(s, path, ['kind']);
      return Object.freeze({ kind: 'local' });
    case 'server': {
      checkKeys(s, path, ['kind', 'address', 'encap', 'mac', 'guePort', 'otherAddresses', 'fallback']);
      const address = checkAddress(s.address, `${path}.address`);
      const others = checkOtherAddresses(s.otherAddresses, `${path}.otherAddresses`);
      const more = others === undefined ? {} : { otherAddresses: others };
      const encap = s.encap ?? 'gue0';
      if (encap !== 'gue0' && encap !== 'gue1' && encap !== 'l2' && encap !== 'glb') invalid(`${path}.encap`, "'gue0', 'gue1', 'l2' or 'glb'", encap);
      // GLB hop lists hold IPv4 addresses only, and its backends read an IPv4 outer header.
      if (encap === 'glb' && (!isIPv4(address) || address.getValue() === 0n)) {
        invalid(`${path}.address`, "an IPv4 address other than 0.0.0.0 for encap 'glb' (GLB hop lists are IPv4 only)", address);
      }
      if (encap === 'l2') {
        if (s.guePort !== undefined) invalid(`${path}.guePort`, "no GUE port for an 'l2' owner (it is not encapsulated)", s.guePort);
        parseMac(s.mac, `${path}.mac`);
        return Object.freeze({ kind: 'server', address, encap, mac: (s.mac as string).toLowerCase(), ...more, ...checkFallback(s.fallback, `${path}.fallback`) });
      }
      // The next hop of a GUE owner comes from the neighbour table (compileTable's nextHops).
      if (s.mac !== undefined) invalid(`${path}.mac`, "no MAC address unless encap is 'l2' (GUE next hops are resolved)", s.mac);
      const port = checkGuePort(s.guePort, `${path}.guePort`, encap === 'glb' ? GLB_GUE_PORT : ABI.gue.defaultPort);
      return Object.freeze({ kind: 'server', address, encap, guePort: port, ...more, ...checkFallback(s.fallback, `${path}.fallback`) });
    }
    case 'datacenter': {
      checkKeys(s, path, ['kind', 'endpoint', 'encap', 'guePort', 'fallback']);
      const endpoint = checkAddress(s.endpoint, `${path}.endpoint`);
      const encap = s.encap ?? 'gue0';
      if (encap !== 'gue0' && encap !== 'gue1') invalid(`${path}.encap`, "'gue0' or 'gue1'", encap);
      return Object.freeze({ kind: 'datacenter', endpoint, encap, guePort: checkGuePort(s.guePort, `${path}.guePort`), ...checkFallback(s.fallback, `${path}.fallback`) });
    }
    default:
      return invalid(`${path}.kind`, "'local', 'server' or 'datacenter'", s.kind);
  }
}

/** Two normalized specs describe the same owner. */
export function sameOwner(a: OwnerSpec, b: OwnerSpec): boolean {
  if (a.kind === 'local' || b.kind === 'local') return a.kind === b.kind;
  if (a.kind === 'server' && b.kind === 'server') {
    const others = (s: typeof a) => (s.otherAddresses ?? []).map(String).join(' ');
    return a.address.toString() === b.address.toString() && a.encap === b.encap && a.mac === b.mac && a.guePort === b.guePort && others(a) === others(b) && a.fallback === b.fallback;
  }
  if (a.kind === 'datacenter' && b.kind === 'datacenter') {
    return a.endpoint.toString() === b.endpoint.toString() && a.encap === b.encap && a.guePort === b.guePort && a.fallback === b.fallback;
  }
  return false;
}
