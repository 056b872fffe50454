// Backend health for a load balancer: periodic probes (src/lb/probes.ts) with rise/fall
// thresholds, and drain (no new flows; existing ones go on through second chance until they end
// or a deadline passes). Every change is an event with its time. The caller rebuilds its Maglev
// table (src/lb/second-chance.ts) from newFlowBackends() and forgotten() on each change.
import { invalid } from '../errors.js';
import { healthSettings, healthTargets, type BackendHealthOptions, type HealthSettings, type HealthTarget } from './health-options.js';
import { probe, type HealthCheck, type ProbeResult } from './probes.js';

/** Whether probes pass: backends start 'down' (unless options.initial) and need `rise` passed probes to be trusted. */
export type Health = 'up' | 'down';
/** 'draining': no new flows, existing ones continue; 'drained': its connections are over (or its time is). */
export type Drain = 'none' | 'draining' | 'drained';

/** A change of a backend's health or drain state, with when and why. */
export interface BackendChange {
  readonly name: string;
  readonly what: 'health' | 'drain';
  readonly from: Health | Drain;
  readonly to: Health | Drain;
  /** '2 probes passed (connected)', '3 probes failed (last: connect failed: ECONNREFUSED)', ... */
  readonly reason: string;
  /** When it happened: ISO 8601, and milliseconds since the epoch. */
  readonly at: string;
  readonly atMs: number;
}

/** A backend as BackendHealth sees it now; plain values, for JSON. */
export interface BackendStatus {
  readonly name: string;
  readonly health: Health;
  readonly drain: Drain;
  /** When health last changed (when checking started, if never). */
  readonly since: string;
  /** When a drain turns into 'drained' by itself, while draining. */
  readonly drainDeadline: string | undefined;
  readonly lastProbe: (ProbeResult & { readonly at: string }) | undefined;
  readonly probes: number;
  readonly failures: number;
}

interface Tracked {
  readonly target: HealthTarget;
  readonly check: HealthCheck;
  health: Health;
  drain: Drain;
  since: number;
  passed: number;
  failed: number;
  probes: number;
  failures: number;
  lastProbe: (ProbeResult & { at: string }) | undefined;
  probeTimer: NodeJS.Timeout | undefined;
  drainTimer: NodeJS.Timeout | undefined;
  drainDeadline: number | undefined;
}

export type ChangeListener = (change: BackendChange) => void;

export class BackendHealth {
  readonly settings: HealthSettings;
  readonly #backends = new Map<string, Tracked>();
  readonly #listeners = new Set<ChangeListener>();
  #running = false;

  constructor(targets: readonly HealthTarget[], options: BackendHealthOptions = {}) {
    this.settings = healthSettings(options);
    const now = Date.now();
    for (const target of healthTargets(targets)) {
      this.#backends.set(target.name, {
        target, check: target.check ?? this.settings.check, health: this.settings.initial, drain: 'none', since: now,
        passed: 0, failed: 0, probes: 0, failures: 0, lastProbe: undefined, probeTimer: undefined, drainTimer: undefined, drainDeadline: undefined,
      });
    }
  }

  /** Calls `listener` on every change from now on; returns the function that stops that. */
  onChange(listener: ChangeListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Starts probing every backend: the first probe at once, then one per interval. */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    for (const name of this.#backends.keys()) void this.#cycle(name);
  }

  /** Stops every probe and drain timer; a probe under way finishes without effect. */
  close(): void {
    this.#running = false;
    for (const b of this.#backends.values()) {
      clearTimeout(b.probeTimer);
      clearTimeout(b.drainTimer);
    }
  }

  /** Probes one backend now, outside the schedule, and counts the result like any other. */
  async checkNow(name: string): Promise<ProbeResult> {
    const b = this.#get(name);
    const result = await probe(b.target, b.check, this.settings.timeoutMs);
    this.#record(b, result);
    return result;
  }

  /** Backends new flows may go to: up and not draining, sorted by name. */
  newFlowBackends(): string[] {
    return [...this.#backends.values()].filter((b) => b.health === 'up' && b.drain === 'none').map((b) => b.target.name).sort();
  }

  /** Drained backends: no row of the table should name them any more (RebuildOptions.forget). */
  forgotten(): string[] {
    return [...this.#backends.values()].filter((b) => b.drain === 'drained').map((b) => b.target.name).sort();
  }

  status(name: string): BackendStatus {
    const b = this.#get(name);
    return {
      name, health: b.health, drain: b.drain, since: new Date(b.since).toISOString(),
      drainDeadline: b.drainDeadline === undefined ? undefined : new Date(b.drainDeadline).toISOString(),
      lastProbe: b.lastProbe, probes: b.probes, failures: b.failures,
    };
  }

  statuses(): BackendStatus[] {
    return [...this.#backends.keys()].sort().map((name) => this.status(name));
  }

  /** Takes new flows away from `name`; after `deadlineMs` it is 'drained' whatever still runs. */
  drain(name: string, options: { deadlineMs: number }): void {
    const b = this.#get(name);
    const ms = options?.deadlineMs;
    if (typeof ms !== 'number' || !Number.isInteger(ms) || ms < 0 || ms > 7 * 86_400_000) invalid('options.deadlineMs', 'an integer from 0 to 604800000 (a week)', ms);
    if (b.drain !== 'none') invalid(`drain(${JSON.stringify(name)})`, "a backend that is not draining or drained (undrain it first)", b.drain);
    b.drainDeadline = Date.now() + ms;
    this.#set(b, 'drain', 'draining', `drain requested, deadline ${new Date(b.drainDeadline).toISOString()}`);
    b.drainTimer = setTimeout(() => this.#endDrain(b, `deadline of ${ms} ms passed`), ms);
  }

  /** Ends a drain before its deadline: the caller knows the backend's connections are over. */
  endDrain(name: string, reason = 'connections ended'): void {
    const b = this.#get(name);
    if (b.drain !== 'draining') invalid(`endDrain(${JSON.stringify(name)})`, 'a draining backend', b.drain);
    this.#endDrain(b, reason);
  }

  /** Lets `name` take new flows again (a drain called off, or a drained backend put back). */
  undrain(name: string): void {
    const b = this.#get(name);
    if (b.drain === 'none') return;
    clearTimeout(b.drainTimer);
    b.drainDeadline = undefined;
    this.#set(b, 'drain', 'none', 'undrained');
  }

  #endDrain(b: Tracked, reason: string): void {
    clearTimeout(b.drainTimer);
    b.drainDeadline = undefined;
    this.#set(b, 'drain', 'drained', reason);
  }

  #get(name: string): Tracked {
    const b = this.#backends.get(name);
    if (b === undefined) invalid('name', `one of the checked backends (${[...this.#backends.keys()].sort().join(', ')})`, name);
    return b;
  }

  async #cycle(name: string): Promise<void> {
    const b = this.#backends.get(name)!;
    const started = Date.now();
    const result = await probe(b.target, b.check, this.settings.timeoutMs);
    if (!this.#running) return;
    this.#record(b, result);
    const wait = Math.max(0, this.settings.intervalMs - (Date.now() - started));
    b.probeTimer = setTimeout(() => void this.#cycle(name), wait);
  }

  #record(b: Tracked, result: ProbeResult): void {
    b.probes++;
    b.lastProbe = { ...result, at: new Date().toISOString() };
    if (result.ok) {
      b.passed++;
      b.failed = 0;
      if (b.health === 'down' && b.passed >= this.settings.rise) this.#set(b, 'health', 'up', `${b.passed} probes passed (${result.detail})`);
    } else {
      b.failures++;
      b.failed++;
      b.passed = 0;
      if (b.health === 'up' && b.failed >= this.settings.fall) this.#set(b, 'health', 'down', `${b.failed} probes failed (last: ${result.detail})`);
    }
  }

  #set(b: Tracked, what: 'health' | 'drain', to: Health | Drain, reason: string): void {
    const from = what === 'health' ? b.health : b.drain;
    if (from === to) return;
    const atMs = Date.now();
    if (what === 'health') {
      b.health = to as Health;
      b.since = atMs;
    } else b.drain = to as Drain;
    const change: BackendChange = { name: b.target.name, what, from, to, reason, at: new Date(atMs).toISOString(), atMs };
    for (const listener of this.#listeners) listener(change);
  }
}
