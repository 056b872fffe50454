// Balancer: backend health, drain and second-chance rebuilds of a SliceTable's flow-hash
// services, off the packet path. Exported as lb.Balancer; examples/load-balancer runs one per host.
import type { IPv4, IPv6 } from 'ip-num';

import { invalid } from '../errors.js';
import type { Protocol } from '../fields.js';
import type { SliceTable } from '../slices/table.js';
import { isIPv4 } from '../ip.js';
import { FAMILY_V4, FAMILY_V6 } from '../slices/address.js';
import { serviceName, type FlowService } from '../slices/services.js';
import { BackendHealth, type BackendChange, type Drain, type Health } from './health.js';
import type { ServiceHealth } from './health-options.js';
import { tableDigest, type RebuildMoves } from './second-chance.js';

/** A backend of a balanced service: an owner of the table, and where to probe it. */
export interface BalancedBackend {
  readonly owner: string;
  /** The address probes connect to (the backend's own, not the service's). */
  readonly address: string;
  readonly weight?: number;
  /** No new flows; its connections go on through second chance until `health.drainDeadlineMs`. */
  readonly drain?: boolean;
}

/** A flow-hash service of the table and how its backends are checked. */
export interface BalancedService {
  /** For logs and status. */
  readonly name: string;
  readonly address: IPv4 | IPv6;
  readonly protocol: Protocol;
  readonly port: number;
  /** lb.rebuild's mode; 'stateless' unless set. */
  readonly moves?: RebuildMoves;
  readonly backends: readonly BalancedBackend[];
  readonly health: ServiceHealth;
}

/**
 * Custom choice, off the packet path: given a service and the backends that may take new flows
 * (up, not draining), the ones that shall (a subset, at least one). Runs on every change.
 */
export type ChooseBackends = (service: string, candidates: readonly string[]) => readonly string[];

export interface BalancerOptions {
  /** Installs a table (Router.publish, for one); the balancer's next change waits for it. */
  readonly publish: (table: SliceTable) => Promise<unknown>;
  readonly choose?: ChooseBackends;
}

/** What the balancer did or saw: a health or drain change, a rebuild, a publish that failed. */
export interface BalancerEvent {
  readonly at: string;
  readonly level: 'info' | 'warn' | 'error';
  readonly service: string;
  readonly message: string;
  readonly change?: BackendChange;
}

/** One backend as status() reports it. */
export interface BackendState {
  readonly owner: string;
  readonly health: Health;
  readonly drain: Drain;
  /** Rows that send new flows to it, and rows that give it a second chance. */
  readonly primaryRows: number;
  readonly secondaryRows: number;
  readonly probes: number;
  readonly failures: number;
  readonly since: string;
}

export interface ServiceState {
  readonly name: string;
  readonly backends: readonly BackendState[];
  /** Names still in rows though no longer a backend (secondaries until forgotten). */
  readonly lingering: readonly string[];
  readonly rebuilds: number;
  /** lb.tableDigest of the rows: equal on every host that agrees. */
  readonly digest: string;
}

export interface BalancerCounters {
  readonly rebuilds: number;
  readonly healthUp: number;
  readonly healthDown: number;
  readonly drainChanges: number;
  readonly publishFailures: number;
}

interface Tracked {
  spec: BalancedService;
  health: Map<string, BackendHealth>;
  rebuilds: number;
}

/** 'tcp 192.0.2.80:80', as the table names a service; `s` a spec or a table's FlowService. */
function serviceKey(s: { address: IPv4 | IPv6; protocol: Protocol; port: number } | FlowService): string {
  if ('family' in s) return serviceName(s);
  const v4 = isIPv4(s.address);
  return serviceName({ family: v4 ? FAMILY_V4 : FAMILY_V6, v4: v4 ? Number(s.address.getValue()) : 0, v6: v4 ? 0n : s.address.getValue(), protocol: s.protocol, port: s.port });
}

export class Balancer {
  readonly #options: BalancerOptions;
  readonly #services = new Map<string, Tracked>();
  readonly #listeners = new Set<(event: BalancerEvent) => void>();
  #table: SliceTable | undefined;
  #queue: Promise<void> = Promise.resolve();
  #counters = { rebuilds: 0, healthUp: 0, healthDown: 0, drainChanges: 0, publishFailures: 0 };
  #closed = false;
  #rebuiltEvents: BalancerEvent[] = [];

  constructor(options: BalancerOptions) {
    if (typeof options !== 'object' || options === null || typeof options.publish !== 'function') invalid('options', 'an object { publish(table), choose? }', options);
    if (options.choose !== undefined && typeof options.choose !== 'function') invalid('options.choose', 'a function (service, candidates) => backends', options.choose);
    this.#options = options;
  }

  /** Calls `listener` with every event from now on; returns the function that stops that. */
  onEvent(listener: (event: BalancerEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * Takes `table` (its services as `services` describe them) and publishes it. Services the
   * balancer had before keep their rows, rebuilt with second chance for the new backend list;
   * backends they had keep their health; names in their rows that are no backend any more are
   * forgotten (drain a backend before removing it). On the first load backends are trusted until
   * `fall` probes fail, so that every balancer host starts from the same rows; backends added
   * later are trusted after `rise` passed probes.
   */
  load(table: SliceTable, services: readonly BalancedService[]): Promise<void> {
    return this.#serial(async () => {
      const first = this.#table === undefined;
      const next = table.clone();
      const seen = new Set<string>();
      for (const spec of services) {
        const key = serviceKey(spec);
        seen.add(key);
        const old = this.#services.get(key);
        const tracked: Tracked = { spec, health: new Map(), rebuilds: old?.rebuilds ?? 0 };
        // A new service is trusted like a first load: its rows start from the file's list.
        for (const b of spec.backends) tracked.health.set(b.owner, this.#healthOf(spec, b, old, first || old === undefined));
        for (const [owner, h] of old?.health ?? []) if (!tracked.health.has(owner)) h.close();
        this.#services.set(key, tracked);
        this.#applyDrains(tracked);
        const previous = this.#table?.services().find((s) => serviceKey(s) === key)?.maglev;
        const current = next.services().find((s) => serviceKey(s) === key);
        if (current === undefined) invalid(`services['${spec.name}']`, 'a service of the table', key);
        if (previous !== undefined && previous.size === current.rows) {
          // Straight from the rows before to the backends chosen now: one rebuild, so that every
          // row keeps the backend it had as its second chance.
          const chosen = this.#chosen(tracked, previous.names) ?? { backends: previous.active.map((b) => ({ owner: b.name, weight: b.weight })), forget: [] };
          const forget = [...new Set([...chosen.forget, ...previous.names.filter((n) => !spec.backends.some((b) => b.owner === n))])];
          next.removeService(spec.address, spec.protocol, spec.port);
          next.addService({ address: spec.address, protocol: spec.protocol, port: spec.port, rows: current.rows, backends: chosen.backends }, { previous, forget, moves: spec.moves ?? 'stateless' });
          if (!sameRows(previous, next.services().find((s) => serviceKey(s) === key)!.maglev)) this.#rebuilt(tracked, chosen.backends, forget);
        } else this.#reconcile(next, tracked);
      }
      for (const [key, old] of this.#services) {
        if (seen.has(key)) continue;
        for (const h of old.health.values()) h.close();
        this.#services.delete(key);
      }
      await this.#publish(next, 'load');
    });
  }

  /** Every service: its backends' health, drain state and rows. */
  status(): ServiceState[] {
    const rows = new Map((this.#table?.services() ?? []).map((s) => [serviceKey(s), s.maglev]));
    return [...this.#services.entries()].map(([key, t]) => {
      const maglev = rows.get(key);
      const count = (column: 'primary' | 'secondary', name: string): number => {
        if (maglev === undefined) return 0;
        const index = maglev.names.indexOf(name);
        let n = 0;
        for (const i of maglev[column]) if (i === index) n++;
        return n;
      };
      const backends = [...t.health.entries()].map(([owner, h]) => {
        const s = h.status(owner);
        return { owner, health: s.health, drain: s.drain, primaryRows: count('primary', owner), secondaryRows: count('secondary', owner), probes: s.probes, failures: s.failures, since: s.since };
      });
      const lingering = (maglev?.names ?? []).filter((n) => !t.health.has(n));
      return { name: t.spec.name, backends, lingering, rebuilds: t.rebuilds, digest: maglev === undefined ? '' : tableDigest(maglev) };
    });
  }

  counters(): BalancerCounters {
    return { ...this.#counters };
  }

  /** The table last published (a copy), or undefined before the first load. */
  table(): SliceTable | undefined {
    return this.#table?.clone();
  }

  /** Stops every probe and drain timer; waits for a publish under way. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const t of this.#services.values()) for (const h of t.health.values()) h.close();
    await this.#queue;
  }

  #healthOf(spec: BalancedService, b: BalancedBackend, old: Tracked | undefined, trusted: boolean): BackendHealth {
    const kept = old?.health.get(b.owner);
    const same = old !== undefined && JSON.stringify(old.spec.health) === JSON.stringify(spec.health) && old.spec.backends.find((o) => o.owner === b.owner)?.address === b.address;
    if (kept !== undefined && same) return kept;
    kept?.close();
    const { check, port, intervalMs, timeoutMs, rise, fall } = spec.health;
    const initial = trusted || kept?.status(b.owner).health === 'up' ? 'up' : 'down';
    const h = new BackendHealth([{ name: b.owner, address: b.address, port }], { check, intervalMs, timeoutMs, rise, fall, initial });
    h.onChange((change) => this.#changed(serviceKey(spec), change));
    if (!this.#closed) h.start();
    return h;
  }

  /** Drain as the spec says: started with the service's deadline, or called off. */
  #applyDrains(t: Tracked): void {
    for (const b of t.spec.backends) {
      const h = t.health.get(b.owner)!;
      const drain = h.status(b.owner).drain;
      if (b.drain === true && drain === 'none') h.drain(b.owner, { deadlineMs: t.spec.health.drainDeadlineMs });
      else if (b.drain !== true && drain !== 'none') h.undrain(b.owner);
    }
  }

  /** A backend's health or drain changed: told, then the rows of its service (`key`) follow. */
  #changed(key: string, change: BackendChange): void {
    if (change.what === 'health') this.#counters[change.to === 'up' ? 'healthUp' : 'healthDown']++;
    else this.#counters.drainChanges++;
    const level = change.to === 'down' ? 'warn' : 'info';
    const service = this.#services.get(key)?.spec.name ?? key;
    this.#emit({ at: change.at, level, service, message: `${change.name} ${change.what} ${change.from} -> ${change.to}: ${change.reason}`, change });
    void this.#serial(async () => {
      const t = this.#services.get(key);
      if (this.#table === undefined || this.#closed || t === undefined) return;
      const next = this.#table.clone();
      if (this.#reconcile(next, t)) await this.#publish(next, t.spec.name);
    });
  }

  /** The backends for new flows (up, not draining, chosen) and the drained names to forget; undefined when none may take new flows. */
  #chosen(t: Tracked, inRows: readonly string[]): { backends: { owner: string; weight: number }[]; forget: string[] } | undefined {
    const { spec } = t;
    const state = (owner: string) => t.health.get(owner)!.status(owner);
    let chosen = spec.backends.filter((b) => state(b.owner).health === 'up' && state(b.owner).drain === 'none').map((b) => b.owner);
    if (chosen.length === 0) {
      this.#emit({ at: new Date().toISOString(), level: 'error', service: spec.name, message: 'no backend may take new flows: the rows stay as they are' });
      return undefined;
    }
    if (this.#options.choose !== undefined) chosen = this.#choose(spec.name, chosen);
    // Drained backends, and dead ones: a backend that fails its checks is taken to hold no
    // connection worth a second chance, and a row it leaves keeps the secondary it had (a
    // draining backend's, say) instead of naming it.
    const gone = (owner: string): boolean => state(owner).drain === 'drained' || state(owner).health === 'down';
    const forget = spec.backends.filter((b) => gone(b.owner) && inRows.includes(b.owner) && !chosen.includes(b.owner)).map((b) => b.owner);
    return { backends: chosen.map((owner) => ({ owner, weight: spec.backends.find((b) => b.owner === owner)!.weight ?? 1 })), forget };
  }

  /** Rebuilds `t`'s rows in `next` when the backends for new flows changed; whether it did. */
  #reconcile(next: SliceTable, t: Tracked): boolean {
    const { spec } = t;
    const current = next.services().find((s) => serviceKey(s) === serviceKey(spec))!;
    const chosen = this.#chosen(t, current.maglev.names);
    if (chosen === undefined) return false;
    if (sameBackends(current, chosen.backends) && chosen.forget.length === 0) return false;
    next.setServiceBackends(spec.address, spec.protocol, spec.port, chosen.backends, { moves: spec.moves ?? 'stateless', forget: chosen.forget });
    this.#rebuilt(t, chosen.backends, chosen.forget);
    return true;
  }

  #rebuilt(t: Tracked, backends: readonly { owner: string }[], forget: readonly string[]): void {
    t.rebuilds++;
    this.#counters.rebuilds++;
    const moves = t.spec.moves ?? 'stateless';
    const list = backends.map((b) => b.owner).join(', ');
    // Told once the table is published: status() then shows the new rows.
    this.#rebuiltEvents.push({ at: new Date().toISOString(), level: 'info', service: t.spec.name, message: `rows rebuilt (${moves}): new flows to ${list}${forget.length > 0 ? `; forgotten: ${forget.join(', ')}` : ''}` });
  }

  #choose(service: string, candidates: string[]): string[] {
    const out = this.#options.choose!(service, candidates);
    if (!Array.isArray(out) || out.length === 0 || out.some((n) => !candidates.includes(n))) {
      invalid('options.choose()', `a non-empty subset of the candidates (${candidates.join(', ')})`, out);
    }
    return [...new Set(out as string[])];
  }

  async #publish(next: SliceTable, service: string): Promise<void> {
    const events = this.#rebuiltEvents.splice(0);
    try {
      await this.#options.publish(next);
      this.#table = next;
      for (const event of events) this.#emit(event);
    } catch (error) {
      this.#counters.publishFailures++;
      this.#emit({ at: new Date().toISOString(), level: 'error', service, message: `publish failed: ${(error as Error).message}` });
      if (this.#table === undefined) throw error;
    }
  }

  #serial(fn: () => Promise<void>): Promise<void> {
    const run = this.#queue.then(fn);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  #emit(event: BalancerEvent): void {
    for (const listener of this.#listeners) listener(event);
  }
}

function sameRows(a: { names: readonly string[]; primary: Uint32Array; secondary: Uint32Array }, b: typeof a): boolean {
  if (a.primary.length !== b.primary.length) return false;
  for (let r = 0; r < a.primary.length; r++) {
    if (a.names[a.primary[r]!] !== b.names[b.primary[r]!] || a.names[a.secondary[r]!] !== b.names[b.secondary[r]!]) return false;
  }
  return true;
}

function sameBackends(current: FlowService, backends: readonly { owner: string; weight: number }[]): boolean {
  if (current.backends.length !== backends.length) return false;
  return backends.every((b) => current.backends.some((c) => c.name === b.owner && c.weight === b.weight));
}
