// The etcd source's logic without etcd: the key layout, what a key's value may hold, the table a
// state of keys makes (every problem naming its key), watch events applied in order and older
// ones never over newer, and the slices operators name.
import { IPv4 } from 'ip-num';
import { describe, expect, it } from 'vitest';

import { InvalidConfigError, InvalidOptionError, InvalidSliceError, parseConfig } from '../../src/index.js';
import { checkEndpoints, prefixEnd, type KeyValue } from '../../src/sources/etcd/client.js';
import { destinationsOf, entryJson, findSlice, refPorts } from '../../src/sources/etcd/entries.js';
import { decodeEntries, layoutOf } from '../../src/sources/etcd/layout.js';
import { StoreState } from '../../src/sources/etcd/state.js';

const L = layoutOf('/su/prod');
const DEPLOYMENT = { version: 1, datacenters: { dc1: { servers: { r1: { ipv4: '10.8.0.1', interface: 'eth0' }, r2: { ipv4: '10.8.0.2', interface: 'eth0' } } } } };
const kv = (key: string, value: unknown, modRevision: number): KeyValue => ({ key, value: Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)), modRevision, createRevision: modRevision });
const entry = (address: string, owner: string, ports = '1000-1999') => [{ address, slices: [{ ports, owner }] }];

describe('the key layout', () => {
  it('takes a prefix of printable ASCII segments and names the keys under it', () => {
    expect(L).toEqual({ prefix: '/su/prod', deployment: '/su/prod/deployment', loading: '/su/prod/loading', egress: '/su/prod/egress/' });
    for (const bad of ['su/prod', '/su/prod/', '/su//prod', '/su/../x', '/', '', '/su prod', '/sü', 7]) {
      expect(() => layoutOf(bad, '--prefix'), String(bad)).toThrow(InvalidOptionError);
    }
    expect(() => layoutOf('x', '--prefix')).toThrow("Expected a key prefix such as '/softunicast/prod' (printable ASCII, starting with '/', not ending with one) for --prefix but received 'x'");
    expect(prefixEnd('/su/prod/')).toBe('/su/prod0');
  });

  it('takes http://HOST:PORT client URLs only', () => {
    expect(checkEndpoints('http://10.0.0.1:2379,http://[::1]:2379')).toEqual(['http://10.0.0.1:2379', 'http://[::1]:2379']);
    expect(() => checkEndpoints('https://10.0.0.1:2379', '--etcd')).toThrow("Expected an etcd client URL 'http://HOST:PORT' (plain HTTP, a port, no path) for --etcd[0] but received 'https://10.0.0.1:2379'");
    expect(() => checkEndpoints('http://10.0.0.1', '--etcd')).toThrow(/for --etcd\[0\]/);
    expect(() => checkEndpoints('http://10.0.0.1:2379/v3', '--etcd')).toThrow(/for --etcd\[0\]/);
    expect(() => checkEndpoints([], '--etcd')).toThrow("Expected etcd client URLs such as 'http://127.0.0.1:2379' for --etcd but received an array of 0");
  });

  it('decodes a key\'s entries, refusing text that is not a list of entries for that key\'s destination', () => {
    const key = '/su/prod/egress/192.0.2.1';
    expect(decodeEntries(L, key, Buffer.from(JSON.stringify(entry('192.0.2.1', 'r1'))))).toEqual({ entries: entry('192.0.2.1', 'r1') });
    expect(decodeEntries(L, key, Buffer.from('{'))).toEqual({ problem: expect.stringMatching(/^Expected a JSON list of egress entries for the key \/su\/prod\/egress\/192\.0\.2\.1 but received text that is not JSON/) });
    expect(decodeEntries(L, key, Buffer.from('[]'))).toEqual({ problem: `Expected a non-empty JSON list of egress entries for the key ${key} but received an empty list` });
    expect(decodeEntries(L, key, Buffer.from(JSON.stringify(entry('192.0.2.9', 'r1'))))).toEqual({ problem: `Expected entries for 192.0.2.1 under the key ${key} but one names 192.0.2.9` });
    // Canonical text only: 192.0.2.0/24 has its key, 2001:db8::1 is written compressed and lower case.
    expect(decodeEntries(L, '/su/prod/egress/2001:db8::1', Buffer.from(JSON.stringify(entry('2001:DB8:0::1', 'r1'))))).toMatchObject({ entries: [{}] });
  });
});

describe('a state of keys', () => {
  const state = (kvs: KeyValue[], revision = 10) => new StoreState(L, kvs, revision, 'c1');

  it('makes the table of one host at the state\'s revision', () => {
    const s = state([kv(L.deployment, DEPLOYMENT, 2), kv(`${L.egress}192.0.2.1`, entry('192.0.2.1', 'r1'), 3)], 7);
    const built = s.build('r2');
    expect(built.kind).toBe('table');
    const { table } = built as Extract<typeof built, { kind: 'table' }>;
    expect(table.generation).toBe(7);
    expect(table.options.table.lookup(IPv4.fromString('192.0.2.1'), 'tcp', 1500)).toBe('r1');
    expect(table.config.source).toBe('etcd /su/prod at revision 7');
  });

  it("takes the deployment key's addressServices into every host's table, as a file's", () => {
    const slices = [{ prefix: '2001:db8:5::/65', owner: 'r1' }, { prefix: '2001:db8:5:0:8000::/65', owner: 'r2', secondary: 'r1' }];
    const s = state([kv(L.deployment, { ...DEPLOYMENT, addressServices: [{ prefix: '2001:db8:5::/64', slices }] }, 2)], 7);
    const built = s.build('r1');
    const { table } = built as Extract<typeof built, { kind: 'table' }>;
    expect(table.config.addressServices.map((a) => a.slices)).toEqual([slices]);
    expect(table.options.table.addressServices().map((a) => a.slices.map((x) => `${x.owner}/${x.secondary}`))).toEqual([['r1/r1', 'r2/r1']]);
  });

  it('names the key of every problem, and says when there is no deployment', () => {
    expect(() => state([kv(`${L.egress}192.0.2.1`, entry('192.0.2.1', 'r1'), 3)]).build('r1')).toThrow(
      'Expected a deployment under the key /su/prod/deployment but etcd has none at revision 10 (load one with: soft-unicast-router slices load --config FILE)',
    );
    const s = state([
      kv(L.deployment, DEPLOYMENT, 2),
      kv(`${L.egress}192.0.2.1`, entry('192.0.2.1', 'r9'), 3),
      kv(`${L.egress}192.0.2.2`, 'nope', 4),
      kv(`${L.egress}192.0.2.3`, entry('192.0.2.3', 'r1', '1000-99999'), 5),
    ]);
    let error: InvalidConfigError | undefined;
    try {
      s.build('r1');
    } catch (e) {
      error = e as InvalidConfigError;
    }
    expect(error).toBeInstanceOf(InvalidConfigError);
    // Values that are not entries are reported first, alone: validation runs on a whole deployment.
    expect(error!.message).toMatch(/^The configuration etcd \/su\/prod at revision 10 has 1 problem:\nExpected a JSON list of egress entries for the key \/su\/prod\/egress\/192\.0\.2\.2 but received text that is not JSON/);
    const fixed = state([kv(L.deployment, DEPLOYMENT, 2), kv(`${L.egress}192.0.2.1`, entry('192.0.2.1', 'r9'), 3), kv(`${L.egress}192.0.2.3`, entry('192.0.2.3', 'r1', '1000-99999'), 5)]);
    expect(() => fixed.build('r1')).toThrow([
      'The configuration etcd /su/prod at revision 10 has 2 problems:',
      "Expected the name of a server of the configuration (r1, r2) for egress[0] (key /su/prod/egress/192.0.2.1).slices[0].owner but received 'r9'",
      "Expected ports from 0 to 65535 for egress[1] (key /su/prod/egress/192.0.2.3).slices[0].ports but received '1000-99999'",
    ].join('\n'));
  });

  it('holds the table while a bulk load\'s marker is there', () => {
    const s = state([kv(L.deployment, DEPLOYMENT, 2), kv(L.loading, { by: 'ops1' }, 9)]);
    expect(s.build('r1')).toEqual({ kind: 'held', detail: 'a bulk load into /su/prod is under way (key /su/prod/loading since revision 9: {"by":"ops1"})' });
    s.apply([{ type: 'DELETE', kv: kv(L.loading, '', 11) }], 11);
    expect(s.build('r1').kind).toBe('table');
  });

  it('applies watch events in order and tells when its keys are the same as another state\'s', () => {
    const a = state([kv(L.deployment, DEPLOYMENT, 2), kv(`${L.egress}192.0.2.1`, entry('192.0.2.1', 'r1'), 3)], 5);
    const b = state([kv(L.deployment, DEPLOYMENT, 2), kv(`${L.egress}192.0.2.1`, entry('192.0.2.1', 'r1'), 3)], 9);
    expect(a.sameKeys(b)).toBe(true);
    a.apply([{ type: 'PUT', kv: kv(`${L.egress}192.0.2.1`, entry('192.0.2.1', 'r2'), 12) }, { type: 'PUT', kv: kv(`${L.egress}192.0.2.7`, entry('192.0.2.7', 'r2'), 12) }], 12);
    expect(a.revision).toBe(12);
    expect(a.sameKeys(b)).toBe(false);
    const t = a.build('r1');
    expect(t.kind === 'table' && [t.table.generation, t.table.options.table.lookup(IPv4.fromString('192.0.2.1'), 'udp', 1000)]).toEqual([12, 'r2']);
    a.apply([{ type: 'DELETE', kv: kv(`${L.egress}192.0.2.7`, '', 13) }], 13);
    expect(a.modOf(`${L.egress}192.0.2.7`)).toBe(0);
    expect(a.modOf(`${L.egress}192.0.2.1`)).toBe(12);
  });
});

describe('slices as operators name them', () => {
  const config = parseConfig(`version: 1
datacenters: { dc1: { servers: { r1: { ipv4: 10.8.0.1 }, r2: { ipv4: 10.8.0.2 } } } }
egress:
  - { address: 192.0.2.1, protocols: [udp], tags: { site: fra }, slices: { size: 4096, owners: [r1, r2] } }
  - { address: 192.0.2.1, protocols: [tcp], slices: [{ ports: 4096-8191, owner: r2 }] }
`, 'yaml');

  it('reads ports as a port, a range or { from, to }', () => {
    expect(refPorts(53)).toEqual({ from: 53, to: 53 });
    expect(refPorts('2048-4095')).toEqual({ from: 2048, to: 4095 });
    expect(refPorts({ from: 1, to: 2 })).toEqual({ from: 1, to: 2 });
    for (const bad of ['4095-2048', '1-65536', 'x', -1, 1.5]) expect(() => refPorts(bad), String(bad)).toThrow(InvalidSliceError);
  });

  it('writes entries explicitly: rules as their slices, defaults left out', () => {
    const [d1, d2] = destinationsOf(config);
    expect([d1, d2]).toEqual(['192.0.2.1', '192.0.2.1']);
    expect(entryJson(config.egress[0]!, d1!)).toEqual({
      address: '192.0.2.1', protocols: ['udp'], tags: { site: 'fra' },
      slices: [{ ports: '4096-8191', owner: 'r1' }, { ports: '8192-12287', owner: 'r2' }],
    });
  });

  it('finds exactly one slice; two entries sharing the ports need the protocols named', () => {
    expect(findSlice(config.egress, '192.0.2.1', { from: 8192, to: 12287 }, undefined)).toMatchObject({ entry: 0, index: 1, slice: { owner: 'r2' } });
    expect(() => findSlice(config.egress, '192.0.2.1', { from: 4096, to: 8191 }, undefined)).toThrow(
      'Expected one slice for 192.0.2.1 ports 4096-8191 but 2 match (udp, tcp): name its protocols',
    );
    expect(findSlice(config.egress, '192.0.2.1', { from: 4096, to: 8191 }, ['tcp'])).toMatchObject({ entry: 1, index: 0 });
    expect(() => findSlice(config.egress, '192.0.2.1', { from: 4096, to: 8190 }, undefined)).toThrow(
      'Expected a slice of the deployment for 192.0.2.1 ports 4096-8190 but there is none (192.0.2.1 has udp 4096-8191, udp 8192-12287, tcp 4096-8191)',
    );
  });
});
