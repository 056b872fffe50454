// TableFollower: publishes what a TableSource yields to a running Router, one table at a time,
// and logs it: the Router's generation, every slice that moved (from which owner to which),
// host settings that changed, settings that wait for a restart, refusals with every problem,
// and the source's health. Used by the router binary; any Router user can do the same.
import type { Config } from '../config/types.js';
import { problemLine } from '../config/problems.js';
import type { RouterOptions } from '../router/router.js';
import { diffTables } from '../slices/diff.js';
import type { SliceTable } from '../slices/table.js';
import type { TableDiff } from '../slices/types.js';
import type { SourceHealth, SourceUpdate, TableSource } from './types.js';

/** What the follower needs of a Router. */
export interface Publisher {
  readonly table: SliceTable;
  publish(table: SliceTable, options: { host: RouterOptions['host'] }): Promise<{ generation: number }>;
  counters(): { generation: number };
}

/** Structured details of a log line. */
export type LogFields = Record<string, string | number | boolean>;

/** Where the follower writes: the router binary's logger, console, or a test's list. */
export interface SourceLogger {
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
}

export type FollowResult = 'applied' | 'unchanged' | 'refused';

export interface FollowerOptions {
  source: TableSource;
  router: Publisher;
  /** The options the router was opened with (settings open() takes only, to say when they change). */
  opened: RouterOptions;
  log: SourceLogger;
  /** After every update, with its result and, when one was published, the new table. */
  onResult?: (result: FollowResult, table?: SliceTable) => void;
  /** With every deployment published, for settings the caller applies itself (stats). */
  onConfig?: (config: Config) => void;
  /** With every change of the source's health, after it is logged. */
  onHealth?: (health: SourceHealth) => void;
}

/** "1 slice", "2 slices". */
export const count = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`;

/** "1 slice added, 0 removed, 2 moved" (or "no slice changed") and the owners defined anew, if any. */
export function diffText(d: TableDiff): string {
  const changed = d.added.length + d.removed.length + d.moved.length;
  let text = changed === 0 ? 'no slice changed' : `${count(d.added.length, 'slice')} added, ${d.removed.length} removed, ${d.moved.length} moved`;
  if (d.ownersChanged.length > 0) text += `; owners changed: ${d.ownersChanged.join(', ')}`;
  return text;
}

/** Slices shown one by one per kind of change; more are summed up in one line. */
const CHANGES_SHOWN = 20;

const sliceText = (s: { destination: { toString(): string }; protocols: readonly string[]; ports: { from: number; to: number } }) =>
  `${s.destination.toString()} ${s.protocols.join(',')} ${s.ports.from}-${s.ports.to}`;

/** One line per slice that moved, was added or removed (up to CHANGES_SHOWN of each). */
function logChanges(log: SourceLogger, d: TableDiff): void {
  const each = <T>(list: readonly T[], what: string, line: (item: T) => [string, LogFields]) => {
    for (const item of list.slice(0, CHANGES_SHOWN)) log.info(...line(item));
    if (list.length > CHANGES_SHOWN) log.info(`and ${list.length - CHANGES_SHOWN} more slices ${what}`);
  };
  each(d.moved, 'moved', (m) => [`slice ${sliceText(m.slice)} moved from ${m.from} to ${m.to}`, { from: m.from, to: m.to }]);
  each(d.added, 'added', (a) => [`slice ${sliceText(a)} added, owner ${a.owner}`, { owner: a.owner }]);
  each(d.removed, 'removed', (r) => [`slice ${sliceText(r)} removed, owner was ${r.owner}`, { owner: r.owner }]);
}

/** The settings a Router takes at open() only: a change says they wait for a restart. */
function openSettings(o: RouterOptions): Record<string, string> {
  return { interface: JSON.stringify(o.port), health: JSON.stringify(o.health ?? null) };
}

/** The host settings a publish applies with the table, as text per setting, to log what changed. */
function hostSettings(o: RouterOptions): Record<string, string> {
  const h = o.host;
  return {
    addresses: `${h.ipv4?.toString() ?? '-'} ${h.ipv6?.toString() ?? '-'}`,
    'GUE port': String(h.guePort),
    'trusted peers': (h.trustedPeers ?? []).map((p) => ('toCidrString' in p ? p.toCidrString() : p.toString())).join(' '),
  };
}

export class TableFollower {
  readonly #o: FollowerOptions;
  readonly #settings: Record<string, string>;
  #host: Record<string, string>;

  /** Subscribes to `options.source`; the caller starts it watching (source.watch()). */
  constructor(options: FollowerOptions) {
    this.#o = options;
    this.#settings = openSettings(options.opened);
    this.#host = hostSettings(options.opened);
    options.source.subscribe({ update: (u) => this.#update(u), health: (h) => this.#health(h) });
  }

  async #update(u: SourceUpdate): Promise<void> {
    if (u.kind === 'unchanged') return this.#o.onResult?.('unchanged');
    if (u.kind === 'refused') return this.#refused(u.reason, u.error);
    const { log, router } = this.#o;
    const { reason } = u;
    const { config, options } = u.table;
    const start = performance.now();
    const diff = diffTables(router.table, options.table);
    const settings = openSettings(options);
    const waiting = Object.keys(settings).filter((k) => settings[k] !== this.#settings[k]);
    const host = hostSettings(options);
    try {
      log.info(`reload (${reason}): publishing ${count(options.table.size, 'slice')}`);
      const { generation } = await router.publish(options.table, { host: options.host });
      log.info(`reloaded (${reason}): generation ${generation} in use; ${diffText(diff)} (${Math.round(performance.now() - start)} ms)`, { reason, generation });
    } catch (error) {
      log.error(`reload (${reason}) refused; generation ${this.#generation()} stays in use: ${(error as Error).message}`, { reason });
      return this.#o.onResult?.('refused');
    }
    logChanges(log, diff);
    for (const [k, v] of Object.entries(host)) if (v !== this.#host[k]) log.info(`${k} now ${v || 'none'} (was ${this.#host[k] || 'none'})`, { reason });
    this.#host = host;
    if (waiting.length > 0) log.warn(`the ${this.#o.source.kind === 'file' ? 'file' : 'deployment'} changes ${waiting.join(', ')}; that takes effect when the router restarts`);
    for (const w of config.warnings) log.warn(problemLine(w, config.source));
    this.#o.onResult?.('applied', options.table);
    this.#o.onConfig?.(config);
  }

  #refused(reason: string, error: Error): void {
    // An invalid deployment's message lists its problems, one per line: one log line each.
    const [head, ...problems] = error.message.split('\n');
    this.#o.log.error(`reload (${reason}) refused; generation ${this.#generation()} stays in use: ${head}`, { reason });
    for (const line of problems) this.#o.log.error(line.trim(), { reason });
    this.#o.onResult?.('refused');
  }

  #health(h: SourceHealth): void {
    const { log, source } = this.#o;
    const generation = this.#generation();
    if (h.state === 'unreachable') log.error(`${source.name} unreachable; forwarding goes on with generation ${generation} (source generation ${h.generation}): ${h.detail}`, { source: source.kind, state: h.state });
    else if (h.state === 'degraded') log.warn(h.detail, { source: source.kind, state: h.state });
    else log.info(`${source.name} reachable again; following it from source generation ${h.generation}`, { source: source.kind, state: h.state });
    this.#o.onHealth?.(h);
  }

  #generation(): string {
    try {
      return String(this.#o.router.counters().generation);
    } catch {
      return 'unknown';
    }
  }
}
