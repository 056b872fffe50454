// Options of src/lb/health.ts, validated in the house format: backends to check, how often,
// how long a probe may take, and how many results in a row change a backend's health.
import { isIP } from 'node:net';

import { invalid } from '../errors.js';
import type { HealthCheck } from './probes.js';

/** A backend to check: `name` as in the Maglev table, where to probe, and how (default: options.check). */
export interface HealthTarget {
  readonly name: string;
  readonly address: string;
  readonly port: number;
  readonly check?: HealthCheck;
}

export interface BackendHealthOptions {
  /** Milliseconds from the start of one probe of a backend to the start of the next. Default 2000. */
  readonly intervalMs?: number;
  /** Milliseconds a probe may take; at most intervalMs. Default 1000. */
  readonly timeoutMs?: number;
  /** Passed probes in a row after which a down backend is up. Default 2. */
  readonly rise?: number;
  /** Failed probes in a row after which an up backend is down. Default 3. */
  readonly fall?: number;
  /** How backends without a check of their own are probed. Default a TCP connect. */
  readonly check?: HealthCheck;
  /**
   * Health before the first probes. Default 'down': `rise` passed probes make a backend up. 'up':
   * trusted until `fall` probes fail, for a balancer that starts (or restarts) on a running fleet
   * and must give new flows the same backends as the other balancer hosts from the start.
   */
  readonly initial?: 'up' | 'down';
}

export type HealthSettings = Required<BackendHealthOptions>;

/** How a balanced service's backends are checked (lb.BackendHealth each) and how long a drained one lingers; every field set (config files and lb.Balancer fill in the defaults). */
export interface ServiceHealth {
  /** A TCP connect (the default), or an HTTP GET expecting a status. */
  readonly check: HealthCheck;
  /** The port probed on each backend's address. The service's port unless set. */
  readonly port: number;
  /** 2000, 1000, 2, 3 unless set. */
  readonly intervalMs: number;
  readonly timeoutMs: number;
  readonly rise: number;
  readonly fall: number;
  /** How long a drained backend keeps its connections (as a secondary) before it is forgotten. 60000 unless set. */
  readonly drainDeadlineMs: number;
}

const KEYS = ['intervalMs', 'timeoutMs', 'rise', 'fall', 'check', 'initial'];

function whole(value: unknown, path: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) invalid(path, `an integer from ${min} to ${max}`, value);
  return value;
}

export function checkOf(value: unknown, path: string): HealthCheck {
  if (typeof value !== 'object' || value === null) invalid(path, "{ kind: 'tcp' } or { kind: 'http', path?, status?, host? }", value);
  const c = value as Record<string, unknown>;
  if (c.kind === 'tcp') return { kind: 'tcp' };
  if (c.kind !== 'http') invalid(`${path}.kind`, "'tcp' or 'http'", c.kind);
  if (c.path !== undefined && (typeof c.path !== 'string' || !c.path.startsWith('/'))) invalid(`${path}.path`, "a path starting with '/'", c.path);
  if (c.host !== undefined && (typeof c.host !== 'string' || c.host.length === 0)) invalid(`${path}.host`, 'a non-empty Host header', c.host);
  const status = c.status === undefined ? 200 : whole(c.status, `${path}.status`, 100, 599);
  return { kind: 'http', path: (c.path as string | undefined) ?? '/', status, ...(c.host === undefined ? {} : { host: c.host as string }) };
}

export function healthSettings(options: BackendHealthOptions = {}): HealthSettings {
  if (typeof options !== 'object' || options === null) invalid('options', 'an object', options);
  for (const key of Object.keys(options)) if (!KEYS.includes(key)) invalid(`options.${key}`, `no such option (known: ${KEYS.join(', ')})`, (options as Record<string, unknown>)[key]);
  const intervalMs = whole(options.intervalMs ?? 2000, 'options.intervalMs', 10, 3_600_000);
  return {
    intervalMs,
    timeoutMs: whole(options.timeoutMs ?? Math.min(1000, intervalMs), 'options.timeoutMs', 1, intervalMs),
    rise: whole(options.rise ?? 2, 'options.rise', 1, 100),
    fall: whole(options.fall ?? 3, 'options.fall', 1, 100),
    check: checkOf(options.check ?? { kind: 'tcp' }, 'options.check'),
    initial: initialOf(options.initial),
  };
}

function initialOf(value: unknown): 'up' | 'down' {
  if (value !== undefined && value !== 'up' && value !== 'down') invalid('options.initial', "'up' or 'down'", value);
  return value ?? 'down';
}

export function healthTargets(targets: readonly HealthTarget[]): HealthTarget[] {
  if (!Array.isArray(targets)) invalid('targets', 'an array of backends', targets);
  const seen = new Set<string>();
  return targets.map((t, i) => {
    const path = `targets[${i}]`;
    if (typeof t !== 'object' || t === null) invalid(path, 'an object with name, address and port', t);
    if (typeof t.name !== 'string' || t.name.length === 0) invalid(`${path}.name`, 'a non-empty string', t.name);
    if (seen.has(t.name)) invalid(`${path}.name`, 'a name no other target has', t.name);
    seen.add(t.name);
    if (typeof t.address !== 'string' || isIP(t.address) === 0) invalid(`${path}.address`, 'an IPv4 or IPv6 address', t.address);
    whole(t.port, `${path}.port`, 1, 65535);
    return { name: t.name, address: t.address, port: t.port, ...(t.check === undefined ? {} : { check: checkOf(t.check, `${path}.check`) }) };
  });
}
