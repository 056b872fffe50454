// The TableSource seam: where a router's tables come from (a file, etcd), validated, with their
// generations, watched for changes. Implemented by file.ts and etcd/source.ts; follow.ts
// publishes what a source yields; the router binary and users pick a source.
import type { Config } from '../config/types.js';
import type { RouterOptions } from '../router/router.js';

/** A validated table, the deployment it was built from and the generation it belongs to. */
export interface SourcedTable {
  /**
   * Grows with every table the source yields: a file source counts its loads, the etcd source
   * gives etcd's revision. Not the Router's generation, which also counts republications.
   */
  readonly generation: number;
  /** The whole deployment, validated (every router of the fleet reads the same one). */
  readonly config: Config;
  /** routerOptionsFor(config, host): the table, the host settings published with it, the interface. */
  readonly options: RouterOptions;
}

/**
 * What a source hands its subscriber: a new table, a change it refused (the running table
 * stays; `error` says why, an InvalidConfigError listing every problem when it is one), or a
 * look that found nothing new. `reason` says what prompted it: 'SIGHUP', 'file changed',
 * 'etcd revision 57', 'etcd is back'.
 */
export type SourceUpdate =
  | { readonly kind: 'table'; readonly reason: string; readonly table: SourcedTable }
  | { readonly kind: 'refused'; readonly reason: string; readonly error: Error }
  | { readonly kind: 'unchanged'; readonly reason: string };

/**
 * How a source is doing: 'ok'; 'degraded' when it works but notices changes less well (a file
 * whose directory cannot be watched); 'unreachable' when its store cannot be read (the router
 * keeps forwarding with its last table and the source resynchronises when the store is back).
 */
export interface SourceHealth {
  readonly state: 'ok' | 'degraded' | 'unreachable';
  /** When the state began (milliseconds since the epoch). */
  readonly since: number;
  /** Times the store was lost since the source was made. */
  readonly disconnects: number;
  /** The generation of the last table the source yielded (0 before the first). */
  readonly generation: number;
  /** What went wrong last, or what is noteworthy; '' when nothing. */
  readonly detail: string;
}

export interface SourceSubscriber {
  /**
   * Each update; the source makes the next one only once the promise settles, and merges
   * changes that arrive meanwhile into that one (so a slow publish skips tables, never orders
   * them wrongly).
   */
  update(update: SourceUpdate): Promise<void>;
  /** Each change of health. */
  health?(health: SourceHealth): void;
}

export interface TableSource {
  readonly kind: 'file' | 'etcd';
  /** For logs: the file's path, or 'etcd http://10.0.0.1:2379 /softunicast/prod'. */
  readonly name: string;
  /** Reads and validates the current table. Throws the library's typed errors. */
  load(): Promise<SourcedTable>;
  /** Who receives updates (one subscriber; a second call replaces the first). */
  subscribe(subscriber: SourceSubscriber): void;
  /** Starts noticing changes by itself (a directory watch, an etcd watch stream). */
  watch(): void;
  /**
   * Looks again now (SIGHUP); with `force`, hands over the table even when nothing changed.
   * Resolves once no look runs or waits.
   */
  refresh(reason: string, force: boolean): Promise<void>;
  health(): SourceHealth;
  /** Stops watching; resolves once a running update has been handled. */
  close(): Promise<void>;
}
