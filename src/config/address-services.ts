// The file's `addressServices` section (issue 16): IPv6 prefixes cut into address slices owned by servers
// of the file, with an optional source filter. Checked by validate.ts; tableFor (perspective.ts) adds them to every router's table.
import { SoftunicastError } from '../errors.js';
import { ABI } from '../generated/abi.js';
import { checkAddressService, servicesOverlap } from '../slices/address-services.js';
import { formatPrefix, prefixOf, type Prefix6 } from '../ssa/prefix.js';
import { parseRule } from '../ssa/rule.js';
import { checkOwner, type Owners } from './egress.js';
import { about, formatPath, type Path } from './path.js';
import type { Problems } from './problems.js';
import type { AddressFilterConfig, AddressServiceConfig, AddressSliceConfig } from './types.js';
import { object } from './values.js';

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

/**
 * An IPv6 prefix written as text, through the library's parser (its messages, this path). The path's
 * text is made only for a message: tens of thousands of slices would spend most of their time on it.
 */
function prefix6(value: unknown, path: Path): Prefix6 {
  try {
    return prefixOf(value, '');
  } catch {
    try {
      return prefixOf(value, formatPath(path));
    } catch (error) {
      throw error instanceof SoftunicastError ? about(error, path) : error;
    }
  }
}

/** A server name of the file for `path`, or undefined (and a problem, unless the server itself failed). */
function server(p: Problems, value: unknown, path: Path, owners: Owners): string | undefined {
  return checkOwner(p, value, path, owners) === undefined ? undefined : (value as string);
}

interface Drafted {
  readonly slice: AddressSliceConfig;
  readonly parsed: Prefix6;
}

function checkSlice(p: Problems, value: unknown, path: Path, owners: Owners): Drafted | undefined {
  const s = object(p, value, path, 'addressSlice', 'an address slice { prefix, owner, secondary? }');
  if (s === undefined) return undefined;
  const parsed = p.attempt(path, () => prefix6(s.prefix, [...path, 'prefix']));
  const owner = server(p, s.owner, [...path, 'owner'], owners);
  let secondary: string | undefined;
  if (s.secondary !== undefined) {
    secondary = server(p, s.secondary, [...path, 'secondary'], owners);
    if (secondary !== undefined && secondary === owner) {
      secondary = p.expected([...path, 'secondary'], `a server other than the slice's owner (the old owner while the slice moves to ${owner}), or no secondary`, s.secondary);
    }
    if (secondary === undefined) return undefined;
  }
  if (parsed === undefined || owner === undefined) return undefined;
  const slice = { prefix: formatPrefix(parsed), owner, ...(secondary !== undefined && { secondary }) };
  return { slice, parsed };
}

function checkFilter(p: Problems, value: unknown, path: Path, owners: Owners): AddressFilterConfig | undefined {
  const f = object(p, value, path, 'addressFilter', "a source filter { rule, nonConforming? } (rule: the client rule text 'v=ssa1 rule=source-derived ...')");
  if (f === undefined) return undefined;
  const before = p.count;
  const rule = p.attempt([...path, 'rule'], () => parseRule(f.rule as string));
  if (rule !== undefined && rule.rule !== 'source-derived') p.expected([...path, 'rule'], 'a source-derived rule (the fast path checks each packet\'s destination against its source)', f.rule);
  let nonConforming: AddressFilterConfig['nonConforming'] = 'drop';
  const nc = f.nonConforming;
  if (nc !== undefined && nc !== 'drop') {
    const o = object(p, nc, [...path, 'nonConforming'], 'nonConformingOwner', "'drop' or { owner } (a low-priority owner)");
    const owner = o === undefined ? undefined : server(p, o.owner, [...path, 'nonConforming', 'owner'], owners);
    if (owner !== undefined) nonConforming = { owner };
  }
  if (p.count > before || rule?.rule !== 'source-derived') return undefined;
  return { rule, nonConforming };
}

/** The slice a library coverage message names last (the later of two overlapping, the one outside), as its index. */
function sliceNamed(message: string, drafted: readonly Drafted[]): number | undefined {
  const named = [...message.matchAll(/([0-9a-f:]+\/\d{1,3}) -> /g)].pop()?.[1];
  if (named === undefined) return undefined;
  const i = drafted.findIndex((d) => d.slice.prefix === named);
  return i < 0 ? undefined : i;
}

/**
 * The slices as a whole: no finer than the fast path indexes (2^bitsMax rows a service), then the library's
 * own coverage check (every address of the prefix in exactly one slice), its error placed at the slice it names.
 */
function checkCoverage(p: Problems, prefix: Prefix6, drafted: readonly Drafted[], path: Path): boolean {
  const finest = drafted.reduce((m, d, i) => (d.parsed.length > drafted[m]!.parsed.length ? i : m), 0);
  const max = prefix.length + ABI.addr.bitsMax;
  if (drafted[finest]!.parsed.length > max) {
    p.expected([...path, finest, 'prefix'], `a slice no finer than /${max} (2^${ABI.addr.bitsMax} rows a service: the lookup indexes the finest slice length directly)`, drafted[finest]!.slice.prefix);
    return false;
  }
  const spec = { prefix: formatPrefix(prefix), slices: drafted.map((d) => d.slice) };
  try {
    checkAddressService(spec, () => true, () => undefined as never);
    return true;
  } catch (error) {
    if (!(error instanceof SoftunicastError)) throw error;
    const i = sliceNamed(error.message, drafted);
    p.error(i === undefined ? path : [...path, i], error.code, error.message);
    return false;
  }
}

function checkSlices(p: Problems, value: unknown, path: Path, prefix: Prefix6 | undefined, owners: Owners): AddressSliceConfig[] | undefined {
  if (!Array.isArray(value) || value.length === 0) return p.expected(path, 'a non-empty list of address slices { prefix, owner, secondary? }', value);
  const drafted = value.map((v: unknown, i) => checkSlice(p, v, [...path, i], owners));
  if (prefix === undefined || drafted.some((d) => d === undefined)) return undefined;
  return checkCoverage(p, prefix, drafted as Drafted[], path) ? (drafted as Drafted[]).map((d) => d.slice) : undefined;
}

function checkService(p: Problems, value: unknown, path: Path, owners: Owners): (AddressServiceConfig & { parsed: Prefix6 }) | undefined {
  const s = object(p, value, path, 'addressService', 'an address service { name?, prefix, slices, filter? }');
  if (s === undefined) return undefined;
  const before = p.count;
  if (s.name !== undefined && (typeof s.name !== 'string' || !NAME.test(s.name))) {
    p.expected([...path, 'name'], "a name of letters, digits, '.', '_' and '-' that starts with a letter or digit", s.name);
  }
  let parsed = p.attempt(path, () => prefix6(s.prefix, [...path, 'prefix']));
  if (parsed !== undefined && (parsed.length < 1 || parsed.length > ABI.addr.prefixMax)) {
    parsed = p.expected([...path, 'prefix'], `an IPv6 prefix of /1 to /${ABI.addr.prefixMax} (the fast path's address services)`, s.prefix);
  }
  const slices = checkSlices(p, s.slices, [...path, 'slices'], parsed, owners);
  const filter = s.filter === undefined ? undefined : checkFilter(p, s.filter, [...path, 'filter'], owners);
  if (p.count > before || parsed === undefined || slices === undefined) return undefined;
  const prefix = formatPrefix(parsed);
  return { name: typeof s.name === 'string' ? s.name : prefix, prefix, slices, ...(filter !== undefined && { filter }), parsed };
}

/** The checked address services, with each one's index in the file's list and its parsed prefix. */
export interface AddressServicesChecked {
  readonly services: AddressServiceConfig[];
  readonly at: readonly number[];
  readonly parsed: readonly Prefix6[];
}

/**
 * The `addressServices` list: each service checked, at most ABI addr.servicesMax of them (every router's
 * table holds them all), no two prefixes overlapping, no name twice.
 */
export function checkAddressServices(p: Problems, value: unknown, owners: Owners): AddressServicesChecked {
  const none: AddressServicesChecked = { services: [], at: [], parsed: [] };
  if (value === undefined) return none;
  if (!Array.isArray(value)) return p.expected(['addressServices'], 'a list of address services', value) ?? none;
  if (value.length > ABI.addr.servicesMax) {
    p.expected(['addressServices'], `at most ${ABI.addr.servicesMax} address services (the fast path's limit a table)`, value);
  }
  const out: (AddressServiceConfig & { parsed: Prefix6; at: number })[] = [];
  value.forEach((v: unknown, i) => {
    const s = checkService(p, v, ['addressServices', i], owners);
    if (s === undefined) return;
    const other = out.find((o) => servicesOverlap(o.parsed, s.parsed));
    if (other !== undefined) return p.expected(['addressServices', i, 'prefix'], `a prefix apart from the other address services' (it overlaps ${other.prefix} of addressServices[${other.at}])`, s.prefix);
    const twice = out.find((o) => o.name === s.name);
    if (twice !== undefined) return p.expected(['addressServices', i, 'name'], `a name that addressServices[${twice.at}] does not have`, s.name);
    out.push({ ...s, at: i });
  });
  return { services: out.map(({ parsed: _parsed, at: _at, ...s }) => s), at: out.map((s) => s.at), parsed: out.map((s) => s.parsed) };
}
