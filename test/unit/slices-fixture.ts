// The table most SliceTable tests start from, and a whole table as text: used by the slices-*.test.ts files.
import { IPv4CidrRange, IPv6CidrRange } from 'ip-num';

import { SliceTable } from '../../src/slices/table.js';
import { v4, v6 } from './helpers.js';

/** Three owners, one of each kind, and no slices. */
export function table(): SliceTable {
  return new SliceTable()
    .defineOwner('me', { kind: 'local' })
    .defineOwner('web2', { kind: 'server', address: v4('10.0.0.2') })
    .defineOwner('dc2', { kind: 'datacenter', endpoint: v6('2001:db8:ffff::1') });
}

/** Every slice as text, for comparing whole tables. */
export function listing(t: SliceTable): string[] {
  return [...t.slices()].map((e) => {
    const d = e.destination;
    const text = d instanceof IPv4CidrRange || d instanceof IPv6CidrRange ? d.toCidrString() : d.toString();
    return `${text} ${e.protocols.join('+')} ${e.ports.from}-${e.ports.to} ${e.owner}`;
  });
}
