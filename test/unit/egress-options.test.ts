// Validation of connectFromSlice / udpFromSlice options: the spec handed to the addon, and every
// rejection (class, code, message). No root: nothing here reaches the addon.
import { IPv4, IPv6 } from 'ip-num';
import { describe, expect, it } from 'vitest';

import { connectFromSlice, egressSpec, udpFromSlice } from '../../src/egress.js';
import { InvalidOptionError } from '../../src/errors.js';

const good = {
  source: IPv4.fromString('192.0.2.1'),
  ports: { from: 2048, to: 4095 },
  host: IPv4.fromString('203.0.113.10'),
  port: 80,
};

function rejects(options: unknown, message: RegExp | string) {
  let thrown: unknown;
  try {
    egressSpec('tcp', options);
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(InvalidOptionError);
  expect((thrown as InstanceType<typeof InvalidOptionError>).code).toBe('ERR_INVALID_OPTION');
  expect((thrown as Error).name).toBe('InvalidOptionError');
  if (typeof message === 'string') expect((thrown as Error).message).toBe(message);
  else expect((thrown as Error).message).toMatch(message);
}

describe('egress options', () => {
  it('builds the spec the addon reads', () => {
    expect(egressSpec('tcp', good)).toEqual({
      protocol: 'tcp', source: '192.0.2.1', host: '203.0.113.10', port: 80, from: 2048, to: 4095, timeoutMs: 0,
    });
    expect(egressSpec('udp', { ...good, timeoutMs: 1500 })).toMatchObject({ protocol: 'udp', timeoutMs: 1500 });
  });

  it('writes IPv6 addresses compressed (RFC 5952), which ip-num does not', () => {
    const spec = egressSpec('tcp', {
      ...good,
      source: IPv6.fromString('2001:db8:0:0:0:0:ffff:1'),
      host: IPv6.fromString('2001:DB8::A'),
    });
    expect(spec).toMatchObject({ source: '2001:db8::ffff:1', host: '2001:db8::a' });
  });

  it('accepts a slice from port 0 and single-port slices', () => {
    expect(egressSpec('tcp', { ...good, ports: { from: 0, to: 2047 } })).toMatchObject({ from: 0, to: 2047 });
    expect(egressSpec('tcp', { ...good, ports: { from: 65535, to: 65535 } })).toMatchObject({ from: 65535, to: 65535 });
  });

  it('rejects options that are not an object, and unknown keys', () => {
    rejects(undefined, 'Expected an object for options but received undefined');
    rejects([good], 'Expected an object for options but received an array of 1');
    rejects({ ...good, timeout: 5 }, 'Expected no such option (known: source, ports, host, port, timeoutMs) for options.timeout but received 5');
  });

  it('rejects addresses that are not ip-num values, or not one unicast address', () => {
    rejects({ ...good, source: '192.0.2.1' }, "Expected an ip-num IPv4 or IPv6 for options.source but received '192.0.2.1'");
    rejects({ ...good, host: undefined }, 'Expected an ip-num IPv4 or IPv6 for options.host but received undefined');
    rejects({ ...good, source: IPv4.fromString('0.0.0.0') }, "Expected a unicast address (the shared address itself) for options.source but received '0.0.0.0'");
    rejects({ ...good, source: IPv4.fromString('239.1.2.3') }, "Expected a unicast address (the shared address itself) for options.source but received '239.1.2.3'");
    rejects({ ...good, source: IPv6.fromString('::') }, "Expected a unicast address (the shared address itself) for options.source but received '::'");
    rejects({ ...good, source: IPv6.fromString('ff02::1') }, "Expected a unicast address (the shared address itself) for options.source but received 'ff02::1'");
  });

  it('rejects a host of the other family', () => {
    rejects(
      { ...good, host: IPv6.fromString('2001:db8::10') },
      'Expected an IPv4 address (the family of options.source 192.0.2.1) for options.host but received IPv6 2001:db8::10',
    );
    rejects(
      { ...good, source: IPv6.fromString('2001:db8::1') },
      'Expected an IPv6 address (the family of options.source 2001:db8::1) for options.host but received IPv4 203.0.113.10',
    );
  });

  it('rejects port ranges outside 0-65535, reversed, or holding only port 0', () => {
    rejects({ ...good, ports: 2048 }, 'Expected a port range { from, to } for options.ports but received 2048');
    rejects({ ...good, ports: null }, 'Expected a port range { from, to } for options.ports but received null');
    rejects({ ...good, ports: { from: -1, to: 10 } }, 'Expected a port from 0 to 65535 for options.ports.from but received -1');
    rejects({ ...good, ports: { from: 1, to: 65536 } }, 'Expected a port from 0 to 65535 for options.ports.to but received 65536');
    rejects({ ...good, ports: { from: 1.5, to: 10 } }, 'Expected a port from 0 to 65535 for options.ports.from but received 1.5');
    rejects({ ...good, ports: { from: 10 } }, 'Expected a port from 0 to 65535 for options.ports.to but received undefined');
    rejects({ ...good, ports: { from: 4095, to: 2048 } }, "Expected a range whose from is not above its to for options.ports but received '4095-2048'");
    rejects({ ...good, ports: { from: 0, to: 0 } }, "Expected a range that holds a port from 1 to 65535 for options.ports but received '0-0'");
  });

  it('rejects a destination port of 0 or beyond 65535, and bad timeouts', () => {
    rejects({ ...good, port: 0 }, 'Expected a port from 1 to 65535 for options.port but received 0');
    rejects({ ...good, port: 65536 }, 'Expected a port from 1 to 65535 for options.port but received 65536');
    rejects({ ...good, port: '80' }, "Expected a port from 1 to 65535 for options.port but received '80'");
    rejects({ ...good, timeoutMs: 0 }, 'Expected an integer from 1 to 2147483647 for options.timeoutMs but received 0');
    rejects({ ...good, timeoutMs: Infinity }, 'Expected an integer from 1 to 2147483647 for options.timeoutMs but received Infinity');
  });

  it('rejects bad options as a rejected promise, before any socket exists', async () => {
    const bad = { ...good, ports: { from: 4095, to: 2048 } };
    await expect(connectFromSlice(bad)).rejects.toBeInstanceOf(InvalidOptionError);
    await expect(udpFromSlice(bad)).rejects.toThrow(/for options\.ports but received '4095-2048'/);
  });
});
