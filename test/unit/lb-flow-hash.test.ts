// The TypeScript flow hash (src/lb/flow-hash.ts) against the C one (native/core/flow_hash.h, run
// by build/native/flow_hash_run): both lanes and the load balancer's tables must agree on rows.
import { spawnSync } from 'node:child_process';

import { describe, expect, it } from 'vitest';

import { flowHash, type FlowTuple } from '../../src/lb/flow-hash.js';

/** A small seeded generator (mulberry32), so the tuples are the same on every run. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const hex = (bytes: number[]) => bytes.map((b) => b.toString(16).padStart(2, '0')).join('');
const v4 = (b: number[]) => b.join('.');
const v6 = (b: number[]) => Array.from({ length: 8 }, (_, i) => ((b[2 * i]! << 8) | b[2 * i + 1]!).toString(16)).join(':');

interface Case { seed: number; family: 4 | 6; protocol: number; s: number[]; d: number[]; sport: number; dport: number }

function cases(): Case[] {
  const next = random(15);
  const byte = () => Math.floor(next() * 256);
  const out: Case[] = [];
  for (let i = 0; i < 400; i++) {
    const family = i % 2 === 0 ? 4 : 6;
    const len = family === 4 ? 4 : 16;
    out.push({
      seed: [0, 0xffffffff, 0x5eed][i % 3] ?? 0,
      family,
      protocol: i % 4 < 2 ? 6 : 17,
      s: Array.from({ length: len }, byte),
      d: Array.from({ length: len }, byte),
      sport: Math.floor(next() * 65536),
      dport: i === 0 ? 0 : i === 1 ? 65535 : Math.floor(next() * 65536),
    });
  }
  if (out[2]) out[2].seed = Math.floor(next() * 2 ** 32);
  return out;
}

describe('flow hash: TypeScript and C agree', () => {
  it('gives the C function\'s value for 400 tuples of both families, protocols and edge seeds', () => {
    const all = cases();
    const input = all.map((c) => `${c.seed} ${c.family} ${c.protocol} ${hex(c.s)} ${hex(c.d)} ${c.sport} ${c.dport}\n`).join('');
    const run = spawnSync('build/native/flow_hash_run', { input, encoding: 'utf8' });
    expect(run.status, run.stderr).toBe(0);
    const fromC = run.stdout.trim().split('\n').map(Number);
    expect(fromC).toHaveLength(all.length);
    const fromTs = all.map((c) => {
      const flow: FlowTuple = {
        protocol: c.protocol === 6 ? 'tcp' : 17,
        source: c.family === 4 ? v4(c.s) : v6(c.s),
        destination: c.family === 4 ? v4(c.d) : v6(c.d),
        sourcePort: c.sport,
        destinationPort: c.dport,
      };
      return flowHash(c.seed, flow);
    });
    expect(fromTs).toEqual(fromC);
    // Not a constant: the values spread.
    expect(new Set(fromTs).size).toBeGreaterThan(390);
  });

  it('refuses what the C function cannot be asked', () => {
    const flow: FlowTuple = { protocol: 'tcp', source: '192.0.2.1', destination: '198.51.100.2', sourcePort: 40000, destinationPort: 443 };
    expect(() => flowHash(-1, flow)).toThrow('Expected an integer from 0 to 4294967295 for seed but received -1');
    expect(() => flowHash(1, { ...flow, destination: '2001:db8::1' })).toThrow(
      "Expected an IPv4 address like flow.source for flow.destination but received '2001:db8::1'",
    );
    expect(() => flowHash(1, { ...flow, source: 'example.com' })).toThrow(
      "Expected an IPv4 or IPv6 address for flow.source but received 'example.com'",
    );
    expect(() => flowHash(1, { ...flow, sourcePort: 65536 })).toThrow('Expected an integer from 0 to 65535 for flow.sourcePort but received 65536');
    expect(() => flowHash(1, { ...flow, protocol: 'sctp' as never })).toThrow(
      "Expected 'tcp', 'udp' or an IP protocol number from 0 to 255 for flow.protocol but received 'sctp'",
    );
  });
});
