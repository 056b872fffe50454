// GUE variant 0 with GLB director's hop list (src/lb/hop-list.ts): byte-for-byte vectors worked
// out by hand from github/glb-director docs/development/gue-header.md, and every refusal.
import { describe, expect, it } from 'vitest';

import { InvalidPacketError } from '../../src/errors.js';
import { advanceHop, decodeHopList, encodeHopList, type HopList } from '../../src/lb/hop-list.js';

const bytes = (hex: string) => Uint8Array.from(hex.replace(/\s+/g, '').match(/../g)!.map((b) => parseInt(b, 16)));
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

// Word 1: variant 00, C 0, Hlen (5 bits) | Proto | Flags 0000. Word 2: private type 0000 | next |
// count. Then one word per hop.
const VECTORS: { name: string; list: HopList; wire: string }[] = [
  { name: 'IPv4 inner, no alternate (Hlen 1)', list: { protocol: 4, nextHop: 0, hops: [] }, wire: '01040000 00000000' },
  { name: 'IPv4 inner, one alternate 10.0.0.2 (Hlen 2)', list: { protocol: 4, nextHop: 0, hops: ['10.0.0.2'] }, wire: '02040000 00000001 0a000002' },
  {
    name: 'IPv6 inner (Proto 41 = 0x29), two alternates, the first tried (next 1)',
    list: { protocol: 41, nextHop: 1, hops: ['192.0.2.1', '198.51.100.7'] },
    wire: '03290000 00000102 c0000201 c6336407',
  },
];

describe('GLB hop list in GUE variant 0', () => {
  for (const v of VECTORS) {
    it(`encodes and decodes: ${v.name}`, () => {
      expect(hex(encodeHopList(v.list))).toBe(v.wire.replace(/\s+/g, ''));
      const wire = bytes(`${v.wire} 45000014`); // the inner packet's first bytes follow
      expect(decodeHopList(wire)).toEqual({ ...v.list, length: wire.length - 4 });
    });
  }

  it('carries the most hops Hlen can count (30)', () => {
    const hops = Array.from({ length: 30 }, (_, i) => `10.9.0.${i}`);
    const wire = encodeHopList({ protocol: 4, nextHop: 0, hops });
    expect(wire[0]).toBe(31);
    expect(decodeHopList(wire).hops).toEqual(hops);
    expect(() => encodeHopList({ protocol: 4, nextHop: 0, hops: [...hops, '10.9.0.30'] })).toThrow(
      'Expected an array of at most 30 IPv4 addresses for hopList.hops but received an array of 31',
    );
  });

  it('advances through the hops as a backend without the flow does, then reports none left', () => {
    const wire = bytes('03040000 00000002 c0000201 c6336407');
    expect(advanceHop(wire)).toBe('192.0.2.1');
    expect(hex(wire)).toBe('0304000000000102c0000201c6336407');
    expect(advanceHop(wire)).toBe('198.51.100.7');
    expect(wire[6]).toBe(2);
    expect(advanceHop(wire)).toBeNull();
    expect(wire[6]).toBe(2);
  });

  const MALFORMED: [string, string, string][] = [
    ['too short for the two fixed words', '0104000000', 'Expected at least 8 bytes (GUE word and GLB private word) for the GUE header but received 5 bytes'],
    ['variant 1 (bare IP)', '45000014 00000000', 'Expected 0 (variant 1 has no header to carry a hop list) for gue.variant but received 1'],
    ['a control message', '21040000 00000000', 'Expected 0 (a data message) for gue.C but received 1 (a control message)'],
    ['an inner protocol other than IPv4 or IPv6', '01110000 00000000', 'Expected 4 (IPv4) or 41 (IPv6) for gue.proto but received 17'],
    ['flags set', '01048000 00000000', 'Expected 0 (GLB sets no flags; unknown flags mean drop) for gue.flags but received 0x8000'],
    ['Hlen 0: no private word', '00040000 00000000', 'Expected at least 1 (the GLB private word) for gue.hlen but received 0'],
    ['Hlen past the end', '03040000 00000002 c0000201', 'Expected 16 bytes (4 + 4 x hlen 3) for the GUE header but received 12 bytes'],
    ['another private data type', '01040000 00010000', 'Expected 0 (the only GLB private data type) for glb.privateType but received 1'],
    ['hop count and Hlen disagree', '02040000 00000002 c0000201', 'Expected hlen - 1 = 1 (one word per hop after the private word) for glb.hopCount but received 2'],
    ['next hop past the list', '02040000 00000201 c0000201', 'Expected at most the hop count (1) for glb.nextHop but received 2'],
  ];
  for (const [what, wire, message] of MALFORMED) {
    it(`refuses ${what}`, () => {
      expect(() => decodeHopList(bytes(wire))).toThrow(message);
      expect(() => decodeHopList(bytes(wire))).toThrow(InvalidPacketError);
      expect(() => advanceHop(bytes(wire))).toThrow(message);
    });
  }

  it('refuses to encode what the layout cannot carry', () => {
    expect(() => encodeHopList({ protocol: 6 as 4, nextHop: 0, hops: [] })).toThrow('Expected 4 (inner IPv4) or 41 (inner IPv6) for hopList.protocol but received 6');
    expect(() => encodeHopList({ protocol: 4, nextHop: 0, hops: ['2001:db8::1'] })).toThrow(
      "Expected an IPv4 address (GLB hop lists hold IPv4 only) for hopList.hops[0] but received '2001:db8::1'",
    );
    expect(() => encodeHopList({ protocol: 4, nextHop: 2, hops: ['10.0.0.1'] })).toThrow('Expected an integer from 0 to the hop count (1) for hopList.nextHop but received 2');
    expect(() => decodeHopList('0104' as never)).toThrow("Expected a Uint8Array for bytes but received '0104'");
  });
});
