// The address-slice key kind (src/slices/address-slices.ts, address-services.ts): a table's address
// services compile into their section (table.h: head, services, 2^bits rows of primary and secondary),
// decoded here through the generated ABI; the native view accepts it and refuses broken ones by name;
// adding services is validated with typed errors naming the bad value.
import { endianness } from 'node:os';

import { IPv6 } from 'ip-num';

import { describe, expect, it } from 'vitest';

import { InvalidOptionError, InvalidSliceError, InvalidTableError, UnknownOwnerError } from '../../src/errors.js';
import { ABI } from '../../src/generated/abi.js';
import { native } from '../../src/native.js';
import { compileTable, type HostSpec } from '../../src/slices/compile.js';
import { SliceTable } from '../../src/slices/table.js';
import { evenSlices, move } from '../../src/ssa/index.js';
import { formatAddress6 } from '../../src/ssa/prefix.js';
import { thrown, v4, v6 } from './helpers.js';

const LE = endianness() === 'LE';
const HOST: HostSpec = { mac: '02:00:00:00:00:01', mtu: 1500, ipv4: v4('10.0.0.1'), ipv6: v6('2001:db8::1') };
const RULE = { rule: 'source-derived', sourceBits: 48, fn: 'flowhash-1', key: 'ffeeddccbbaa99887766554433221100' } as const;

function table(): SliceTable {
  return new SliceTable()
    .defineOwner('e1', { kind: 'server', address: v4('10.0.1.1') })
    .defineOwner('e2', { kind: 'server', address: v4('10.0.1.2') })
    .defineOwner('low', { kind: 'datacenter', endpoint: v6('2001:db8:c::1') });
}

/** The address-slice section of an image: where it is, its head, services and rows. */
function decode(image: Uint8Array) {
  const view = new DataView(image.buffer, image.byteOffset, image.length);
  const h = ABI.tableHeader.fields;
  const count = view.getUint32(h.section_count.offset, LE);
  const sections = Array.from({ length: count }, (_, i) => {
    const at = h.sections.offset + i * ABI.section.size;
    const f = ABI.section.fields;
    return { kind: view.getUint32(at + f.kind.offset, LE), offset: view.getUint32(at + f.offset.offset, LE), size: view.getUint32(at + f.size.offset, LE) };
  });
  const s = sections.find((x) => x.kind === ABI.table.keyKinds['address-slice'])!;
  const { addrHead: head, addrService: svc, flowRow: row } = ABI;
  const services = view.getUint32(s.offset + head.fields.service_count.offset, LE);
  const rowCount = view.getUint32(s.offset + head.fields.row_count.offset, LE);
  const rowsAt = s.offset + head.size + services * svc.size;
  const rows = Array.from({ length: rowCount }, (_, r) => [view.getUint32(rowsAt + r * row.size, LE), view.getUint32(rowsAt + r * row.size + 4, LE)]);
  return { section: s, services, rows, svcAt: (i: number) => s.offset + head.size + i * svc.size };
}

describe('address-slice services', () => {
  it('compile mixed slice sizes into rows at the finest length, a moving slice with its old owner as secondary', () => {
    const t = table().addAddressService({
      prefix: '2001:db8:1::/64',
      slices: [
        { prefix: '2001:db8:1::/65', owner: 'e1' },
        { prefix: '2001:db8:1:0:8000::/66', owner: 'e2', secondary: 'e1' },
        { prefix: '2001:db8:1:0:c000::/66', owner: 'e2' },
      ],
    });
    const { image } = compileTable(t, HOST, { generation: 1 });
    const d = decode(image);
    expect(d.services).toBe(1);
    expect(image[d.svcAt(0) + ABI.addrService.fields.bits.offset]).toBe(2);
    // Owner records in image order: e1 0, e2 1 (low is unused).
    expect(d.rows).toEqual([[0, 0], [0, 0], [1, 0], [1, 1]]);
    expect(() => new (native().SliceView)(image)).not.toThrow();
  });

  it('take a slice set of src/ssa: its open moves give the secondaries', () => {
    const set = move(evenSlices('2001:db8:2::/64', 72, ['e1', 'e2']), '2001:db8:2::/72', 'e2', { windowMs: 60_000, now: 0 });
    const { image } = compileTable(table().addAddressService({ prefix: '2001:db8:2::/64', slices: set, filter: { rule: RULE, nonConforming: { owner: 'low' } } }), HOST, { generation: 1 });
    const d = decode(image);
    expect(d.rows.length).toBe(256);
    expect(d.rows[0]).toEqual([1, 0]);
    expect(d.rows[1]).toEqual([1, 1]);
    const at = d.svcAt(0);
    expect(image[at + ABI.addrService.fields.filter.offset]).toBe(2);
    expect(image[at + ABI.addrService.fields.source_bits.offset]).toBe(48);
    expect(Buffer.from(image.subarray(at + ABI.addrService.fields.key.offset, at + ABI.addrService.fields.key.offset + 16)).toString('hex')).toBe(RULE.key);
  });

  it('refuse bad services by name', () => {
    const gap = thrown(() => table().addAddressService({ prefix: '2001:db8:1::/64', slices: [{ prefix: '2001:db8:1::/65', owner: 'e1' }] }), InvalidSliceError, 'ERR_INVALID_SLICE');
    expect(gap.message).toContain('2001:db8:1:0:8000::/65');
    expect(thrown(() => table().addAddressService({ prefix: '2001:db8:1::/72', slices: [{ prefix: '2001:db8:1::/72', owner: 'e1' }] }), InvalidSliceError, 'ERR_INVALID_SLICE').message)
      .toBe("Expected an IPv6 prefix of /1 to /64 for service.prefix but received '2001:db8:1::/72'");
    expect(thrown(() => table().addAddressService({ prefix: '2001:db8:1::/64', slices: [{ prefix: '2001:db8:1::/64', owner: 'nobody' }] }), UnknownOwnerError, 'ERR_UNKNOWN_OWNER').message).toContain('nobody');
    // A /40 cut down to two /61s: 21 index bits, one more than a service's rows allow.
    const base = IPv6.fromString('2001:db8::').getValue();
    const chain = [{ prefix: `${formatAddress6(base)}/61`, owner: 'e1' }];
    for (let l = 61; l >= 41; l--) chain.push({ prefix: `${formatAddress6(base + (1n << BigInt(128 - l)))}/${l}`, owner: 'e2' });
    const tooFine = thrown(() => table().addAddressService({ prefix: '2001:db8::/40', slices: chain }), InvalidOptionError, 'ERR_INVALID_OPTION');
    expect(tooFine.message).toContain('slices no finer than /60');
    const t = table().addAddressService({ prefix: '2001:db8:1::/64', slices: [{ prefix: '2001:db8:1::/64', owner: 'e1' }] });
    expect(thrown(() => t.addAddressService({ prefix: '2001:db8:1::/48', slices: [{ prefix: '2001:db8:1::/48', owner: 'e1' }] }), InvalidOptionError, 'ERR_INVALID_OPTION').message).toContain('overlaps 2001:db8:1::/64');
    expect(thrown(() => table().addAddressService({ prefix: '2001:db8:1::/64', slices: [{ prefix: '2001:db8:1::/64', owner: 'e1' }], filter: { rule: { ...RULE, key: 'xyz' } } }), InvalidOptionError, 'ERR_INVALID_OPTION').message).toContain('service.filter.rule');
    expect(thrown(() => t.removeOwner('e1'), InvalidOptionError, 'ERR_INVALID_OPTION').message).toContain("no address service's slice names");
  });

  it('the native view refuses a broken section by name', () => {
    const { image } = compileTable(table().addAddressService({ prefix: '2001:db8:1::/64', slices: [{ prefix: '2001:db8:1::/65', owner: 'e1' }, { prefix: '2001:db8:1:0:8000::/65', owner: 'e2' }] }), HOST, { generation: 1 });
    const d = decode(image);
    const bits = image.slice();
    bits[d.svcAt(0) + ABI.addrService.fields.bits.offset] = 21;
    expect(thrown(() => new (native().SliceView)(bits), InvalidTableError, 'ERR_INVALID_TABLE').message).toBe('Invalid table image: address-slice service 0 has 21 index bits, expected at most 20 (2^20 rows)');
    const owner = image.slice();
    new DataView(owner.buffer).setUint32(d.section.offset + d.section.size - 8, 99, LE);
    expect(thrown(() => new (native().SliceView)(owner), InvalidTableError, 'ERR_INVALID_TABLE').message).toContain('address-slice row 1 names owners 99 and');
    const prefix = image.slice();
    prefix[d.svcAt(0) + ABI.addrService.fields.prefix_len.offset] = 72;
    expect(thrown(() => new (native().SliceView)(prefix), InvalidTableError, 'ERR_INVALID_TABLE').message).toBe('Invalid table image: address-slice service 0 is a /72, expected a prefix of /1 to /64');
  });
});
