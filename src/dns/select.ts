// How a policy picks an address index: a fast seeded PRNG for `random`, a keyed hash of
// (name, time bucket) for `stable`. Used by src/dns/pool.ts and src/dns/policy.ts; no I/O.
import { createHmac, randomBytes } from 'node:crypto';

import { describe, InvalidOptionError } from '../errors.js';

/**
 * xoshiro128** (Blackman and Vigna, 2018): 128 bits of state, 32-bit outputs, a few integer
 * operations each. Why not crypto.randomInt per query: the answer is no secret (anyone may ask
 * as often as they like and see the pool), so unpredictability buys nothing; what matters is a
 * uniform spread at a cost far below the packet encoding. Seeded from the system CSPRNG by
 * default, or from a given seed so that a simulation or a test can be replayed.
 */
export class Xoshiro128 {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: Uint8Array = randomBytes(16)) {
    if (!(seed instanceof Uint8Array) || seed.length !== 16) throw new InvalidOptionError(`Expected 16 bytes for seed but received ${describe(seed)}`);
    const view = new DataView(seed.buffer, seed.byteOffset, 16);
    [this.a, this.b, this.c, this.d] = [0, 4, 8, 12].map((at) => view.getUint32(at)) as [number, number, number, number];
    // An all-zero state would only ever yield zeros.
    if ((this.a | this.b | this.c | this.d) === 0) this.d = 0x9e3779b9;
  }

  /** The next 32-bit output, as a non-negative number. */
  next(): number {
    const result = Math.imul(rotl(Math.imul(this.b, 5), 7), 9) >>> 0;
    const t = this.b << 9;
    this.c ^= this.a;
    this.d ^= this.b;
    this.b ^= this.c;
    this.a ^= this.d;
    this.c ^= t;
    this.d = rotl(this.d, 11);
    return result;
  }

  /** Uniform over [0, n) for 1 <= n <= 2^32: rejection sampling, so no index is favoured. */
  below32(n: number): number {
    // 2^32 - (2^32 mod n): the largest multiple of n that 32 bits reach.
    const limit = 0x1_0000_0000 - (0x1_0000_0000 % n);
    for (;;) {
      const x = this.next();
      if (x < limit) return x % n;
    }
  }

  /** Uniform over [0, n) for any positive bigint n: 64 bits more than n needs, so the bias is below 2^-64. */
  below(n: bigint): bigint {
    if (n <= 0x1_0000_0000n) return BigInt(this.below32(Number(n)));
    const words = Math.ceil(n.toString(2).length / 32) + 2;
    let x = 0n;
    for (let i = 0; i < words; i++) x = (x << 32n) | BigInt(this.next());
    return x % n;
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** The time bucket a `stable` policy answers from: whole multiples of `seconds` since the epoch. */
export function bucketOf(nowMs: number, seconds: number): number {
  return Math.floor(nowMs / 1000 / seconds);
}

/**
 * Index in [0, n) from HMAC-SHA-256(key, name NUL bucket): every responder that holds the key
 * answers a name the same within a bucket, and one without it cannot tell which address a name
 * gets next. 256 bits reduced modulo n: bias below 2^-128 for any IPv6 pool.
 */
export function stableIndex(key: Buffer, name: string, bucket: number, n: bigint): bigint {
  const digest = createHmac('sha256', key).update(`${name}\0${bucket}`).digest();
  return BigInt(`0x${digest.toString('hex')}`) % n;
}
