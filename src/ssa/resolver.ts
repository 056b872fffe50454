// Resolved services kept for their TTL: a client that chooses a destination per connection asks DNS
// once per TTL, not once per connection. Exported as `ssa.ServiceResolver`.
import type { IPv6 } from 'ip-num';

import { describe, InvalidOptionError } from '../errors.js';
import { chooseDestination, resolveService, serversOf, type ChooseInput, type ResolveOptions, type Service } from './client.js';

export interface ServiceResolverOptions extends ResolveOptions {
  /** Milliseconds since some epoch; Date.now unless given (tests give their own clock). */
  readonly now?: () => number;
}

interface Entry {
  readonly service: Service;
  readonly expiresAt: number;
}

/**
 * Resolves each name once per TTL (the smaller of its APL and TXT TTLs, as resolveService reports)
 * and shares one resolution between callers that ask meanwhile. When a TTL has run out and the new
 * resolution fails, the caller gets the error: an expired answer is never used in its place, since
 * slices may have moved since (TTL is how long the publisher vouches for the records).
 */
export class ServiceResolver {
  readonly #options: ResolveOptions;
  readonly #now: () => number;
  readonly #cached = new Map<string, Entry>();
  readonly #pending = new Map<string, Promise<Service>>();
  /** Answers from the cache, and resolutions started (each one DNS question per type). */
  readonly counters = { hits: 0, resolutions: 0 };

  constructor(options: ServiceResolverOptions) {
    const servers = serversOf(options);
    if (options.now !== undefined && typeof options.now !== 'function') throw new InvalidOptionError(`Expected a function returning milliseconds for options.now but received ${describe(options.now)}`);
    this.#options = { servers, ...(options.timeoutMs !== undefined && { timeoutMs: options.timeoutMs }) };
    this.#now = options.now ?? Date.now;
  }

  /** The service behind `name`: from the cache while its TTL lasts, else resolved again. */
  async service(name: string): Promise<Service> {
    if (typeof name !== 'string' || name.length === 0) throw new InvalidOptionError(`Expected a DNS name for name but received ${describe(name)}`);
    const key = name.toLowerCase().replace(/\.$/, '');
    const entry = this.#cached.get(key);
    if (entry !== undefined && this.#now() < entry.expiresAt) {
      this.counters.hits++;
      return entry.service;
    }
    this.#cached.delete(key);
    const pending = this.#pending.get(key);
    if (pending !== undefined) {
      this.counters.hits++;
      return pending;
    }
    this.counters.resolutions++;
    const resolution = resolveService(name, this.#options)
      .then((service) => {
        this.#cached.set(key, { service, expiresAt: this.#now() + service.ttl * 1000 });
        return service;
      })
      .finally(() => this.#pending.delete(key));
    this.#pending.set(key, resolution);
    return resolution;
  }

  /** A destination for `input` by the rule of `name`'s service (see chooseDestination). */
  async choose(name: string, input: ChooseInput = {}): Promise<IPv6> {
    return chooseDestination(await this.service(name), input);
  }

  /** Drops `name` from the cache (every name without one), so that the next call asks DNS. */
  forget(name?: string): void {
    if (name === undefined) this.#cached.clear();
    else this.#cached.delete(name.toLowerCase().replace(/\.$/, ''));
  }
}
