// The Router's options: their types, their checks, and the compiler's host settings made from
// them. Used by src/router/router.ts (open and publish) and by src/config and src/sources (types).
import type { IPv4, IPv4CidrRange, IPv6, IPv6CidrRange } from 'ip-num';

import { invalid } from '../errors.js';
import { ABI } from '../generated/abi.js';
import { compileTable, type HostSpec } from '../slices/compile.js';
import { SliceTable } from '../slices/table.js';
import type { XdpPortOptions } from '../xdp/options.js';
import { healthSettings, type HealthOptions } from './peer-health.js';

export interface RouterHostOptions {
  /** This host's unicast IPv4 address: the outer source of GUE it sends, and where peers send GUE to. */
  ipv4?: IPv4;
  /** This host's unicast IPv6 address. */
  ipv6?: IPv6;
  /** UDP port GUE arrives on; 0 turns decapsulation off. Default 6080. */
  guePort?: number;
  /** Sources GUE is accepted from; anything else on the GUE port is dropped and counted. */
  trustedPeers?: readonly (IPv4 | IPv6 | IPv4CidrRange | IPv6CidrRange)[];
  /** Seed of the GUE source-port hash. Default: random per router. */
  flowHashSeed?: number;
}

export interface RouterOptions {
  /** The port the router runs on (its capture rules come from the table). */
  port: Omit<XdpPortOptions, 'capture'>;
  host: RouterHostOptions;
  /** The first table; later ones arrive through publish(). */
  table: SliceTable;
  /** Milliseconds between requests that the kernel keep the next hops in use confirmed (it
   * probes them rather than letting them go stale: the fast path sends around it); 0 turns
   * these off, leaving only the probes of next hops that went STALE or FAILED. Changes to next
   * hops are followed as they happen either way. Default 1000. */
  neighbourRefreshMs?: number;
  /**
   * Which lane finishes packets. 'auto' (default): the XDP program finishes every verdict it
   * can in the kernel (local delivery, forwards to servers and data centres, GUE unwrapping,
   * drops) and hands the AF_XDP workers only what needs them (drops while a drop capture runs).
   * 'afxdp': the workers forward and drop everything; XDP only passes the kernel's packets.
   */
  lane?: Lane;
  /**
   * Peer health: owners with a `fallback` (every server and data centre with `probeAll`) get a
   * GUE probe every `intervalMs` (1000), answered by their data plane; after `downAfter` (3)
   * unanswered ones an owner is down and its slices go to its fallback, after `upAfter` (2)
   * answered ones they are its own again. setHealth() overrides the probes.
   */
  health?: HealthOptions;
}

export type Lane = 'auto' | 'afxdp';

/** open()'s options, checked: nothing in them can fail later for its shape. */
export interface OpenSettings {
  ifname: string;
  port: XdpPortOptions;
  host: RouterHostOptions;
  table: SliceTable;
  refreshMs: number;
  lane: Lane;
  health: HealthOptions | undefined;
}

const ROUTER_KEYS = ['port', 'host', 'table', 'neighbourRefreshMs', 'lane', 'health'];
const HOST_KEYS = ['ipv4', 'ipv6', 'guePort', 'trustedPeers', 'flowHashSeed'];

export function checkObject(value: unknown, path: string, keys: readonly string[]): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) invalid(path, 'an object', value);
  for (const key of Object.keys(value)) {
    if (!keys.includes(key)) invalid(`${path}.${key}`, `no such option (known: ${keys.join(', ')})`, (value as Record<string, unknown>)[key]);
  }
  return value as Record<string, unknown>;
}

/** Checks Router.open()'s options; throws InvalidOptionError naming the first bad one. */
export function openSettings(options: unknown): OpenSettings {
  const o = checkObject(options, 'options', ROUTER_KEYS);
  const host = checkObject(o.host, 'options.host', HOST_KEYS) as RouterHostOptions;
  if (typeof o.port !== 'object' || o.port === null || Array.isArray(o.port)) invalid('options.port', 'an object of XdpPort options', o.port);
  const port = o.port as Record<string, unknown>;
  // The table decides what the XDP program captures.
  if ('capture' in port) invalid('options.port.capture', 'no capture rules (the router derives them from the table)', port.capture);
  if (!(o.table instanceof SliceTable)) invalid('options.table', 'a SliceTable', o.table);
  const refreshMs = o.neighbourRefreshMs ?? 1000;
  if (typeof refreshMs !== 'number' || !Number.isInteger(refreshMs) || refreshMs < 0) {
    invalid('options.neighbourRefreshMs', 'a whole number of milliseconds, 0 or more', refreshMs);
  }
  const lane = o.lane ?? 'auto';
  if (lane !== 'auto' && lane !== 'afxdp') invalid('options.lane', "'auto' or 'afxdp'", lane);
  healthSettings(o.health);
  const ifname = port.interface;
  if (typeof ifname !== 'string') invalid('options.port.interface', 'an interface name', ifname);
  return { ifname, port: port as unknown as XdpPortOptions, host, table: o.table, refreshMs, lane, health: o.health as HealthOptions | undefined };
}

/** The compiler's host settings: the interface's facts, then the options (defaults filled in). */
export function hostSpec(facts: { mac: string; mtu: number }, h: RouterHostOptions, seed: number): HostSpec {
  return {
    mac: facts.mac,
    mtu: facts.mtu,
    ...(h.ipv4 !== undefined && { ipv4: h.ipv4 }),
    ...(h.ipv6 !== undefined && { ipv6: h.ipv6 }),
    guePort: h.guePort ?? ABI.gue.defaultPort,
    flowHashSeed: h.flowHashSeed ?? seed,
    trustedPeers: h.trustedPeers ?? [],
  };
}

/** publish()'s `options.host` over the settings in use (a setting left out keeps its value),
 * checked by the compiler on an empty table: a bad setting is refused before it reaches the
 * publications' queue, without compiling the table twice. */
export function updatedHost(current: HostSpec, update: unknown): HostSpec {
  const h = checkObject(update, 'options.host', HOST_KEYS) as RouterHostOptions;
  const { mac: _mac, mtu: _mtu, ...settings } = current;
  const host = hostSpec(current, { ...settings, ...h }, current.flowHashSeed ?? 0);
  compileTable(new SliceTable(), host, { generation: 0 });
  return host;
}
