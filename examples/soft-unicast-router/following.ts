// Where the running router's tables come from, behind one face for main.ts: the configuration
// file (reload.ts: FileSource and TableFollower) or a deployment in etcd (EtcdSource and
// TableFollower). Loading the first table, following changes, SIGHUP, stopping.
import {
  EtcdSource, TableFollower,
  type Config, type FollowResult, type Publisher, type RouterOptions, type SliceTable, type TableSource,
} from '../../src/index.js';
import type { RouterCli } from './cli.js';
import type { Logger } from './log.js';
import { readConfig, Reloader, type Loaded } from './reload.js';

/** The first table's deployment and what follows it. */
export interface First {
  config: Config;
  /** The file's text (file) or nothing (etcd). */
  loaded?: Loaded;
  /** The etcd source, which read the first table and follows from its revision. */
  etcd?: EtcdSource;
  /** The table and settings of this host, when the source built them already (etcd). */
  options?: RouterOptions;
  /** The source generation of the first table: 1 for a file, the revision for etcd. */
  generation: number;
  /** What the log calls the source: the file's path or 'etcd URL PREFIX'. */
  name: string;
}

/** Reads the first table: the file, or the deployment in etcd at its current revision. */
export async function loadFirst(cli: RouterCli): Promise<First> {
  if (cli.etcd === undefined) {
    const loaded = await readConfig(cli.config);
    return { config: loaded.config, loaded, generation: 1, name: cli.config };
  }
  const etcd = new EtcdSource({ endpoints: cli.etcd.endpoints, prefix: cli.etcd.prefix, host: cli.host });
  try {
    const table = await etcd.load();
    return { config: table.config, etcd, options: table.options, generation: table.generation, name: etcd.name };
  } catch (error) {
    await etcd.close();
    throw error;
  }
}

export interface FollowOptions {
  cli: RouterCli;
  first: First;
  router: Publisher;
  /** The options the router was opened with. */
  opened: RouterOptions;
  log: Logger;
  onResult: (result: FollowResult, table?: SliceTable) => void;
  onConfig: (config: Config) => void;
}

/** A source being followed: watch() starts noticing changes, hangup() is SIGHUP. */
export interface Following {
  readonly source: TableSource;
  watch(): void;
  hangup(): void;
  close(): Promise<void>;
}

export function follow(o: FollowOptions): Following {
  const { cli, first, router, opened, log } = o;
  if (first.etcd === undefined) {
    const reloader = new Reloader({ path: cli.config, host: cli.host, router, loaded: first.loaded!, opened, log, onResult: o.onResult, onConfig: o.onConfig });
    return {
      source: reloader.source,
      watch: () => {
        reloader.watch();
        // A change between reading the file and watching it would otherwise wait for the next one.
        void reloader.trigger('file changed', false);
      },
      hangup: () => void reloader.trigger('SIGHUP', true),
      close: () => reloader.close(),
    };
  }
  const source = first.etcd;
  new TableFollower({ source, router, opened, log, onResult: o.onResult, onConfig: o.onConfig });
  return {
    source,
    // From the revision the first table was read at: no change in between is missed.
    watch: () => source.watch(),
    hangup: () => void source.refresh('SIGHUP', true),
    close: () => source.close(),
  };
}
