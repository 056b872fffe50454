// The file's key kinds kept apart, as every router's table keeps them (src/slices/kinds-apart.ts): no egress
// prefix and no service address may nest with an address service's prefix. Checked by validate.ts.
import type { IPv6 } from 'ip-num';

import { isIPv4 } from '../ip.js';
import { FAMILY_V6 } from '../slices/address.js';
import { nests, spanOf } from '../slices/kinds-apart.js';
import { formatSlice } from '../slices/slice.js';
import { formatAddress6, formatPrefix } from '../ssa/prefix.js';
import type { AddressServicesChecked } from './address-services.js';
import type { EntryDraft } from './egress.js';
import { slicePath, type PackedSlices } from './packed.js';
import { formatPath } from './path.js';
import type { Problems } from './problems.js';
import type { ServiceConfig } from './types.js';

const WHY = "which would decide is the fast path's order of key kinds, not the file";

/**
 * Records an ERR_SLICE_OVERLAP problem for each egress entry with slices whose prefix nests with an
 * address service's, and each service whose address lies in one: in a router's table the fast path
 * would decide between them by the order of its key kinds. Each problem is placed at the later of
 * the two in the file (Problems.between).
 */
export function checkKindsApart(
  p: Problems,
  entries: readonly (EntryDraft | undefined)[],
  packed: PackedSlices,
  services: { readonly services: readonly ServiceConfig[]; readonly at: readonly number[] },
  addressServices: AddressServicesChecked,
): void {
  const { at } = addressServices;
  const parsed = addressServices.parsed.map(spanOf);
  if (parsed.length === 0) return;
  const servicePath = (j: number) => ['addressServices', at[j]!, 'prefix'];
  const serviceText = (j: number) => `address service ${formatPrefix(parsed[j]!.s)} (${formatPath(['addressServices', at[j]!])})`;
  entries.forEach((e, i) => {
    const prefix = e?.prefix;
    const k = packed.starts[i]!;
    if (prefix === undefined || prefix.family !== FAMILY_V6 || k === packed.starts[i + 1]) return;
    parsed.forEach((s, j) => {
      if (!nests(prefix.v6, prefix.len, s)) return;
      const ports = packed.ports[k]!;
      const slice = `${formatSlice(prefix, packed.bits[k]!, ports >>> 16, ports & 0xffff)} of owner '${packed.servers[packed.owners[k]!]}' (${formatPath(slicePath(packed, k))})`;
      p.between(e!.destinationPath, servicePath(j), 'ERR_SLICE_OVERLAP',
        `Slice ${slice} overlaps ${serviceText(j)}; port slices and address services must not cover the same addresses (${WHY})`);
    });
  });
  services.services.forEach((f, i) => {
    if (isIPv4(f.address)) return;
    const address = (f.address as IPv6).getValue();
    const j = parsed.findIndex((s) => nests(address, 128, s));
    if (j < 0) return;
    const where = ['services', services.at[i]!];
    p.between([...where, 'address'], servicePath(j), 'ERR_SLICE_OVERLAP',
      `Service ${f.protocol} [${formatAddress6(address)}]:${f.port} (${formatPath(where)}) lies in ${serviceText(j)}; ` +
        `flow-hash services and address services must not cover the same packets (${WHY})`);
  });
}
