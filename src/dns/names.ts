// The hostnames a policy zone knows exist, for 100,000 to 10,000,000 names: a sorted array of
// 53-bit hashes (8 bytes a name) and the names' parents. Used by src/dns/zone.ts and src/dns/answer.ts.
import { canonicalName, inZone } from './domain.js';
import { describe, InvalidOptionError } from '../errors.js';

/**
 * Two 32-bit multiply-xor hashes of the name's characters, finished with murmur3's fmix32, joined
 * into 53 bits (what a double holds exactly). A name not in the set is taken for one with
 * probability size / 2^53 (1 in 900 million for 10,000,000 names): it would get an address of its
 * policy instead of NXDOMAIN, which harms nobody, so no keyed hash is needed against chosen names.
 */
export function nameHash(name: string): number {
  let h1 = 0x811c9dc5 ^ name.length;
  let h2 = 0x9747b28c ^ name.length;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 0x01000193);
    h2 = Math.imul(h2 ^ c, 0x5bd1e995);
    h2 ^= h2 >>> 13;
  }
  h1 = fmix32(h1);
  h2 = fmix32(h2 ^ h1);
  return (h1 >>> 0) * 0x20_0000 + (h2 >>> 11);
}

function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}

/**
 * Hostnames under one origin. Built once from any iterable (a generator keeps 10M names out of
 * memory as strings); immutable afterwards, so a zone swap can share it with no copy.
 */
export class DnsNameSet {
  readonly origin: string;
  /** Distinct names in the set. */
  readonly size: number;
  private readonly hashes: Float64Array;
  /** Names between a hostname and the origin (empty non-terminals): they exist, with no records (RFC 8020). */
  private readonly parents: ReadonlySet<string>;

  private constructor(origin: string, hashes: Float64Array, parents: ReadonlySet<string>) {
    this.origin = origin;
    this.hashes = hashes;
    this.size = hashes.length;
    this.parents = parents;
  }

  /** Checks every name (canonical, under the origin) and builds the set; the message names the first bad one. */
  static build(origin: string, names: Iterable<string>): DnsNameSet {
    const apex = canonicalName(origin, 'origin');
    if (names === null || typeof (names as Partial<Iterable<string>>)?.[Symbol.iterator] !== 'function') {
      throw new InvalidOptionError(`Expected an iterable of names for names but received ${describe(names)}`);
    }
    let hashes = new Float64Array(1024);
    let count = 0;
    const parents = new Set<string>();
    for (const raw of names) {
      const name = canonicalName(raw, `names[${count}]`);
      if (!inZone(name, apex) || name === apex) throw new InvalidOptionError(`Expected a name under '${apex}' for names[${count}] but received ${describe(raw)}`);
      if (count === hashes.length) {
        const grown = new Float64Array(hashes.length * 2);
        grown.set(hashes);
        hashes = grown;
      }
      hashes[count++] = nameHash(name);
      for (let p = name.slice(name.indexOf('.') + 1); p !== apex && !parents.has(p); p = p.slice(p.indexOf('.') + 1)) parents.add(p);
    }
    // Sorted once (a typed array sorts numerically, natively), duplicates dropped: lookups are a binary search.
    const sorted = hashes.subarray(0, count).sort();
    let distinct = 0;
    for (let i = 0; i < count; i++) if (i === 0 || sorted[i] !== sorted[distinct - 1]) sorted[distinct++] = sorted[i]!;
    return new DnsNameSet(apex, sorted.slice(0, distinct), parents);
  }

  /** Whether the name (lower-case, no trailing dot) is one of the hostnames. */
  has(name: string): boolean {
    const h = nameHash(name);
    const hashes = this.hashes;
    let lo = 0;
    let hi = hashes.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const v = hashes[mid]!;
      if (v === h) return true;
      if (v < h) lo = mid + 1;
      else hi = mid - 1;
    }
    return false;
  }

  /** Whether the name lies between a hostname and the origin: it exists, with no records of its own. */
  isParent(name: string): boolean {
    return this.parents.has(name);
  }

  /** Bytes held by the hash array (the parents are few: one per distinct parent name). */
  get bytes(): number {
    return this.hashes.byteLength;
  }
}
