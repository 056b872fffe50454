// OwnerBook: the owners of one SliceTable (table.ts): names by id (slices store ids, never names), specs
// with defaults filled in, and slices per owner, which the slice store (slice-store.ts) counts into.
import { invalid } from '../errors.js';
import { checkOwnerName, normalizeOwner, unknownOwner, type OwnerCheck } from './owner.js';
import { sliceFail } from './slice.js';
import type { OwnerSpec } from './types.js';

/** A table's owners; a copy (`from`) is independent of its original. */
export class OwnerBook {
  /** Owner id -> name; undefined once removed (ids are never reused: slices hold them). */
  readonly names: (string | undefined)[];
  readonly ids: Map<string, number>;
  readonly specs: Map<string, OwnerSpec>;
  /** Slices per owner id. */
  readonly uses: number[];
  /** How the table's service sets ask about owners: UnknownOwnerError names the owners there are. */
  readonly check: OwnerCheck = {
    isOwner: (name) => this.ids.has(name),
    unknownOwner: (name, path) => {
      this.id(name, path);
      return invalid(path, 'an owner defined with defineOwner()', name);
    },
  };

  constructor(from?: OwnerBook) {
    this.names = from === undefined ? [] : from.names.slice();
    this.ids = new Map(from?.ids);
    this.specs = new Map(from?.specs);
    this.uses = from === undefined ? [] : from.uses.slice();
  }

  /** SliceTable.defineOwner(): a new owner, or a new definition of one (its slices follow it). */
  define(name: string, spec: OwnerSpec): void {
    const n = checkOwnerName(name, 'name');
    const normalized = normalizeOwner(spec, `owners['${n}']`);
    if (normalized.kind !== 'local' && normalized.fallback === n) invalid(`owners['${n}'].fallback`, 'another owner than the owner itself', n);
    if (!this.ids.has(n)) {
      this.ids.set(n, this.names.length);
      this.names.push(n);
      this.uses.push(0);
    }
    this.specs.set(n, normalized);
  }

  /** The id of owner `name` (at `path` in messages): InvalidSliceError for a non-string, else UnknownOwnerError. */
  id(name: unknown, path: string): number {
    const id = typeof name === 'string' ? this.ids.get(name) : undefined;
    if (id !== undefined) return id;
    if (typeof name !== 'string') sliceFail(path, 'an owner name', name);
    return unknownOwner([...this.ids.keys()], name, path);
  }

  /** Removes owner `name` (id `id`), which the caller checked no slice or service needs. */
  forget(name: string, id: number): void {
    this.ids.delete(name);
    this.specs.delete(name);
    this.names[id] = undefined;
  }

  /** How many slices each owner holds, owners without slices included. */
  counts(): Map<string, number> {
    const out = new Map<string, number>();
    this.names.forEach((name, id) => {
      if (name !== undefined) out.set(name, this.uses[id]!);
    });
    return out;
  }
}
