// The XDP program of a port without a table (SU_MODE_CAPTURE: an XdpPort whose packets TypeScript
// handlers take) under BPF_PROG_TEST_RUN (native/test/steer_run.c, valgrind): which frames the
// capture rules hand to the AF_XDP socket, and that every other frame reaches the kernel
// untouched. No socket is bound in a test run, so a captured frame ends in pass_no_socket (the
// namespace tests bind real sockets). Needs root.
import { IPv4CidrRange, IPv6CidrRange } from 'ip-num';
import { beforeAll, describe, expect, it } from 'vitest';

import { ABI } from '../../src/generated/abi.js';
import { compileCaptureRules, type CaptureRule } from '../../src/xdp/capture.js';
import { goldenCompiled } from '../fixtures/golden.js';
import { concat, ethernet, hex, icmp6, ipv4, ipv6, raw, tcp, udp, type IpPacket, type Ipv6Extension } from '../fixtures/packets.js';
import { SteerScript, XDP } from './steer-run.js';

const cidr = (text: string) => (text.includes(':') ? IPv6CidrRange.fromCidr(text) : IPv4CidrRange.fromCidr(text));
const RULES: CaptureRule[] = [
  { destination: cidr('192.0.2.0/24'), protocols: ['udp'], ports: { from: 5000, to: 5999 } },
  { destination: cidr('2001:db8:1::/48'), protocols: ['tcp'], ports: 443 },
  // /31 ends inside the fourth byte: .10 and .11 are in, .9 and .12 out.
  { destination: cidr('198.51.100.10/31'), ports: 80 },
  { destination: cidr('0.0.0.0/0'), protocols: ['udp'], ports: 9999 },
];

const SRC4 = '203.0.113.200';
const SRC6 = '2001:db8:ffff::1';
const frame = (ip: IpPacket | { etherType: number; bytes: Uint8Array }, vlans?: number[]) => ethernet(vlans ? { vlans } : {}, ip);
const udp4 = (dst: string, port: number, o: { vlans?: number[]; options?: number; frag?: { more?: boolean; offset?: number; id?: number } } = {}) =>
  frame(
    ipv4(
      { src: SRC4, dst, ...(o.options && { options: new Uint8Array(o.options * 4).fill(1) }), ...(o.frag && { id: o.frag.id ?? 1, moreFragments: o.frag.more ?? false, fragmentOffset: o.frag.offset ?? 0 }) },
      o.frag?.offset ? raw(17, new Uint8Array(16)) : udp({ dst: port, payload: new Uint8Array(18) }),
    ),
    o.vlans,
  );
const tcp4 = (dst: string, port: number) => frame(ipv4({ src: SRC4, dst }, tcp({ dst: port })));
const tcp6 = (dst: string, extensions: Ipv6Extension[] = [], vlans?: number[], proto: 'tcp' | 'udp' = 'tcp', port = 443) =>
  frame(ipv6({ src: SRC6, dst, extensions }, proto === 'tcp' ? tcp({ dst: port }) : udp({ dst: port })), vlans);
const chain = (n: number): Ipv6Extension[] => Array.from({ length: n }, (_, i) => ({ type: i === 0 ? 'hop-by-hop' : 'destination' }));

type Where = 'captured' | 'kernel';
const CASES: [string, Uint8Array, Where][] = [
  ['UDP to no rule\'s address', udp4('203.0.113.1', 5000), 'kernel'],
  ['UDP inside the first rule', udp4('192.0.2.200', 5500), 'captured'],
  ['the range\'s first port', udp4('192.0.2.7', 5000), 'captured'],
  ['the range\'s last port', udp4('192.0.2.7', 5999), 'captured'],
  ['the port just below the range', udp4('192.0.2.7', 4999), 'kernel'],
  ['the port just above the range', udp4('192.0.2.7', 6000), 'kernel'],
  ['TCP to a UDP rule', tcp4('192.0.2.7', 5000), 'kernel'],
  ['IPv6 TCP behind hop-by-hop and destination options', tcp6('2001:db8:1::5', [{ type: 'hop-by-hop' }, { type: 'destination', length: 1 }]), 'captured'],
  ['IPv6 TCP without extension headers', tcp6('2001:db8:1:ffff::1'), 'captured'],
  ['IPv6 UDP to a TCP rule', tcp6('2001:db8:1::5', [], undefined, 'udp'), 'kernel'],
  ['IPv6 outside the prefix', tcp6('2001:db8:2::1'), 'kernel'],
  ['IPv6 behind a routing header and a first fragment header', tcp6('2001:db8:1::5', [{ type: 'routing', length: 2 }, { type: 'fragment', more: true, id: 77 }]), 'captured'],
  // The later piece of the datagram just captured: it has no ports, and follows its first.
  ['an IPv6 later piece of the captured datagram', frame(ipv6({ src: SRC6, dst: '2001:db8:1::5', extensions: [{ type: 'fragment', offset: 185, id: 77 }] }, raw(6, new Uint8Array(16)))), 'captured'],
  ['an IPv6 later piece of another datagram', frame(ipv6({ src: SRC6, dst: '2001:db8:1::5', extensions: [{ type: 'fragment', offset: 185, id: 78 }] }, raw(6, new Uint8Array(16)))), 'kernel'],
  ['IPv6 behind 8 extension headers', tcp6('2001:db8:1::5', chain(8)), 'captured'],
  ['IPv6 behind 9 extension headers', tcp6('2001:db8:1::5', chain(9)), 'kernel'],
  ['ICMPv6', frame(ipv6({ src: SRC6, dst: '2001:db8:1::5' }, icmp6({ type: 128 }))), 'kernel'],
  ['802.1Q-tagged IPv4', udp4('192.0.2.7', 5000, { vlans: [100] }), 'captured'],
  ['802.1Q-tagged IPv6', tcp6('2001:db8:1::5', [], [100]), 'captured'],
  ['IPv4 in QinQ (802.1ad + 802.1Q)', udp4('192.0.2.7', 5000, { vlans: [10, 100] }), 'captured'],
  ['three tags', udp4('192.0.2.7', 5000, { vlans: [10, 100, 200] }), 'kernel'],
  ['IPv4 with options (IHL 6)', udp4('192.0.2.7', 5000, { options: 1 }), 'captured'],
  ['IPv4 with options (IHL 15)', udp4('192.0.2.7', 5000, { options: 10 }), 'captured'],
  ['IPv4 with IHL 4', (() => {
    const f = udp4('192.0.2.7', 5000).slice();
    f[14] = 0x44;
    return f;
  })(), 'kernel'],
  ['an IPv4 first fragment', udp4('192.0.2.8', 5000, { frag: { more: true, id: 5 } }), 'captured'],
  ['the IPv4 later piece of the captured datagram', udp4('192.0.2.8', 0, { frag: { offset: 185, id: 5 } }), 'captured'],
  ['an IPv4 later piece whose first was never seen', udp4('192.0.2.8', 0, { frag: { offset: 185, id: 6 } }), 'kernel'],
  ['ARP', frame({ etherType: 0x0806, bytes: new Uint8Array(28) }), 'kernel'],
  ['an Ethernet header alone', udp4('192.0.2.7', 5000).subarray(0, 14), 'kernel'],
  ['a truncated VLAN tag', udp4('192.0.2.7', 5000, { vlans: [100] }).subarray(0, 14 + 3), 'kernel'],
  ['a truncated inner VLAN tag', udp4('192.0.2.7', 5000, { vlans: [10, 100] }).subarray(0, 14 + 4 + 2), 'kernel'],
  ['a truncated IPv4 header', udp4('192.0.2.7', 5000).subarray(0, 14 + 19), 'kernel'],
  ['truncated IPv4 options', udp4('192.0.2.7', 5000, { options: 1 }).subarray(0, 14 + 22), 'kernel'],
  ['a truncated IPv6 header', tcp6('2001:db8:1::5').subarray(0, 14 + 39), 'kernel'],
  ['a truncated IPv6 extension header', tcp6('2001:db8:1::5', [{ type: 'hop-by-hop', length: 1 }]).subarray(0, 14 + 40 + 9), 'kernel'],
  ['a truncated UDP header', udp4('192.0.2.7', 5000).subarray(0, 14 + 20 + 7), 'kernel'],
  ['a truncated TCP header', tcp4('198.51.100.10', 80).subarray(0, 14 + 20 + 19), 'kernel'],
  ['the /0 rule: any IPv4 address (a)', udp4('10.1.2.3', 9999), 'captured'],
  ['the /0 rule: any IPv4 address (b)', udp4('255.255.255.255', 9999), 'captured'],
  ['the /0 IPv4 rule: not IPv6', tcp6('2001:db8:1::5', [], undefined, 'udp', 9999), 'kernel'],
  ['/31: the lower address', udp4('198.51.100.10', 80), 'captured'],
  ['/31: the upper address', udp4('198.51.100.11', 80), 'captured'],
  ['/31: the address above', udp4('198.51.100.12', 80), 'kernel'],
  ['/31: the address below', udp4('198.51.100.9', 80), 'kernel'],
];

const script = new SteerScript();
// A fresh object: no table, no rules; the program starts in capture mode with an empty bank.
const fresh = script.run(udp4('192.0.2.7', 5000));
const installed = script.capture(compileCaptureRules(RULES));
const runs = CASES.map(([, f]) => script.run(f));
// Refused: the rules before stay live.
const noFamily = script.capture(concat(compileCaptureRules(RULES), new Uint8Array(ABI.captureRule.size)));
const tooMany = script.capture(concat(...Array.from({ length: 65 }, () => compileCaptureRules(RULES.slice(0, 1)))));
const afterRefusals = script.run(udp4('192.0.2.7', 5000));
const shorter = script.capture(compileCaptureRules(RULES.slice(3)));
const gone = script.run(udp4('192.0.2.7', 5000));
const kept = script.run(udp4('10.1.2.3', 9999));
// A table makes the program a router's; capture rules make it a port's again; the mode brings the
// table back (the bank index is shared: the table's bank must be the one named).
const LOCAL = udp4('192.0.2.1', 2048 + 9);
const table = script.table(goldenCompiled().image);
const routed = script.run(LOCAL);
const recaptured = script.capture(compileCaptureRules(RULES));
const captured = script.run(LOCAL);
const express = script.mode('express');
const routedAgain = script.run(LOCAL);

beforeAll(() => {
  script.execute();
}, 300_000);

const pass = (steer: string) => ({ ok: true, retval: XDP.PASS, fates: {}, steer: { packets: 1, [steer]: 1 } });

describe('capture rules of a port without a table (BPF_PROG_TEST_RUN, valgrind)', () => {
  it('passes everything before any rule is set', () => {
    expect(script.answer(fresh)).toMatchObject(pass('pass_unmatched'));
  });

  it('takes the rules', () => {
    expect(script.answer(installed)).toEqual({ ok: true });
  });

  CASES.forEach(([name, f, where], i) => {
    it(`${name}: ${where === 'captured' ? 'to the socket (none bound: passed)' : 'to the kernel'}, unchanged`, () => {
      const answer = script.answer(runs[i]!);
      expect(answer).toMatchObject(pass(where === 'captured' ? 'pass_no_socket' : 'pass_unmatched'));
      expect(answer.out).toBe(hex(f));
    });
  });

  it('refuses a rule without a family and more rules than the program holds, keeping the live ones', () => {
    expect(script.answer(noFamily)).toEqual({ ok: false, code: 'ERR_INVALID_OPTION', message: 'Expected family 4 or 6 for capture rule 4 but received 0' });
    expect(script.answer(tooMany)).toEqual({ ok: false, code: 'ERR_INVALID_OPTION', message: 'Expected at most 64 capture rules but received 65' });
    expect(script.answer(afterRefusals)).toMatchObject(pass('pass_no_socket'));
  });

  it('a shorter list leaves no rule of the longer one behind', () => {
    expect(script.answer(shorter)).toEqual({ ok: true });
    expect(script.answer(gone)).toMatchObject(pass('pass_unmatched'));
    expect(script.answer(kept)).toMatchObject(pass('pass_no_socket'));
  });

  it('switches between a table and capture rules', () => {
    expect(script.answer(table)).toEqual({ ok: true, generation: 7 });
    expect(script.answer(routed)).toMatchObject({ retval: XDP.PASS, fates: { pass_local: 1 }, steer: { packets: 1 } });
    expect(script.answer(recaptured)).toEqual({ ok: true });
    expect(script.answer(captured)).toMatchObject(pass('pass_unmatched'));
    expect(script.answer(express)).toEqual({ ok: true });
    expect(script.answer(routedAgain)).toMatchObject({ retval: XDP.PASS, fates: { pass_local: 1 }, steer: { packets: 1 } });
  });
});
