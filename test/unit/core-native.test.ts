// The fast path's C core (native/core): its C tests (one program per subject) under valgrind,
// and the addon's SliceView (table image checks, explain) as TypeScript sees it. No root needed.
import { describe, expect, it } from 'vitest';

import { ClosedError, InvalidOptionError, InvalidTableError } from '../../src/errors.js';
import { ABI } from '../../src/generated/abi.js';
import { native } from '../../src/native.js';
import { runUnderValgrind } from '../native-run.js';

// src/native.ts declares the binding's classes; this is the slice of SliceView the test uses.
interface SliceViewApi {
  generation(): bigint;
  explain(frame: Uint8Array, asXdp?: boolean): { fate: string; output: Uint8Array | null };
  release(): void;
}
type SliceViewClass = new (image: unknown) => SliceViewApi;
const SliceView = (): SliceViewClass => (native() as unknown as { SliceView: SliceViewClass }).SliceView;

// ---- A hand-made table image, laid out from the generated ABI ---------------------------------

interface Owner {
  kind: keyof typeof ABI.table.ownerKinds;
  encap: keyof typeof ABI.table.encaps;
  family: 0 | 4 | 6;
  endpoint?: number[];
  mac?: number[];
}
interface Key {
  family: 4 | 6;
  prefixLen: number;
  protocol: 6 | 17;
  addr: number[];
  ranges: [first: number, last: number, owner: number][];
}

const HOST_MAC = [0x02, 0, 0, 0, 0, 0x01];
const HOST_IPV4 = [192, 0, 2, 1];
const SHARED = [198, 51, 100, 10];

function image(owners: Owner[], keys: Key[], generation = 7n): Uint8Array {
  const { tableHeader: th, host: hs, owner: os, sliceKey: ks, portRange: rs } = ABI;
  const rangeCount = keys.reduce((n, k) => n + k.ranges.length, 0);
  const size = th.size + owners.length * os.size + keys.length * ks.size + rangeCount * rs.size;
  const bytes = new Uint8Array(size);
  const view = new DataView(bytes.buffer);
  const f = th.fields;
  view.setUint32(f.magic.offset, ABI.table.magic, true);
  view.setUint32(f.abi_version.offset, ABI.abiVersion, true);
  view.setBigUint64(f.generation.offset, generation, true);
  view.setUint32(f.owner_count.offset, owners.length, true);
  view.setUint32(f.key_count.offset, keys.length, true);
  view.setUint32(f.range_count.offset, rangeCount, true);
  const host = f.host.offset;
  bytes.set(HOST_MAC, host + hs.fields.mac.offset);
  view.setUint16(host + hs.fields.mtu.offset, 1500, true);
  view.setUint16(host + hs.fields.gue_port.offset, ABI.gue.defaultPort, true);
  bytes[host + hs.fields.flags.offset] = ABI.table.hostFlags.ipv4;
  view.setUint32(host + hs.fields.flow_hash_seed.offset, 1, true);
  bytes.set(HOST_IPV4, host + hs.fields.ipv4.offset);

  let at = th.size;
  for (const o of owners) {
    bytes[at + os.fields.kind.offset] = ABI.table.ownerKinds[o.kind];
    bytes[at + os.fields.encap.offset] = ABI.table.encaps[o.encap];
    bytes[at + os.fields.family.offset] = o.family;
    view.setUint16(at + os.fields.gue_port.offset, ABI.gue.defaultPort, true);
    if (o.mac) {
      bytes[at + os.fields.flags.offset] = ABI.table.ownerFlags.nextHopKnown;
      bytes.set(o.mac, at + os.fields.next_hop_mac.offset);
    }
    if (o.endpoint) bytes.set(o.endpoint, at + os.fields.endpoint.offset);
    at += os.size;
  }
  let range = 0;
  for (const k of keys) {
    bytes[at + ks.fields.family.offset] = k.family;
    bytes[at + ks.fields.prefix_len.offset] = k.prefixLen;
    bytes[at + ks.fields.protocol.offset] = k.protocol;
    view.setUint32(at + ks.fields.range_first.offset, range, true);
    view.setUint32(at + ks.fields.range_count.offset, k.ranges.length, true);
    bytes.set(k.addr, at + ks.fields.addr.offset);
    range += k.ranges.length;
    at += ks.size;
  }
  for (const k of keys) {
    for (const [first, last, owner] of k.ranges) {
      view.setUint16(at + rs.fields.first.offset, first, true);
      view.setUint16(at + rs.fields.last.offset, last, true);
      view.setUint32(at + rs.fields.owner.offset, owner, true);
      at += rs.size;
    }
  }
  return bytes;
}

const SERVER_MAC = [0x02, 0, 0, 0, 0, 0x22];
const DC_MAC = [0x02, 0, 0, 0, 0, 0x55];
const DC_ENDPOINT = [203, 0, 113, 5];
const owners: Owner[] = [
  { kind: 'LOCAL', encap: 'GUE0', family: 0 },
  { kind: 'SERVER', encap: 'L2', family: 0, mac: SERVER_MAC },
  { kind: 'DATACENTER', encap: 'GUE1', family: 4, endpoint: DC_ENDPOINT, mac: DC_MAC },
];
const keys: Key[] = [
  {
    family: 4,
    prefixLen: 32,
    protocol: 17,
    addr: SHARED,
    ranges: [
      [1000, 1999, 0],
      [2000, 2999, 1],
      [5000, 5999, 2],
    ],
  },
];

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
    ['image', 'image checks and mutated images and frames'],
    ['lookup', 'lookups across prefix lengths, a million keys'],
    ['route', 'golden packets to every kind of owner, a round trip'],
    ['decap', 'GUE unwrapped, forwarded on or dropped'],
    ['parse', 'fragments, truncated and inconsistent frames'],
  ])('C tests of %s: %s (valgrind clean)', (subject) => {
    const { output, status } = runUnderValgrind(`core_${subject}_test`);
    expect(output).not.toMatch(/^not ok/m);
    expect(output).toMatch(/^\d+ passed, 0 failed$/m);
    expect(status, output).toBe(0);
  });

  it('SliceView: generation as a BigInt', () => {
    const view = new (SliceView())(image(owners, keys, 1234567890123n));
    expect(view.generation()).toBe(1234567890123n);
  });

  it('SliceView.explain: an L2 forward rewrites only the MAC addresses', () => {
    const view = new (SliceView())(image(owners, keys));
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
    const view = new (SliceView())(image(owners, keys));
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
    const view = new (SliceView())(image(owners, keys));
    expect(view.explain(udpFrame(4000))).toEqual({ fate: 'drop_no_owner', output: null });
    // A total length past the frame, to a managed address: never the kernel's.
    const lying = udpFrame(2000);
    lying[16] = 1;
    expect(view.explain(lying)).toEqual({ fate: 'drop_malformed', output: null });
    expect(view.explain(lying, true)).toEqual({ fate: 'drop_malformed', output: null });
  });

  it("SliceView.explain: the kernel's packets are passed by the XDP program, a worker's drop_local", () => {
    const view = new (SliceView())(image(owners, keys));
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
    const bad = image(owners, [{ ...keys[0]!, ranges: [[3000, 2000, 1]] }]);
    expect(() => new (SliceView())(bad)).toThrow(InvalidTableError);
    try {
      new (SliceView())(bad);
    } catch (error) {
      expect(error).toMatchObject({
        code: 'ERR_INVALID_TABLE',
        message: 'Invalid table image: key 0 (UDP 198.51.100.10/32): range 0 (ports 3000-2000) is reversed',
      });
    }
    const short = image(owners, keys).subarray(0, 100);
    expect(() => new (SliceView())(short)).toThrow(
      /^Invalid table image: 100 bytes, but its counts \(trusted prefixes 0, peers 0, owners 3, keys 1, ranges 3\) make 220$/,
    );
    expect(() => new (SliceView())([1, 2, 3])).toThrow(InvalidOptionError);
    expect(() => new (SliceView())('x')).toThrow('Expected a Uint8Array for image but received a string');
  });

  it('release() frees the table; the view then throws ClosedError', () => {
    const view = new (SliceView())(image(owners, keys));
    view.release();
    view.release(); // idempotent
    expect(() => view.explain(udpFrame(2500))).toThrow(ClosedError);
    expect(() => view.generation()).toThrow('The SliceView was released');
  });
});
