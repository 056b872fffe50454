// The XDP program's local view on a real attach path (native/test/local_view_driver.c, under
// valgrind, in a network namespace it unshares for itself): frames from test/fixtures/packets.ts
// sent over a veth reach the kernel's own UDP sockets, GUE from a trusted peer unwrapped on the
// way; su_port_set_local_view swaps views and refuses oversized or late ones. Needs root.
import { endianness } from 'node:os';

import { IPv4CidrRange, IPv6CidrRange } from 'ip-num';
import { beforeAll, describe, expect, it } from 'vitest';

import { ABI } from '../../src/generated/abi.js';
import { compileCaptureRules } from '../../src/xdp/capture.js';
import { addressBytes, concat, ethernet, gue0, gue1, hex, ipv4, ipv6, udp, type IpPacket } from '../fixtures/packets.js';
import { runUnderValgrind } from '../native-run.js';

// The driver's namespace: sut0 (02:00:00:00:00:01) holds this host's addresses, lo the shared
// ones; peer0 (02:00:00:00:00:02) sends.
const MACS = { dst: '02:00:00:00:00:01', src: '02:00:00:00:00:02' };
const LOCAL_PORT = 1500;

function hostImage(guePort: number): Uint8Array {
  const { size, fields } = ABI.host;
  const image = new Uint8Array(size);
  const view = new DataView(image.buffer);
  image.set(addressBytes('192.0.2.1'), fields.ipv4.offset);
  image.set(addressBytes('2001:db8::1'), fields.ipv6.offset);
  view.setUint8(fields.flags.offset, ABI.table.hostFlags.ipv4 | ABI.table.hostFlags.ipv6);
  view.setUint16(fields.gue_port.offset, guePort, endianness() === 'LE');
  return image;
}

function prefixesImage(prefixes: readonly [string, number][]): Uint8Array {
  const { size, fields } = ABI.prefix;
  const image = new Uint8Array(size * prefixes.length);
  prefixes.forEach(([address, length], i) => {
    const bytes = addressBytes(address);
    image[i * size + fields.family.offset] = bytes.length === 4 ? ABI.family.ipv4 : ABI.family.ipv6;
    image[i * size + fields.prefix_len.offset] = length;
    image.set(bytes, i * size + fields.addr.offset);
  });
  return image;
}

const LOCAL_RULES = compileCaptureRules([
  { destination: IPv4CidrRange.fromCidr('198.51.100.0/24'), protocols: ['udp'], ports: { from: 1000, to: 1999 } },
  { destination: IPv6CidrRange.fromCidr('2001:db8:100::/48'), protocols: ['udp'], ports: { from: 1000, to: 1999 } },
]);
const TRUSTED = prefixesImage([
  ['192.0.2.0', 24],
  ['2001:db8::', 64],
]);

const text = (s: string) => new TextEncoder().encode(s);
const inner4 = (payload: string): IpPacket => ipv4({ src: '192.0.2.50', dst: '198.51.100.7' }, udp({ dst: LOCAL_PORT, payload: text(payload) }));
const inner6 = (payload: string): IpPacket => ipv6({ src: '2001:db8::50', dst: '2001:db8:100::7' }, udp({ dst: LOCAL_PORT, payload: text(payload) }));
/** GUE from `src` (default: a trusted peer on the link) to this host. */
function gue(family: 4 | 6, payload: Uint8Array, src?: string): Uint8Array {
  const datagram = udp({ src: 50123, dst: 6080, payload });
  return ethernet(MACS, family === 4 ? ipv4({ src: src ?? '192.0.2.2', dst: '192.0.2.1' }, datagram) : ipv6({ src: src ?? '2001:db8::2', dst: '2001:db8::1' }, datagram));
}

interface Answer {
  ok: boolean;
  code?: string;
  message?: string;
  family?: number;
  payload?: string;
  pending?: number;
  counters?: Record<string, number>;
}

const lines: string[] = [];
const command = (line: string) => {
  lines.push(line);
  return lines.length; // answer 0 is "ready"
};
const view = (host: Uint8Array, rules: Uint8Array, trusted: Uint8Array) =>
  command(`view ${hex(host)} ${rules.length ? hex(rules) : '-'} ${trusted.length ? hex(trusted) : '-'}`);

const deliveries = [
  { name: 'plain IPv4 UDP to a local slice', frame: ethernet(MACS, inner4('plain v4')), family: 4, payload: 'plain v4' },
  { name: 'plain IPv6 UDP to a local slice', frame: ethernet(MACS, inner6('plain v6')), family: 6, payload: 'plain v6' },
  { name: 'GUE variant 0, IPv4 in IPv4', frame: gue(4, gue0(inner4('v0 4in4'))), family: 4, payload: 'v0 4in4' },
  { name: 'GUE variant 1, IPv6 in IPv4', frame: gue(4, gue1(inner6('v1 6in4'))), family: 6, payload: 'v1 6in4' },
  { name: 'GUE variant 0, IPv4 in IPv6', frame: gue(6, gue0(inner4('v0 4in6'))), family: 4, payload: 'v0 4in6' },
  { name: 'GUE variant 1, IPv6 in IPv6', frame: gue(6, gue1(inner6('v1 6in6'))), family: 6, payload: 'v1 6in6' },
].map((d) => ({ ...d, sent: 0, received: 0 }));

const accepted = view(hostImage(6080), LOCAL_RULES, TRUSTED);
for (const d of deliveries) {
  d.sent = command(`send ${hex(d.frame)}`);
  d.received = command('recv');
}
// Not unwrapped, so the kernel gets GUE to a port nobody listens on; the delivery after it shows
// that the stack had its turn, and nothing arrived for the untrusted one.
const untrusted = command(`send ${hex(gue(4, gue0(inner4('untrusted')), '203.0.113.9'))}`);
const after = command(`send ${hex(gue(4, gue0(inner4('after'))))}`);
const afterRecv = command('recv');
const nothingElse = command('pending');
const countersA = command('counters');
// The same GUE frame once the slice is no longer local: passed wrapped, nobody gets it.
const emptied = view(hostImage(6080), new Uint8Array(0), TRUSTED);
const wrapped = command(`send ${hex(gue(4, gue0(inner4('wrapped'))))}`);
const wrappedRecv = command('pending');
const countersB = command('counters');
const tooMany = view(hostImage(6080), concat(...Array.from({ length: 65 }, () => LOCAL_RULES.subarray(0, ABI.captureRule.size))), TRUSTED);
const closing = command('close');
const late = view(hostImage(6080), LOCAL_RULES, TRUSTED);

let answers: Answer[] = [];
let output = '';

beforeAll(() => {
  const result = runUnderValgrind('local_view_driver', ['build/native/bpf/steer.bpf.o'], `${lines.join('\n')}\n`);
  output = result.output;
  answers = result.stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Answer);
  expect(result.status, output).toBe(0);
  expect(answers.length, output).toBe(lines.length + 1);
}, 300_000);

describe('the local view on a veth (su_port_set_local_view, valgrind)', () => {
  it('accepts a view', () => {
    expect(answers[accepted]).toEqual({ ok: true });
  });

  for (const d of deliveries) {
    it(`${d.name} reaches the kernel's IPv${d.family} socket`, () => {
      expect(answers[d.sent], output).toEqual({ ok: true });
      expect(answers[d.received]).toEqual({ ok: true, family: d.family, payload: hex(text(d.payload)) });
    });
  }

  it('leaves GUE from an untrusted source wrapped: nothing reaches the sockets', () => {
    expect(answers[untrusted]).toEqual({ ok: true });
    expect(answers[after]).toEqual({ ok: true });
    expect(answers[afterRecv]).toEqual({ ok: true, family: 4, payload: hex(text('after')) });
    expect(answers[nothingElse]).toEqual({ ok: true, pending: 0 });
  });

  it('counts each fate', () => {
    expect(answers[countersA]?.counters).toEqual({
      packets: 8,
      pass_unparsed: 0,
      pass_unmanaged: 1,
      pass_no_socket: 0,
      pass_local: 2,
      decap_local: 5,
      redirected: 0,
      pass_fragment_local: 0,
      redirected_fragment: 0,
      pass_fragment_unplaced: 0,
    });
  });

  it('passes GUE wrapped once its slice is no longer local', () => {
    expect(answers[emptied]).toEqual({ ok: true });
    expect(answers[wrapped]).toEqual({ ok: true });
    expect(answers[wrappedRecv]).toEqual({ ok: true, pending: 0 });
    expect(answers[countersB]?.counters).toMatchObject({ packets: 9, pass_unmanaged: 2, decap_local: 5 });
  });

  it('refuses more local rules than the program holds', () => {
    expect(answers[tooMany]).toEqual({
      ok: false,
      code: 'ERR_TABLE_LIMIT',
      message: 'Expected at most 64 local slices for the XDP program but received 65',
    });
  });

  it('answers ERR_CLOSED once the port is closed', () => {
    expect(answers[closing]).toEqual({ ok: true });
    expect(answers[late]).toEqual({ ok: false, code: 'ERR_CLOSED', message: "The port on 'sut0' is closed" });
  });
});
