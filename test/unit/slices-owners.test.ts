// SliceTable's owners and the validation of a slice, as a user sees them (error classes, codes,
// exact messages).
import { describe, expect, it } from 'vitest';

import { InvalidOptionError, InvalidSliceError, UnknownOwnerError } from '../../src/errors.js';
import { diffTables } from '../../src/slices/diff.js';
import { SliceTable } from '../../src/slices/table.js';
import type { SliceSpec } from '../../src/slices/types.js';
import { cidr4, thrown, v4, v6 } from './helpers.js';
import { table } from './slices-fixture.js';

describe('owners', () => {
  it('fills in defaults and reports them through owners()', () => {
    const t = table().defineOwner('web3', { kind: 'server', address: v4('10.0.0.3'), encap: 'l2', mac: '02:AA:bb:00:00:03' });
    const owners = t.owners();
    expect([...owners.keys()]).toEqual(['me', 'web2', 'dc2', 'web3']);
    expect(owners.get('me')).toEqual({ kind: 'local' });
    expect(owners.get('web2')).toMatchObject({ kind: 'server', encap: 'gue0', guePort: 6080 });
    expect(owners.get('dc2')).toMatchObject({ kind: 'datacenter', encap: 'gue0', guePort: 6080 });
    expect(owners.get('web3')).toMatchObject({ kind: 'server', encap: 'l2', mac: '02:aa:bb:00:00:03' });
    expect(owners.get('web3')).not.toHaveProperty('guePort');
  });

  it("reaches a 'glb' server on GLB director's GUE port unless told otherwise", () => {
    const t = table()
      .defineOwner('b1', { kind: 'server', address: v4('10.0.0.5'), encap: 'glb' })
      .defineOwner('b2', { kind: 'server', address: v4('10.0.0.6'), encap: 'glb', guePort: 6080 });
    expect(t.owners().get('b1')).toEqual({ kind: 'server', address: v4('10.0.0.5'), encap: 'glb', guePort: 19523 });
    expect(t.owners().get('b2')).toMatchObject({ encap: 'glb', guePort: 6080 });
  });

  it('keeps a server\'s other addresses, and tells owners apart by them', () => {
    const t = table().defineOwner('web4', { kind: 'server', address: v4('10.0.0.4'), otherAddresses: [v6('2001:db8::4')] });
    expect(t.owners().get('web4')).toEqual({ kind: 'server', address: v4('10.0.0.4'), encap: 'gue0', guePort: 6080, otherAddresses: [v6('2001:db8::4')] });
    // None given, or an empty list: no such key.
    expect(table().defineOwner('web4', { kind: 'server', address: v4('10.0.0.4'), otherAddresses: [] }).owners().get('web4')).not.toHaveProperty('otherAddresses');
    const other = t.clone().defineOwner('web4', { kind: 'server', address: v4('10.0.0.4'), otherAddresses: [v6('2001:db8::44')] });
    expect(diffTables(t, other).ownersChanged).toEqual(['web4']);
  });

  it.each([
    ['', { kind: 'local' }, "Expected a non-empty owner name for name but received ''"],
    ['x', null, "Expected an owner spec object for owners['x'] but received null"],
    ['x', { kind: 'router' }, "Expected 'local', 'server' or 'datacenter' for owners['x'].kind but received 'router'"],
    ['x', { kind: 'local', address: v4('10.0.0.1') }, "Expected no such option (known for this kind: kind) for owners['x'].address but received an instance of IPv4"],
    ['x', { kind: 'server', address: '10.0.0.2' }, "Expected an ip-num IPv4 or IPv6 address for owners['x'].address but received '10.0.0.2'"],
    ['x', { kind: 'server', address: v4('10.0.0.2'), encap: 'vxlan' }, "Expected 'gue0', 'gue1', 'l2' or 'glb' for owners['x'].encap but received 'vxlan'"],
    ['x', { kind: 'server', address: v6('2001:db8::2'), encap: 'glb' }, "Expected an IPv4 address other than 0.0.0.0 for encap 'glb' (GLB hop lists are IPv4 only) for owners['x'].address but received an instance of IPv6"],
    ['x', { kind: 'server', address: v4('0.0.0.0'), encap: 'glb' }, "Expected an IPv4 address other than 0.0.0.0 for encap 'glb' (GLB hop lists are IPv4 only) for owners['x'].address but received an instance of IPv4"],
    ['x', { kind: 'server', address: v4('10.0.0.2'), encap: 'glb', mac: '02:00:00:00:00:01' }, "Expected no MAC address unless encap is 'l2' (GUE next hops are resolved) for owners['x'].mac but received '02:00:00:00:00:01'"],
    ['x', { kind: 'datacenter', endpoint: v4('10.0.0.9'), encap: 'glb' }, "Expected 'gue0' or 'gue1' for owners['x'].encap but received 'glb'"],
    ['x', { kind: 'server', address: v4('10.0.0.2'), encap: 'l2' }, "Expected a MAC address such as '02:00:00:00:00:01' for owners['x'].mac but received undefined"],
    ['x', { kind: 'server', address: v4('10.0.0.2'), encap: 'l2', mac: '02:00:00:00:00' }, "Expected a MAC address such as '02:00:00:00:00:01' for owners['x'].mac but received '02:00:00:00:00'"],
    ['x', { kind: 'server', address: v4('10.0.0.2'), encap: 'l2', mac: '02-00-00-00-00-01' }, "for owners['x'].mac but received '02-00-00-00-00-01'"],
    ['x', { kind: 'server', address: v4('10.0.0.2'), encap: 'l2', mac: '02:00:00:00:00:01', guePort: 6080 }, "Expected no GUE port for an 'l2' owner (it is not encapsulated) for owners['x'].guePort but received 6080"],
    ['x', { kind: 'server', address: v4('10.0.0.2'), mac: '02:00:00:00:00:01' }, "Expected no MAC address unless encap is 'l2' (GUE next hops are resolved) for owners['x'].mac but received '02:00:00:00:00:01'"],
    ['x', { kind: 'server', address: v4('10.0.0.2'), guePort: 0 }, "Expected a UDP port from 1 to 65535 for owners['x'].guePort but received 0"],
    ['x', { kind: 'server', address: v4('10.0.0.2'), otherAddresses: v6('2001:db8::2') }, "Expected an array of ip-num IPv4 and IPv6 addresses for owners['x'].otherAddresses but received an instance of IPv6"],
    ['x', { kind: 'server', address: v4('10.0.0.2'), otherAddresses: ['2001:db8::2'] }, "Expected an ip-num IPv4 or IPv6 address for owners['x'].otherAddresses[0] but received '2001:db8::2'"],
    ['x', { kind: 'datacenter', endpoint: v4('10.0.0.9'), encap: 'l2' }, "Expected 'gue0' or 'gue1' for owners['x'].encap but received 'l2'"],
    ['x', { kind: 'datacenter', address: v4('10.0.0.9') }, "Expected no such option (known for this kind: kind, endpoint, encap, guePort, fallback) for owners['x'].address"],
  ])('rejects owner %# with InvalidOptionError', (name, spec, message) => {
    const error = thrown(() => new SliceTable().defineOwner(name, spec as never), InvalidOptionError, 'ERR_INVALID_OPTION');
    expect(error.message).toContain(message);
  });

  it('redefining an owner replaces it, and its slices follow the new definition', () => {
    const t = table().assign({ destination: v4('192.0.2.1'), ports: 80, owner: 'web2' });
    t.defineOwner('web2', { kind: 'datacenter', endpoint: v4('203.0.113.9'), encap: 'gue1' });
    expect(t.owners().get('web2')).toMatchObject({ kind: 'datacenter', encap: 'gue1' });
    expect(t.lookup(v4('192.0.2.1'), 'tcp', 80)).toBe('web2');
    expect([...t.owners().keys()]).toEqual(['me', 'web2', 'dc2']);
  });

  it('removeOwner refuses owners in use and unknown names', () => {
    const t = table().assign({ destination: v4('192.0.2.1'), ports: 80, owner: 'web2' });
    const inUse = thrown(() => t.removeOwner('web2'), InvalidOptionError, 'ERR_INVALID_OPTION');
    expect(inUse.message).toBe(
      "Expected an owner no slice belongs to (1 slice belongs to it: move or release them first) for name but received 'web2'",
    );
    const unknown = thrown(() => t.removeOwner('nobody'), UnknownOwnerError, 'ERR_UNKNOWN_OWNER');
    expect(unknown.message).toBe("Expected an owner defined with defineOwner() (known: me, web2, dc2) for name but received 'nobody'");
    t.release({ destination: v4('192.0.2.1'), ports: 80 });
    t.removeOwner('web2');
    expect([...t.owners().keys()]).toEqual(['me', 'dc2']);
    const gone = thrown(() => t.assign({ destination: v4('192.0.2.1'), ports: 80, owner: 'web2' }), UnknownOwnerError, 'ERR_UNKNOWN_OWNER');
    expect(gone.message).toBe("Expected an owner defined with defineOwner() (known: me, dc2) for slice.owner but received 'web2'");
  });
});

describe('slice validation', () => {
  const good = { destination: v4('192.0.2.1'), ports: 80, owner: 'me' };
  it.each([
    [{ ...good, ports: 65536 }, 'Expected a port from 0 to 65535 for slice.ports but received 65536'],
    [{ ...good, ports: -1 }, 'Expected a port from 0 to 65535 for slice.ports but received -1'],
    [{ ...good, ports: 1.5 }, 'Expected a port from 0 to 65535 for slice.ports but received 1.5'],
    [{ ...good, ports: undefined }, 'Expected a port from 0 to 65535 or { from, to } for slice.ports but received undefined'],
    [{ ...good, ports: '80' }, "Expected a port or { from, to } for slice.ports but received '80'"],
    [{ ...good, ports: { from: 10, to: 5 } }, 'Expected a port not below from (10) for slice.ports.to but received 5'],
    [{ ...good, ports: { from: 0, to: 70000 } }, 'Expected a port from 0 to 65535 for slice.ports.to but received 70000'],
    [{ ...good, destination: '192.0.2.1' }, "Expected an ip-num IPv4, IPv6, IPv4CidrRange or IPv6CidrRange for slice.destination but received '192.0.2.1'"],
    [{ ...good, destination: cidr4('192.0.2.1/24') }, "Expected a prefix without host bits set (192.0.2.0/24) for slice.destination but received '192.0.2.1/24'"],
    [{ ...good, protocols: [] }, "Expected a non-empty array of 'tcp' and 'udp' for slice.protocols but received an array of 0"],
    [{ ...good, protocols: ['tcp', 'icmp'] }, "Expected 'tcp' or 'udp' for slice.protocols[1] but received 'icmp'"],
    [{ ...good, protocols: 'tcp' }, "Expected a non-empty array of 'tcp' and 'udp' for slice.protocols but received 'tcp'"],
    [{ ...good, port: 80 }, 'Expected no such option (destination, protocols, ports, owner) for slice.port but received 80'],
    [{ ...good, owner: 7 }, 'Expected an owner name for slice.owner but received 7'],
    [null, 'Expected a slice spec { destination, protocols?, ports, owner } for slice but received null'],
  ])('rejects slice %# with InvalidSliceError', (spec, message) => {
    const error = thrown(() => table().assign(spec as SliceSpec), InvalidSliceError, 'ERR_INVALID_SLICE');
    expect(error.message).toBe(message);
  });

  it('names the failing entry of assignMany and applies nothing', () => {
    const t = table();
    const error = thrown(
      () => t.assignMany([good, { ...good, ports: 81 }, { ...good, ports: { from: 9, to: 8 } }]),
      InvalidSliceError,
      'ERR_INVALID_SLICE',
    );
    expect(error.message).toBe('Expected a port not below from (9) for slices[2].ports.to but received 8');
    expect(t.size).toBe(0);
    expect(t.lookup(v4('192.0.2.1'), 'tcp', 80)).toBeUndefined();
  });

  it('takes any iterable in assignMany, and nothing else', () => {
    function* specs() {
      yield good;
      yield { ...good, ports: 81 };
    }
    expect(table().assignMany(specs()).size).toBe(2);
    const error = thrown(() => table().assignMany(good as never), InvalidOptionError, 'ERR_INVALID_OPTION');
    expect(error.message).toBe('Expected an iterable of slice specs for slices but received an object');
  });

  it('refuses an unknown owner with UnknownOwnerError', () => {
    const error = thrown(() => table().assignMany([good, { ...good, owner: 'web9' }]), UnknownOwnerError, 'ERR_UNKNOWN_OWNER');
    expect(error.message).toBe("Expected an owner defined with defineOwner() (known: me, web2, dc2) for slices[1].owner but received 'web9'");
  });
});
