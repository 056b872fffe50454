// Every egress slice of a configuration in a few typed arrays, not an object each: what egress.ts
// fills, overlaps.ts checks, view.ts turns into tables and EgressConfig.slices shows on demand.
import type { Prefix } from '../slices/address.js';
import type { Protocol } from '../fields.js';
import type { Path } from './path.js';
import type { EgressSlice } from './types.js';

/** The slices of every entry, in file order. Slice k of entry e: starts[e] <= k < starts[e + 1]. */
export interface PackedSlices {
  readonly count: number;
  /** from * 65536 + to: numeric order is port order. */
  readonly ports: Uint32Array;
  /** SU_PROTO_* bits: 1 TCP, 2 UDP, 3 both. */
  readonly bits: Uint8Array;
  /** The owner: an index into `servers`. */
  readonly owners: Int32Array;
  /** Where the slice is written: its index in the entry's list, or in its rule's owners. */
  readonly positions: Int32Array;
  /** Per entry, its first slice; one more element holds `count`. */
  readonly starts: Int32Array;
  /** Per entry, 1 when its slices are given by rule. */
  readonly rules: Uint8Array;
  /** Server names by owner index, in file order. */
  readonly servers: readonly string[];
  /** Per entry, its destination (undefined where it had a problem: never in a valid Config). */
  readonly prefixes: readonly (Prefix | undefined)[];
}

/** Collects slices entry by entry, growing its arrays by doubling. */
export class SliceBuilder {
  #ports = new Uint32Array(1024);
  #bits = new Uint8Array(1024);
  #owners = new Int32Array(1024);
  #positions = new Int32Array(1024);
  #count = 0;
  #starts: number[] = [0];
  #rules: number[] = [];

  get count(): number {
    return this.#count;
  }

  push(ports: number, bits: number, owner: number, position: number): void {
    const k = this.#count;
    if (k === this.#ports.length) this.#grow();
    this.#ports[k] = ports;
    this.#bits[k] = bits;
    this.#owners[k] = owner;
    this.#positions[k] = position;
    this.#count = k + 1;
  }

  /** Closes the current entry. */
  endEntry(rule: boolean): void {
    this.#rules.push(rule ? 1 : 0);
    this.#starts.push(this.#count);
  }

  finish(servers: readonly string[], prefixes: readonly (Prefix | undefined)[]): PackedSlices {
    const n = this.#count;
    return {
      count: n,
      ports: this.#ports.slice(0, n),
      bits: this.#bits.slice(0, n),
      owners: this.#owners.slice(0, n),
      positions: this.#positions.slice(0, n),
      starts: Int32Array.from(this.#starts),
      rules: Uint8Array.from(this.#rules),
      servers,
      prefixes,
    };
  }

  #grow(): void {
    const size = this.#ports.length * 2;
    const grow = <T extends Uint32Array | Uint8Array | Int32Array>(a: T, make: new (n: number) => T): T => {
      const b = new make(size);
      b.set(a);
      return b;
    };
    this.#ports = grow(this.#ports, Uint32Array);
    this.#bits = grow(this.#bits, Uint8Array);
    this.#owners = grow(this.#owners, Int32Array);
    this.#positions = grow(this.#positions, Int32Array);
  }
}

/** The entry slice k belongs to (binary search over starts). */
export function entryOf(packed: PackedSlices, k: number): number {
  let lo = 0;
  let hi = packed.starts.length - 2;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (packed.starts[mid]! <= k) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** Slice k's place in the file: 'egress[e].slices[i]' or, by rule, 'egress[e].slices.owners[i]'. */
export function slicePath(packed: PackedSlices, k: number): Path {
  const e = entryOf(packed, k);
  const at = packed.positions[k]!;
  return packed.rules[e] === 1 ? ['egress', e, 'slices', 'owners', at] : ['egress', e, 'slices', at];
}

const PROTOCOLS: readonly (readonly Protocol[])[] = [[], Object.freeze(['tcp']), Object.freeze(['udp']), Object.freeze(['tcp', 'udp'])];

/** The protocol list of a bit set, TCP first (shared, frozen lists). */
export function protocolList(bits: number): readonly Protocol[] {
  return PROTOCOLS[bits]!;
}

/** Entry e's slices as objects (EgressConfig.slices builds them on first use). */
export function entrySlices(packed: PackedSlices, e: number): EgressSlice[] {
  const out: EgressSlice[] = [];
  for (let k = packed.starts[e]!; k < packed.starts[e + 1]!; k++) {
    const p = packed.ports[k]!;
    out.push({ ports: { from: p >>> 16, to: p & 0xffff }, protocols: protocolList(packed.bits[k]!), owner: packed.servers[packed.owners[k]!]! });
  }
  return out;
}

const byConfig = new WeakMap<object, PackedSlices>();

/** Files `packed` as the slices of `config` (validate.ts, once the configuration is valid). */
export function keepPacked(config: object, packed: PackedSlices): void {
  byConfig.set(config, packed);
}

/** The packed slices of a configuration validateConfig made. */
export function packedOf(config: object): PackedSlices | undefined {
  return byConfig.get(config);
}
