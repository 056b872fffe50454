// tableFor, routerOptionsFor and describeTable: each server's perspective on one configuration (owner
// kinds checked through table.lookup), the rule that cuts an address into 31 slices, and --check's text.
import { IPv4, IPv6 } from 'ip-num';
import { describe, expect, it } from 'vitest';

import { describeTable, formatTable, rowJson } from '../../src/config/describe.js';
import { validateConfig } from '../../src/config/validate.js';
import { routerOptionsFor, tableFor } from '../../src/config/perspective.js';
import { InvalidOptionError, type SoftunicastError } from '../../src/errors.js';
import { compileTable } from '../../src/slices/compile.js';
import type { SliceTable } from '../../src/slices/table.js';
import { base, thrown, type Doc } from './config-fixture.js';

const v4 = (t: string) => IPv4.fromString(t);
const v6 = (t: string) => IPv6.fromString(t);

function error(fn: () => unknown): SoftunicastError {
  try {
    fn();
  } catch (e) {
    return e as SoftunicastError;
  }
  throw new Error('expected an error');
}

/** The owner of a packet and that owner's spec, as the table answers them. */
function owner(table: SliceTable, address: IPv4 | IPv6, protocol: 'tcp' | 'udp', port: number) {
  const name = table.lookup(address, protocol, port);
  return name === undefined ? undefined : { name, ...table.owners().get(name) };
}

describe('tableFor', () => {
  const config = validateConfig(base());
  const shared4 = v4('192.0.2.1');
  const shared6 = v6('2001:db8:100::1');

  it('gives a server of A: itself local, A\'s servers in IPv4 (l2 for a3), B through its IPv6 endpoint', () => {
    const t = tableFor(config, 'a1');
    expect(owner(t, shared4, 'tcp', 2048)).toEqual({ name: 'a1', kind: 'local' });
    expect(owner(t, shared4, 'udp', 4095)).toEqual({ name: 'a1', kind: 'local' });
    // Its IPv6 address is a2's too: GUE from there is never sent on to a server (the loop rule).
    expect(owner(t, shared4, 'tcp', 4096)).toEqual({ name: 'a2', kind: 'server', address: v4('10.1.0.2'), encap: 'gue0', guePort: 6080, otherAddresses: [v6('2001:db8:a::2')] });
    expect(owner(t, shared4, 'udp', 8191)).toEqual({ name: 'a3', kind: 'server', address: v4('10.1.0.3'), encap: 'l2', mac: '02:00:00:00:0a:03', otherAddresses: [v6('2001:db8:a::3')] });
    // b1's and b2's slices both go to data centre B, which steers them again.
    expect(owner(t, shared4, 'tcp', 8192)).toEqual({ name: 'B', kind: 'datacenter', endpoint: v6('2001:db8:b::1'), encap: 'gue0', guePort: 7000 });
    expect(owner(t, shared4, 'tcp', 12287)).toMatchObject({ name: 'B', kind: 'datacenter' });
    // The IPv6 address is tcp only; its lowest slice and the ports past the last are nobody's.
    expect(owner(t, shared6, 'tcp', 3000)).toEqual({ name: 'a1', kind: 'local' });
    expect(owner(t, shared6, 'udp', 3000)).toBeUndefined();
    expect(owner(t, shared6, 'tcp', 5000)).toMatchObject({ name: 'B', kind: 'datacenter' });
    expect(owner(t, shared4, 'tcp', 2047)).toBeUndefined();
    expect(owner(t, shared4, 'tcp', 12288)).toBeUndefined();
    expect([...t.owners().keys()]).toEqual(['a1', 'a2', 'a3', 'B']);
    expect(t.size).toBe(7);
  });

  it("reaches a 'glb' server of its own data centre at its IPv4 address on GLB director's port", () => {
    const doc = base();
    doc.datacenters.A.servers.a2.encap = 'glb';
    const t = tableFor(validateConfig(doc), 'a1');
    expect(owner(t, shared4, 'tcp', 4096)).toEqual({ name: 'a2', kind: 'server', address: v4('10.1.0.2'), encap: 'glb', guePort: 19523, otherAddresses: [v6('2001:db8:a::2')] });
  });

  it('gives a server of B: A through its IPv4 endpoint in gue1, b1 (IPv6 only) in IPv6 on its port', () => {
    const t = tableFor(config, 'b2');
    expect(owner(t, shared4, 'tcp', 2048)).toEqual({ name: 'A', kind: 'datacenter', endpoint: v4('10.1.0.1'), encap: 'gue1', guePort: 6080 });
    expect(owner(t, shared4, 'tcp', 6144)).toMatchObject({ name: 'A', kind: 'datacenter' });
    expect(owner(t, shared4, 'tcp', 8192)).toEqual({ name: 'b1', kind: 'server', address: v6('2001:db8:b::1'), encap: 'gue0', guePort: 7000 });
    expect(owner(t, shared4, 'udp', 10240)).toEqual({ name: 'b2', kind: 'local' });
    expect(owner(t, shared6, 'tcp', 4096)).toMatchObject({ name: 'b1', kind: 'server' });
    expect([...t.owners().keys()]).toEqual(['A', 'b1', 'b2']);
  });

  it('gives an IPv6-only server A\'s endpoint in IPv6', () => {
    const t = tableFor(config, 'b1');
    expect(owner(t, shared4, 'tcp', 2048)).toEqual({ name: 'A', kind: 'datacenter', endpoint: v6('2001:db8:a::1'), encap: 'gue1', guePort: 6080 });
    expect(owner(t, shared4, 'tcp', 8192)).toEqual({ name: 'b1', kind: 'local' });
    expect(owner(t, shared4, 'tcp', 10240)).toEqual({ name: 'b2', kind: 'server', address: v6('2001:db8:b::2'), encap: 'gue0', guePort: 7000, otherAddresses: [v4('10.2.0.2')] });
  });

  it('gives tables every server can compile with its own addresses', () => {
    for (const host of config.servers.keys()) {
      const o = routerOptionsFor(validateConfig(withInterfaces(base())), host);
      const compiled = compileTable(o.table, { mac: '02:00:00:00:00:01', mtu: 1500, ...o.host }, { generation: 1 });
      expect(compiled.stats.slices).toBe(7);
    }
  });

  it('cuts an address by rule into 31 slices of 2048 ports, the lowest kept back', () => {
    const doc: Doc = { version: 1, datacenters: { A: { servers: {} } }, egress: [{ address: '198.51.100.1', slices: { size: 2048, reserveLowest: true, owners: [] } }] };
    for (let i = 1; i <= 31; i++) {
      doc.datacenters.A.servers[`s${i}`] = { ipv4: `10.0.0.${i}` };
      doc.egress[0].slices.owners.push(`s${i}`);
    }
    const c = validateConfig(doc);
    const slices = c.egress[0]!.slices;
    expect(slices).toHaveLength(31);
    expect(slices[0]).toEqual({ ports: { from: 2048, to: 4095 }, protocols: ['tcp', 'udp'], owner: 's1' });
    expect(slices[30]).toEqual({ ports: { from: 63488, to: 65535 }, protocols: ['tcp', 'udp'], owner: 's31' });
    const t = tableFor(c, 's7');
    const shared = v4('198.51.100.1');
    expect(t.lookup(shared, 'tcp', 2047)).toBeUndefined();
    expect(t.lookup(shared, 'tcp', 0)).toBeUndefined();
    expect(t.lookup(shared, 'udp', 2048 * 7)).toBe('s7');
    expect(t.owners().get('s7')).toEqual({ kind: 'local' });
    expect(t.lookup(shared, 'tcp', 65535)).toBe('s31');
    for (let i = 1; i <= 31; i++) expect(t.lookup(shared, 'tcp', 2048 * i + 1000)).toBe(`s${i}`);

    doc.datacenters.A.servers.s32 = { ipv4: '10.0.0.32' };
    doc.egress[0].slices.owners.push('s32');
    expect(thrown(() => validateConfig(doc)).problems.map((p) => p.message)).toEqual([
      'Expected at most 31 owners (ports 2048-65535 hold 31 slices of 2048) for egress[0].slices.owners but received an array of 32',
    ]);
  });

  it('refuses hosts the file does not name, and configurations it did not validate', () => {
    const e = error(() => tableFor(config, 'c1'));
    expect(e).toBeInstanceOf(InvalidOptionError);
    expect(e.message).toBe("Expected the name of a server of the configuration (a1, a2, a3, b1, b2) for host but received 'c1'");
    expect(error(() => tableFor({ ...config }, 'a1')).message).toBe(
      'Expected a Config from parseConfig(), loadConfig() or validateConfig() for config but received an object',
    );
  });
});

/** Every server of base() with an interface. */
function withInterfaces(doc: Doc): Doc {
  for (const dc of Object.values(doc.datacenters) as Doc[]) for (const s of Object.values(dc.servers) as Doc[]) s.interface ??= 'eth0';
  return doc;
}

describe('routerOptionsFor', () => {
  const config = validateConfig(base());

  it('hands Router.open the interface settings, the addresses, the GUE port, the trusted peers and the table', () => {
    const o = routerOptionsFor(config, 'a1');
    expect(o.port).toEqual({ interface: 'eth0', queues: 'all' });
    expect(o.host.ipv4).toEqual(v4('10.1.0.1'));
    expect(o.host.ipv6).toEqual(v6('2001:db8:a::1'));
    expect(o.host.guePort).toBe(6080);
    expect(o.host.trustedPeers).toBe(config.gue.trustedPeers);
    expect(o.table.lookup(v4('192.0.2.1'), 'tcp', 2048)).toBe('a1');
    expect(Object.keys(o).sort()).toEqual(['health', 'host', 'port', 'table']);
    expect(o.health).toEqual({ intervalMs: 1000, downAfter: 3, upAfter: 2, probeAll: false });

    const b1 = routerOptionsFor(config, 'b1');
    expect(b1.port).toEqual({ interface: 'eth1' });
    expect(b1.host).not.toHaveProperty('ipv4');
    expect(b1.host.guePort).toBe(7000);
  });

  it('hands on the health section, and each fallback as an owner of the server\'s own table', () => {
    const d = base();
    d.health = { intervalMs: 250, downAfter: 2, probeAll: true };
    d.datacenters.A.servers.a2.fallback = 'a1'; // a server of its data centre
    d.datacenters.A.servers.a3.fallback = 'b2'; // a server elsewhere: its data centre, seen from A
    d.datacenters.B.fallback = 'a2'; // a data centre: to a server of another one
    d.datacenters.B.servers.b2.fallback = 'A'; // a server: to another data centre
    const config = validateConfig(d);
    const a1 = routerOptionsFor(config, 'a1');
    expect(a1.health).toEqual({ intervalMs: 250, downAfter: 2, upAfter: 2, probeAll: true });
    const fallbacks = (t: SliceTable) => Object.fromEntries([...t.owners()].map(([n, s]) => [n, s.kind === 'local' ? null : s.fallback ?? null]));
    expect(fallbacks(a1.table)).toEqual({ a1: null, a2: 'a1', a3: 'B', B: 'a2' });
    expect(fallbacks(routerOptionsFor(config, 'b1').table)).toEqual({ A: null, b1: null, b2: 'A' });
    // On a2 itself, A's slices are its own or a1's; B falls back to a2, this host.
    expect(fallbacks(tableFor(config, 'a2'))).toEqual({ a1: null, a2: null, a3: 'B', B: 'a2' });
    // --check says who takes over.
    expect(describeTable(config, 'a1').find((r) => r.server === 'a2')!.reached).toBe('gue0 to 10.1.0.2 port 6080, fallback a1');
  });

  it('refuses a server that runs no router', () => {
    const e = error(() => routerOptionsFor(config, 'a2'));
    expect(e).toBeInstanceOf(InvalidOptionError);
    expect(e.message).toBe('Expected the interface the router of this server runs on for datacenters.A.servers.a2.interface but received undefined');
  });
});

describe('describeTable', () => {
  const config = validateConfig(base());

  it('lists every slice in file order with its owner, how it is reached and its tags', () => {
    expect(formatTable(describeTable(config, 'a2'))).toBe(
      [
        'DESTINATION      PROTOCOLS  PORTS        SERVER  OWNER  KIND        REACHED                          TAGS',
        '192.0.2.1        tcp+udp    2048-4095    a1      a1     server      gue0 to 10.1.0.1 port 6080       country=de tier=1',
        '192.0.2.1        tcp+udp    4096-6143    a2      a2     local       kernel (this host)               country=de tier=1',
        '192.0.2.1        tcp+udp    6144-8191    a3      a3     server      l2 to 02:00:00:00:0a:03          country=de tier=1',
        '192.0.2.1        tcp+udp    8192-10239   b1      B      datacenter  gue0 to 2001:db8:b::1 port 7000  country=de tier=1',
        '192.0.2.1        tcp+udp    10240-12287  b2      B      datacenter  gue0 to 2001:db8:b::1 port 7000  country=de tier=1',
        '2001:db8:100::1  tcp        2048-4095    a1      a1     server      gue0 to 10.1.0.1 port 6080',
        '2001:db8:100::1  tcp        4096-6143    b1      B      datacenter  gue0 to 2001:db8:b::1 port 7000',
      ].join('\n'),
    );
  });

  it('gives rows as plain JSON data for machines', () => {
    const rows = describeTable(config, 'b2').map(rowJson);
    expect(rows[0]).toEqual({
      destination: '192.0.2.1',
      protocols: ['tcp', 'udp'],
      ports: { from: 2048, to: 4095 },
      server: 'a1',
      owner: 'A',
      kind: 'datacenter',
      reached: 'gue1 to 10.1.0.1 port 6080',
      tags: { country: 'de', tier: '1' },
    });
    expect(JSON.parse(JSON.stringify(rows))).toEqual(rows);
  });

  it('prints a header alone for a file without egress', () => {
    const c = validateConfig({ version: 1, datacenters: { A: { servers: { a1: { ipv4: '10.0.0.1' } } } } });
    expect(formatTable(describeTable(c, 'a1'))).toBe('DESTINATION  PROTOCOLS  PORTS  SERVER  OWNER  KIND  REACHED  TAGS');
  });
});
