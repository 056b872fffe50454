// AddressServiceSet: the address-slice services (issue 16) of one SliceTable, by their prefix's text;
// adds and removes them with the checks of address-services.ts. Used by SliceTable (table.ts), which delegates to it.
import { invalid } from '../errors.js';
import { ABI } from '../generated/abi.js';
import { formatPrefix } from '../ssa/prefix.js';
import { checkAddressService, servicesOverlap, type AddressService, type AddressServiceSpec } from './address-services.js';
import type { OwnerCheck } from './owner.js';

/** A table's address-slice services; owners are checked through the table's OwnerCheck. */
export class AddressServiceSet {
  readonly #owners: OwnerCheck;
  readonly #byPrefix: Map<string, AddressService>;

  constructor(owners: OwnerCheck, from?: AddressServiceSet) {
    this.#owners = owners;
    // Services are immutable values: a copy of the map is an independent set.
    this.#byPrefix = new Map(from === undefined ? undefined : from.#byPrefix);
  }

  /**
   * SliceTable.addAddressService(): prefixes apart from the others', at most ABI.addr.servicesMax;
   * `apart` throws when the table's other key kinds hold addresses of the service (kinds-apart.ts).
   */
  add(spec: AddressServiceSpec, apart: (a: AddressService) => void): void {
    const a = checkAddressService(spec, this.#owners.isOwner, this.#owners.unknownOwner);
    const other = [...this.#byPrefix.values()].find((o) => servicesOverlap(o, a));
    if (other) invalid('service.prefix', `a prefix apart from the table's other address services (it overlaps ${formatPrefix(other)})`, formatPrefix(a));
    if (this.#byPrefix.size >= ABI.addr.servicesMax) invalid('service', `at most ${ABI.addr.servicesMax} address services a table`, formatPrefix(a));
    apart(a);
    this.#byPrefix.set(formatPrefix(a), a);
  }

  /** SliceTable.removeAddressService(): InvalidOptionError when no service has `prefix`. */
  remove(prefix: string): void {
    if (!this.#byPrefix.delete(prefix)) invalid('prefix', 'the prefix of an address service of the table', prefix);
  }

  /** Throws InvalidOptionError (path `name`) when a slice names owner `name`: removeOwner() must not strand it. */
  checkOwnerUnused(name: string): void {
    for (const a of this.#byPrefix.values()) {
      if (a.slices.some((x) => x.owner === name || x.secondary === name)) invalid('name', `an owner no address service's slice names (remove the service first)`, name);
    }
  }

  /** How many services the set holds. */
  get size(): number {
    return this.#byPrefix.size;
  }

  /** The services in the order they were added (a copy). */
  list(): AddressService[] {
    return [...this.#byPrefix.values()];
  }
}
