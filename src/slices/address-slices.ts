// The address-slice key kind (issue 16) and its section of a table image (native/include/softunicast/
// table.h: a head of its own counts, the services, then each service's 2^bits rows of primary and
// secondary owner), compiled from a SliceTable's address services (address-services.ts). Listed in kinds.ts.
import { endianness } from 'node:os';

import { ABI } from '../generated/abi.js';
import type { AddressService } from './address-services.js';
import type { KeyKind, KindSection } from './kind.js';
import type { TableState } from './state.js';

const FILTER = { none: 0, drop: 1, owner: 2 } as const;

/** The service's prefix (at most /64) as 16 bytes, network order. */
function writePrefix(bytes: Uint8Array, at: number, network: bigint): void {
  for (let i = 0; i < 16; i++) bytes[at + i] = Number((network >> BigInt(120 - 8 * i)) & 0xffn);
}

/**
 * The section of `services` (sorted by address), owners by `owner` (name -> image index). A service's
 * row r is the slice holding the r-th /(prefix + bits) of its prefix: a coarser slice fills
 * 2^(finest - its length) rows, so that the lookup reads one row whatever the number of slices.
 */
export function compileAddressServices(services: readonly AddressService[], owner: (name: string) => number): Uint8Array {
  const sorted = [...services].sort((a, b) => (a.network < b.network ? -1 : 1));
  const { addrHead: head, addrService: svc, flowRow: row } = ABI;
  const rowCount = sorted.reduce((n, s) => n + 2 ** s.bits, 0);
  const rowsAt = head.size + svc.size * sorted.length;
  const bytes = new Uint8Array(rowsAt + row.size * rowCount);
  const view = new DataView(bytes.buffer);
  const little = endianness() === 'LE';
  view.setUint32(head.fields.service_count.offset, sorted.length, little);
  view.setUint32(head.fields.row_count.offset, rowCount, little);
  let first = 0;
  sorted.forEach((s, i) => {
    const at = head.size + i * svc.size;
    writePrefix(bytes, at + svc.fields.addr.offset, s.network);
    bytes[at + svc.fields.prefix_len.offset] = s.length;
    bytes[at + svc.fields.bits.offset] = s.bits;
    view.setUint32(at + svc.fields.row_first.offset, first, little);
    if (s.filter) {
      const nc = s.filter.nonConforming;
      bytes[at + svc.fields.filter.offset] = nc === 'drop' ? FILTER.drop : FILTER.owner;
      bytes[at + svc.fields.source_bits.offset] = s.filter.sourceBits;
      if (nc !== 'drop') view.setUint32(at + svc.fields.filter_owner.offset, owner(nc.owner), little);
      bytes.set(Buffer.from(s.filter.key, 'hex'), at + svc.fields.key.offset);
    }
    const finest = s.length + s.bits;
    for (const slice of s.slices) {
      const start = first + Number((slice.network - s.network) >> BigInt(128 - finest));
      const count = 2 ** (finest - slice.length);
      const primary = owner(slice.owner);
      const secondary = owner(slice.secondary);
      for (let r = start; r < start + count; r++) {
        view.setUint32(rowsAt + r * row.size + row.fields.primary.offset, primary, little);
        view.setUint32(rowsAt + r * row.size + row.fields.secondary.offset, secondary, little);
      }
    }
    first += 2 ** s.bits;
  });
  return bytes;
}

export const addressSliceKind: KeyKind = {
  name: 'address-slice',
  compile(state: TableState, imageOwner: Int32Array): KindSection | undefined {
    if (state.addressServices.length === 0) return undefined;
    const ids = new Map<string, number>();
    state.names.forEach((name, id) => {
      if (name !== undefined) ids.set(name, id);
    });
    const bytes = compileAddressServices(state.addressServices, (name) => imageOwner[ids.get(name)!]!);
    const slices = state.addressServices.reduce((n, s) => n + s.slices.length, 0);
    return { bytes, header: {}, stats: { slices } };
  },
};
