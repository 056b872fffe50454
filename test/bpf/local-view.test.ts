// The XDP program's local view and GUE decapsulation through BPF_PROG_TEST_RUN
// (native/test/steer_run.c, under valgrind): golden packets from test/fixtures/packets.ts in,
// verdict, counters and output bytes out, across views swapped by su_prog_set_local_view.
// Needs root to load BPF.
import { endianness } from 'node:os';

import { IPv4, IPv4CidrRange, IPv6, IPv6CidrRange } from 'ip-num';
import { beforeAll, describe, expect, it } from 'vitest';

import { ABI } from '../../src/generated/abi.js';
import { compileCaptureRules, type CaptureRule } from '../../src/xdp/capture.js';
import {
  addressBytes,
  concat,
  ethernet,
  fromHex,
  gue0,
  gue1,
  hex,
  ipv4,
  ipv6,
  tcp,
  udp,
  type Gue0Options,
  type IpPacket,
  type Ipv6Extension,
} from '../fixtures/packets.js';
import { runUnderValgrind } from '../native-run.js';

const XDP_PASS = 2;
const LITTLE = endianness() === 'LE';

// ---- The network of these tests ---------------------------------------------------------------

const HOST4 = '192.0.2.1'; // this host's unicast addresses: GUE comes to them
const HOST6 = '2001:db8::1';
const PEER4 = '203.0.113.9'; // trusted: 203.0.113.0/24, 2001:db8:ffff::/48
const PEER6 = '2001:db8:ffff::9';
const STRANGER4 = '198.18.0.9';
const STRANGER6 = '2001:db8:eeee::9';
const SHARED4 = '198.51.100.7'; // shared addresses, sliced by port
const SHARED6 = '2001:db8:100::7';
const CLIENT4 = '198.18.7.7';
const CLIENT6 = '2001:db8:aaaa::7';
const GUE_PORT = 6080;

// ---- Images in the layouts of abi.h (src/slices/ compiles the Router's) -----------------------

function hostImage(o: { ipv4?: string; ipv6?: string; guePort: number }): Uint8Array {
  const { size, fields } = ABI.host;
  const image = new Uint8Array(size);
  const view = new DataView(image.buffer);
  let flags = 0;
  if (o.ipv4 !== undefined) {
    image.set(addressBytes(o.ipv4), fields.ipv4.offset);
    flags |= ABI.table.hostFlags.ipv4;
  }
  if (o.ipv6 !== undefined) {
    image.set(addressBytes(o.ipv6), fields.ipv6.offset);
    flags |= ABI.table.hostFlags.ipv6;
  }
  view.setUint8(fields.flags.offset, flags);
  view.setUint16(fields.gue_port.offset, o.guePort, LITTLE); // host byte order (table.h)
  view.setUint16(fields.mtu.offset, 1500, LITTLE);
  return image;
}

function prefixesImage(prefixes: readonly string[]): Uint8Array {
  const { size, fields } = ABI.prefix;
  const image = new Uint8Array(size * prefixes.length);
  prefixes.forEach((text, i) => {
    const [address, length] = text.split('/') as [string, string];
    const bytes = addressBytes(address);
    image[i * size + fields.family.offset] = bytes.length === 4 ? ABI.family.ipv4 : ABI.family.ipv6;
    image[i * size + fields.prefix_len.offset] = Number(length);
    image.set(bytes, i * size + fields.addr.offset);
  });
  return image;
}

const cidr = (text: string) => (text.includes(':') ? IPv6CidrRange.fromCidr(text) : IPv4CidrRange.fromCidr(text));
// Local rules share the capture rules' layout (struct su_capture_rule) and compiler.
const rulesImage = (rules: CaptureRule[]) => compileCaptureRules(rules, 'rules');

const HOST = hostImage({ ipv4: HOST4, ipv6: HOST6, guePort: GUE_PORT });
const TRUSTED = prefixesImage(['203.0.113.0/24', '2001:db8:ffff::/48']);
const RULES_A: CaptureRule[] = [
  { destination: cidr('198.51.100.0/24'), protocols: ['udp', 'tcp'], ports: { from: 1000, to: 1999 } },
  { destination: cidr('2001:db8:100::/48'), protocols: ['tcp'], ports: 443 },
];
const CAPTURE: CaptureRule[] = [
  { destination: cidr('198.51.100.0/24') },
  { destination: cidr('2001:db8:100::/48') },
  { destination: new IPv4(HOST4), protocols: ['udp'], ports: GUE_PORT },
  { destination: new IPv6(HOST6), protocols: ['udp'], ports: GUE_PORT },
];

// ---- Packets ----------------------------------------------------------------------------------

const PAYLOAD = new TextEncoder().encode('soft-unicast!');

const inner4 = (port = 1500, dst = SHARED4): IpPacket =>
  ipv4({ src: CLIENT4, dst, id: 7, dontFragment: true }, udp({ src: 41000, dst: port, payload: PAYLOAD }));
const inner6 = (port = 443, dst = SHARED6): IpPacket =>
  ipv6({ src: CLIENT6, dst, flowLabel: 0x12345 }, tcp({ src: 41000, dst: port, payload: PAYLOAD }));

interface Outer {
  family?: 4 | 6;
  src?: string;
  dst?: string;
  port?: number;
  vlans?: number[];
  macs?: { dst: string; src: string };
  udpChecksum?: 'auto' | 'zero' | number;
  udpLength?: number;
  ipChecksum?: number;
  ipOptions?: Uint8Array;
  moreFragments?: boolean;
  extensions?: Ipv6Extension[];
}

/** An Ethernet frame carrying `payload` in UDP from a trusted peer to this host's GUE port. */
function gueFrame(payload: Uint8Array, o: Outer = {}): Uint8Array {
  const family = o.family ?? 4;
  const datagram = udp({
    src: 50123,
    dst: o.port ?? GUE_PORT,
    payload,
    ...(o.udpChecksum === undefined ? {} : { checksum: o.udpChecksum }),
    ...(o.udpLength === undefined ? {} : { length: o.udpLength }),
  });
  const packet =
    family === 4
      ? ipv4(
          {
            src: o.src ?? PEER4,
            dst: o.dst ?? HOST4,
            ...(o.ipChecksum === undefined ? {} : { checksum: o.ipChecksum }),
            ...(o.ipOptions === undefined ? {} : { options: o.ipOptions }),
            ...(o.moreFragments === undefined ? {} : { moreFragments: o.moreFragments }),
          },
          datagram,
        )
      : ipv6({ src: o.src ?? PEER6, dst: o.dst ?? HOST6, ...(o.extensions === undefined ? {} : { extensions: o.extensions }) }, datagram);
  return ethernet({ ...(o.vlans === undefined ? {} : { vlans: o.vlans }), ...(o.macs ?? {}) }, packet);
}

const v0 = (inner: IpPacket, o: Outer = {}, g: Gue0Options = {}) => gueFrame(gue0(inner, g), o);
const v1 = (inner: IpPacket, o: Outer = {}) => gueFrame(gue1(inner), o);
/** What the kernel must get after decapsulation: the received frame's MACs, the inner packet. */
const unwrapped = (inner: IpPacket, macs: { dst: string; src: string } | Record<string, never> = {}) => ethernet(macs, inner);

const plain4 = (port: number, o: { proto?: 'udp' | 'tcp'; dst?: string; vlans?: number[] } = {}) =>
  ethernet(
    o.vlans === undefined ? {} : { vlans: o.vlans },
    ipv4({ src: CLIENT4, dst: o.dst ?? SHARED4 }, (o.proto ?? 'udp') === 'udp' ? udp({ dst: port, payload: PAYLOAD }) : tcp({ dst: port })),
  );
const plain6 = (port: number, o: { proto?: 'udp' | 'tcp'; extensions?: Ipv6Extension[] } = {}) =>
  ethernet(
    {},
    ipv6(
      { src: CLIENT6, dst: SHARED6, ...(o.extensions === undefined ? {} : { extensions: o.extensions }) },
      (o.proto ?? 'tcp') === 'udp' ? udp({ dst: port, payload: PAYLOAD }) : tcp({ dst: port }),
    ),
  );

// ---- The script the C driver runs, and its answers --------------------------------------------

type Counter = (typeof ABI.steerCounters)[number]['name'];

interface Case {
  name: string;
  frame: Uint8Array;
  counter: Counter;
  /** The frame the kernel gets; default: the input, unchanged. */
  out?: Uint8Array;
}

interface Phase {
  name: string;
  view?: { host: Uint8Array; rules: Uint8Array; trusted: Uint8Array };
  /** The view is refused with this error (and the one before stays live). */
  refused?: { code: string; message: string };
  cases: Case[];
}

interface Answer {
  ok: boolean;
  code?: string;
  message?: string;
  retval?: number;
  out?: string;
  counters?: Record<string, number>;
}

const lines: string[] = [];
function command(line: string): number {
  lines.push(line);
  return lines.length; // answer 0 is the driver's "ready"
}
const arg = (bytes: Uint8Array) => (bytes.length === 0 ? '-' : hex(bytes));

command(`capture ${arg(compileCaptureRules(CAPTURE, 'capture'))}`);

const phases: Phase[] = [
  {
    name: 'before any view (both banks empty)',
    cases: [
      { name: 'a packet of a future local slice is only captured', frame: plain4(1500), counter: 'pass_no_socket' },
      { name: 'GUE to the future host address is not unwrapped', frame: v0(inner4()), counter: 'pass_no_socket' },
    ],
  },
  {
    name: 'view A',
    view: { host: HOST, rules: rulesImage(RULES_A), trusted: TRUSTED },
    cases: [
      { name: 'IPv4 UDP in a local slice', frame: plain4(1500), counter: 'pass_local' },
      { name: 'IPv4 TCP on the first port of the slice', frame: plain4(1000, { proto: 'tcp' }), counter: 'pass_local' },
      { name: 'IPv4 UDP on the last port of the slice', frame: plain4(1999), counter: 'pass_local' },
      { name: 'the port just above the slice goes to the capture rules', frame: plain4(2000), counter: 'pass_no_socket' },
      { name: 'the port just below the slice goes to the capture rules', frame: plain4(999), counter: 'pass_no_socket' },
      { name: 'IPv6 TCP in a local slice', frame: plain6(443), counter: 'pass_local' },
      { name: 'IPv6 UDP to a TCP-only slice', frame: plain6(443, { proto: 'udp' }), counter: 'pass_no_socket' },
      {
        name: 'IPv6 behind hop-by-hop and destination options',
        frame: plain6(443, { extensions: [{ type: 'hop-by-hop' }, { type: 'destination', length: 1 }] }),
        counter: 'pass_local',
      },
      { name: '802.1Q-tagged IPv4 in a local slice', frame: plain4(1500, { vlans: [100] }), counter: 'pass_local' },
      { name: 'a destination outside every slice', frame: plain4(1500, { dst: '10.1.2.3' }), counter: 'pass_unmanaged' },

      ...([0, 1] as const).flatMap((variant) =>
        ([4, 6] as const).flatMap((outer) =>
          ([4, 6] as const).map((innerFamily): Case => {
            const inner = innerFamily === 4 ? inner4() : inner6();
            const frame = variant === 0 ? v0(inner, { family: outer }) : v1(inner, { family: outer });
            return {
              name: `GUE variant ${variant}, IPv${innerFamily} in IPv${outer}, from a trusted peer, is unwrapped`,
              frame,
              counter: 'decap_local',
              out: unwrapped(inner),
            };
          }),
        ),
      ),
      {
        name: 'GUE variant 0 with two words of optional fields: skipped unread',
        frame: v0(inner4(), {}, { extra: new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]) }),
        counter: 'decap_local',
        out: unwrapped(inner4()),
      },
      {
        name: 'GUE behind 802.1ad + 802.1Q tags: the tags are dropped',
        frame: v0(inner6(), { vlans: [10, 100] }),
        counter: 'decap_local',
        out: unwrapped(inner6()),
      },
      {
        name: 'GUE keeps the received MAC addresses',
        frame: v1(inner4(), { macs: { dst: '0a:11:22:33:44:55', src: '0a:66:77:88:99:aa' } }),
        counter: 'decap_local',
        out: unwrapped(inner4(), { dst: '0a:11:22:33:44:55', src: '0a:66:77:88:99:aa' }),
      },
      {
        name: 'GUE in IPv4 with header options (IHL 7)',
        frame: v0(inner4(), { ipOptions: new Uint8Array([1, 1, 1, 1, 1, 1, 1, 0]) }),
        counter: 'decap_local',
        out: unwrapped(inner4()),
      },
      {
        name: 'GUE in IPv4 without a UDP checksum (zero: accepted over IPv4)',
        frame: v0(inner4(), { udpChecksum: 'zero' }),
        counter: 'decap_local',
        out: unwrapped(inner4()),
      },
      {
        name: 'GUE in IPv6 behind a destination options header',
        frame: v0(inner6(), { family: 6, extensions: [{ type: 'destination' }] }),
        counter: 'decap_local',
        out: unwrapped(inner6()),
      },
      {
        name: 'GUE whose inner IPv4 packet is a first fragment (the kernel reassembles)',
        frame: v0(ipv4({ src: CLIENT4, dst: SHARED4, moreFragments: true }, udp({ dst: 1500, payload: PAYLOAD }))),
        counter: 'decap_local',
        out: unwrapped(ipv4({ src: CLIENT4, dst: SHARED4, moreFragments: true }, udp({ dst: 1500, payload: PAYLOAD }))),
      },
      {
        name: 'a long GUE datagram (checksummed in 512-byte pieces and a ragged tail)',
        frame: v0(ipv4({ src: CLIENT4, dst: SHARED4 }, udp({ dst: 1500, payload: new Uint8Array(1337).fill(0x5a) }))),
        counter: 'decap_local',
        out: unwrapped(ipv4({ src: CLIENT4, dst: SHARED4 }, udp({ dst: 1500, payload: new Uint8Array(1337).fill(0x5a) }))),
      },

      // Not unwrapped: the capture rules hand them to the fast path, which decides and counts.
      { name: 'GUE from an untrusted IPv4 source', frame: v0(inner4(), { src: STRANGER4 }), counter: 'pass_no_socket' },
      { name: 'GUE from an untrusted IPv6 source', frame: v0(inner6(), { family: 6, src: STRANGER6 }), counter: 'pass_no_socket' },
      { name: 'GUE variant 0 with a flag set', frame: v0(inner4(), {}, { flags: 0x8000 }), counter: 'pass_no_socket' },
      { name: 'GUE variant 0 with the lowest flag set', frame: v0(inner4(), {}, { flags: 0x0001 }), counter: 'pass_no_socket' },
      { name: 'a GUE control message (C bit)', frame: v0(inner4(), {}, { control: true }), counter: 'pass_no_socket' },
      { name: 'GUE variant 2 (reserved)', frame: v0(inner4(), {}, { variant: 2 }), counter: 'pass_no_socket' },
      { name: 'GUE variant 3 (reserved)', frame: v0(inner4(), {}, { variant: 3 }), counter: 'pass_no_socket' },
      { name: 'GUE Proto 41 around an IPv4 packet', frame: v0(inner4(), {}, { proto: 41 }), counter: 'pass_no_socket' },
      { name: 'GUE Proto 4 around an IPv6 packet', frame: v0(inner6(), {}, { proto: 4 }), counter: 'pass_no_socket' },
      { name: 'GUE Proto 17', frame: v0(inner4(), {}, { proto: 17 }), counter: 'pass_no_socket' },
      {
        name: 'GUE variant 1 whose payload is neither IPv4 nor IPv6',
        frame: gueFrame(concat(new Uint8Array([0x55]), inner4().bytes.subarray(1))),
        counter: 'pass_no_socket',
      },
      { name: 'GUE for a port outside the local slices', frame: v0(inner4(2500)), counter: 'pass_no_socket' },
      { name: 'GUE for an address outside every slice', frame: v0(inner4(1500, '10.9.9.9')), counter: 'pass_no_socket' },
      { name: 'GUE with a truncated inner header', frame: gueFrame(gue0(inner4()).subarray(0, 4 + 12)), counter: 'pass_no_socket' },
      { name: 'GUE with a wrong UDP checksum', frame: v0(inner4(), { udpChecksum: 0x1234 }), counter: 'pass_no_socket' },
      { name: 'GUE in IPv4 with a wrong header checksum', frame: v0(inner4(), { ipChecksum: 0x1234 }), counter: 'pass_no_socket' },
      { name: 'GUE in IPv6 without a UDP checksum', frame: v0(inner4(), { family: 6, udpChecksum: 'zero' }), counter: 'pass_no_socket' },
      { name: 'GUE in IPv6 with a wrong UDP checksum', frame: v0(inner4(), { family: 6, udpChecksum: 0x1234 }), counter: 'pass_no_socket' },
      { name: 'GUE in the first fragment of an IPv4 packet', frame: v0(inner4(), { moreFragments: true }), counter: 'pass_no_socket' },
      {
        name: 'GUE in the first fragment of an IPv6 packet',
        frame: v0(inner4(), { family: 6, extensions: [{ type: 'fragment', more: true, id: 9 }] }),
        counter: 'pass_no_socket',
      },
      {
        name: 'GUE behind an IPv6 routing header',
        frame: v0(inner4(), { family: 6, extensions: [{ type: 'routing' }] }),
        counter: 'pass_no_socket',
      },
      { name: 'GUE whose UDP length runs past the frame', frame: v0(inner4(), { udpLength: 400 }), counter: 'pass_no_socket' },
      { name: 'GUE on another UDP port', frame: v0(inner4(), { port: 6081 }), counter: 'pass_unmanaged' },
      { name: 'GUE to a shared address instead of this host', frame: v0(inner4(), { dst: SHARED4 }), counter: 'pass_no_socket' },
    ],
  },
  {
    name: 'view B, swapped in (the other bank)',
    view: {
      host: HOST,
      rules: rulesImage([{ destination: cidr('198.51.100.0/24'), protocols: ['udp'], ports: { from: 2000, to: 2999 } }]),
      trusted: TRUSTED,
    },
    cases: [
      { name: 'a port that was local is now only captured', frame: plain4(1500), counter: 'pass_no_socket' },
      { name: 'a port that was captured is now local', frame: plain4(2500), counter: 'pass_local' },
      { name: "A's IPv6 slice is gone", frame: plain6(443), counter: 'pass_no_socket' },
      { name: 'GUE for the old slice is no longer unwrapped', frame: v0(inner4(1500)), counter: 'pass_no_socket' },
      { name: 'GUE for the new slice is unwrapped', frame: v0(inner4(2500)), counter: 'decap_local', out: unwrapped(inner4(2500)) },
    ],
  },
  {
    name: "view C, shorter than A, in A's old bank",
    view: { host: HOST, rules: rulesImage([RULES_A[0]!]), trusted: prefixesImage(['203.0.113.0/24']) },
    cases: [
      { name: 'the slice C keeps is local', frame: plain4(1500), counter: 'pass_local' },
      { name: "A's second rule left no trace in the bank", frame: plain6(443), counter: 'pass_no_socket' },
      { name: "A's second trusted prefix left no trace in the bank", frame: v0(inner4(), { family: 6 }), counter: 'pass_no_socket' },
      { name: 'GUE from the IPv4 peer is still unwrapped', frame: v0(inner4()), counter: 'decap_local', out: unwrapped(inner4()) },
    ],
  },
  {
    name: 'view D: the host has no IPv6 address',
    view: { host: hostImage({ ipv4: HOST4, guePort: GUE_PORT }), rules: rulesImage(RULES_A), trusted: TRUSTED },
    cases: [
      { name: 'GUE to the former IPv6 address is not ours', frame: v0(inner4(), { family: 6 }), counter: 'pass_no_socket' },
      { name: 'GUE over IPv4 still is', frame: v0(inner6()), counter: 'decap_local', out: unwrapped(inner6()) },
    ],
  },
  {
    name: 'view E: GUE port 0 turns decapsulation off',
    view: { host: hostImage({ ipv4: HOST4, ipv6: HOST6, guePort: 0 }), rules: rulesImage(RULES_A), trusted: TRUSTED },
    cases: [
      { name: 'GUE from a trusted peer for a local slice stays wrapped', frame: v0(inner4()), counter: 'pass_no_socket' },
      { name: 'local slices still pass', frame: plain4(1500), counter: 'pass_local' },
    ],
  },
  {
    name: 'refused: more local rules than the program holds',
    // 65 copies of one compiled rule: compileCaptureRules itself stops at 64.
    view: { host: HOST, rules: concat(...Array.from({ length: 65 }, () => rulesImage([RULES_A[0]!]))), trusted: TRUSTED },
    refused: { code: 'ERR_TABLE_LIMIT', message: 'Expected at most 64 local slices for the XDP program but received 65' },
    cases: [{ name: 'view E is still live', frame: v0(inner4()), counter: 'pass_no_socket' }],
  },
  {
    name: 'refused: more trusted peers than the program holds',
    view: { host: HOST, rules: rulesImage(RULES_A), trusted: prefixesImage(Array.from({ length: 65 }, () => '203.0.113.0/24')) },
    refused: { code: 'ERR_TABLE_LIMIT', message: 'Expected at most 64 trusted peer prefixes but received 65' },
    cases: [{ name: 'view E is still live', frame: v0(inner4()), counter: 'pass_no_socket' }],
  },
  {
    name: 'refused: a rule without a family',
    view: { host: HOST, rules: concat(rulesImage(RULES_A), new Uint8Array(ABI.captureRule.size)), trusted: TRUSTED },
    refused: { code: 'ERR_INVALID_TABLE', message: 'Expected family 4 or 6 for local rule 2 but received 0' },
    cases: [{ name: 'view E is still live', frame: plain4(1500), counter: 'pass_local' }],
  },
  {
    name: 'an empty view',
    view: { host: new Uint8Array(ABI.host.size), rules: new Uint8Array(0), trusted: new Uint8Array(0) },
    cases: [
      { name: 'local slices are gone', frame: plain4(1500), counter: 'pass_no_socket' },
      { name: 'GUE is not unwrapped', frame: v0(inner4()), counter: 'pass_no_socket' },
    ],
  },
];

const plan = phases.map((phase) => ({
  phase,
  viewAnswer: phase.view === undefined ? undefined : command(`view ${arg(phase.view.host)} ${arg(phase.view.rules)} ${arg(phase.view.trusted)}`),
  caseAnswers: phase.cases.map((c) => command(`run ${hex(c.frame)}`)),
}));

let answers: Answer[] = [];
let output = '';

beforeAll(() => {
  const result = runUnderValgrind('steer_run', ['build/native/bpf/steer.bpf.o'], `${lines.join('\n')}\n`);
  output = result.output;
  expect(result.status, output).toBe(0);
  answers = result.stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Answer);
  expect(answers.length, output).toBe(lines.length + 1);
  expect(answers[1], 'capture rules').toEqual({ ok: true });
}, 300_000);

describe('steer.bpf.o local view and GUE decapsulation (BPF_PROG_TEST_RUN, valgrind)', () => {
  for (const { phase, viewAnswer, caseAnswers } of plan) {
    describe(phase.name, () => {
      if (viewAnswer !== undefined) {
        it(phase.refused ? `is refused with ${phase.refused.code}` : 'is accepted', () => {
          const answer = answers[viewAnswer];
          if (phase.refused) expect(answer).toEqual({ ok: false, ...phase.refused });
          else expect(answer).toEqual({ ok: true });
        });
      }
      phase.cases.forEach((c, i) => {
        it(`${c.name}: XDP_PASS, ${c.counter}${c.out ? ', unwrapped' : ', unchanged'}`, () => {
          const answer = answers[caseAnswers[i]!];
          expect(answer?.ok, JSON.stringify(answer)).toBe(true);
          expect(answer?.retval).toBe(XDP_PASS);
          expect(answer?.counters).toEqual({ packets: 1, [c.counter]: 1 });
          expect(answer?.out).toBe(hex(c.out ?? c.frame));
          // The same bytes through the fixture's own decoder, for a readable diff on failure.
          expect(fromHex(answer?.out ?? '')).toEqual(c.out ?? c.frame);
        });
      });
    });
  }
});
