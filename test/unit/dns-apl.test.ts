// APL records (src/dns/apl.ts): RFC 3123's wire and text rules, typed errors, and round trips
// against dnspython, an encoder and decoder written independently of ours.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

import { IPv4CidrRange, IPv6CidrRange } from 'ip-num';
import { describe, expect, it } from 'vitest';

import { decodeApl, encodeApl, formatApl, parseApl } from '../../src/dns/apl.js';
import { InvalidPacketError, InvalidRecordError } from '../../src/errors.js';

const DNSPYTHON = fileURLToPath(new URL('./dns/apl_dnspython.py', import.meta.url));

interface DnspythonView {
  texts: { wire: string; text: string }[];
  wires: ({ text: string } | { error: string })[];
}

/** Debian's python3 (the one python3-dnspython installs into), whatever python3 is first on PATH. */
function dnspython(texts: string[], wires: string[]): DnspythonView {
  const out = execFileSync('/usr/bin/python3', [DNSPYTHON], { input: JSON.stringify({ texts, wires }) });
  return JSON.parse(out.toString()) as DnspythonView;
}

const SAMPLES = [
  '1:192.168.32.0/21 !1:192.168.38.0/28 2:2001:db8::/78',
  '1:192.168.0.0/16 !1:192.168.38.0/28 1:10.0.0.0/8',
  '1:0.0.0.0/0',
  '!2:::/0',
  '1:255.255.255.255/32 2:ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128',
  '2:2001:db8:0:1::/64 2:2001:db8:0:1:4000::/66 !2:fe80::/10',
  '1:10.0.0.0/8 1:10.0.1.0/24 1:10.1.0.0/25',
  '',
];

describe('APL records', () => {
  it('encodes the RFC 3123 example with trailing zero octets trimmed', () => {
    const wire = encodeApl(parseApl('1:192.168.32.0/21 !1:192.168.38.0/28 2:2001:db8::/78'));
    expect(wire.toString('hex')).toBe(
      // family 1, /21, length 3: c0 a8 20 | family 1, /28, N bit and length 3 | family 2, /78, length 4
      '00011503c0a82000011c83c0a82600024e0420010db8',
    );
  });

  it('encodes a zero prefix with no address octets at all', () => {
    expect(encodeApl(parseApl('1:0.0.0.0/0 !2:::/0')).toString('hex')).toBe('00010000000200' + '80');
  });

  it('formats what it parses, with IPv6 compressed as RFC 5952 writes it', () => {
    expect(formatApl(parseApl('  !2:2001:0db8:0000::/32   1:10.0.0.0/8 '))).toBe('!2:2001:db8::/32 1:10.0.0.0/8');
  });

  it('gives ip-num ranges and the N bit', () => {
    const [a, b] = parseApl('1:192.168.32.0/21 !2:2001:db8::/78');
    expect(a!.prefix).toBeInstanceOf(IPv4CidrRange);
    expect(a!.prefix.toCidrString()).toBe('192.168.32.0/21');
    expect(a!.negated).toBe(false);
    expect(b!.prefix).toBeInstanceOf(IPv6CidrRange);
    expect(b!.negated).toBe(true);
  });

  it('matches dnspython both ways: its wire from our text, our text from its wire', () => {
    const view = dnspython(SAMPLES, SAMPLES.map((t) => encodeApl(parseApl(t)).toString('hex')));
    SAMPLES.forEach((text, i) => {
      expect(encodeApl(parseApl(text)).toString('hex')).toBe(view.texts[i]!.wire);
      expect(formatApl(decodeApl(Buffer.from(view.texts[i]!.wire, 'hex')))).toBe(view.texts[i]!.text);
      expect(view.wires[i]).toEqual({ text: formatApl(parseApl(text)) });
    });
  });

  it('decodes untrimmed trailing zero octets, as other encoders may write them, and trims them again', () => {
    const untrimmed = Buffer.from('00011504c0a82000', 'hex');
    expect(formatApl(decodeApl(untrimmed))).toBe('1:192.168.32.0/21');
    expect(encodeApl(decodeApl(untrimmed)).toString('hex')).toBe('00011503c0a820');
    expect(dnspython([], [untrimmed.toString('hex')]).wires[0]).toEqual({ text: '1:192.168.32.0/21' });
  });

  it('refuses host bits beyond the prefix in text, in ip-num values and on the wire', () => {
    expect(() => parseApl('1:192.168.33.0/21')).toThrow(
      new InvalidRecordError("Expected a prefix without host bits set (192.168.32.0/21) for APL item 0 but received '1:192.168.33.0/21'"),
    );
    expect(() => encodeApl([{ negated: false, prefix: IPv6CidrRange.fromCidr('2001:db8::1/64') }])).toThrow(
      new InvalidRecordError("Expected a prefix without host bits set (2001:db8::/64) for items[0].prefix but received '2001:db8:0:0:0:0:0:1/64'"),
    );
    expect(() => decodeApl(Buffer.from('00011503c0a821', 'hex'))).toThrow(
      new InvalidPacketError('Expected no address bits set beyond the /21 prefix for APL item 0 at RDATA offset 0 (AFDPART) but received 192.168.33.0/21'),
    );
  });

  it('refuses unknown families, prefix lengths and address lengths out of range, and short data', () => {
    expect(() => parseApl('3:10.0.0.0/8')).toThrow(new InvalidRecordError("Expected address family 1 (IPv4) or 2 (IPv6) for APL item 0 but received '3:10.0.0.0/8'"));
    expect(() => parseApl('1:10.0.0.0/8 1:10.0.0.0/33')).toThrow(new InvalidRecordError("Expected a prefix length from 0 to 32 for APL item 1 (IPv4) but received '1:10.0.0.0/33'"));
    expect(() => parseApl('1:2001:db8::/32')).toThrow(new InvalidRecordError("Expected an IPv4 address for APL item 0 but received '1:2001:db8::/32'"));
    expect(() => parseApl('1:10.0.0.0')).toThrow(InvalidRecordError);
    expect(() => decodeApl(Buffer.from('0003080a0a', 'hex'))).toThrow(
      new InvalidPacketError('Expected family 1 (IPv4) or 2 (IPv6) for APL item 0 at RDATA offset 0 (address family) but received 3'),
    );
    expect(() => decodeApl(Buffer.from('000121000000', 'hex'))).toThrow(new InvalidPacketError('Expected 0 to 32 for IPv4 for APL item 0 at RDATA offset 0 (prefix length) but received 33'));
    expect(() => decodeApl(Buffer.from('00010805' + '0a00000000', 'hex'))).toThrow(new InvalidPacketError('Expected 0 to 4 octets for IPv4 for APL item 0 at RDATA offset 0 (AFDLENGTH) but received 5'));
    expect(() => decodeApl(Buffer.from('0001080101000108020a', 'hex'))).toThrow(new InvalidPacketError('Expected 2 address octets for APL item 1 at RDATA offset 5 (AFDPART) but received 1'));
    expect(() => decodeApl(Buffer.from('000108', 'hex'))).toThrow(new InvalidPacketError('Expected a 4-byte item header for APL item 0 at RDATA offset 0 but received 3 bytes'));
  });

  it('refuses values that are not APL items', () => {
    expect(() => encodeApl([{ negated: false, prefix: '10.0.0.0/8' as never }])).toThrow(
      new InvalidRecordError("Expected an ip-num IPv4CidrRange or IPv6CidrRange for items[0].prefix but received '10.0.0.0/8'"),
    );
    expect(() => encodeApl([{ prefix: IPv4CidrRange.fromCidr('10.0.0.0/8') } as never])).toThrow(InvalidRecordError);
  });
});
