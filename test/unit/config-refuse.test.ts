// Configurations that validate in shape but would break hosts: a shared /0, a shared address or
// prefix over a server's or an endpoint's own address or a trusted peer, two servers with one
// address. Each is one problem of an InvalidConfigError, with its code, paths and the address.
import { describe, expect, it } from 'vitest';

import { validateConfig } from '../../src/config/validate.js';
import { AddressConflictError, InvalidOptionError } from '../../src/errors.js';
import { base, thrown, type Doc } from './config-fixture.js';

const CONFLICT = new AddressConflictError('').code;
const INVALID = new InvalidOptionError('').code;
const WHY_HOST = "a host's own address must not be shared: packets to the host itself would be steered by port to other owners";
const WHY_TRUST = 'a trusted peer may send GUE into every router: trust the servers and endpoints, never a shared address';
/** A trust list that covers every sender of base(): a1-a3 and b2 in IPv4, b1 in IPv6. */
const TRUST = ['10.0.0.0/8', '2001:db8:a::/47'];

function only(doc: Doc): [string, string, string] {
  const e = thrown(() => validateConfig(doc));
  expect(e.problems).toHaveLength(1);
  const p = e.problems[0]!;
  return [p.code, p.path, p.message];
}

function withEntry(entry: Doc): Doc {
  const doc = base();
  doc.egress.push(entry);
  return doc;
}

describe('refused: a shared prefix of the whole address space', () => {
  it.each(['0.0.0.0/0', '::/0'])('%s', (prefix) => {
    expect(only(withEntry({ prefix, slices: { owners: ['a1'] } }))).toEqual([
      INVALID,
      'egress[2].prefix',
      `Expected a prefix longer than /0 (it would cover every address, each host's own too) for egress[2].prefix but received '${prefix}'`,
    ]);
  });
});

describe('refused: a shared address or prefix over an address a host needs for itself', () => {
  it('a shared address that is a server\'s', () => {
    expect(only(withEntry({ address: '10.1.0.2', slices: [{ ports: 5000, owner: 'a1' }] }))).toEqual([
      CONFLICT,
      'egress[2].address',
      `Shared address 10.1.0.2 (egress[2].address) is the address of server a2 (datacenters.A.servers.a2.ipv4); ${WHY_HOST}`,
    ]);
  });

  it('a shared prefix over several servers: the first named, the rest counted (an endpoint that is a server counts once)', () => {
    expect(only(withEntry({ prefix: '10.1.0.0/30', slices: { owners: ['a1'] } }))).toEqual([
      CONFLICT,
      'egress[2].prefix',
      `Shared prefix 10.1.0.0/30 (egress[2].prefix) covers 10.1.0.1, the address of server a1 (datacenters.A.servers.a1.ipv4) (and 2 more host addresses); ${WHY_HOST}`,
    ]);
  });

  it('an IPv6 prefix over a server', () => {
    expect(only(withEntry({ prefix: '2001:db8:b::2/127', protocols: ['udp'], slices: [{ ports: '5000-5999', owner: 'b1' }] }))).toEqual([
      CONFLICT,
      'egress[2].prefix',
      `Shared prefix 2001:db8:b::2/127 (egress[2].prefix) covers 2001:db8:b::2, the address of server b2 (datacenters.B.servers.b2.ipv6); ${WHY_HOST}`,
    ]);
  });

  it('a shared address that is the endpoint of a data centre (no server of it)', () => {
    const doc = withEntry({ address: '10.2.0.100', slices: [{ ports: 5000, owner: 'a1' }] });
    doc.datacenters.B.endpoint.ipv4 = '10.2.0.100';
    expect(only(doc)).toEqual([
      CONFLICT,
      'egress[2].address',
      `Shared address 10.2.0.100 (egress[2].address) is the address of the endpoint of data centre B (datacenters.B.endpoint.ipv4); ${WHY_HOST}`,
    ]);
  });

  it('a shared address inside a trusted peer prefix', () => {
    const doc = base();
    doc.gue = { trustedPeers: [...TRUST, '192.0.2.0/24'] };
    expect(only(doc)).toEqual([
      CONFLICT,
      'egress[0].address',
      `Shared address 192.0.2.1 (egress[0].address) overlaps trusted peer prefix 192.0.2.0/24 (gue.trustedPeers[2]) at 192.0.2.1; ${WHY_TRUST}`,
    ]);
  });

  it('a shared prefix around a trusted peer address', () => {
    const doc = withEntry({ prefix: '198.51.100.0/24', slices: { owners: ['a1'] } });
    doc.gue = { trustedPeers: [...TRUST, '198.51.100.9'] };
    expect(only(doc)).toEqual([
      CONFLICT,
      'egress[2].prefix',
      `Shared prefix 198.51.100.0/24 (egress[2].prefix) overlaps trusted peer address 198.51.100.9 (gue.trustedPeers[2]) at 198.51.100.9; ${WHY_TRUST}`,
    ]);
  });
});

describe('refused: two servers with one address', () => {
  it('in one data centre', () => {
    const doc = base();
    doc.datacenters.A.servers.a4 = { ipv4: '10.1.0.2', ipv6: '2001:db8:a::4' };
    doc.egress[0].slices.owners.push('a4');
    expect(only(doc)).toEqual([
      CONFLICT,
      'datacenters.A.servers.a4.ipv4',
      'Servers a2 (datacenters.A.servers.a2.ipv4) and a4 (datacenters.A.servers.a4.ipv4) have the same address 10.1.0.2; each server needs its own (peers reach a server by its address)',
    ]);
  });

  it('in two data centres, IPv6', () => {
    const doc = base();
    doc.datacenters.B.servers.b3 = { ipv4: '10.2.0.3', ipv6: '2001:db8:a::2' };
    doc.egress[0].slices.owners.push('b3');
    expect(only(doc)).toEqual([
      CONFLICT,
      'datacenters.B.servers.b3.ipv6',
      'Servers a2 (datacenters.A.servers.a2.ipv6) and b3 (datacenters.B.servers.b3.ipv6) have the same address 2001:db8:a::2; each server needs its own (peers reach a server by its address)',
    ]);
  });
});

describe('warned, not refused', () => {
  it('a server that owns no slice', () => {
    const doc = base();
    doc.datacenters.A.servers.idle = { ipv4: '10.1.0.9', ipv6: '2001:db8:a::9' };
    const c = validateConfig(doc);
    expect(c.warnings).toEqual([
      { path: 'datacenters.A.servers.idle', code: INVALID, message: 'Server idle owns no slice of egress: an owner that no slice uses', severity: 'warning' },
    ]);
  });

  it('a trusted range that covers an address the file names as something other than a peer', () => {
    const doc = base();
    doc.gue = { trustedPeers: [...TRUST, '127.0.0.0/8'] };
    doc.stats = { prometheus: '127.0.0.1:9464' };
    expect(validateConfig(doc).warnings).toEqual([
      {
        path: 'gue.trustedPeers[2]',
        code: CONFLICT,
        message: "Trusted peer prefix 127.0.0.0/8 (gue.trustedPeers[2]) covers 127.0.0.1, the Prometheus address (stats.prometheus), which is not a GUE peer; trust the servers' and endpoints' addresses only",
        severity: 'warning',
      },
    ]);
  });

  it('nothing for the base document', () => {
    expect(validateConfig(base()).warnings).toEqual([]);
  });
});
