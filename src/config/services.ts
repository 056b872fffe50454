// The file's `services` section (issue 15): flow-hash services whose backends are servers of the
// file, with health checks and drain for the load balancer (examples/load-balancer). Checked by
// validate.ts; tableFor (perspective.ts) adds them to the tables of routers of their data centre.
import type { HealthCheck } from '../lb/probes.js';
import { MAGLEV_DEFAULT_SIZE, MAGLEV_MAX_SIZE, MAGLEV_MAX_WEIGHT, isPrime } from '../lb/maglev.js';
import { formatPath, type Path } from './path.js';
import type { Problems } from './problems.js';
import type { ServerConfig, ServiceBackendConfig, ServiceConfig, ServiceHealthConfig } from './types.js';
import { address, boolean, integer, object, oneOf } from './values.js';

const HEALTH = { intervalMs: 2000, timeoutMs: 1000, rise: 2, fall: 3, drainDeadlineMs: 60_000 } as const;

function checkHealthOf(p: Problems, value: unknown, path: Path, servicePort: number): ServiceHealthConfig {
  const defaults: ServiceHealthConfig = { check: { kind: 'tcp' }, port: servicePort, ...HEALTH };
  if (value === undefined) return defaults;
  const h = object(p, value, path, 'serviceHealth', 'an object { check?, path?, status?, host?, port?, intervalMs?, timeoutMs?, rise?, fall?, drainDeadlineMs? }');
  if (h === undefined) return defaults;
  const num = (key: string, min: number, max: number, fallback: number): number => p.attempt(path, () => integer(h[key], [...path, key], min, max, fallback)) ?? fallback;
  const kind = p.attempt(path, () => oneOf(h.check, [...path, 'check'], ['tcp', 'http'] as const, 'tcp')) ?? 'tcp';
  if (kind === 'tcp') for (const key of ['path', 'status', 'host']) if (h[key] !== undefined) p.expected([...path, key], "no such key with check 'tcp' (it is for check 'http')", h[key]);
  if (h.path !== undefined && (typeof h.path !== 'string' || !h.path.startsWith('/'))) p.expected([...path, 'path'], "a path starting with '/'", h.path);
  if (h.host !== undefined && (typeof h.host !== 'string' || h.host.length === 0)) p.expected([...path, 'host'], 'a non-empty Host header', h.host);
  const check: HealthCheck = kind === 'tcp'
    ? { kind }
    : { kind, path: typeof h.path === 'string' ? h.path : '/', status: num('status', 100, 599, 200), ...(typeof h.host === 'string' && { host: h.host }) };
  const intervalMs = num('intervalMs', 10, 3_600_000, HEALTH.intervalMs);
  return {
    check,
    port: num('port', 1, 65535, servicePort),
    intervalMs,
    timeoutMs: num('timeoutMs', 1, intervalMs, Math.min(HEALTH.timeoutMs, intervalMs)),
    rise: num('rise', 1, 100, HEALTH.rise),
    fall: num('fall', 1, 100, HEALTH.fall),
    drainDeadlineMs: num('drainDeadlineMs', 0, 86_400_000, HEALTH.drainDeadlineMs),
  };
}

/** One backend: a server's name, or { server, weight?, drain? }. */
function checkBackend(p: Problems, value: unknown, path: Path, servers: ReadonlyMap<string, ServerConfig>): ServiceBackendConfig | undefined {
  const b = typeof value === 'string' ? { server: value } : object(p, value, path, 'serviceBackend', 'a server name or an object { server, weight?, drain? }');
  if (b === undefined) return undefined;
  const at = typeof value === 'string' ? path : [...path, 'server'];
  const known = typeof b.server === 'string' && servers.has(b.server);
  if (!known) {
    const names = [...servers.keys()];
    p.expected(at, `the name of a server of the file (${names.slice(0, 10).join(', ')}${names.length > 10 ? ', ...' : ''})`, b.server);
  }
  const weight = p.attempt(path, () => integer(b.weight, [...path, 'weight'], 1, MAGLEV_MAX_WEIGHT, 1));
  const drain = p.attempt(path, () => boolean(b.drain, [...path, 'drain'], false));
  if (!known || weight === undefined || drain === undefined) return undefined;
  return { server: b.server as string, weight, drain };
}

function checkBackends(p: Problems, value: unknown, path: Path, servers: ReadonlyMap<string, ServerConfig>): ServiceBackendConfig[] | undefined {
  if (!Array.isArray(value) || value.length === 0) return p.expected(path, 'a non-empty list of backends (server names)', value);
  const before = p.count;
  const list = value.map((b: unknown, i) => checkBackend(p, b, [...path, i], servers));
  const seen = new Map<string, number>();
  list.forEach((b, i) => {
    if (b === undefined) return;
    const first = seen.get(b.server);
    if (first !== undefined) p.expected([...path, i], `a server that ${formatPath([...path, first])} does not name`, b.server);
    seen.set(b.server, i);
  });
  const ok = list.filter((b): b is ServiceBackendConfig => b !== undefined);
  const dcs = new Set(ok.map((b) => servers.get(b.server)!.datacenter));
  if (dcs.size > 1) p.expected(path, `backends of one data centre (routers reach them as servers of their own), not of ${[...dcs].join(' and ')}`, value);
  return p.count === before ? ok : undefined;
}

function checkService(p: Problems, value: unknown, path: Path, servers: ReadonlyMap<string, ServerConfig>): ServiceConfig | undefined {
  const s = object(p, value, path, 'service', 'a service { address, protocol?, port, backends, name?, rows?, moves?, health? }');
  if (s === undefined) return undefined;
  const before = p.count;
  const addr = p.attempt(path, () => address(s.address, [...path, 'address']));
  const protocol = p.attempt(path, () => oneOf(s.protocol, [...path, 'protocol'], ['tcp', 'udp'] as const, 'tcp'));
  const port = s.port === undefined ? p.expected([...path, 'port'], 'a port from 1 to 65535', s.port) : p.attempt(path, () => integer(s.port, [...path, 'port'], 1, 65535, 0));
  const rows = p.attempt(path, () => integer(s.rows, [...path, 'rows'], 2, MAGLEV_MAX_SIZE, MAGLEV_DEFAULT_SIZE));
  if (rows !== undefined && !isPrime(rows)) p.expected([...path, 'rows'], `a prime number of rows up to ${MAGLEV_MAX_SIZE}`, rows);
  const moves = p.attempt(path, () => oneOf(s.moves, [...path, 'moves'], ['stateless', 'fewest'] as const, 'stateless'));
  const backends = checkBackends(p, s.backends, [...path, 'backends'], servers);
  const health = checkHealthOf(p, s.health, [...path, 'health'], port ?? 1);
  if (s.name !== undefined && (typeof s.name !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/.test(s.name))) {
    p.expected([...path, 'name'], "a name of letters, digits, '.', '_' and '-' that starts with a letter or digit", s.name);
  }
  if (rows !== undefined && backends !== undefined && rows < backends.length) p.expected([...path, 'rows'], `a prime at least the number of backends (${backends.length})`, rows);
  if (p.count > before || addr === undefined || protocol === undefined || port === undefined || rows === undefined || moves === undefined || backends === undefined) return undefined;
  const name = typeof s.name === 'string' ? s.name : `${protocol}-${addr.toString()}-${port}`;
  return { name, address: addr, protocol, port, rows, moves, backends, health };
}

/**
 * The `services` list: each service checked, no (address, protocol, port) twice, one row count for
 * all; `at`: each service's index in the file's list (for problems found later, kinds-apart.ts).
 */
export function checkServices(p: Problems, value: unknown, servers: ReadonlyMap<string, ServerConfig>): { services: ServiceConfig[]; at: number[] } {
  const out: ServiceConfig[] = [];
  const at: number[] = [];
  if (value === undefined) return { services: out, at };
  if (!Array.isArray(value)) return p.expected(['services'], 'a list of services', value) ?? { services: out, at };
  const keys = new Map<string, number>();
  const names = new Map<string, number>();
  value.forEach((v: unknown, i) => {
    const s = checkService(p, v, ['services', i], servers);
    if (s === undefined) return;
    const key = `${s.protocol} ${s.address.toString()}:${s.port}`;
    const first = keys.get(key) ?? names.get(s.name);
    if (first !== undefined) return p.expected(['services', i], `a service unlike services[${first}] (another address, protocol, port and name)`, key);
    if (out.length > 0 && out[0]!.rows !== s.rows) return p.expected(['services', i, 'rows'], `the rows of the other services (${out[0]!.rows}: one Maglev size per table)`, s.rows);
    keys.set(key, i);
    names.set(s.name, i);
    out.push(s);
    at.push(i);
  });
  return { services: out, at };
}

