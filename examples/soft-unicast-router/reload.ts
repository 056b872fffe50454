// Live reload of the router's configuration file, on SIGHUP and when the file changes: the
// library's FileSource (src/sources/file.ts) read and validated, TableFollower publishing and
// logging. A bad file leaves the running table alone; one reload at a time. Used by main.ts;
// test/unit/router-reload.test.ts drives it with a fake router.
import {
  FileSource, readConfigText, TableFollower,
  type Config, type FollowResult, type LoadedFile, type Publisher, type RouterOptions, type SliceTable,
} from '../../src/index.js';
import type { Logger } from './log.js';

export type { Publisher };
export type Loaded = LoadedFile;

/**
 * Reads and validates the file (loadConfig(), keeping the text it read); throws the library's
 * errors, which name the path in the file, the bad value and what was expected.
 */
export const readConfig = readConfigText;

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
  onResult?: (result: FollowResult, table?: SliceTable) => void;
  /** Called with every configuration published, for settings main.ts applies itself (stats). */
  onConfig?: (config: Config) => void;
  /** Milliseconds the file must stay quiet before a change is read (editors write in steps). */
  debounceMs?: number;
}

export class Reloader {
  readonly source: FileSource;

  constructor(o: ReloaderOptions) {
    this.source = new FileSource({ path: o.path, host: o.host, known: o.loaded.text, ...(o.debounceMs !== undefined && { debounceMs: o.debounceMs }) });
    new TableFollower({
      source: this.source, router: o.router, opened: o.opened, log: o.log,
      ...(o.onResult !== undefined && { onResult: o.onResult }), ...(o.onConfig !== undefined && { onConfig: o.onConfig }),
    });
  }

  /**
   * Asks for a reload. Requests that arrive while one runs are merged into one more run after
   * it (forced if any was). Resolves once no reload is running or waiting.
   */
  trigger(reason: string, force: boolean): Promise<void> {
    return this.source.refresh(reason, force);
  }

  /** Reloads when the file changes (its directory is watched: editors rename over it). */
  watch(): void {
    this.source.watch();
  }

  /** Stops watching and refuses new requests; resolves when a running reload has finished. */
  close(): Promise<void> {
    return this.source.close();
  }
}
