// What the etcd source holds of the store: the deployment's keys at one revision, each egress
// key's value decoded once (a move re-reads one key, not a million slices), and the table they
// make for one host. Used by etcd/source.ts.
import { InvalidConfigError, InvalidOptionError, type ConfigProblem } from '../../errors.js';
import { problemsMessage } from '../../config/problems.js';
import { validateConfig } from '../../config/validate.js';
import type { Config } from '../../config/types.js';
import { routerOptionsFor } from '../../config/perspective.js';
import type { KeyValue } from './client.js';
import { decodeDeployment, decodeEntries, type Decoded, type Layout } from './layout.js';
import type { WatchEvent } from './watch.js';
import type { SourcedTable } from '../types.js';

interface Held {
  readonly mod: number;
  readonly decoded: Decoded;
}

/** A table for the host, or why none is made now (a bulk load under way). */
export type Built = { kind: 'table'; table: SourcedTable } | { kind: 'held'; detail: string };

export class StoreState {
  readonly layout: Layout;
  /** The revision the keys are read at. */
  revision: number;
  /** etcd's cluster id: another id means another store (restored or replaced). */
  clusterId: string;
  #deployment: KeyValue | undefined;
  #loading: KeyValue | undefined;
  readonly #egress = new Map<string, Held>();
  #order: string[] | undefined;

  constructor(layout: Layout, kvs: readonly KeyValue[], revision: number, clusterId: string) {
    this.layout = layout;
    this.revision = revision;
    this.clusterId = clusterId;
    for (const kv of kvs) this.#put(kv);
  }

  /** Applies a watch batch; `revision` is its last. */
  apply(events: readonly WatchEvent[], revision: number): void {
    for (const e of events) {
      if (e.type === 'PUT') this.#put(e.kv);
      else this.#delete(e.kv.key);
    }
    this.revision = Math.max(this.revision, revision);
  }

  /** Whether both hold the same keys at the same revisions (nothing changed between them). */
  sameKeys(other: StoreState): boolean {
    const a = this.#signature();
    const b = other.#signature();
    return a.length === b.length && a.every((x, i) => x === b[i]);
  }

  /** Why no table can be made now (a bulk load under way), or undefined. */
  held(): string | undefined {
    if (this.#loading === undefined) return undefined;
    return `a bulk load into ${this.layout.prefix} is under way (key ${this.layout.loading} since revision ${this.#loading.modRevision}: ${this.#loading.value.toString('utf8').slice(0, 200)})`;
  }

  /** The revision of the last change of `key`, or 0 when the state does not hold it. */
  modOf(key: string): number {
    if (key === this.layout.deployment) return this.#deployment?.modRevision ?? 0;
    if (key === this.layout.loading) return this.#loading?.modRevision ?? 0;
    return this.#egress.get(key)?.mod ?? 0;
  }

  /**
   * The deployment key and every egress key put together as one configuration and validated
   * whole, as a file would be; `keys[i]` is the key egress entry i came from. Throws
   * InvalidConfigError (every problem, each naming its key) or InvalidOptionError when there is
   * no deployment.
   */
  validated(): { config: Config; keys: string[] } {
    const source = `etcd ${this.layout.prefix} at revision ${this.revision}`;
    if (this.#deployment === undefined) {
      throw new InvalidOptionError(`Expected a deployment under the key ${this.layout.deployment} but etcd has none at revision ${this.revision} (load one with: soft-unicast-router slices load --config FILE)`);
    }
    const problems: string[] = [];
    const deployment = decodeDeployment(this.#deployment.key, this.#deployment.value);
    if ('problem' in deployment) problems.push(deployment.problem);
    const egress: unknown[] = [];
    const keys: string[] = [];
    for (const key of this.#keys()) {
      const held = this.#egress.get(key)!.decoded;
      if ('problem' in held) {
        problems.push(held.problem);
        continue;
      }
      for (const entry of held.entries) {
        egress.push(entry);
        keys.push(key);
      }
    }
    if (problems.length > 0 || 'problem' in deployment) throw storeProblems(problems, source);
    try {
      return { config: validateConfig({ ...deployment.document, egress }, source), keys };
    } catch (error) {
      throw error instanceof InvalidConfigError ? withKeys(error, keys, source) : error;
    }
  }

  /** The table of `host` (validated() seen from that server), or why none is made now. */
  build(host: string): Built {
    const detail = this.held();
    if (detail !== undefined) return { kind: 'held', detail };
    const { config } = this.validated();
    return { kind: 'table', table: { generation: this.revision, config, options: routerOptionsFor(config, host) } };
  }

  #put(kv: KeyValue): void {
    const { layout } = this;
    if (kv.key === layout.deployment) this.#deployment = kv;
    else if (kv.key === layout.loading) this.#loading = kv;
    else if (kv.key.startsWith(layout.egress) && kv.key.length > layout.egress.length) {
      if (!this.#egress.has(kv.key)) this.#order = undefined;
      this.#egress.set(kv.key, { mod: kv.modRevision, decoded: decodeEntries(layout, kv.key, kv.value) });
    }
    // Other keys under the prefix belong to nobody yet: left alone, as future layouts may add some.
  }

  #delete(key: string): void {
    if (key === this.layout.deployment) this.#deployment = undefined;
    else if (key === this.layout.loading) this.#loading = undefined;
    else if (this.#egress.delete(key)) this.#order = undefined;
  }

  /** Egress keys in etcd's order (bytes), the order the file of the deployment would list them in. */
  #keys(): string[] {
    return (this.#order ??= [...this.#egress.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
  }

  #signature(): string[] {
    const mods = this.#keys().map((k) => `${k}@${this.#egress.get(k)!.mod}`);
    return [`d@${this.#deployment?.modRevision ?? 0}`, `l@${this.#loading?.modRevision ?? 0}`, ...mods];
  }
}

/** Values that are not what the layout says: one problem each. */
function storeProblems(lines: readonly string[], source: string): InvalidConfigError {
  const problems: ConfigProblem[] = lines.map((message) => ({ path: '', code: 'ERR_INVALID_OPTION', message, severity: 'error' }));
  return new InvalidConfigError(problemsMessage(problems, 0, source), problems);
}

/** Each problem of egress[i] names the etcd key entry i came from: the place to fix it. */
function withKeys(error: InvalidConfigError, keys: readonly string[], source: string): InvalidConfigError {
  const name = (message: string) => message.replace(/egress\[(\d+)\]/g, (m: string, i: string) => (keys[Number(i)] !== undefined ? `${m} (key ${keys[Number(i)]})` : m));
  const problems = error.problems.map((p) => ({ ...p, message: name(p.message) }));
  return new InvalidConfigError(problemsMessage(problems, error.omitted, source), problems, error.warnings, error.omitted);
}
