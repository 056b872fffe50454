// validateConfig: the typed Config a good file gives (defaults, families, derived trusted peers),
// and every way a file can be wrong, each with its error class, code and exact message.
import { IPv4, IPv4CidrRange, IPv6, IPv6CidrRange } from 'ip-num';
import { describe, expect, it } from 'vitest';

import { validateConfig } from '../../src/config/validate.js';
import { InvalidConfigError } from '../../src/errors.js';
import { BAD_CASES, base, broken, thrown } from './config-fixture.js';

describe('a valid configuration', () => {
  const config = validateConfig(base(), 'deployment.yaml');

  it('lists data centres and servers in file order, with defaults filled in', () => {
    expect(config.source).toBe('deployment.yaml');
    expect([...config.datacenters.keys()]).toEqual(['A', 'B']);
    expect([...config.servers.keys()]).toEqual(['a1', 'a2', 'a3', 'b1', 'b2']);
    expect(config.gue).toMatchObject({ port: 6080, encap: 'gue0', trustedPeersDerived: true });
    expect(config.datacenters.get('A')).toEqual({
      name: 'A',
      endpoint: { ipv4: IPv4.fromString('10.1.0.1'), ipv6: IPv6.fromString('2001:db8:a::1') },
      encap: 'gue1',
      guePort: 6080,
      servers: ['a1', 'a2', 'a3'],
    });
    expect(config.datacenters.get('B')).toMatchObject({ encap: 'gue0', guePort: 7000, endpoint: { ipv6: IPv6.fromString('2001:db8:b::1') } });
  });

  it('keeps servers typed: addresses, encapsulation, GUE port (its data centre\'s by default), interface', () => {
    expect(config.servers.get('a1')).toEqual({
      name: 'a1',
      datacenter: 'A',
      ipv4: IPv4.fromString('10.1.0.1'),
      ipv6: IPv6.fromString('2001:db8:a::1'),
      encap: 'gue0',
      guePort: 6080,
      interface: { interface: 'eth0', queues: 'all' },
    });
    expect(config.servers.get('a3')).toMatchObject({ encap: 'l2', mac: '02:00:00:00:0a:03', guePort: 6080 });
    expect(config.servers.get('a3')).not.toHaveProperty('interface');
    expect(config.servers.get('b1')).toEqual({ name: 'b1', datacenter: 'B', ipv6: IPv6.fromString('2001:db8:b::1'), encap: 'gue0', guePort: 7000, interface: { interface: 'eth1' } });
  });

  it("reaches a 'glb' server at its IPv4 address on GLB director's port, and refuses one without IPv4", () => {
    const doc = base();
    const servers = doc.datacenters.A.servers;
    servers.a2.encap = 'glb';
    expect(validateConfig(doc).servers.get('a2')).toMatchObject({ encap: 'glb', guePort: 19523, ipv4: IPv4.fromString('10.1.0.2') });
    delete servers.a2.ipv4;
    expect(thrown(() => validateConfig(doc)).message).toContain(
      "Expected an IPv4 address: a server reached by 'glb' needs one (GLB hop lists are IPv4 only) for datacenters.A.servers.a2.ipv4 but received undefined",
    );
  });

  it('trusts, by default, the address every server sends GUE from: IPv4 where both ends have it', () => {
    // a1-a3 reach each other in IPv4 and B's IPv6-only endpoint in IPv6; b1 has IPv6 only; b2
    // reaches b1 in IPv6 and A's endpoint in IPv4.
    expect(config.gue.trustedPeers.map((p) => p.toString())).toEqual([
      '10.1.0.1', '2001:db8:a:0:0:0:0:1', '10.1.0.2', '2001:db8:a:0:0:0:0:2', '10.1.0.3', '2001:db8:a:0:0:0:0:3',
      '2001:db8:b:0:0:0:0:1', '2001:db8:b:0:0:0:0:2', '10.2.0.2',
    ]);
  });

  it('takes a trust list that covers every sender', () => {
    const doc = base();
    doc.gue = { port: 6081, encap: 'gue1', trustedPeers: ['10.0.0.0/8', '2001:db8:a::/47'] };
    const c = validateConfig(doc);
    // Ranges compared as text: ip-num ranges are iterable, and a deep equality would walk them.
    expect(c.gue.trustedPeers.map((p) => (p instanceof IPv4CidrRange || p instanceof IPv6CidrRange ? p.toCidrString() : p.toString()))).toEqual([
      '10.0.0.0/8',
      '2001:db8:a:0:0:0:0:0/47',
    ]);
    expect(c.gue).toMatchObject({ port: 6081, encap: 'gue1', trustedPeersDerived: false });
    // Peers without their own settings follow gue's.
    expect(c.datacenters.get('A')).toMatchObject({ encap: 'gue1', guePort: 6081 });
    expect(c.servers.get('a2')).toMatchObject({ encap: 'gue1', guePort: 6081 });
    expect(c.servers.get('b2')).toMatchObject({ encap: 'gue1', guePort: 7000 });
  });

  it('reads egress entries: destinations, protocols, tags as text, slices by rule and explicit', () => {
    expect(config.egress).toHaveLength(2);
    const [first, second] = config.egress;
    expect(first!.destination).toEqual(IPv4.fromString('192.0.2.1'));
    expect(first!.protocols).toEqual(['tcp', 'udp']);
    expect(first!.tags).toEqual({ country: 'de', tier: '1' });
    expect(first!.slices.map((s) => `${s.ports.from}-${s.ports.to} ${s.owner}`)).toEqual([
      '2048-4095 a1', '4096-6143 a2', '6144-8191 a3', '8192-10239 b1', '10240-12287 b2',
    ]);
    expect(second!.slices).toEqual([
      { ports: { from: 2048, to: 4095 }, protocols: ['tcp'], owner: 'a1' },
      { ports: { from: 4096, to: 6143 }, protocols: ['tcp'], owner: 'b1' },
    ]);
  });

  it('reads stats, with a port alone meaning 127.0.0.1', () => {
    expect(config.stats).toEqual({ intervalSeconds: 2, prometheus: { address: IPv6.fromString('::1'), port: 9464 } });
    const doc = base();
    doc.stats = { prometheus: 9100 };
    expect(validateConfig(doc).stats).toEqual({ intervalSeconds: 5, prometheus: { address: IPv4.fromString('127.0.0.1'), port: 9100 } });
    delete doc.stats;
    expect(validateConfig(doc).stats).toEqual({ intervalSeconds: 5 });
  });

  it('accepts one data centre without an endpoint, no egress, ports in every notation, null owners', () => {
    const c = validateConfig({
      version: 1,
      datacenters: { solo: { servers: { s1: { ipv6: '2001:db8::1' }, 's2.example.net': { ipv6: '2001:db8::2' } } } },
      egress: [
        { prefix: '2001:db8:100::/64', protocols: ['udp', 'tcp'], slices: [{ ports: 53, owner: 's1' }, { ports: ' 80 ', owner: 's1' }, { ports: '1000 - 1999', owner: 's2.example.net', protocols: ['udp'] }] },
        { address: '192.0.2.9', slices: { size: 32768, reserveLowest: false, owners: [null, 's1'] } },
      ],
    });
    expect(c.datacenters.get('solo')!.endpoint).toBeUndefined();
    expect(c.egress[0]!.protocols).toEqual(['tcp', 'udp']);
    expect(c.egress[0]!.slices.map((s) => [s.ports, s.protocols])).toEqual([
      [{ from: 53, to: 53 }, ['tcp', 'udp']],
      [{ from: 80, to: 80 }, ['tcp', 'udp']],
      [{ from: 1000, to: 1999 }, ['udp']],
    ]);
    expect(c.egress[1]!.slices).toEqual([{ ports: { from: 32768, to: 65535 }, protocols: ['tcp', 'udp'], owner: 's1' }]);
    expect(validateConfig({ version: 1, datacenters: { solo: { servers: { s1: { ipv4: '10.0.0.1' } } } } }).egress).toEqual([]);
  });
});

describe('an invalid configuration', () => {
  it.each(BAD_CASES.map((c) => [c.name, c] as const))('refuses %s: one problem, its code and message', (_, c) => {
    const error = thrown(() => validateConfig(broken(c)));
    expect(error).toBeInstanceOf(InvalidConfigError);
    expect(error.code).toBe('ERR_INVALID_CONFIG');
    expect(error.problems.map((p) => [p.code, p.message])).toEqual([[new c.error('').code, c.message]]);
    expect(error.problems[0]!.severity).toBe('error');
    // Without a file's text there is no line; the message lists the problem alone.
    expect(error.problems[0]).not.toHaveProperty('line');
    expect(error.message).toBe(`The configuration has 1 problem:\n${c.message}`);
  });

  it('leaves the base document valid (every case breaks exactly one thing)', () => {
    expect(() => validateConfig(base())).not.toThrow();
  });
});
