// Second-chance rebuilds fed into the table (SliceTable.setServiceBackends, services.ts): a
// service's new backend list rebuilds its rows from the current ones with lb.rebuild, the image
// carries each row's previous primary as secondary, and forgotten or removed names are checked.
import { endianness } from 'node:os';

import { describe, expect, it } from 'vitest';

import { InvalidOptionError, UnknownOwnerError } from '../../src/errors.js';
import { ABI } from '../../src/generated/abi.js';
import { buildMaglev } from '../../src/lb/maglev.js';
import { rebuild } from '../../src/lb/second-chance.js';
import { compileTable, type HostSpec } from '../../src/slices/compile.js';
import { SliceTable } from '../../src/slices/table.js';
import { thrown, v4 } from './helpers.js';

const LE = endianness() === 'LE';
const HOST: HostSpec = { mac: '02:00:00:00:00:01', mtu: 1500, ipv4: v4('10.0.0.1') };
const VIP = v4('192.0.2.80');

function table(): SliceTable {
  const t = new SliceTable();
  for (const n of [1, 2, 3, 4]) t.defineOwner(`b${n}`, { kind: 'server', address: v4(`10.0.1.${n}`) });
  return t.addService({ address: VIP, protocol: 'tcp', port: 80, backends: [{ owner: 'b1' }, { owner: 'b2' }, { owner: 'b3' }], rows: 251 });
}

/** Rows of the one service in the image, as owner names (primary, secondary). */
function imageRows(t: SliceTable): [string, string][] {
  const compiled = compileTable(t, HOST, { generation: 1 });
  const byIndex = new Map([...compiled.ownerIndex].map(([name, i]) => [i, name]));
  const view = new DataView(compiled.image.buffer, compiled.image.byteOffset, compiled.image.length);
  const h = ABI.tableHeader.fields;
  const at = Array.from({ length: view.getUint32(h.section_count.offset, LE) }, (_, i) => h.sections.offset + i * ABI.section.size)
    .find((a) => view.getUint32(a + ABI.section.fields.kind.offset, LE) === ABI.table.keyKinds['flow-hash'])!;
  const offset = view.getUint32(at + ABI.section.fields.offset.offset, LE);
  const rows = view.getUint32(offset + ABI.flowHead.fields.rows.offset, LE);
  const first = offset + ABI.flowHead.size + ABI.flowService.size;
  return Array.from({ length: rows }, (_, r) => {
    const row = first + r * ABI.flowRow.size;
    return [byIndex.get(view.getUint32(row + ABI.flowRow.fields.primary.offset, LE))!, byIndex.get(view.getUint32(row + ABI.flowRow.fields.secondary.offset, LE))!];
  });
}

describe('setServiceBackends', () => {
  it('rebuilds the rows with second chance: a row whose primary changes keeps the previous one as secondary', () => {
    const t = table();
    const before = imageRows(t);
    expect(before.every(([p, s]) => p === s)).toBe(true);
    t.setServiceBackends(VIP, 'tcp', 80, [{ owner: 'b1' }, { owner: 'b2' }, { owner: 'b3' }, { owner: 'b4' }]);
    const after = imageRows(t);
    const moved = after.filter(([p], r) => p !== before[r]![0]);
    expect(moved.length).toBeGreaterThan(0);
    after.forEach(([p, s], r) => expect(s).toBe(p === before[r]![0] ? p : before[r]![0]));
    // The same rows as lb.rebuild gives from the same history.
    const expected = rebuild(buildMaglev([{ name: 'b1' }, { name: 'b2' }, { name: 'b3' }], { size: 251 }), [{ name: 'b1' }, { name: 'b2' }, { name: 'b3' }, { name: 'b4' }]);
    expect(after.map(([p]) => p)).toEqual([...expected.primary].map((i) => expected.names[i]));
    expect(t.services()[0]!.backends.map((b) => b.name)).toEqual(['b1', 'b2', 'b3', 'b4']);
  });

  it("keeps a left-out backend as secondary (and an owner) until it is forgotten; 'fewest' moves only its rows", () => {
    const t = table();
    const before = imageRows(t);
    t.setServiceBackends(VIP, 'tcp', 80, [{ owner: 'b1' }, { owner: 'b2' }], { moves: 'fewest' });
    const after = imageRows(t);
    after.forEach(([p, s], r) => {
      if (before[r]![0] === 'b3') expect(s).toBe('b3');
      else expect([p, s]).toEqual(before[r]);
    });
    expect(thrown(() => t.removeOwner('b3'), InvalidOptionError, 'ERR_INVALID_OPTION').message).toBe(
      "Expected an owner no service has in its rows (it is a secondary of tcp 192.0.2.80:80: remove the service, or forget it with setServiceBackends(), first) for name but received 'b3'",
    );
    t.setServiceBackends(VIP, 'tcp', 80, [{ owner: 'b1' }, { owner: 'b2' }], { forget: ['b3'] });
    expect(imageRows(t).some(([p, s]) => p === 'b3' || s === 'b3')).toBe(false);
    t.removeOwner('b3');
  });

  it('refuses a service the table lacks, backends that are not owners, and forgetting an active backend', () => {
    const t = table();
    expect(thrown(() => t.setServiceBackends(VIP, 'tcp', 81, [{ owner: 'b1' }]), InvalidOptionError, 'ERR_INVALID_OPTION').message).toBe(
      "Expected a service of the table for service but received 'tcp 192.0.2.80:81'",
    );
    expect(thrown(() => t.setServiceBackends(VIP, 'tcp', 80, [{ owner: 'b9' }]), UnknownOwnerError, 'ERR_UNKNOWN_OWNER').message).toContain(
      "for backends[0].owner but received 'b9'",
    );
    expect(thrown(() => t.setServiceBackends(VIP, 'tcp', 80, []), InvalidOptionError, 'ERR_INVALID_OPTION').message).toBe(
      'Expected a non-empty array of { owner, weight? } for backends but received an array of 0',
    );
    expect(thrown(() => t.setServiceBackends(VIP, 'tcp', 80, [{ owner: 'b1' }], { forget: ['b1'] }), InvalidOptionError, 'ERR_INVALID_OPTION').message).toBe(
      "Expected names of backends left out of the new list for options.forget but received 'b1'",
    );
  });

  it('adds a service from rows of another table (a reload), which must forget names that are no longer owners', () => {
    const old = table().setServiceBackends(VIP, 'tcp', 80, [{ owner: 'b1' }, { owner: 'b2' }]);
    const previous = old.services()[0]!.maglev;
    const spec = { address: VIP, protocol: 'tcp', port: 80, backends: [{ owner: 'b1' }, { owner: 'b2' }], rows: 251 } as const;
    const fresh = new SliceTable().defineOwner('b1', { kind: 'server', address: v4('10.0.1.1') }).defineOwner('b2', { kind: 'server', address: v4('10.0.1.2') });
    expect(thrown(() => fresh.clone().addService(spec, { previous }), UnknownOwnerError, 'ERR_UNKNOWN_OWNER').message).toContain(
      "for a secondary of the rows (forget it: options.forget) but received 'b3'",
    );
    const next = fresh.addService(spec, { previous, forget: ['b3'] });
    const rows = next.services()[0]!.maglev;
    expect([...rows.primary]).toEqual([...previous.primary]);
    expect(rows.names).toEqual(['b1', 'b2']);
    expect(thrown(() => fresh.clone().removeService(VIP, 'tcp', 80).addService({ ...spec, rows: 7 }, { previous }), InvalidOptionError, 'ERR_INVALID_OPTION').message).toBe(
      "Expected the service's rows (7) for options.previous.size but received 251",
    );
  });

  it('leaves a clone as it was', () => {
    const t = table();
    const copy = t.clone();
    t.setServiceBackends(VIP, 'tcp', 80, [{ owner: 'b4' }]);
    expect(copy.services()[0]!.backends.map((b) => b.name)).toEqual(['b1', 'b2', 'b3']);
  });
});
