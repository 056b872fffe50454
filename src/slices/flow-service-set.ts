// FlowServiceSet: the flow-hash services (issue 15) of one SliceTable, by serviceKey; adds, rebuilds
// and removes them with the checks of services.ts. Used by SliceTable (table.ts), which delegates to it.
import type { IPv4, IPv6 } from 'ip-num';

import { invalid } from '../errors.js';
import type { Protocol } from '../fields.js';
import type { OwnerCheck } from './owner.js';
import {
  checkService, rebuildService, serviceKey, serviceName, serviceNames, type FlowService, type ServiceBackend, type ServiceRebuildFrom, type ServiceRebuildOptions, type ServiceSpec,
} from './services.js';

/** A table's flow-hash services; owners are checked through the table's OwnerCheck. */
export class FlowServiceSet {
  readonly #owners: OwnerCheck;
  readonly #byKey: Map<string, FlowService>;

  constructor(owners: OwnerCheck, from?: FlowServiceSet) {
    this.#owners = owners;
    // Services are immutable values: a copy of the map is an independent set.
    this.#byKey = new Map(from === undefined ? undefined : from.#byKey);
  }

  /**
   * SliceTable.addService(): a new service, fresh or rebuilt from `from.previous`; one row count per
   * table; `apart` throws when another key kind holds the service's address (kinds-apart.ts).
   */
  add(spec: ServiceSpec, from: ServiceRebuildFrom | undefined, apart: (s: FlowService) => void): void {
    const { isOwner, unknownOwner } = this.#owners;
    const fresh = checkService(spec, isOwner, unknownOwner);
    const { previous, ...options } = from ?? {};
    const s = previous === undefined ? fresh : rebuildService(fresh, fresh.backends, previous, options, isOwner, unknownOwner);
    const key = serviceKey(s);
    if (this.#byKey.has(key)) invalid('service', `a service not yet in the table`, serviceName(s));
    const other = this.#byKey.values().next().value;
    if (other !== undefined && other.rows !== s.rows) invalid('service.rows', `the rows of the table's other services (${other.rows}: one Maglev size per table)`, s.rows);
    apart(s);
    this.#byKey.set(key, s);
  }

  /** SliceTable.removeService(): InvalidOptionError when there is no such service. */
  remove(address: IPv4 | IPv6, protocol: Protocol, port: number): void {
    this.#byKey.delete(this.#keyOf(address, protocol, port));
  }

  /** SliceTable.setServiceBackends(): the service's rows rebuilt from its current ones with second chance. */
  setBackends(address: IPv4 | IPv6, protocol: Protocol, port: number, backends: readonly ServiceBackend[], options: ServiceRebuildOptions | undefined): void {
    const key = this.#keyOf(address, protocol, port);
    const s = this.#byKey.get(key)!;
    this.#byKey.set(key, rebuildService(s, backends, s.maglev, options, this.#owners.isOwner, this.#owners.unknownOwner));
  }

  /** Throws InvalidOptionError (path `name`) when a service has owner `name` in its rows: removeOwner() must not strand them. */
  checkOwnerUnused(name: string): void {
    for (const s of this.#byKey.values()) {
      if (serviceNames(s, name)) {
        const how = s.backends.some((b) => b.name === name) ? 'backs' : 'is a secondary of';
        invalid('name', `an owner no service has in its rows (it ${how} ${serviceName(s)}: remove the service, or forget it with setServiceBackends(), first)`, name);
      }
    }
  }

  /** The services in the order they were added (a copy). */
  list(): FlowService[] {
    return [...this.#byKey.values()];
  }

  /** The key of an existing service; InvalidOptionError naming it when the table has none. */
  #keyOf(address: IPv4 | IPv6, protocol: Protocol, port: number): string {
    const s = checkService({ address, protocol, port, backends: [{ owner: 'any' }], rows: 2 }, () => true, () => invalid('owner', 'never', ''));
    const key = serviceKey(s);
    if (!this.#byKey.has(key)) invalid('service', 'a service of the table', serviceName(s));
    return key;
  }
}
