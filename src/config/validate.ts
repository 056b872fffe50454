// validateConfig: plain data (a parsed file) -> a Config, every problem collected first. The top level, gue and
// stats here; datacenters.ts, egress.ts, reach.ts, conflicts.ts, services.ts, address-services.ts and kinds-apart.ts the rest.
import { createHash } from 'node:crypto';

import { IPv4, IPv6 } from 'ip-num';

import { ABI } from '../generated/abi.js';
import { isIPv4 } from '../ip.js';
import { toDestination } from '../slices/address.js';
import type { Destination } from '../fields.js';
import { checkAddressServices } from './address-services.js';
import { checkConflicts } from './conflicts.js';
import { checkDatacenters, GUE_ENCAPS } from './datacenters.js';
import { checkEgress, type EntryDraft } from './egress.js';
import { checkFallbacks } from './fallbacks.js';
import { checkKindsApart } from './kinds-apart.js';
import { CONFIG_KEYS } from './keys.js';
import { entrySlices, keepPacked, type PackedSlices } from './packed.js';
import { invalidConfig, locateAll, Problems, type ConfigProblem, type Locate } from './problems.js';
import { checkReach } from './reach.js';
import { checkServices } from './services.js';
import type { AddressServiceConfig, Config, DatacenterConfig, EgressConfig, EgressSlice, GueConfig, HealthConfig, ServerConfig, ServiceConfig, StatsConfig, TrustedPeer } from './types.js';
import { addressOrPrefix, boolean, integer, isIPv4Text, isIPv6Text, object, oneOf } from './values.js';

/** Configurations made by validateConfig, the only ones tableFor and friends accept. */
const made = new WeakSet<Config>();

/** Whether `value` came from validateConfig (parseConfig, loadConfig). */
export function isConfig(value: unknown): value is Config {
  return typeof value === 'object' && value !== null && made.has(value as Config);
}

interface Gue {
  port: number;
  encap: GueConfig['encap'];
  /** The file's list; undefined when it has none, 'failed' when the list has a problem. */
  trusted: TrustedPeer[] | undefined | 'failed';
}

function checkGue(p: Problems, value: unknown): Gue {
  const path = ['gue'];
  const defaults: Gue = { port: ABI.gue.defaultPort, encap: 'gue0', trusted: undefined };
  if (value === undefined) return defaults;
  const g = object(p, value, path, 'gue', 'an object { port?, encap?, trustedPeers? }');
  if (g === undefined) return { ...defaults, trusted: 'failed' };
  let trusted: Gue['trusted'];
  if (g.trustedPeers !== undefined) {
    const list = g.trustedPeers;
    const at = [...path, 'trustedPeers'];
    // The XDP program holds a fixed number of them (SU_TRUSTED_PEERS_MAX, abi.h).
    const max = ABI.table.trustedPeersMax;
    if (!Array.isArray(list)) trusted = p.expected(at, 'a list of addresses and prefixes', list) ?? 'failed';
    else if (list.length > max) trusted = p.expected(at, `at most ${max} addresses and prefixes (SU_TRUSTED_PEERS_MAX; prefixes can cover many servers)`, list) ?? 'failed';
    else {
      const peers = list.map((peer: unknown, i) => p.attempt(at, () => addressOrPrefix(peer, [...at, i])));
      trusted = peers.every((peer) => peer !== undefined) ? (peers as TrustedPeer[]) : 'failed';
    }
  }
  return {
    // Port 0 would turn decapsulation off on every router: not something a file says by default.
    port: p.attempt(path, () => integer(g.port, [...path, 'port'], 1, 65535, ABI.gue.defaultPort)) ?? ABI.gue.defaultPort,
    encap: p.attempt(path, () => oneOf(g.encap, [...path, 'encap'], GUE_ENCAPS, 'gue0')) ?? 'gue0',
    trusted,
  };
}

/** 127.0.0.0/8 or ::1: the endpoint has no authentication, so it stays on this host. */
function loopback(address: IPv4 | IPv6): boolean {
  return isIPv4(address) ? address.getValue() >> 24n === 127n : address.getValue() === 1n;
}

function checkPrometheus(p: Problems, value: unknown, at: readonly string[]): StatsConfig['prometheus'] {
  const expected = "a port, or a loopback address and port such as '127.0.0.1:9464' or '[::1]:9464'";
  let address: IPv4 | IPv6 = IPv4.fromString('127.0.0.1');
  let port: unknown = value;
  if (typeof value === 'string') {
    const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(value);
    const host = m?.[1] ?? m?.[2];
    if (m === null || host === undefined || !(m[1] !== undefined ? isIPv6Text(host) : isIPv4Text(host))) return p.expected(at, expected, value);
    address = m[1] !== undefined ? IPv6.fromString(host) : IPv4.fromString(host);
    if (!loopback(address)) return p.expected(at, `${expected} (the endpoint has no authentication: loopback only)`, value);
    port = Number(m[3]);
  }
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) return p.expected(at, expected, value);
  return { address, port };
}

function checkStats(p: Problems, value: unknown): StatsConfig {
  const path = ['stats'];
  if (value === undefined) return { intervalSeconds: 5 };
  const s = object(p, value, path, 'stats', 'an object { intervalSeconds?, prometheus? }');
  if (s === undefined) return { intervalSeconds: 5 };
  const interval = s.intervalSeconds ?? 5;
  if (typeof interval !== 'number' || !(interval > 0) || interval > 3600) p.expected([...path, 'intervalSeconds'], 'a number of seconds above 0, at most 3600', interval);
  const prometheus = s.prometheus === undefined ? undefined : checkPrometheus(p, s.prometheus, [...path, 'prometheus']);
  return { intervalSeconds: interval as number, ...(prometheus !== undefined && { prometheus }) };
}

const HEALTH: HealthConfig = { intervalMs: 1000, downAfter: 3, upAfter: 2, probeAll: false };

/** The `health` section: Router option `health` of every router (src/router/peer-health.ts). */
function checkHealth(p: Problems, value: unknown): HealthConfig {
  const path = ['health'];
  if (value === undefined) return HEALTH;
  const h = object(p, value, path, 'health', 'an object { intervalMs?, downAfter?, upAfter?, probeAll? }');
  if (h === undefined) return HEALTH;
  return {
    intervalMs: p.attempt(path, () => integer(h.intervalMs, [...path, 'intervalMs'], 10, 3_600_000, HEALTH.intervalMs)) ?? HEALTH.intervalMs,
    downAfter: p.attempt(path, () => integer(h.downAfter, [...path, 'downAfter'], 1, 1000, HEALTH.downAfter)) ?? HEALTH.downAfter,
    upAfter: p.attempt(path, () => integer(h.upAfter, [...path, 'upAfter'], 1, 1000, HEALTH.upAfter)) ?? HEALTH.upAfter,
    probeAll: p.attempt(path, () => boolean(h.probeAll, [...path, 'probeAll'], HEALTH.probeAll)) ?? HEALTH.probeAll,
  };
}

/**
 * Warns of servers no slice belongs to: an owner in name only, likely a slip of the file. Where
 * the file has services, a server that backs one, or runs a router (a balancer host), has a job;
 * so has a server that owns an address slice.
 */
function warnUnused(p: Problems, servers: ReadonlyMap<string, ServerConfig>, packed: PackedSlices, services: readonly ServiceConfig[], addressServices: readonly AddressServiceConfig[]): void {
  const used = new Uint8Array(servers.size);
  for (let k = 0; k < packed.count; k++) used[packed.owners[k]!] = 1;
  const busy = new Set(services.flatMap((s) => s.backends.map((b) => b.server)));
  for (const a of addressServices) for (const x of a.slices) busy.add(x.owner);
  let i = 0;
  for (const s of servers.values()) {
    if (used[i++] === 0 && !busy.has(s.name) && !(services.length > 0 && s.interface !== undefined)) {
      p.warn(['datacenters', s.datacenter, 'servers', s.name], 'ERR_INVALID_OPTION', `Server ${s.name} owns no slice of egress: an owner that no slice uses`);
    }
  }
}

/**
 * A seed every host derives alike from the file's services (the first 32 bits of a SHA-256 of
 * their addresses, protocols and ports), so that balancer hosts agree on each flow's row without
 * a seed written in the file; undefined without services (routers then pick one at random).
 */
function derivedSeed(services: readonly ServiceConfig[]): number | undefined {
  if (services.length === 0) return undefined;
  const text = services.map((s) => `${s.protocol} ${s.address.toString()} ${s.port}`).sort().join('\n');
  return createHash('sha256').update(text).digest().readUInt32LE(0);
}

/** A checked configuration, all but its warnings (which get their lines once the text is known). */
export type Checked = Omit<Config, 'warnings'> & { readonly packed: PackedSlices };

function egressOf(entries: readonly EntryDraft[], packed: PackedSlices): EgressConfig[] {
  return entries.map((e, i) => {
    let slices: EgressSlice[] | undefined;
    let destination: Destination | undefined;
    return {
      // ip-num values and slice objects are made on first use: a table needs neither (view.ts
      // reads `packed`), and a million of each would cost more than the rest of validation.
      get destination(): Destination {
        return (destination ??= toDestination(e.prefix!));
      },
      protocols: e.protocols,
      tags: e.tags,
      get slices(): readonly EgressSlice[] {
        return (slices ??= entrySlices(packed, i));
      },
    };
  });
}

/**
 * Checks a configuration given as plain data into `p`; returns it typed, with defaults filled
 * in, when `p` has no error. Parts that failed are left out of later checks that need them.
 */
export function checkConfig(p: Problems, value: unknown, source?: string): Checked | undefined {
  const root = object(p, value, [], 'config', `a configuration object { ${CONFIG_KEYS.config.filter((k) => k !== '$schema').join(', ')} }`);
  if (root === undefined) return undefined;
  if (root.version !== 1) p.expected(['version'], 'version 1 (the only format so far)', root.version);
  if (root.$schema !== undefined && typeof root.$schema !== 'string') p.expected(['$schema'], 'the URL or path of the JSON Schema', root.$schema);
  const gue = checkGue(p, root.gue);
  const { datacenters, servers, owners } = checkDatacenters(p, root.datacenters, gue);
  const before = p.count;
  const { entries, packed } = checkEgress(p, root.egress, owners, [...servers.keys()]);
  const egressOk = p.count === before;
  const reach = checkReach(p, datacenters, servers, gue.trusted);
  const stats = checkStats(p, root.stats);
  const health = checkHealth(p, root.health);
  const checkedServices = checkServices(p, root.services, servers);
  const services = checkedServices.services;
  const checkedAddressServices = checkAddressServices(p, root.addressServices, owners);
  const addressServices = checkedAddressServices.services;
  const seed = p.attempt(['flowHashSeed'], () => integer(root.flowHashSeed, ['flowHashSeed'], 0, 0xffffffff, -1));
  const declaredDcs = typeof root.datacenters === 'object' && root.datacenters !== null ? Object.keys(root.datacenters) : [];
  checkFallbacks(p, datacenters, servers, owners, declaredDcs);
  const valid = entries.filter((e): e is EntryDraft => e?.prefix !== undefined);
  checkConflicts(p, { servers, datacenters, entries: valid, trusted: Array.isArray(gue.trusted) ? gue.trusted : undefined, prometheus: stats.prometheus?.address });
  checkKindsApart(p, entries, packed, checkedServices, checkedAddressServices);
  if (egressOk && owners.complete) warnUnused(p, servers, packed, services, addressServices);
  if (p.count > 0) return undefined;
  const trustedPeers = Array.isArray(gue.trusted) ? gue.trusted : reach.sources;
  return {
    source,
    gue: { port: gue.port, encap: gue.encap, trustedPeers, trustedPeersDerived: gue.trusted === undefined },
    datacenters: datacenters as ReadonlyMap<string, DatacenterConfig>,
    servers,
    egress: egressOf(valid, packed),
    stats,
    health,
    services,
    addressServices,
    flowHashSeed: seed === undefined || seed < 0 ? derivedSeed(services) : seed,
    packed,
  };
}

/** The Config of a checked configuration, with its warnings. */
export function finishConfig(checked: Checked, warnings: readonly ConfigProblem[]): Config {
  const { packed, ...rest } = checked;
  const config: Config = { ...rest, warnings };
  keepPacked(config, packed);
  made.add(config);
  return config;
}

/** Checks `value` whole: the Config, or an InvalidConfigError listing every problem (lines when `locate` knows them). */
export function validateWith(value: unknown, source: string | undefined, locate: Locate | undefined): Config {
  const p = new Problems();
  const checked = checkConfig(p, value, source);
  if (checked === undefined) throw invalidConfig(p, locate, source);
  return finishConfig(checked, locateAll(p, locate).warnings);
}

/**
 * Checks a configuration given as plain data (what JSON.parse or a YAML parser gives for the file)
 * and returns it typed, with defaults filled in and `warnings`. Throws InvalidConfigError listing
 * every problem: bad values (ERR_INVALID_OPTION, with their paths), slices of two servers covering
 * the same packets, or an egress prefix or a service address nesting with an address service's prefix
 * (ERR_SLICE_OVERLAP), servers sharing no address family with a peer they forward
 * to (ERR_OWNER_UNREACHABLE), shared addresses covering a host's own (ERR_ADDRESS_CONFLICT).
 */
export function validateConfig(value: unknown, source?: string): Config {
  return validateWith(value, source, undefined);
}
