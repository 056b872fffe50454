// The fast path's C core (native/core): its C tests (one program per subject) under valgrind,
// and the addon's SliceView (table image checks, explain) as TypeScript sees it. No root needed.
import { IPv4 } from 'ip-num';
import { describe, expect, it } from 'vitest';

import { ClosedError, InvalidOptionError, InvalidTableError } from '../../src/errors.js';
import { ABI } from '../../src/generated/abi.js';
import { native } from '../../src/native.js';
import { compileTable } from '../../src/slices/compile.js';
import { SliceTable } from '../../src/slices/table.js';
import { runUnderValgrind } from '../native-run.js';

// src/native.ts declares the binding's classes; this is the slice of SliceView the test uses.
interface SliceViewApi {
  generation(): bigint;
  explain(frame: Uint8Array, asXdp?: boolean): { fate: string; output: Uint8Array | null };
  release(): void;
}
type SliceViewClass = new (image: unknown) => SliceViewApi;
const SliceView = (): SliceViewClass => (native() as unknown as { SliceView: SliceViewClass }).SliceView;

// ---- The table: compiled by compileTable, the one writer of images -------------------------

const HOST_MAC = [0x02, 0, 0, 0, 0, 0x01];
const HOST_IPV4 = [192, 0, 2, 1];
const SHARED = [198, 51, 100, 10];
const SERVER_MAC = [0x02, 0, 0, 0, 0, 0x22];
const DC_MAC = [0x02, 0, 0, 0, 0, 0x55];
const DC_ENDPOINT = [203, 0, 113, 5];
const mac = (bytes: number[]): string => bytes.map((b) => b.toString(16).padStart(2, '0')).join(':');
const dotted = (bytes: number[]): string => bytes.join('.');

/** UDP to the shared address: 1000-1999 this host's, 2000-2999 a server's (L2), 5000-5999 a data centre's (GUE1). */
function image(generation = 7): Uint8Array {
  const table = new SliceTable()
    .defineOwner('me', { kind: 'local' })
    .defineOwner('a2', { kind: 'server', address: IPv4.fromString('192.0.2.22'), encap: 'l2', mac: mac(SERVER_MAC) })
    .defineOwner('dc', { kind: 'datacenter', endpoint: IPv4.fromString(dotted(DC_ENDPOINT)), encap: 'gue1' });
  const destination = IPv4.fromString(dotted(SHARED));
  for (const [from, owner] of [[1000, 'me'], [2000, 'a2'], [5000, 'dc']] as const) {
    table.assign({ destination, protocols: ['udp'], ports: { from, to: from + 999 }, owner });
  }
  const host = { mac: mac(HOST_MAC), mtu: 1500, ipv4: IPv4.fromString(dotted(HOST_IPV4)), flowHashSeed: 1 };
  return compileTable(table, host, { generation, nextHops: new Map([['dc', mac(DC_MAC)]]) }).image;
}

/** Where the port-slice section's ranges start in `bytes` (its keys first: table.h). */
function rangesAt(bytes: Uint8Array): number {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const f = ABI.tableHeader.fields;
  const sectionAt = view.getUint32(f.sections.offset + ABI.section.fields.offset.offset, true);
  return sectionAt + view.getUint32(f.key_count.offset, true) * ABI.sliceKey.size;
}

// An Ethernet + IPv4 + UDP frame to the shared address.
function udpFrame(dport: number, payload = 6): Uint8Array {
  const frame = new Uint8Array(14 + 20 + 8 + payload);
  const view = new DataView(frame.buffer);
  frame.set(HOST_MAC, 0);
  frame.set([0x02, 0, 0, 0, 0, 0x99], 6);
  view.setUint16(12, 0x0800);
  frame[14] = 0x45;
  view.setUint16(16, 20 + 8 + payload);
  frame[22] = 64;
  frame[23] = 17;
  frame.set([192, 0, 2, 77], 26);
  frame.set(SHARED, 30);
  view.setUint16(34, 40000);
  view.setUint16(36, dport);
  view.setUint16(38, 8 + payload);
  for (let i = 0; i < payload; i++) frame[42 + i] = i + 1;
  return frame;
}

describe('fast path core (native/core)', () => {
  // native/test/core_*_test.c, one program per subject.
  it.each([
    ['image', 'image checks: every rejection and its message'],
    ['mutation', 'mutated images and frames: built or refused, routed inside their buffers'],
    ['lookup', 'lookups across prefix lengths, a million keys'],
    ['route', 'golden packets to every kind of owner, a round trip'],
    ['decap', 'GUE unwrapped, forwarded on or dropped'],
    ['parse', 'fragments, truncated and inconsistent frames'],
    ['flow', 'the flow-hash section: each rule, flows to their rows'],
  ])('C tests of %s: %s (valgrind clean)', (subject) => {
    const { output, status } = runUnderValgrind(`core_${subject}_test`);
    expect(output).not.toMatch(/^not ok/m);
    expect(output).toMatch(/^\d+ passed, 0 failed$/m);
    expect(status, output).toBe(0);
  });

  it('SliceView: generation as a BigInt', () => {
    const view = new (SliceView())(image(1234567890123));
    expect(view.generation()).toBe(1234567890123n);
  });

  it('SliceView.explain: an L2 forward rewrites only the MAC addresses', () => {
    const view = new (SliceView())(image());
    const frame = udpFrame(2500);
    const before = frame.slice();
    const { fate, output } = view.explain(frame);
    expect(fate).toBe('forward_server_l2');
    const expected = before.slice();
    expected.set(SERVER_MAC, 0);
    expected.set(HOST_MAC, 6);
    expect(output).toEqual(expected);
    expect(frame).toEqual(before); // the caller's bytes are not touched
  });

  it('SliceView.explain: a data centre slice is wrapped in GUE variant 1 over IPv4', () => {
    const view = new (SliceView())(image());
    const frame = udpFrame(5000, 11);
    const { fate, output } = view.explain(frame);
    expect(fate).toBe('encap_datacenter');
    expect(output).not.toBeNull();
    const out = output as Uint8Array;
    const dv = new DataView(out.buffer, out.byteOffset, out.byteLength);
    const inner = frame.subarray(14);
    expect(out.length).toBe(14 + 20 + 8 + inner.length);
    expect([...out.subarray(0, 6)]).toEqual(DC_MAC);
    expect([...out.subarray(6, 12)]).toEqual(HOST_MAC);
    expect(dv.getUint16(12)).toBe(0x0800);
    expect(out[14]).toBe(0x45);
    expect(dv.getUint16(16)).toBe(20 + 8 + inner.length);
    expect(dv.getUint16(20)).toBe(0x4000); // DF
    expect(out[22]).toBe(64);
    expect(out[23]).toBe(17);
    expect([...out.subarray(26, 30)]).toEqual(HOST_IPV4);
    expect([...out.subarray(30, 34)]).toEqual(DC_ENDPOINT);
    expect(dv.getUint16(34)).toBeGreaterThanOrEqual(ABI.gue.sourcePortMin);
    expect(dv.getUint16(36)).toBe(ABI.gue.defaultPort);
    expect(dv.getUint16(38)).toBe(8 + inner.length);
    expect(dv.getUint16(40)).toBe(0); // no UDP checksum over IPv4 (draft-ietf-intarea-gue-09 5.8)
    expect(out.subarray(42)).toEqual(inner);
    // The same flow twice: the same source port (flow entropy is stable).
    expect(view.explain(frame).output).toEqual(out);
  });

  it('SliceView.explain: drops name their counter and have no output', () => {
    const view = new (SliceView())(image());
    expect(view.explain(udpFrame(4000))).toEqual({ fate: 'drop_no_owner', output: null });
    // A total length past the frame, to a managed address: never the kernel's.
    const lying = udpFrame(2000);
    lying[16] = 1;
    expect(view.explain(lying)).toEqual({ fate: 'drop_malformed', output: null });
    expect(view.explain(lying, true)).toEqual({ fate: 'drop_malformed', output: null });
  });

  it("SliceView.explain: the kernel's packets are passed by the XDP program, a worker's drop_local", () => {
    const view = new (SliceView())(image());
    const local = udpFrame(1500);
    expect(view.explain(local)).toEqual({ fate: 'drop_local', output: null });
    expect(view.explain(local, true)).toEqual({ fate: 'pass_local', output: local });
    // An IP header that ends before the addresses: not ours to judge (the kernel drops it).
    const cut = udpFrame(2000).subarray(0, 30);
    expect(view.explain(cut)).toEqual({ fate: 'drop_local', output: null });
    expect(view.explain(cut, true)).toEqual({ fate: 'pass_unparsed', output: cut });
    expect(view.explain(new Uint8Array(0), true)).toEqual({ fate: 'pass_unparsed', output: new Uint8Array(0) });
  });

  it('rejects a bad image with InvalidTableError naming the problem', () => {
    // The first range made reversed: compileTable never writes one, the native side must refuse it.
    const bad = image();
    const first = rangesAt(bad);
    new DataView(bad.buffer, bad.byteOffset).setUint16(first + ABI.portRange.fields.first.offset, 3000, true);
    new DataView(bad.buffer, bad.byteOffset).setUint16(first + ABI.portRange.fields.last.offset, 2000, true);
    expect(() => new (SliceView())(bad)).toThrow(InvalidTableError);
    try {
      new (SliceView())(bad);
    } catch (error) {
      expect(error).toMatchObject({
        code: 'ERR_INVALID_TABLE',
        message: 'Invalid table image: key 0 (UDP 198.51.100.10/32): range 0 (ports 3000-2000) is reversed',
      });
    }
    const whole = image();
    expect(() => new (SliceView())(whole.subarray(0, whole.length - 1))).toThrow(
      `Invalid table image: section 0 (port-slice) ends at byte ${whole.length}, past the image's ${whole.length - 1} bytes`,
    );
    // A key kind this build does not know: refused by name, with the kinds it knows.
    const unknownKind = image();
    new DataView(unknownKind.buffer, unknownKind.byteOffset).setUint32(ABI.tableHeader.fields.sections.offset + ABI.section.fields.kind.offset, 9, true);
    expect(() => new (SliceView())(unknownKind)).toThrow('Invalid table image: section 0 has key kind 9, expected one of: 1 (port-slice) 2 (flow-hash) 3 (address-slice)');
    expect(() => new (SliceView())([1, 2, 3])).toThrow(InvalidOptionError);
    expect(() => new (SliceView())('x')).toThrow('Expected a Uint8Array for image but received a string');
  });

  it('release() frees the table; the view then throws ClosedError', () => {
    const view = new (SliceView())(image());
    view.release();
    view.release(); // idempotent
    expect(() => view.explain(udpFrame(2500))).toThrow(ClosedError);
    expect(() => view.generation()).toThrow('The SliceView was released');
  });
});
