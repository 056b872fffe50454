// The flow-hash key kind (src/slices/flow-hash.ts, services.ts): a table's services compile into
// their section of the image (table.h: head, services sorted, Maglev rows of primary and
// secondary owner), decoded here through the generated ABI offsets; the native view accepts it;
// adding services is validated with typed errors naming the bad value.
import { endianness } from 'node:os';

import { describe, expect, it } from 'vitest';

import { InvalidOptionError, InvalidTableError, UnknownOwnerError } from '../../src/errors.js';
import { ABI } from '../../src/generated/abi.js';
import { buildMaglev } from '../../src/lb/maglev.js';
import { native } from '../../src/native.js';
import { compileTable, type HostSpec } from '../../src/slices/compile.js';
import { SliceTable } from '../../src/slices/table.js';
import { thrown, v4, v6 } from './helpers.js';

const LE = endianness() === 'LE';
const HOST: HostSpec = { mac: '02:00:00:00:00:01', mtu: 1500, ipv4: v4('10.0.0.1'), ipv6: v6('2001:db8::1') };

function lbTable(): SliceTable {
  return new SliceTable()
    .defineOwner('b1', { kind: 'server', address: v4('10.0.1.1') })
    .defineOwner('b2', { kind: 'server', address: v4('10.0.1.2') })
    .defineOwner('b3', { kind: 'server', address: v6('2001:db8::3') })
    .defineOwner('idle', { kind: 'server', address: v4('10.0.1.9') });
}

/** The image's sections, and the flow-hash one decoded. */
function decode(image: Uint8Array) {
  const view = new DataView(image.buffer, image.byteOffset, image.length);
  const h = ABI.tableHeader.fields;
  const count = view.getUint32(h.section_count.offset, LE);
  const sections = Array.from({ length: count }, (_, i) => {
    const at = h.sections.offset + i * ABI.section.size;
    const f = ABI.section.fields;
    return { kind: view.getUint32(at + f.kind.offset, LE), offset: view.getUint32(at + f.offset.offset, LE), size: view.getUint32(at + f.size.offset, LE) };
  });
  const flow = sections.find((s) => s.kind === ABI.table.keyKinds['flow-hash']);
  if (flow === undefined) return { sections, flow: undefined };
  const { flowHead: head, flowService: svc, flowRow: row } = ABI;
  const serviceCount = view.getUint32(flow.offset + head.fields.service_count.offset, LE);
  const rows = view.getUint32(flow.offset + head.fields.rows.offset, LE);
  const services = Array.from({ length: serviceCount }, (_, i) => {
    const at = flow.offset + head.size + i * svc.size;
    const family = image[at + svc.fields.family.offset]!;
    const addr = image.subarray(at + svc.fields.addr.offset, at + svc.fields.addr.offset + (family === 4 ? 4 : 16));
    return {
      family,
      protocol: image[at + svc.fields.protocol.offset],
      port: view.getUint16(at + svc.fields.port.offset, LE),
      addr: family === 4 ? [...addr].join('.') : Buffer.from(addr).toString('hex'),
      rowFirst: view.getUint32(at + svc.fields.row_first.offset, LE),
    };
  });
  const rowsAt = flow.offset + head.size + serviceCount * svc.size;
  const table = Array.from({ length: serviceCount * rows }, (_, r) => [
    view.getUint32(rowsAt + r * row.size + row.fields.primary.offset, LE),
    view.getUint32(rowsAt + r * row.size + row.fields.secondary.offset, LE),
  ]);
  return { sections, flow, head: { serviceCount, rows }, services, rows: table };
}

describe('the flow-hash section', () => {
  it('is absent from a table without services: images of port-slice tables do not change', () => {
    const table = lbTable().assign({ destination: v4('192.0.2.1'), ports: { from: 1024, to: 2047 }, owner: 'b1' });
    expect(decode(compileTable(table, HOST, { generation: 1 }).image).sections.map((s) => s.kind)).toEqual([ABI.table.keyKinds['port-slice']]);
  });

  it('holds each service sorted, with the Maglev rows of its backends as image owners', () => {
    const table = lbTable()
      .addService({ address: v6('2001:db8:80::1'), protocol: 'tcp', port: 443, backends: [{ owner: 'b3' }, { owner: 'b1' }], rows: 13 })
      .addService({ address: v4('192.0.2.80'), protocol: 'udp', port: 53, backends: [{ owner: 'b2' }], rows: 13 })
      .addService({ address: v4('192.0.2.80'), protocol: 'tcp', port: 443, backends: [{ owner: 'b2', weight: 2 }, { owner: 'b1' }], rows: 13 });
    const compiled = compileTable(table, HOST, { generation: 1 });
    const d = decode(compiled.image);
    expect(d.sections.map((s) => s.kind)).toEqual([ABI.table.keyKinds['port-slice'], ABI.table.keyKinds['flow-hash']]);
    expect(d.head).toEqual({ serviceCount: 3, rows: 13 });
    expect(d.services).toEqual([
      { family: 4, protocol: 6, port: 443, addr: '192.0.2.80', rowFirst: 0 },
      { family: 4, protocol: 17, port: 53, addr: '192.0.2.80', rowFirst: 13 },
      { family: 6, protocol: 6, port: 443, addr: '20010db8008000000000000000000001', rowFirst: 26 },
    ]);
    // Owners without slices get records when they back a service; 'idle' backs none.
    expect([...compiled.ownerIndex.keys()].sort()).toEqual(['b1', 'b2', 'b3']);
    const expected = buildMaglev([{ name: 'b1' }, { name: 'b2', weight: 2 }], { size: 13 });
    const owner = (name: string) => compiled.ownerIndex.get(name)!;
    expect(d.rows!.slice(0, 13)).toEqual([...expected.primary].map((p) => [owner(expected.names[p]!), owner(expected.names[p]!)]));
    expect(d.rows!.slice(13, 26).every(([p, s]) => p === owner('b2') && s === owner('b2'))).toBe(true);
    const counts = d.rows!.slice(0, 13).reduce((n, [p]) => n.set(p!, (n.get(p!) ?? 0) + 1), new Map<number, number>());
    expect(counts).toEqual(new Map([[owner('b1'), 4], [owner('b2'), 9]]));
  });

  it('is accepted by the native view, and its checks refuse a section whose counts disagree', () => {
    const table = lbTable().addService({ address: v4('192.0.2.80'), protocol: 'tcp', port: 443, backends: [{ owner: 'b1' }, { owner: 'b2' }], rows: 7 });
    const { image } = compileTable(table, HOST, { generation: 3 });
    const view = new (native().SliceView)(image);
    expect(view.generation()).toBe(3n);
    view.release();
    const flow = decode(image).flow!;
    const bad = image.slice();
    new DataView(bad.buffer).setUint32(flow.offset + ABI.flowHead.fields.rows.offset, 9, LE);
    const error = thrown(() => new (native().SliceView)(bad), InvalidTableError, 'ERR_INVALID_TABLE');
    expect(error.message).toBe('Invalid table image: section 1 (flow-hash) has 9 rows per service, expected a prime from 2 to 16777216');
  });
});

describe('adding services', () => {
  const base = { address: v4('192.0.2.80'), protocol: 'tcp', port: 443, backends: [{ owner: 'b1' }] } as const;

  it('refuses bad fields with InvalidOptionError naming the value', () => {
    const cases: [unknown, string][] = [
      [{ ...base, port: 0 }, 'Expected a port from 1 to 65535 for service.port but received 0'],
      [{ ...base, protocol: 'sctp' }, "Expected 'tcp' or 'udp' for service.protocol but received 'sctp'"],
      [{ ...base, address: '192.0.2.80' }, "Expected an ip-num IPv4 or IPv6 address for service.address but received '192.0.2.80'"],
      [{ ...base, backends: [] }, 'Expected a non-empty array of { owner, weight? } for service.backends but received an array of 0'],
      [{ ...base, rows: 12 }, 'Expected a prime number of rows up to 16777216 for service.rows but received 12'],
      [{ ...base, backends: [{ owner: 'b1' }, { owner: 'b2' }, { owner: 'b3' }], rows: 2 }, 'Expected a prime at least the number of backends (3) for service.rows but received 2'],
      [{ ...base, backends: [{ owner: 'b1', weight: 0 }] }, 'Expected an integer from 1 to 65535 for service.backends[0].weight but received 0'],
      [{ ...base, backends: [{ owner: 'b1' }, { owner: 'b1' }] }, "Expected an owner that service.backends[0] does not name for service.backends[1].owner but received 'b1'"],
      [{ ...base, vip: true }, 'Expected no such field (known: address, protocol, port, backends, rows) for service.vip but received true'],
    ];
    for (const [spec, message] of cases) {
      const error = thrown(() => lbTable().addService(spec as never), InvalidOptionError, 'ERR_INVALID_OPTION');
      expect(error.message).toBe(message);
    }
  });

  it('refuses a backend that is not an owner with UnknownOwnerError', () => {
    const error = thrown(() => lbTable().addService({ ...base, backends: [{ owner: 'nobody' }] }), UnknownOwnerError, 'ERR_UNKNOWN_OWNER');
    expect(error.message).toContain("for service.backends[0].owner but received 'nobody'");
  });

  it('refuses a service twice, rows unlike the others, and removing an owner that backs one', () => {
    const table = lbTable().addService({ ...base, rows: 7 });
    expect(thrown(() => table.addService({ ...base, rows: 7 }), InvalidOptionError, 'ERR_INVALID_OPTION').message).toBe(
      "Expected a service not yet in the table for service but received 'tcp 192.0.2.80:443'",
    );
    expect(thrown(() => table.addService({ ...base, port: 80, rows: 11 }), InvalidOptionError, 'ERR_INVALID_OPTION').message).toBe(
      "Expected the rows of the table's other services (7: one Maglev size per table) for service.rows but received 11",
    );
    expect(thrown(() => table.removeOwner('b1'), InvalidOptionError, 'ERR_INVALID_OPTION').message).toBe(
      "Expected an owner no service has in its rows (it backs tcp 192.0.2.80:443: remove the service, or forget it with setServiceBackends(), first) for name but received 'b1'",
    );
    table.removeService(v4('192.0.2.80'), 'tcp', 443).removeOwner('b1');
    expect(table.services()).toEqual([]);
  });

  it('keeps services apart in a clone', () => {
    const table = lbTable().addService({ ...base, rows: 7 });
    const copy = table.clone();
    copy.removeService(v4('192.0.2.80'), 'tcp', 443);
    expect(table.services().length).toBe(1);
    expect(copy.services().length).toBe(0);
  });
});
