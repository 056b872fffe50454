// Address-slice services of a SliceTable (issue 16): an IPv6 prefix cut into slices of mixed sizes,
// each owned by an owner of the table (and, during a move, still by its old owner as secondary), with
// an optional source filter. Their spec and validation; the address-slice kind (address-slices.ts) compiles them.
import { describe, invalid, InvalidSliceError } from '../errors.js';
import { formatPrefix, prefixOf, type Prefix6, type PrefixInput } from '../ssa/prefix.js';
import type { SourceDerivedRule } from '../ssa/rule.js';
import { sliceSet, type SliceSet } from '../ssa/slice-set.js';
import { ABI } from '../generated/abi.js';

/** One slice of a service: its prefix, its owner, and during a move the old owner (`secondary`). */
export interface AddressSliceSpec {
  readonly prefix: PrefixInput;
  readonly owner: string;
  /** The previous owner while the slice moves: its established connections finish there (second chance). */
  readonly secondary?: string;
}

/** What the fast path does with a packet whose destination does not conform to its source. */
export type NonConforming = 'drop' | { readonly owner: string };

export interface AddressServiceSpec {
  /** The service's IPv6 prefix, /1 to /64 (e.g. '2001:db8:0:1::/64'). */
  readonly prefix: PrefixInput;
  /** Slices covering the prefix exactly; or a slice set of src/ssa (its moves give the secondaries). */
  readonly slices: readonly AddressSliceSpec[] | SliceSet;
  /** The stateless source filter: the service's source-derived rule, and what non-conforming packets meet ('drop' by default). */
  readonly filter?: { readonly rule: SourceDerivedRule; readonly nonConforming?: NonConforming };
}

/** A validated service: its slices sorted by address, `bits` = the finest slice's length - the prefix's. */
export interface AddressService extends Prefix6 {
  readonly bits: number;
  readonly slices: readonly { readonly network: bigint; readonly length: number; readonly owner: string; readonly secondary: string }[];
  readonly filter?: { readonly sourceBits: number; readonly key: string; readonly nonConforming: NonConforming };
}

const KEYS = ['prefix', 'slices', 'filter'];

function isSliceSet(v: unknown): v is SliceSet {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && Array.isArray((v as SliceSet).prefixes) && Array.isArray((v as SliceSet).slices);
}

function filterOf(value: unknown, isOwner: (name: string) => boolean, unknown: (name: unknown, path: string) => never): AddressService['filter'] {
  const path = 'service.filter';
  if (value === undefined) return undefined;
  const { rule, nonConforming = 'drop' } = (value ?? {}) as { rule?: SourceDerivedRule; nonConforming?: unknown };
  if (rule?.rule !== 'source-derived' || rule.fn !== 'flowhash-1' || !Number.isInteger(rule.sourceBits) || rule.sourceBits < 1 || rule.sourceBits > 128 || !/^[0-9a-f]{32}$/.test(rule.key)) {
    invalid(`${path}.rule`, 'a source-derived rule (fn flowhash-1, sourceBits 1 to 128, key of 32 lower-case hex digits)', rule);
  }
  if (nonConforming !== 'drop') {
    const owner = (nonConforming as { owner?: unknown })?.owner;
    if (typeof owner !== 'string' || !isOwner(owner)) unknown(owner, `${path}.nonConforming.owner`);
  }
  return { sourceBits: rule.sourceBits, key: rule.key, nonConforming: nonConforming as NonConforming };
}

/**
 * Validates `spec` (path `service`): the prefix (/1 to /64), slices covering it exactly (InvalidSliceError
 * naming the slice or the gap), at most 2^bitsMax rows, owners through `isOwner`/`unknown`.
 */
export function checkAddressService(spec: unknown, isOwner: (name: string) => boolean, unknown: (name: unknown, path: string) => never): AddressService {
  const path = 'service';
  if (typeof spec !== 'object' || spec === null || Array.isArray(spec)) invalid(path, 'an address service { prefix, slices, filter? }', spec);
  const s = spec as Record<string, unknown>;
  for (const key of Object.keys(s)) if (!KEYS.includes(key)) invalid(`${path}.${key}`, `no such field (known: ${KEYS.join(', ')})`, s[key]);
  const prefix = prefixOf(s.prefix, `${path}.prefix`);
  if (prefix.length < 1 || prefix.length > ABI.addr.prefixMax) {
    throw new InvalidSliceError(`Expected an IPv6 prefix of /1 to /${ABI.addr.prefixMax} for ${path}.prefix but received ${describe(formatPrefix(prefix))}`);
  }
  const given = s.slices;
  const inputs = isSliceSet(given)
    ? given.slices.map((x) => ({ prefix: formatPrefix(x), owner: x.owner, ...(x.moving ? { moving: { from: x.moving.from, until: 0 } } : {}) }))
    : Array.isArray(given)
      ? (given as AddressSliceSpec[]).map((x) => ({ prefix: x?.prefix, owner: x?.owner, ...(x?.secondary !== undefined && x.secondary !== x.owner ? { moving: { from: x.secondary, until: 0 } } : {}) }))
      : invalid(`${path}.slices`, 'an array of { prefix, owner, secondary? } or a slice set', given);
  const set = sliceSet({ prefixes: [formatPrefix(prefix)], slices: inputs as never });
  let finest = prefix.length;
  const slices = set.slices.map((x, i) => {
    for (const [name, where] of [[x.owner, 'owner'], [x.moving?.from, 'secondary']] as const) {
      if (name !== undefined && !isOwner(name)) unknown(name, `${path}.slices[${i}].${where}`);
    }
    finest = Math.max(finest, x.length);
    return { network: x.network, length: x.length, owner: x.owner, secondary: x.moving?.from ?? x.owner };
  });
  const bits = finest - prefix.length;
  if (bits > ABI.addr.bitsMax) {
    invalid(`${path}.slices`, `slices no finer than /${prefix.length + ABI.addr.bitsMax} (2^${ABI.addr.bitsMax} rows a service: the lookup indexes the finest length directly)`, `a /${finest}`);
  }
  const filter = filterOf(s.filter, isOwner, unknown);
  return { ...prefix, bits, slices, ...(filter ? { filter } : {}) };
}

/** Whether two services' prefixes overlap. */
export function servicesOverlap(a: Prefix6, b: Prefix6): boolean {
  const l = BigInt(128 - Math.min(a.length, b.length));
  return a.network >> l === b.network >> l;
}
