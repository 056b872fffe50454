// Tables swapped under a running XDP program (BPF_PROG_TEST_RUN through native/test/steer_run.c,
// valgrind): each table published into the idle bank as a router publishes it, and every packet
// after the flip decided by the new table alone, slices moved, trusted peers shortened, the host's
// IPv6 address gone, decapsulation off, the table emptied. Fragments follow their first piece
// while its table lives, and not past it. The user-space core gives the same answers: under the
// same table (explain(frame, true)) and with fragment memory (steer_run's twin). Needs root.
import { IPv4, IPv4CidrRange, IPv6 } from 'ip-num';
import { beforeAll, describe, expect, it } from 'vitest';

import { ABI } from '../../src/generated/abi.js';
import { native } from '../../src/native.js';
import { SliceTable } from '../../src/slices/table.js';
import { goldenCompiled, goldenTable, type Fate } from '../fixtures/golden.js';
import { CLIENT4, GATEWAY_MAC, HOST_MAC, PEER6, PORTS, SHARED4, SHARED6, fromPeer, reply } from '../fixtures/golden-world.js';
import { ethernet, gue0, ipv4, raw } from '../fixtures/packets.js';
import { SteerScript, XDP } from './steer-run.js';

// ---- The tables ---------------------------------------------------------------------------------

/** The golden table with the local slice and a2's first slice traded. */
function traded(): SliceTable {
  const table = goldenTable();
  for (const destination of [IPv4.fromString(SHARED4), IPv6.fromString(SHARED6)]) {
    table.move({ destination, ports: { from: PORTS.self, to: PORTS.self + 2047 } }, 'a2');
    table.move({ destination, ports: { from: PORTS.a2, to: PORTS.a2 + 2047 } }, 'self');
  }
  return table;
}

/** The golden owners, and no slice. */
function emptied(): SliceTable {
  const table = goldenTable();
  for (const destination of [IPv4.fromString(SHARED4), IPv6.fromString(SHARED6)]) {
    for (const from of [...Object.values(PORTS), 63488]) table.release({ destination, ports: { from, to: from === 63488 ? 65535 : from + 2047 } });
  }
  return table;
}

/** The image with the host's IPv6 flag cleared: a host that lost its IPv6 address (compileTable
 * refuses to write one whose owners it cannot reach; the native side must take it). */
function withoutIpv6(image: Uint8Array): Uint8Array {
  const copy = image.slice();
  copy[ABI.tableHeader.fields.host.offset + ABI.host.fields.flags.offset]! &= ~ABI.table.hostFlags.ipv6;
  return copy;
}

// ---- The packets --------------------------------------------------------------------------------

const local4 = reply(4, PORTS.self + 9).frame;
const a2Four = reply(4, PORTS.a2 + 9).frame;
const a3Four = reply(4, PORTS.a3 + 9).frame;
const gueLocal4 = fromPeer({ outer: 4, payload: gue0(reply(4, PORTS.self + 9).inner) });
const gueLocal6 = fromPeer({ outer: 6, payload: gue0(reply(6, PORTS.self + 9).inner) });
const gueA2 = fromPeer({ outer: 4, payload: gue0(reply(4, PORTS.a2 + 9).inner) });
const onWire = (ip: Parameters<typeof ethernet>[1]) => ethernet({ dst: HOST_MAC, src: GATEWAY_MAC }, ip);
/** A UDP datagram to `port` cut in two: the first piece has the ports, the later one follows it. */
const pieces = (port: number, id: number) => {
  const first = ipv4({ src: CLIENT4, dst: SHARED4, id, moreFragments: true }, raw(17, udpHeader(port)));
  const later = ipv4({ src: CLIENT4, dst: SHARED4, id, fragmentOffset: 3 }, raw(17, new Uint8Array(24).fill(0xab)));
  return { first, later };
};
/** A UDP header announcing a 48-byte datagram, and the first 16 bytes of its payload. */
function udpHeader(port: number): Uint8Array {
  const h = new Uint8Array(24);
  h.set([0x9c, 0x40, port >> 8, port & 0xff, 0, 48]);
  return h;
}
const toA2 = pieces(PORTS.a2 + 9, 21);
const toSelf = pieces(PORTS.self + 9, 23);
const inGue = pieces(PORTS.self + 9, 24);

interface Step {
  name: string;
  frame: Uint8Array;
  fate: Fate;
  /** A later piece following its first: explain() has no fragment memory (the program and
   * steer_run's twin do), so it is not asked. */
  follows?: boolean;
}

interface Phase {
  name: string;
  image: Uint8Array;
  steps: Step[];
}

const PHASES: Phase[] = [
  {
    name: 'A: the golden table',
    image: goldenCompiled().image,
    steps: [
      { name: 'a local slice is passed', frame: local4, fate: 'pass_local' },
      { name: "a2's slice is sent on", frame: a2Four, fate: 'forward_server_gue' },
      { name: 'GUE over IPv6 for the local slice is unwrapped', frame: gueLocal6, fate: 'decap_local' },
      { name: "a first piece for a2's slice is sent on", frame: onWire(toA2.first), fate: 'forward_server_gue' },
      { name: 'its later piece follows', frame: onWire(toA2.later), fate: 'forward_server_gue', follows: true },
      { name: 'a later piece of another datagram does not', frame: onWire(pieces(PORTS.a2 + 9, 22).later), fate: 'drop_fragment' },
      { name: 'a first piece for the local slice is passed', frame: onWire(toSelf.first), fate: 'pass_local' },
      { name: 'its later piece follows', frame: onWire(toSelf.later), fate: 'pass_local', follows: true },
      { name: 'a first piece in GUE for the local slice is unwrapped', frame: fromPeer({ outer: 4, payload: gue0(inGue.first) }), fate: 'decap_local' },
      { name: 'its later piece, bare, follows', frame: onWire(inGue.later), fate: 'pass_local', follows: true },
    ],
  },
  {
    name: 'B: the local slice and one of a2\'s traded',
    image: goldenCompiled({ table: traded(), generation: 8 }).image,
    steps: [
      { name: 'the port that was local is sent to a2', frame: local4, fate: 'forward_server_gue' },
      { name: "the port that was a2's is local", frame: a2Four, fate: 'pass_local' },
      { name: 'GUE for the old local slice is sent on to a2', frame: gueLocal4, fate: 'forward_server_gue' },
      { name: "GUE for a2's old slice is unwrapped", frame: gueA2, fate: 'decap_local' },
      { name: "a later piece whose first went under the old table is not followed", frame: onWire(toA2.later), fate: 'drop_fragment' },
    ],
  },
  {
    name: 'C: the IPv6 trusted peers dropped',
    image: goldenCompiled({ host: { trustedPeers: [IPv4CidrRange.fromCidr('10.0.0.0/8')] }, generation: 9 }).image,
    steps: [
      { name: 'GUE from the IPv6 peer is not trusted any more', frame: gueLocal6, fate: 'drop_untrusted_gue' },
      { name: 'GUE from the IPv4 peer still is', frame: gueLocal4, fate: 'decap_local' },
      { name: 'GUE from an address the old list trusted is not', frame: fromPeer({ outer: 6, src: PEER6.replace('::1', '::2'), payload: gue0(reply(6, PORTS.self + 9).inner) }), fate: 'drop_untrusted_gue' },
    ],
  },
  {
    name: 'D: the host without its IPv6 address',
    image: withoutIpv6(goldenCompiled({ generation: 10 }).image),
    steps: [
      { name: 'GUE to the former IPv6 address is not ours to unwrap', frame: gueLocal6, fate: 'pass_unmanaged' },
      { name: 'GUE over IPv4 still is', frame: gueLocal4, fate: 'decap_local' },
      { name: 'a3, reached over IPv6, cannot be sent to', frame: a3Four, fate: 'drop_no_source' },
      { name: 'a2, over IPv4, can', frame: a2Four, fate: 'forward_server_gue' },
    ],
  },
  {
    name: 'E: GUE port 0 turns decapsulation off',
    image: goldenCompiled({ host: { guePort: 0 }, generation: 11 }).image,
    steps: [
      { name: 'GUE from a trusted peer for the local slice stays wrapped', frame: gueLocal4, fate: 'pass_unmanaged' },
      { name: 'the local slice is still passed', frame: local4, fate: 'pass_local' },
    ],
  },
  {
    name: 'F: an empty table',
    image: goldenCompiled({ table: emptied(), generation: 12 }).image,
    steps: [
      { name: 'the local slice is gone', frame: local4, fate: 'pass_unmanaged' },
      { name: 'GUE is unwrapped, and its packet is nobody\'s', frame: gueLocal4, fate: 'drop_gue_not_managed' },
    ],
  },
];

const script = new SteerScript();
const plan = PHASES.map((phase) => ({ phase, table: script.table(phase.image), runs: phase.steps.map((s) => script.run(s.frame)) }));

beforeAll(() => {
  script.execute();
}, 300_000);

const KERNEL: readonly string[] = ['pass_local', 'decap_local', 'pass_unmanaged', 'pass_unparsed'];
const TRANSMIT: readonly string[] = ['forward_server_gue', 'forward_server_l2', 'encap_datacenter', 'reply_too_big', 'reply_probe'];

describe('tables swapped under the XDP program (BPF_PROG_TEST_RUN, valgrind)', () => {
  for (const { phase, table, runs } of plan) {
    describe(phase.name, () => {
      const view = new (native().SliceView)(phase.image);

      it('is published', () => {
        expect(script.answer(table)).toMatchObject({ ok: true });
      });

      phase.steps.forEach((step, i) => {
        it(`${step.name}: ${step.fate}`, () => {
          const answer = script.answer(runs[i]!);
          expect({ fates: answer.fates, steer: answer.steer }).toEqual({ fates: { [step.fate]: 1 }, steer: { packets: 1 } });
          expect(answer.retval).toBe(KERNEL.includes(step.fate) ? XDP.PASS : TRANSMIT.includes(step.fate) ? XDP.TX : XDP.DROP);
          // The user-space core, with the fragments it saw, sends or passes the same bytes.
          expect(answer.core?.fate).toBe(step.fate);
          if (answer.core?.out) expect(answer.out).toBe(answer.core.out);
          if (!step.follows) expect(view.explain(step.frame, true).fate).toBe(step.fate);
        });
      });
    });
  }

  it('sends a later piece in GUE with its first piece\'s source port', () => {
    const first = script.answer(plan[0]!.runs[3]!).out ?? '';
    const later = script.answer(plan[0]!.runs[4]!).out ?? '';
    // Outer Ethernet 14 + IPv4 20: the UDP source port (GUE flow entropy, draft 5.11.2).
    expect(later.slice(68, 72)).toBe(first.slice(68, 72));
    expect(first.length).toBeGreaterThan(72);
  });
});
