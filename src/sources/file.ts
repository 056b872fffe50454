// FileSource: a router's tables from one configuration file, read on request (SIGHUP) and when
// the file changes. Only a regular file is read, bounded in size and time (config/file.ts), so
// that no file can wedge a running router; a bad file is refused whole. Used by the router
// binary (through examples/soft-unicast-router/reload.ts) and by users of the library.
import { watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';

import { invalid } from '../errors.js';
import { readConfigFile } from '../config/file.js';
import { formatOf, parseConfig } from '../config/source.js';
import type { Config } from '../config/types.js';
import { routerOptionsFor } from '../config/perspective.js';
import { Serial } from './serial.js';
import type { SourceHealth, SourceSubscriber, SourcedTable, TableSource } from './types.js';

export interface FileSourceOptions {
  /** The configuration file (.json, .yaml or .yml). */
  path: string;
  /** The server of the file whose table this source yields. */
  host: string;
  /** Milliseconds the file must stay quiet before a change is read (editors write in steps). Default 200. */
  debounceMs?: number;
  /**
   * The text the table in use was built from, when it was read elsewhere: a file event that
   * finds this text again yields nothing.
   */
  known?: string;
}

/** A file's text and the deployment it describes. */
export interface LoadedFile {
  readonly text: string;
  readonly config: Config;
}

/** Reads and validates a configuration file, keeping the text read. Throws the library's errors. */
export async function readConfigText(path: string): Promise<LoadedFile> {
  const format = formatOf(path);
  const text = await readConfigFile(path);
  return { text, config: parseConfig(text, format, path) };
}

interface Look {
  reason: string;
  /** Hand over the table even if the text is what was read last (SIGHUP); a file event only on a change. */
  force: boolean;
}

export class FileSource implements TableSource {
  readonly kind = 'file';
  readonly name: string;
  readonly #path: string;
  readonly #host: string;
  readonly #debounceMs: number;
  readonly #serial: Serial<Look>;
  #subscriber: SourceSubscriber | undefined;
  #lastText: string | undefined;
  #generation = 0;
  #health: SourceHealth = { state: 'ok', since: Date.now(), disconnects: 0, generation: 0, detail: '' };
  #watcher: FSWatcher | undefined;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(options: FileSourceOptions) {
    if (typeof options?.path !== 'string' || options.path === '') invalid('options.path', 'the path of a configuration file', options?.path);
    if (typeof options.host !== 'string' || options.host === '') invalid('options.host', 'the name of a server of the file', options.host);
    const debounce = options.debounceMs ?? 200;
    if (!Number.isInteger(debounce) || debounce < 0) invalid('options.debounceMs', 'a whole number of milliseconds, 0 or more', debounce);
    formatOf(options.path);
    this.name = options.path;
    this.#path = options.path;
    this.#host = options.host;
    this.#debounceMs = debounce;
    this.#lastText = options.known;
    if (options.known !== undefined) this.#generation = 1;
    // A forced look wins over a file event: the merged one is forced if any was.
    this.#serial = new Serial((look) => this.#look(look), (waiting, next) => (next.force && !waiting.force ? next : waiting));
  }

  async load(): Promise<SourcedTable> {
    const { text, config } = await readConfigText(this.#path);
    const options = routerOptionsFor(config, this.#host);
    this.#lastText = text;
    return this.#yielded(config, options);
  }

  subscribe(subscriber: SourceSubscriber): void {
    this.#subscriber = subscriber;
  }

  refresh(reason: string, force: boolean): Promise<void> {
    return this.#serial.request({ reason, force });
  }

  health(): SourceHealth {
    return this.#health;
  }

  /**
   * Watches the file's directory, not the file: editors that save by writing a new file and
   * renaming it over the old one (vim, most config managers) replace the inode a file watch
   * would follow, and a file deleted and written anew would end it. Every event of the
   * directory counts; the text decides whether anything changed.
   */
  watch(): void {
    if (this.#closed || this.#watcher !== undefined) return;
    const name = basename(this.#path);
    this.#watcher = watch(dirname(this.#path), { persistent: false }, (_event, filename) => {
      if (filename !== null && filename !== name && !String(filename).startsWith('..')) {
        // Another file of the directory, unless it is a '..data'-style symlink swap
        // (Kubernetes ConfigMaps) that changes what our name points to.
        return;
      }
      this.#changed();
    });
    this.#watcher.on('error', (error) => {
      this.#watcher?.close();
      this.#setHealth('degraded', `watching ${dirname(this.#path)} failed, reloading on SIGHUP only: ${error.message}`);
    });
  }

  close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#watcher?.close();
    return this.#serial.close();
  }

  #changed(): void {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      // setImmediate runs after the event loop's poll phase: a SIGHUP that arrived together
      // with the last file event is handled first, reads the same text, and this finds nothing
      // new instead of reporting the change a second time under another reason.
      setImmediate(() => void this.refresh('file changed', false));
    }, this.#debounceMs);
    this.#timer.unref();
  }

  async #look({ reason, force }: Look): Promise<void> {
    const subscriber = this.#subscriber;
    let table: SourcedTable;
    try {
      const text = await readConfigFile(this.#path);
      // A file event with the text read last (a touch, a save of the same bytes, a bad file
      // already reported): nothing new to say.
      if (!force && text === this.#lastText) return await subscriber?.update({ kind: 'unchanged', reason });
      this.#lastText = text;
      const config = parseConfig(text, formatOf(this.#path), this.#path);
      table = this.#yielded(config, routerOptionsFor(config, this.#host));
    } catch (error) {
      return await subscriber?.update({ kind: 'refused', reason, error: error as Error });
    }
    await subscriber?.update({ kind: 'table', reason, table });
  }

  #yielded(config: Config, options: SourcedTable['options']): SourcedTable {
    const generation = ++this.#generation;
    this.#health = { ...this.#health, generation };
    return { generation, config, options };
  }

  #setHealth(state: SourceHealth['state'], detail: string): void {
    this.#health = { ...this.#health, state, since: Date.now(), detail };
    this.#subscriber?.health?.(this.#health);
  }
}
