// The flow-hash key kind (issue 15: a service's Maglev table over the flow hash) and its section
// of a table image (native/include/softunicast/table.h: a head of its own counts, the services
// sorted, then each service's rows of primary and secondary owner), compiled from a SliceTable's
// services (services.ts). Listed in kinds.ts; compileTable (compile.ts) lays the image out.
import { endianness } from 'node:os';

import { ABI } from '../generated/abi.js';
import { FAMILY_V4, writeAddress } from './address.js';
import type { KeyKind, KindSection } from './kind.js';
import type { FlowService } from './services.js';
import type { TableState } from './state.js';

// IANA protocol numbers, as the IP header carries them (the services' `protocol` field).
const PROTOCOL_NUMBER = { tcp: 6, udp: 17 } as const;

/** The image's order of services (view_flow.c checks it): family, protocol, port, address. */
function compareServices(a: FlowService, b: FlowService): number {
  if (a.family !== b.family) return a.family - b.family;
  if (a.protocol !== b.protocol) return PROTOCOL_NUMBER[a.protocol] - PROTOCOL_NUMBER[b.protocol];
  if (a.port !== b.port) return a.port - b.port;
  if (a.family === FAMILY_V4) return a.v4 - b.v4;
  return a.v6 < b.v6 ? -1 : a.v6 > b.v6 ? 1 : 0;
}

/**
 * The section of `services`, owners by `imageOwner` through `ids` (owner name -> id). Each service's
 * rows are a fresh Maglev table of its backends (src/lb/maglev.ts: the same list gives the same rows on
 * every host), so a row's secondary is its primary: no previous backend to give a second chance to.
 */
export function compileServices(services: readonly FlowService[], ids: ReadonlyMap<string, number>, imageOwner: Int32Array): Uint8Array {
  const sorted = [...services].sort(compareServices);
  const rows = sorted[0]!.rows;
  const { flowHead: head, flowService: svc, flowRow: row } = ABI;
  const servicesAt = head.size;
  const rowsAt = servicesAt + svc.size * sorted.length;
  const bytes = new Uint8Array(rowsAt + row.size * rows * sorted.length);
  const view = new DataView(bytes.buffer);
  const little = endianness() === 'LE';
  view.setUint32(head.fields.service_count.offset, sorted.length, little);
  view.setUint32(head.fields.rows.offset, rows, little);
  sorted.forEach((s, i) => {
    const at = servicesAt + i * svc.size;
    bytes[at + svc.fields.family.offset] = s.family;
    bytes[at + svc.fields.protocol.offset] = PROTOCOL_NUMBER[s.protocol];
    view.setUint16(at + svc.fields.port.offset, s.port, little);
    writeAddress(bytes, at + svc.fields.addr.offset, s.family, s.v4, s.v6);
    view.setUint32(at + svc.fields.row_first.offset, i * rows, little);
    const table = s.maglev;
    const owner = table.names.map((name) => imageOwner[ids.get(name)!]!);
    const first = rowsAt + i * rows * row.size;
    for (let r = 0; r < rows; r++) {
      view.setUint32(first + r * row.size + row.fields.primary.offset, owner[table.primary[r]!]!, little);
      view.setUint32(first + r * row.size + row.fields.secondary.offset, owner[table.secondary[r]!]!, little);
    }
  });
  return bytes;
}

export const flowHashKind: KeyKind = {
  name: 'flow-hash',
  compile(state: TableState, imageOwner: Int32Array): KindSection | undefined {
    if (state.services.length === 0) return undefined;
    const ids = new Map<string, number>();
    state.names.forEach((name, id) => {
      if (name !== undefined) ids.set(name, id);
    });
    return { bytes: compileServices(state.services, ids, imageOwner), header: {}, stats: {} };
  },
};
