// ZoneFollower: keeps a DNS responder's zone in step with a table source (a file or etcd): every
// deployment the source yields is turned into the zone of serviceZone (publish.ts) and swapped in;
// one that does not build keeps the zone in use, as the router keeps its table. Used by examples/ssa-demo's DNS agent.
import type { DnsZoneOptions } from '../dns/zone.js';
import { describe, InvalidOptionError } from '../errors.js';
import type { SourceHealth, SourceUpdate, TableSource } from '../sources/types.js';
import { serviceZone, type ServiceZoneOptions } from './publish.js';

/** What the follower needs of a responder (dns.DnsResponder has it). */
export interface ZoneTarget {
  setZones(zones: readonly DnsZoneOptions[]): void;
}

/** What happened to one deployment: swapped in, or refused (the zone in use stays). */
export type ZoneEvent =
  | { readonly kind: 'loaded'; readonly reason: string; readonly generation: number; readonly zone: DnsZoneOptions }
  | { readonly kind: 'refused'; readonly reason: string; readonly error: Error };

export interface ZoneFollowerStatus {
  /** Zones swapped in, the first included. */
  readonly loads: number;
  /** Deployments refused: by the source (an invalid file) or here (a name that no longer builds). */
  readonly failures: number;
  /** The last refusal, while the zone in use is older than the source's deployment; undefined once one loads again. */
  readonly lastError?: Error;
  /** The source generation the zone in use was built from. */
  readonly generation: number;
  readonly zone: DnsZoneOptions;
  readonly source: SourceHealth;
}

export interface ZoneFollowerOptions<T extends ZoneTarget = ZoneTarget> {
  readonly source: TableSource;
  /**
   * A running responder (or anything else taking zones), or what starts one with the first zone:
   * (zone) => dns.DnsResponder.start({ zones: [zone], host, port }).
   */
  readonly target: T | ((zone: DnsZoneOptions) => Promise<T>);
  readonly names: ServiceZoneOptions;
  /** Every zone swapped in and every refusal, after the counters are updated. */
  readonly onEvent?: (event: ZoneEvent) => void;
}

export class ZoneFollower<T extends ZoneTarget = ZoneTarget> {
  /** The responder whose zone is swapped. */
  readonly target: T;
  readonly #o: ZoneFollowerOptions<T>;
  #loads = 0;
  #failures = 0;
  #lastError: Error | undefined;
  #generation = 0;
  #zone: DnsZoneOptions;

  private constructor(options: ZoneFollowerOptions<T>, target: T, zone: DnsZoneOptions, generation: number) {
    this.#o = options;
    this.target = target;
    this.#zone = zone;
    this.#generation = generation;
    this.#loads = 1;
  }

  /**
   * Loads the source's deployment, swaps its zone in (throwing if it does not build: there is no
   * previous zone to keep), then follows the source: subscribes and starts it watching.
   */
  static async start<T extends ZoneTarget>(options: ZoneFollowerOptions<T>): Promise<ZoneFollower<T>> {
    if (typeof options?.source?.subscribe !== 'function') throw new InvalidOptionError(`Expected a table source (FileSource, EtcdSource) for options.source but received ${describe(options?.source)}`);
    const given = options.target;
    if (typeof given !== 'function' && typeof given?.setZones !== 'function') {
      throw new InvalidOptionError(`Expected a DNS responder, or a function starting one with a zone, for options.target but received ${describe(given)}`);
    }
    const first = await options.source.load();
    const zone = serviceZone(first.config, options.names);
    let target: T;
    if (typeof given === 'function') target = await given(zone);
    else {
      target = given;
      target.setZones([zone]);
    }
    const follower = new ZoneFollower(options, target, zone, first.generation);
    options.source.subscribe({ update: (u) => follower.#update(u) });
    options.source.watch();
    return follower;
  }

  status(): ZoneFollowerStatus {
    return {
      loads: this.#loads, failures: this.#failures, generation: this.#generation, zone: this.#zone,
      source: this.#o.source.health(), ...(this.#lastError !== undefined && { lastError: this.#lastError }),
    };
  }

  /** Stops following the source (the responder keeps serving the zone in use; closing it is the caller's). */
  close(): Promise<void> {
    return this.#o.source.close();
  }

  async #update(u: SourceUpdate): Promise<void> {
    if (u.kind === 'unchanged') return;
    if (u.kind === 'refused') return this.#refused(u.reason, u.error);
    let zone: DnsZoneOptions;
    try {
      zone = serviceZone(u.table.config, this.#o.names);
      this.target.setZones([zone]);
    } catch (error) {
      return this.#refused(u.reason, error as Error);
    }
    this.#zone = zone;
    this.#generation = u.table.generation;
    this.#loads++;
    this.#lastError = undefined;
    this.#o.onEvent?.({ kind: 'loaded', reason: u.reason, generation: u.table.generation, zone });
  }

  #refused(reason: string, error: Error): void {
    this.#failures++;
    this.#lastError = error;
    this.#o.onEvent?.({ kind: 'refused', reason, error });
  }
}
