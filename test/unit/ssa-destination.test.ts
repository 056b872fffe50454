// Destinations from the published prefixes (src/ssa/destination.ts): the published set, random in
// proportion to prefix size, content addressing reaching the slice's owner, source-derived against a C copy.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { IPv6 } from 'ip-num';
import { afterAll, describe, expect, it } from 'vitest';

import { parseApl } from '../../src/dns/apl.js';
import { InvalidOptionError, InvalidRecordError } from '../../src/errors.js';
import {
  addressAt, aplOf, chooseDestination, conforms, contentDestination, deriveLow64, evenSlices, publishedOf, randomDestination, rebalance, serviceOf, sliceAt, sourceDestination,
  type SourceDerivedRule,
} from '../../src/ssa/index.js';

const KEY = '000102030405060708090a0b0c0d0e0f';
const RULE: SourceDerivedRule = { rule: 'source-derived', sourceBits: 64, fn: 'flowhash-1', key: KEY };
const ip = (text: string): IPv6 => IPv6.fromString(text);
const short = (a: IPv6): string => new URL(`http://[${a.toString()}]/`).hostname.slice(1, -1);

/** Deterministic bytes: the tests must not depend on the machine's randomness. */
function bytes(seed: number): (size: number) => Uint8Array {
  let s = seed;
  return (size) => Uint8Array.from({ length: size }, () => ((s = (s * 1103515245 + 12345) % 2 ** 31), s >> 16) & 0xff);
}

describe('the published addresses', () => {
  it('are the IPv6 items without ! minus those with !, IPv4 left out', () => {
    const p = publishedOf(parseApl('1:192.0.2.0/24 2:2001:db8::/126 2:2001:db8::8/125 !2:2001:db8::1/128'));
    expect(p.total).toBe(3n + 8n);
    expect([0n, 1n, 2n, 3n].map((i) => short(addressAt(p, (i << 128n) / 11n + 1n)))).toEqual(['2001:db8::', '2001:db8::2', '2001:db8::3', '2001:db8::8']);
    expect(short(addressAt(p, (1n << 128n) - 1n))).toBe('2001:db8::f');
    expect(() => publishedOf(parseApl('2:2001:db8::/64 !2:2001:db8::/63'))).toThrow(InvalidRecordError);
    expect(() => addressAt(p, 1n << 128n)).toThrow(new InvalidOptionError('Expected a value from 0 to 2^128 - 1 for v but received 340282366920938463463374607431768211456n'));
  });

  it('are chosen at random in proportion to prefix size', () => {
    const p = publishedOf(parseApl('2:2001:db8:0:1::/64 2:2001:db8:0:4::/65'));
    const random = bytes(3);
    let inFirst = 0;
    for (let i = 0; i < 3000; i++) {
      const a = randomDestination(p, random).getValue();
      if (a >> 64n === 0x20010db800000001n) inFirst++;
      else expect(a >> 63n).toBe(0x20010db800000004n << 1n);
    }
    // Two thirds of the addresses lie in the /64: 2,000 expected, 3 standard deviations is ±77.
    expect(Math.abs(inFirst - 2000)).toBeLessThan(77);
  });
});

describe('content addressing', () => {
  it('takes the first 16 bytes of SHA-256 of the key, and reaches the endpoint holding the slice', () => {
    const set = evenSlices('2001:db8:0:1::/64', 78, ['a', 'b', 'c']);
    const service = serviceOf('objects.example', aplOf(set), { rule: 'content-addressed', hash: 'sha256' });
    const digest = createHash('sha256').update('photo/42.jpg').digest();
    const destination = chooseDestination(service, { objectKey: 'photo/42.jpg' });
    expect(destination.getValue()).toBe((0x20010db800000001n << 64n) | digest.readBigUInt64BE(0));
    // The server side places each object on the owner of its address; after a rebalance, the
    // client's destination still lands on whoever holds the object now.
    const after = rebalance(set, ['a', 'b', 'c', 'd', 'e'], { now: 0, windowMs: 0 }).set;
    for (const key of ['a', 'b', 'photo/42.jpg', 'x'.repeat(1000)]) {
      const d = contentDestination(service.published, { rule: 'content-addressed', hash: 'sha256' }, key);
      expect(sliceAt(after, d)).toBeDefined();
      expect(contentDestination(service.published, { rule: 'content-addressed', hash: 'sha256' }, Buffer.from(key))).toEqual(d);
    }
    expect(() => chooseDestination(service)).toThrow('Expected an object key for input.objectKey (rule=content-addressed) but received undefined');
  });
});

describe('source-derived destinations', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ssa-flowhash1-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('put d = flowhash-1(source) in the low 64 bits, the same for every source of one /64, and conform', () => {
    const p = publishedOf(parseApl('2:2001:db8:0:1::/64'));
    const a = sourceDestination(p, RULE, ip('2001:db8:aaaa:1::1'));
    expect(a.getValue() >> 64n).toBe(0x20010db800000001n);
    expect(a.getValue() & ((1n << 64n) - 1n)).toBe(deriveLow64(RULE, ip('2001:db8:aaaa:1::1')));
    expect(sourceDestination(p, RULE, ip('2001:db8:aaaa:1:ffff::9'))).toEqual(a);
    expect(sourceDestination(p, RULE, ip('2001:db8:aaaa:2::1'))).not.toEqual(a);
    expect(conforms(ip('2001:db8:aaaa:1::77'), a, RULE)).toBe(true);
    expect(conforms(ip('2001:db8:aaaa:2::1'), a, RULE)).toBe(false);
    expect(conforms(ip('2001:db8:aaaa:2::1'), a, { rule: 'random' })).toBe(true);
    // With two /64s the /64 is the ((d * 2) >> 64)-th: d's top bit.
    const two = publishedOf(parseApl('2:2001:db8:0:1::/64 2:2001:db8:0:8::/64'));
    const b = sourceDestination(two, RULE, ip('2001:db8:aaaa:1::1'));
    expect(b.getValue() >> 64n).toBe(a.getValue() >> 127n === 0n ? 0x20010db800000001n : 0x20010db800000008n);
    expect(() => sourceDestination(publishedOf(parseApl('2:2001:db8::/78')), RULE, ip('2001:db8::1'))).toThrow(/whole \/64s for rule=source-derived/);
  });

  it('spreads the sources of many /64s evenly over 16,384 /78 slices of three endpoints', () => {
    const set = evenSlices('2001:db8:0:1::/64', 78, ['a', 'b', 'c']);
    const service = serviceOf('api.example', aplOf(set), RULE);
    const count = new Map<string, number>();
    for (let i = 0; i < 3000; i++) {
      const source = new IPv6((0x20010db8n << 96n) | (BigInt(i) << 64n) | 1n);
      const owner = sliceAt(set, chooseDestination(service, { source }))!.owner;
      count.set(owner, (count.get(owner) ?? 0) + 1);
    }
    // 1,000 each expected; 3 standard deviations (sqrt(3000 * 1/3 * 2/3) = 25.8) is ±77.
    for (const owner of ['a', 'b', 'c']) expect(Math.abs(count.get(owner)! - 1000)).toBeLessThan(77);
  });

  it('agrees with a C copy built on native/core/flow_hash.h, for source-bits 1 to 128', () => {
    const exe = join(dir, 'flowhash1');
    const cc = spawnSync('cc', ['-O2', '-Wall', '-Werror', '-I', 'native/include', '-o', exe, 'test/unit/ssa/flowhash1.c'], { encoding: 'utf8' });
    expect(cc.status, cc.stderr).toBe(0);
    const random = bytes(9);
    const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
    const cases = Array.from({ length: 300 }, (_, i) => {
      const source = new IPv6(BigInt(`0x${hex(random(16))}`));
      const rule: SourceDerivedRule = { ...RULE, sourceBits: [1, 63, 64, 65, 127, 128][i % 6] ?? 64, key: hex(random(16)) };
      const good = i % 2 === 0;
      const destination = good ? new IPv6((0x20010db8n << 96n) | deriveLow64(rule, source)) : new IPv6(BigInt(`0x${hex(random(16))}`));
      return { source, destination, rule };
    });
    const input = cases.map((c) => `${c.source.getValue().toString(16).padStart(32, '0')} ${c.destination.getValue().toString(16).padStart(32, '0')} ${c.rule.sourceBits} ${c.rule.key}\n`).join('');
    const run = spawnSync(exe, { input, encoding: 'utf8' });
    expect(run.status, run.stderr).toBe(0);
    const fromTs = cases.map((c) => `${deriveLow64(c.rule, c.source).toString(16).padStart(16, '0')} ${conforms(c.source, c.destination, c.rule) ? 1 : 0}`);
    expect(run.stdout.trim().split('\n')).toEqual(fromTs);
    expect(fromTs.filter((l) => l.endsWith(' 1'))).toHaveLength(150);
  });

  it('refuses a missing source and a source that is not IPv6', () => {
    const service = serviceOf('api.example', parseApl('2:2001:db8:0:1::/64'), RULE);
    expect(() => chooseDestination(service)).toThrow("Expected the client's source address for input.source (rule=source-derived) but received undefined");
    expect(() => conforms('2001:db8::1' as unknown as IPv6, ip('2001:db8::1'), RULE)).toThrow("Expected an ip-num IPv6 address for source but received '2001:db8::1'");
  });
});

describe('a hand-made rule', () => {
  it('is checked before use', () => {
    expect(() => deriveLow64({ ...RULE, key: 'xyz' }, ip('2001:db8::1'))).toThrow(
      new InvalidRecordError('Expected a source-derived rule (fn flowhash-1, sourceBits 1 to 128, key of 32 lower-case hex digits) for rule but received an object'),
    );
  });
});
