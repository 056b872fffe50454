// Live reload of the router's configuration file, on SIGHUP and when the file changes: read,
// validate, build the table, publish it atomically; a bad file leaves the running table alone.
// One reload at a time. Used by main.ts; test/unit/router-cli.test.ts drives it with a fake router.
import { watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';

import {
  diffTables, formatOf, formatProblem, parseConfig, readConfigFile, routerOptionsFor,
  type Config, type RouterOptions, type SliceTable, type TableDiff,
} from '../../src/index.js';
import { count } from './check.js';
import type { Logger } from './log.js';
import type { ReloadResult } from './metrics.js';

/** What the reloader needs of a Router. */
export interface Publisher {
  readonly table: SliceTable;
  publish(table: SliceTable, options: { host: RouterOptions['host'] }): Promise<{ generation: number }>;
  counters(): { generation: number };
}

export interface Loaded {
  text: string;
  config: Config;
}

/** The file's text, as loadConfig() reads it: a regular file, bounded in size and time. */
const readText = (path: string): Promise<string> => readConfigFile(path);

/**
 * Reads and validates the file (loadConfig(), keeping the text it read); throws the library's
 * errors, which name the path in the file, the bad value and what was expected.
 */
export async function readConfig(path: string): Promise<Loaded> {
  const format = formatOf(path);
  const text = await readText(path);
  return { text, config: parseConfig(text, format, path) };
}

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
function logChanges(log: Logger, d: TableDiff): void {
  const each = <T>(list: readonly T[], what: string, line: (item: T) => [string, Record<string, string>]) => {
    for (const item of list.slice(0, CHANGES_SHOWN)) log.info(...line(item));
    if (list.length > CHANGES_SHOWN) log.info(`and ${list.length - CHANGES_SHOWN} more slices ${what}`);
  };
  each(d.moved, 'moved', (m) => [`slice ${sliceText(m.slice)} moved from ${m.from} to ${m.to}`, { from: m.from, to: m.to }]);
  each(d.added, 'added', (a) => [`slice ${sliceText(a)} added, owner ${a.owner}`, { owner: a.owner }]);
  each(d.removed, 'removed', (r) => [`slice ${sliceText(r)} removed, owner was ${r.owner}`, { owner: r.owner }]);
}

/** The settings a Router takes at open() only: a reload that changes them says they wait for a restart. */
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

export interface ReloaderOptions {
  /** The configuration file, as given on the command line. */
  path: string;
  host: string;
  router: Publisher;
  /** What the running table was built from: the text read and the options the router opened with. */
  loaded: Loaded;
  opened: RouterOptions;
  log: Logger;
  /** Called after every reload with its result and, when one was published, the new table. */
  onResult?: (result: ReloadResult, table?: SliceTable) => void;
  /** Called with every configuration published, for settings main.ts applies itself (stats). */
  onConfig?: (config: Config) => void;
  /** Milliseconds the file must stay quiet before a change is read (editors write in steps). */
  debounceMs?: number;
}

interface Request {
  reason: string;
  /** Reload even if the text is what was read last (SIGHUP); a file event only on a change. */
  force: boolean;
}

export class Reloader {
  readonly #o: ReloaderOptions;
  readonly #settings: Record<string, string>;
  #host: Record<string, string>;
  #lastText: string;
  #pending: Request | undefined;
  #busy = false;
  #done: Promise<void> = Promise.resolve();
  #watcher: FSWatcher | undefined;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(options: ReloaderOptions) {
    this.#o = options;
    this.#lastText = options.loaded.text;
    this.#settings = openSettings(options.opened);
    this.#host = hostSettings(options.opened);
  }

  /**
   * Asks for a reload. Requests that arrive while one runs are merged into one more run after
   * it (forced if any was). Resolves once no reload is running or waiting.
   */
  trigger(reason: string, force: boolean): Promise<void> {
    if (this.#closed) return Promise.resolve();
    if (this.#pending === undefined) this.#pending = { reason, force };
    else if (force && !this.#pending.force) this.#pending = { reason, force };
    if (this.#busy) return this.#done;
    this.#busy = true;
    this.#done = (async () => {
      try {
        // No await between the last check of #pending and #busy = false: a request cannot slip
        // in between and be left waiting.
        while (this.#pending !== undefined && !this.#closed) {
          const request = this.#pending;
          this.#pending = undefined;
          await this.#reload(request);
        }
      } finally {
        this.#busy = false;
      }
    })();
    return this.#done;
  }

  /**
   * Watches the file's directory, not the file: editors that save by writing a new file and
   * renaming it over the old one (vim, most config managers) replace the inode a file watch
   * would follow, and a file deleted and written anew would end it. Every event of the
   * directory counts; the text decides whether anything changed.
   */
  watch(): void {
    if (this.#closed || this.#watcher !== undefined) return;
    const name = basename(this.#o.path);
    this.#watcher = watch(dirname(this.#o.path), { persistent: false }, (_event, filename) => {
      if (filename !== null && filename !== name && !String(filename).startsWith('..')) {
        // Another file of the directory, unless it is a '..data'-style symlink swap
        // (Kubernetes ConfigMaps) that changes what our name points to.
        return;
      }
      this.#changed();
    });
    this.#watcher.on('error', (error) => {
      this.#o.log.warn(`watching ${dirname(this.#o.path)} failed, reloading on SIGHUP only: ${error.message}`);
      this.#watcher?.close();
    });
  }

  #changed(): void {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      // setImmediate runs after the event loop's poll phase: a SIGHUP that arrived together
      // with the last file event is handled first, reads the same text, and this finds nothing
      // new instead of reporting the change a second time under another reason.
      setImmediate(() => void this.trigger('file changed', false));
    }, this.#o.debounceMs ?? 200);
    this.#timer.unref();
  }

  /** Stops watching and refuses new requests; resolves when a running reload has finished. */
  close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#watcher?.close();
    return this.#done;
  }

  async #reload({ reason, force }: Request): Promise<void> {
    const { log, router } = this.#o;
    const start = performance.now();
    let config: Config;
    let options: RouterOptions;
    try {
      const text = await readText(this.#o.path);
      // A file event with the text read last (a touch, a save of the same bytes, a bad file
      // already reported): nothing new to say.
      if (!force && text === this.#lastText) return this.#o.onResult?.('unchanged');
      this.#lastText = text;
      config = parseConfig(text, formatOf(this.#o.path), this.#o.path);
      options = routerOptionsFor(config, this.#o.host);
    } catch (error) {
      // An invalid file's message lists its problems, one per line: one log line each.
      const [head, ...problems] = (error as Error).message.split('\n');
      log.error(`reload (${reason}) refused; generation ${this.#generation()} stays in use: ${head}`, { reason });
      for (const line of problems) log.error(line.trim(), { reason });
      return this.#o.onResult?.('refused');
    }
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
    if (waiting.length > 0) log.warn(`the file changes ${waiting.join(', ')}; that takes effect when the router restarts`);
    for (const w of config.warnings) log.warn(formatProblem(w, this.#o.path));
    this.#o.onResult?.('applied', options.table);
    this.#o.onConfig?.(config);
  }

  #generation(): string {
    try {
      return String(this.#o.router.counters().generation);
    } catch {
      return 'unknown';
    }
  }
}
