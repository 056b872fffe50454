// Flow-hash services of a SliceTable (issue 15): a (destination address, protocol, port) whose
// flows spread over its backends (owners of the table) through a Maglev table. Their spec, its
// validation and their canonical order; the flow-hash key kind (flow-hash.ts) compiles them.
import type { IPv4, IPv6 } from 'ip-num';

import { invalid } from '../errors.js';
import { isPort, type Protocol } from '../fields.js';
import { isAddress, isIPv4 } from '../ip.js';
import { buildMaglev, canonicalBackends, checkSize, MAGLEV_DEFAULT_SIZE, type MaglevTable, type WeightedBackend } from '../lb/maglev.js';
import { rebuild, type RebuildOptions } from '../lb/second-chance.js';
import { FAMILY_V4, FAMILY_V6, formatV4, formatV6 } from './address.js';

/** A backend of a service: an owner of the table, weight 1 by default. */
export interface ServiceBackend {
  readonly owner: string;
  readonly weight?: number;
}

/** A service to load-balance: new flows to (address, protocol, port) go to a Maglev-chosen backend. */
export interface ServiceSpec {
  readonly address: IPv4 | IPv6;
  readonly protocol: Protocol;
  readonly port: number;
  readonly backends: readonly ServiceBackend[];
  /** Maglev rows: a prime, at least the number of backends. Default 65537. Every service of a table has the same. */
  readonly rows?: number;
}

/** A validated service, backends in canonical order (sorted by owner name). */
export interface FlowService {
  readonly family: number;
  readonly v4: number;
  readonly v6: bigint;
  readonly protocol: Protocol;
  readonly port: number;
  readonly rows: number;
  readonly backends: readonly { readonly name: string; readonly weight: number }[];
  /**
   * The rows: each a primary (one of `backends`) and a secondary, the row's previous primary
   * after setServiceBackends() (second chance), or the primary itself in a fresh table.
   * `maglev.names` may name owners no longer in `backends` (secondaries not yet forgotten).
   */
  readonly maglev: MaglevTable;
}

/** How setServiceBackends() rebuilds: lb.rebuild's options, `forget` naming owners. */
export type ServiceRebuildOptions = RebuildOptions;

type IsOwner = (name: string) => boolean;
type Unknown = (name: unknown, path: string) => never;

const SERVICE_KEYS = ['address', 'protocol', 'port', 'backends', 'rows'];

/** "tcp 192.0.2.80:443": a service as messages name it. */
export function serviceName(s: { family: number; v4: number; v6: bigint; protocol: Protocol; port: number }): string {
  return s.family === FAMILY_V4 ? `${s.protocol} ${formatV4(s.v4)}:${s.port}` : `${s.protocol} [${formatV6(s.v6)}]:${s.port}`;
}

/** The key a table holds a service under: one service per (family, address, protocol, port). */
export function serviceKey(s: { family: number; v4: number; v6: bigint; protocol: Protocol; port: number }): string {
  return `${s.family}|${s.family === FAMILY_V4 ? s.v4 : s.v6}|${s.protocol}|${s.port}`;
}

/**
 * Validates `spec` (path `service`): throws InvalidOptionError naming the bad field and value.
 * Backend owners are checked by the table (`isOwner`: UnknownOwnerError through `unknown`).
 */
export function checkService(spec: unknown, isOwner: (name: string) => boolean, unknown: (name: unknown, path: string) => never): FlowService {
  const path = 'service';
  if (typeof spec !== 'object' || spec === null || Array.isArray(spec)) invalid(path, 'a service object { address, protocol, port, backends, rows? }', spec);
  const s = spec as Record<string, unknown>;
  for (const key of Object.keys(s)) if (!SERVICE_KEYS.includes(key)) invalid(`${path}.${key}`, `no such field (known: ${SERVICE_KEYS.join(', ')})`, s[key]);
  if (!isAddress(s.address)) invalid(`${path}.address`, 'an ip-num IPv4 or IPv6 address', s.address);
  if (s.protocol !== 'tcp' && s.protocol !== 'udp') invalid(`${path}.protocol`, "'tcp' or 'udp'", s.protocol);
  if (!isPort(s.port) || s.port === 0) invalid(`${path}.port`, 'a port from 1 to 65535', s.port);
  const backends = checkBackends(s.backends, `${path}.backends`, isOwner, unknown);
  const rows = checkSize(s.rows ?? MAGLEV_DEFAULT_SIZE, backends.length, `${path}.rows`);
  const address = s.address;
  const v4 = isIPv4(address);
  return {
    family: v4 ? FAMILY_V4 : FAMILY_V6,
    v4: v4 ? Number(address.getValue()) : 0,
    v6: v4 ? 0n : (address as IPv6).getValue(),
    protocol: s.protocol,
    port: s.port,
    rows,
    backends,
    maglev: buildMaglev(backends, { size: rows }),
  };
}

/** Validates a backend list (`path`): non-empty, owners of the table, no owner twice; canonical order. */
function checkBackends(list: unknown, path: string, isOwner: IsOwner, unknown: Unknown): WeightedBackend[] {
  if (!Array.isArray(list) || list.length === 0) invalid(path, 'a non-empty array of { owner, weight? }', list);
  const seen = new Map<unknown, number>();
  const named = list.map((b: unknown, i) => {
    if (typeof b !== 'object' || b === null) invalid(`${path}[${i}]`, 'an object { owner, weight? }', b);
    const { owner, weight, ...rest } = b as Record<string, unknown>;
    for (const key of Object.keys(rest)) invalid(`${path}[${i}].${key}`, 'no such field (known: owner, weight)', rest[key]);
    if (typeof owner !== 'string' || !isOwner(owner)) unknown(owner, `${path}[${i}].owner`);
    const first = seen.get(owner);
    if (first !== undefined) invalid(`${path}[${i}].owner`, `an owner that ${path}[${first}] does not name`, owner);
    seen.set(owner, i);
    return weight === undefined ? { name: owner } : { name: owner, weight: weight as number };
  });
  return canonicalBackends(named, path);
}

/** Options of addService(): rows to start from, rebuilt with second chance (lb.rebuild's options besides). */
export interface ServiceRebuildFrom extends ServiceRebuildOptions {
  /** A service's rows before (FlowService.maglev, e.g. from the table this one replaces); of the service's size. */
  readonly previous?: MaglevTable;
}

/**
 * `service`'s rows rebuilt for `backends` from `previous` with second chance (src/lb/second-chance.ts:
 * a row whose primary changes keeps the previous one as secondary), so that connections a previous
 * backend still holds reach it. Every name left in the rows must be an owner: one that is not
 * (an owner removed since) must be forgotten. Throws InvalidOptionError or UnknownOwnerError naming the value.
 */
export function rebuildService(service: FlowService, backends: unknown, previous: MaglevTable, options: ServiceRebuildOptions | undefined, isOwner: IsOwner, unknown: Unknown): FlowService {
  const active = backends === service.backends ? service.backends : checkBackends(backends, 'backends', isOwner, unknown);
  if (options !== undefined && (typeof options !== 'object' || options === null)) invalid('options', 'an object { moves?, forget? }', options);
  if (typeof previous !== 'object' || previous === null || !(previous.primary instanceof Uint32Array)) invalid('options.previous', "a service's rows (FlowService.maglev)", previous);
  if (previous.size !== service.rows) invalid('options.previous.size', `the service's rows (${service.rows})`, previous.size);
  const maglev = rebuild(previous, active, { ...(options?.moves !== undefined && { moves: options.moves }), ...(options?.forget !== undefined && { forget: options.forget }) });
  for (const name of maglev.names) if (!isOwner(name)) unknown(name, 'a secondary of the rows (forget it: options.forget)');
  return { ...service, backends: maglev.active, maglev };
}

/** Whether `name` is in a row of `service`: a backend, or a secondary not yet forgotten. */
export function serviceNames(service: FlowService, name: string): boolean {
  return service.maglev.names.includes(name);
}
