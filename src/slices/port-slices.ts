// The port-slice key kind (soft-unicast: destination address or prefix, protocol, port range) and
// its section of a table image (native/include/softunicast/table.h: keys of destination prefix and
// protocol, each with its sorted, merged port ranges and their owners), compiled from a
// SliceTable's slices. Listed in kinds.ts; compileTable (compile.ts) lays the image out.
import { SliceOverlapError } from '../errors.js';
import { ABI } from '../generated/abi.js';
import { FAMILY_V4, FAMILY_V6, formatPrefix, writeAddress, type Prefix } from './address.js';
import { ownerOf, protoOf, type Group } from './slice.js';
import type { KeyKind } from './kind.js';
import { sortedGroups, type TableState } from './state.js';

// IANA protocol numbers, as the IP header carries them (the keys' `protocol` field).
const IPPROTO_TCP = 6;
const IPPROTO_UDP = 17;
/** Owner records an image may hold: a range's sort key packs the owner index into 21 bits. */
export const OWNERS_MAX = 2 ** 21;

/** The keys then the ranges, as the image holds them, and their counts. */
export interface PortSliceSection {
  bytes: Uint8Array;
  keys: number;
  ranges: number;
  slices: number;
}

/**
 * Sorts a key's ports (with their owners) by ports: insertion sort for the short runs an address
 * usually has, else a native numeric sort of ports * 2^21 + owner (exact below 2^53).
 */
function sortRun(ports: Float64Array, owners: Int32Array, n: number, packed: Float64Array): void {
  if (n > 24) {
    for (let i = 0; i < n; i++) packed[i] = ports[i]! * OWNERS_MAX + owners[i]!;
    packed.subarray(0, n).sort();
    for (let i = 0; i < n; i++) {
      const p = Math.floor(packed[i]! / OWNERS_MAX);
      ports[i] = p;
      owners[i] = packed[i]! - p * OWNERS_MAX;
    }
    return;
  }
  for (let i = 1; i < n; i++) {
    const p = ports[i]!;
    const o = owners[i]!;
    let j = i - 1;
    while (j >= 0 && ports[j]! > p) {
      ports[j + 1] = ports[j]!;
      owners[j + 1] = owners[j]!;
      j--;
    }
    ports[j + 1] = p;
    owners[j + 1] = o;
  }
}

/** Keys, an upper bound of ranges, slices and the longest run of one key, for sizing. */
function measure(groups: readonly Group[], data: Float64Array): { keys: number; rangeBound: number; slices: number; longest: number } {
  let keys = 0;
  let rangeBound = 0;
  let slices = 0;
  let longest = 0;
  for (const g of groups) {
    let tcp = 0;
    let udp = 0;
    for (let i = g.at + 1; i < g.at + g.n * 2; i += 2) {
      const bits = protoOf(data[i]!);
      tcp += bits & 1;
      udp += bits >> 1;
    }
    keys += (tcp > 0 ? 1 : 0) + (udp > 0 ? 1 : 0);
    rangeBound += tcp + udp;
    slices += g.n;
    longest = Math.max(longest, tcp, udp);
  }
  return { keys, rangeBound, slices, longest };
}

/**
 * The section of every slice of `state`, owners by `imageOwner` (the owner id's record index in
 * the image): one key per prefix and protocol, by address, each with its slices' ports sorted and
 * neighbours of one owner merged into one range.
 */
export function compilePortSlices(state: TableState, imageOwner: Int32Array): PortSliceSection {
  const data = state.data;
  const groups: Group[] = [...sortedGroups(state, FAMILY_V4), ...sortedGroups(state, FAMILY_V6)];
  const m = measure(groups, data);
  const K = ABI.sliceKey;
  const R = ABI.portRange;
  const rangesAt = m.keys * K.size;
  const capacity = rangesAt + m.rangeBound * R.size;
  // Every section size is a multiple of 4 (table.h), so 16- and 32-bit views line up; typed
  // arrays use the platform's byte order, which is the host byte order the image wants.
  const buffer = new ArrayBuffer(capacity);
  const u8 = new Uint8Array(buffer);
  const u16 = new Uint16Array(buffer, 0, capacity >> 1);
  const u32 = new Uint32Array(buffer, 0, capacity >> 2);
  const rFirst = R.fields.first.offset >> 1;
  const rLast = R.fields.last.offset >> 1;
  const rOwner = R.fields.owner.offset >> 2;
  const scratchPorts = new Float64Array(Math.max(m.longest, 1));
  const scratchOwners = new Int32Array(Math.max(m.longest, 1));
  const packed = new Float64Array(Math.max(m.longest, 1));
  let key = 0;
  let range = 0;
  for (const g of groups) {
    const p = g.prefix;
    for (let bit = 1; bit <= 2; bit++) {
      const n = keyRun(g, bit, data, imageOwner, scratchPorts, scratchOwners, packed);
      if (n === 0) continue;
      const first = range;
      range = writeRanges(scratchPorts, scratchOwners, n, p, (index, from, to, owner) => {
        const at = (rangesAt + index * R.size) >> 1;
        u16[at + rFirst] = from;
        u16[at + rLast] = to;
        u32[(at >> 1) + rOwner] = owner;
      }, range);
      const at = key * K.size;
      u8[at + K.fields.family.offset] = p.family;
      u8[at + K.fields.prefix_len.offset] = p.len;
      u8[at + K.fields.protocol.offset] = bit === 1 ? IPPROTO_TCP : IPPROTO_UDP;
      u32[(at + K.fields.range_first.offset) >> 2] = first;
      u32[(at + K.fields.range_count.offset) >> 2] = range - first;
      writeAddress(u8, at + K.fields.addr.offset, p.family, p.v4, p.v6);
      key++;
    }
  }
  const size = rangesAt + range * R.size;
  return { bytes: size === capacity ? u8 : u8.slice(0, size), keys: m.keys, ranges: range, slices: m.slices };
}

/** Ports (from * 65536 + to) and owner image index of the key's slices (protocol `bit`) in the
 * scratch arrays, sorted by ports; how many. */
function keyRun(g: Group, bit: number, data: Float64Array, imageOwner: Int32Array, ports: Float64Array, owners: Int32Array, packed: Float64Array): number {
  let n = 0;
  let sorted = true;
  for (let i = g.at; i < g.at + g.n * 2; i += 2) {
    const meta = data[i + 1]!;
    if ((meta & bit) === 0) continue;
    const p = data[i]!;
    if (n > 0 && p < ports[n - 1]!) sorted = false;
    ports[n] = p;
    owners[n] = imageOwner[ownerOf(meta)]!;
    n++;
  }
  if (n > 0 && !sorted) sortRun(ports, owners, n, packed);
  return n;
}

/** Writes a key's `n` sorted slices as ranges with `put`, merging neighbours of one owner, from
 * index `range` on; the next range index. */
function writeRanges(
  ports: Float64Array, owners: Int32Array, n: number, prefix: Prefix,
  put: (index: number, from: number, to: number, owner: number) => void, range: number,
): number {
  let owner = owners[0]!;
  let from = ports[0]! >>> 16;
  let to = ports[0]! & 0xffff;
  for (let k = 1; k <= n; k++) {
    let o = -1;
    let f = 0;
    let t = 0;
    if (k < n) {
      const p = ports[k]!;
      o = owners[k]!;
      f = p >>> 16;
      t = p & 0xffff;
      // Same owner (after deduplication) and touching or overlapping: one range.
      if (o === owner && f <= to + 1) {
        if (t > to) to = t;
        continue;
      }
      if (f <= to) {
        // SliceTable never lets different owners overlap; this guards the invariant.
        throw new SliceOverlapError(`Internal error: ports ${f}-${t} and ${from}-${to} of ${formatPrefix(prefix)} have different owners`);
      }
    }
    put(range, from, to, owner);
    range++;
    owner = o;
    from = f;
    to = t;
  }
  return range;
}

/** port-slice as kinds.ts lists it. Its entries are checked by SliceTable (slice-store.ts and overlaps.ts:
 * owners, no overlap between owners; kinds-apart.ts: none with an address service); explain() reports the slice the C lookup (native/core/lookup.h) found. */
export const portSliceKind: KeyKind = {
  name: 'port-slice',
  compile(state, imageOwner) {
    const s = compilePortSlices(state, imageOwner);
    return { bytes: s.bytes, header: { key_count: s.keys, range_count: s.ranges }, stats: { slices: s.slices, keys: s.keys, ranges: s.ranges } };
  },
};
