// Capture rules: validation messages, and the exact bytes of the image the XDP program reads
// (struct su_capture_rule, laid out by abi.h through src/generated/abi.ts).
import { IPv4, IPv4CidrRange, IPv6, IPv6CidrRange } from 'ip-num';
import { describe, expect, it } from 'vitest';

import { InvalidOptionError } from '../../src/errors.js';
import { ABI } from '../../src/generated/abi.js';
import { compileCaptureRules } from '../../src/xdp/capture.js';

function rejects(rules: unknown, message: RegExp) {
  expect(() => compileCaptureRules(rules)).toThrow(InvalidOptionError);
  expect(() => compileCaptureRules(rules)).toThrow(message);
}

describe('capture rules', () => {
  it('compiles an IPv4 prefix, protocols and a port range into abi.h layout', () => {
    const image = compileCaptureRules([
      { destination: IPv4CidrRange.fromCidr('198.51.100.0/24'), protocols: ['udp'], ports: { from: 1024, to: 3071 } },
    ]);
    const { size, fields } = ABI.captureRule;
    expect(image.length).toBe(size);
    const view = new DataView(image.buffer);
    expect(image[fields.family.offset]).toBe(ABI.family.ipv4);
    expect(image[fields.prefix_len.offset]).toBe(24);
    expect(image[fields.protocols.offset]).toBe(ABI.protocol.udp);
    expect(view.getUint16(fields.port_first.offset, true)).toBe(1024);
    expect(view.getUint16(fields.port_last.offset, true)).toBe(3071);
    expect([...image.subarray(fields.addr.offset, fields.addr.offset + 16)]).toEqual([198, 51, 100, 0, ...Array(12).fill(0)]);
  });

  it('compiles an IPv6 address as a /128 and defaults to both protocols and every port', () => {
    const image = compileCaptureRules([{ destination: IPv6.fromString('2001:db8::1') }]);
    const { fields } = ABI.captureRule;
    const view = new DataView(image.buffer);
    expect(image[fields.family.offset]).toBe(ABI.family.ipv6);
    expect(image[fields.prefix_len.offset]).toBe(128);
    expect(image[fields.protocols.offset]).toBe(ABI.protocol.tcp | ABI.protocol.udp);
    expect(view.getUint16(fields.port_first.offset, true)).toBe(0);
    expect(view.getUint16(fields.port_last.offset, true)).toBe(65535);
    expect([...image.subarray(fields.addr.offset, fields.addr.offset + 16)]).toEqual([
      0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
    ]);
  });

  it('keeps rule order and compiles a single port as a one-port range', () => {
    const image = compileCaptureRules([
      { destination: IPv4.fromString('192.0.2.1'), ports: 53 },
      { destination: IPv6CidrRange.fromCidr('2001:db8::/32'), protocols: ['tcp'] },
    ]);
    const { size, fields } = ABI.captureRule;
    const view = new DataView(image.buffer);
    expect(view.getUint16(fields.port_first.offset, true)).toBe(53);
    expect(view.getUint16(fields.port_last.offset, true)).toBe(53);
    expect(image[size + fields.family.offset]).toBe(ABI.family.ipv6);
    expect(image[size + fields.prefix_len.offset]).toBe(32);
  });

  it.each([
    [{}, /Expected an array of capture rules for capture but received an object/],
    [[null], /Expected a capture rule object for capture\[0\] but received null/],
    [[{ destination: '192.0.2.1' }], /Expected an ip-num IPv4, IPv6, IPv4CidrRange or IPv6CidrRange for capture\[0\].destination but received '192.0.2.1'/],
    [[{ destination: IPv4CidrRange.fromCidr('192.0.2.1/24') }], /Expected a prefix without host bits set \(192.0.2.0\/24\) for capture\[0\].destination but received '192.0.2.1\/24'/],
    [[{ destination: IPv4.fromString('192.0.2.1'), protocols: [] }], /Expected a non-empty array of 'tcp' and 'udp' for capture\[0\].protocols but received an array of 0/],
    [[{ destination: IPv4.fromString('192.0.2.1'), protocols: ['icmp'] }], /Expected 'tcp' or 'udp' for capture\[0\].protocols\[0\] but received 'icmp'/],
    [[{ destination: IPv4.fromString('192.0.2.1'), ports: 65536 }], /Expected a port from 0 to 65535 for capture\[0\].ports but received 65536/],
    [[{ destination: IPv4.fromString('192.0.2.1'), ports: -1 }], /for capture\[0\].ports but received -1/],
    [[{ destination: IPv4.fromString('192.0.2.1'), ports: { from: 10, to: 5 } }], /Expected a port not below from \(10\) for capture\[0\].ports.to but received 5/],
    [[{ destination: IPv4.fromString('192.0.2.1'), ports: { from: 1.5, to: 5 } }], /for capture\[0\].ports.from but received 1.5/],
    [[{ destination: IPv4.fromString('192.0.2.1'), port: 53 }], /Expected no such option .* for capture\[0\].port but received 53/],
    [Array(65).fill({ destination: IPv4.fromString('192.0.2.1') }), /Expected at most 64 capture rules for capture but received an array of 65/],
  ])('rejects %#', (rules, message) => rejects(rules, message));
});
