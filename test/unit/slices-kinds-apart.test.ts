// Key kinds kept apart (src/slices/kinds-apart.ts): a SliceTable refuses a port slice whose prefix nests
// with an address service's (inside or around it), and a flow-hash service whose address lies in one,
// whichever comes first, through every way a slice comes in; the error names both sides.
import { IPv6 } from 'ip-num';

import { describe, expect, it } from 'vitest';

import { SliceOverlapError } from '../../src/errors.js';
import { FAMILY_V6 } from '../../src/slices/address.js';
import { assignPacked, SliceTable } from '../../src/slices/table.js';
import { cidr6, thrown, v4, v6 } from './helpers.js';

const WHY = "which would decide is the fast path's order of key kinds, not the table";
const SERVICE = { prefix: '2001:db8:1::/64', slices: [{ prefix: '2001:db8:1::/65', owner: 'e1' }, { prefix: '2001:db8:1:0:8000::/65', owner: 'e2' }] };

function table(): SliceTable {
  return new SliceTable()
    .defineOwner('e1', { kind: 'server', address: v4('10.0.1.1') })
    .defineOwner('e2', { kind: 'server', address: v4('10.0.1.2') });
}

function refused(fn: () => unknown): string {
  return thrown(fn, SliceOverlapError, 'ERR_SLICE_OVERLAP').message;
}

describe('port slices and address services', () => {
  it('refuse a slice inside a service prefix added after it, naming the slice, its owner and the service', () => {
    const t = table().addAddressService(SERVICE);
    expect(refused(() => t.assign({ destination: v6('2001:db8:1::7'), protocols: ['tcp'], ports: 80, owner: 'e1' }))).toBe(
      "Slice 2001:db8:1::7 tcp port 80 of owner 'e1' (being assigned) overlaps address service 2001:db8:1::/64 of the table; " +
        `port slices and address services must not cover the same addresses (${WHY})`,
    );
    expect(t.size).toBe(0);
    expect([...t.slices()]).toEqual([]);
  });

  it('refuse a prefix around the service in a bulk assign, all or none, naming its place in the list', () => {
    const t = table().addAddressService(SERVICE);
    const around = { destination: cidr6('2001:db8::/32'), ports: { from: 1024, to: 2047 }, owner: 'e2' };
    expect(refused(() => t.assignMany([{ destination: v4('192.0.2.1'), ports: 80, owner: 'e1' }, around]))).toBe(
      "Slice 2001:db8::/32 tcp+udp ports 1024-2047 of owner 'e2' (slices[1]) overlaps address service 2001:db8:1::/64 of the table; " +
        `port slices and address services must not cover the same addresses (${WHY})`,
    );
    expect(t.size).toBe(0);
    expect(t.lookup(v4('192.0.2.1'), 'tcp', 80)).toBeUndefined();
  });

  it('refuse a packed slice (a router table from a file) inside the service', () => {
    const t = table().addAddressService(SERVICE);
    const prefix = { family: FAMILY_V6, len: 80, v4: 0, v6: v6('2001:db8:1::').getValue() };
    const input = { ports: Uint32Array.of(0 * 65536 + 4095), bits: Uint8Array.of(1), owners: Int32Array.of(0), names: ['e2'], runs: [{ prefix, first: 0, end: 1 }] };
    expect(refused(() => assignPacked(t, input))).toBe(
      "Slice 2001:db8:1::/80 tcp ports 0-4095 of owner 'e2' (slices[0]) overlaps address service 2001:db8:1::/64 of the table; " +
        `port slices and address services must not cover the same addresses (${WHY})`,
    );
    expect(t.size).toBe(0);
  });

  it('refuse a service over a slice already in the table, inside or around it, naming the slice', () => {
    const inside = table().assign({ destination: v6('2001:db8:1::7'), protocols: ['udp'], ports: { from: 4096, to: 8191 }, owner: 'e2' });
    expect(refused(() => inside.addAddressService(SERVICE))).toBe(
      "Address service 2001:db8:1::/64 (service.prefix) overlaps slice 2001:db8:1::7 udp ports 4096-8191 of owner 'e2' (in the table); " +
        `port slices and address services must not cover the same addresses (${WHY})`,
    );
    expect(inside.addressServices()).toEqual([]);
    const around = table().assign({ destination: cidr6('2001:db8:1::/48'), ports: 443, owner: 'e1' });
    expect(refused(() => around.addAddressService(SERVICE))).toBe(
      "Address service 2001:db8:1::/64 (service.prefix) overlaps slice 2001:db8:1::/48 tcp+udp port 443 of owner 'e1' (in the table); " +
        `port slices and address services must not cover the same addresses (${WHY})`,
    );
  });

  it('find the one slice inside the service among many prefixes of its length, and near ones', () => {
    // 200 addresses just past the service (a walk over the length's prefixes), then one inside,
    // and /70s next to it (a look-up of each candidate under the service).
    const many = table();
    const past = v6('2001:db8:1:1::').getValue();
    many.assignMany(Array.from({ length: 200 }, (_, i) => ({ destination: IPv6.fromBigInt(past + BigInt(i)), ports: 80, owner: 'e1' })));
    many.assignMany(Array.from({ length: 64 }, (_, i) => ({ destination: cidr6(`2001:db8:2:0:${(i << 10).toString(16)}::/70`), ports: 80, owner: 'e2' })));
    expect(() => many.clone().addAddressService(SERVICE)).not.toThrow();
    many.assign({ destination: v6('2001:db8:1::ffff'), ports: 22, owner: 'e2' });
    expect(refused(() => many.addAddressService(SERVICE))).toContain("overlaps slice 2001:db8:1::ffff tcp+udp port 22 of owner 'e2' (in the table)");
    const near = table().assignMany(Array.from({ length: 64 }, (_, i) => ({ destination: cidr6(`2001:db8:2:0:${(i << 10).toString(16)}::/70`), ports: 80, owner: 'e2' })));
    expect(refused(() => near.addAddressService({ prefix: '2001:db8:2::/64', slices: [{ prefix: '2001:db8:2::/64', owner: 'e1' }] }))).toContain(
      "overlaps slice 2001:db8:2::/70 tcp+udp port 80 of owner 'e2' (in the table)",
    );
  });

  it('leave slices beside the service, IPv4 slices and moves of either alone, in the table and its clones', () => {
    const t = table()
      .assign({ destination: v6('2001:db8:1:1::'), ports: 80, owner: 'e1' })
      .assign({ destination: v4('2.1.0.0'), ports: 80, owner: 'e1' })
      .addAddressService(SERVICE)
      .assign({ destination: cidr6('2001:db8:0:ffff::/64'), ports: 80, owner: 'e1' })
      .move({ destination: v6('2001:db8:1:1::'), ports: 80 }, 'e2');
    expect(t.lookup(v6('2001:db8:1:1::'), 'tcp', 80)).toBe('e2');
    const c = t.clone();
    expect(refused(() => c.assign({ destination: cidr6('2001:db8:1::/96'), ports: 80, owner: 'e1' }))).toContain('(being assigned) overlaps address service 2001:db8:1::/64');
    expect(c.size).toBe(3);
  });
});

describe('flow-hash services and address services', () => {
  const flow = { address: v6('2001:db8:1::80'), protocol: 'tcp', port: 443, backends: [{ owner: 'e1' }, { owner: 'e2' }], rows: 7 } as const;

  it('refuse a flow-hash service whose address lies in an address service, naming both', () => {
    const t = table().addAddressService(SERVICE);
    expect(refused(() => t.addService(flow))).toBe(
      'Flow-hash service tcp [2001:db8:1::80]:443 (service.address) lies in address service 2001:db8:1::/64 of the table; ' +
        `flow-hash services and address services must not cover the same packets (${WHY})`,
    );
    expect(t.services()).toEqual([]);
  });

  it('refuse an address service over a flow-hash service of the table, naming both', () => {
    const t = table().addService(flow);
    expect(refused(() => t.addAddressService(SERVICE))).toBe(
      'Address service 2001:db8:1::/64 (service.prefix) covers flow-hash service tcp [2001:db8:1::80]:443 (in the table); ' +
        `flow-hash services and address services must not cover the same packets (${WHY})`,
    );
    expect(t.addressServices()).toEqual([]);
  });

  it('take flow-hash services outside every address service, IPv4 ones too', () => {
    const t = table().addAddressService(SERVICE).addService({ ...flow, address: v6('2001:db8:2::80') }).addService({ ...flow, address: v4('192.0.2.80') });
    expect(t.services()).toHaveLength(2);
  });
});
