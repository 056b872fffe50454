// The file's key kinds kept apart (src/config/kinds-apart.ts): an egress prefix or a service address that
// nests with an address service's prefix is a problem (ERR_SLICE_OVERLAP) naming both, placed at the
// later of the two in the file, as every router's table would refuse it.
import { describe, expect, it } from 'vitest';

import { tableFor } from '../../src/config/perspective.js';
import { parseConfig } from '../../src/config/source.js';
import { validateConfig } from '../../src/config/validate.js';
import { InvalidConfigError } from '../../src/errors.js';
import { base, thrown, type Doc } from './config-fixture.js';

const WHY = "which would decide is the fast path's order of key kinds, not the file";
const SERVICE = { prefix: '2001:db8:5::/64', slices: [{ prefix: '2001:db8:5::/65', owner: 'a2' }, { prefix: '2001:db8:5:0:8000::/65', owner: 'b1' }] };

function doc(egress: unknown[], more: Doc = {}): Doc {
  const d = base();
  return { ...d, egress: [...d.egress, ...egress], addressServices: [SERVICE], ...more };
}

const problems = (d: Doc) => thrown(() => validateConfig(d)).problems.map((p) => ({ path: p.path, code: p.code, message: p.message }));

describe('egress and services apart from address services', () => {
  it('refuses an egress prefix inside or around an address service, naming its first slice and the service', () => {
    const inside = { address: '2001:db8:5::7', slices: [{ ports: '2048-4095', owner: 'a1' }, { ports: '4096-6143', owner: 'b2' }] };
    const around = { prefix: '2001:db8:4::/46', protocols: ['udp'], slices: { size: 4096, owners: [null, 'a3'] } };
    expect(problems(doc([inside, around]))).toEqual([
      {
        path: 'egress[2].address',
        code: 'ERR_SLICE_OVERLAP',
        message: "Slice 2001:db8:5::7 tcp+udp ports 2048-4095 of owner 'a1' (egress[2].slices[0]) overlaps address service 2001:db8:5::/64 (addressServices[0]); " +
          `port slices and address services must not cover the same addresses (${WHY})`,
      },
      {
        path: 'egress[3].prefix',
        code: 'ERR_SLICE_OVERLAP',
        message: "Slice 2001:db8:4::/46 udp ports 8192-12287 of owner 'a3' (egress[3].slices.owners[1]) overlaps address service 2001:db8:5::/64 (addressServices[0]); " +
          `port slices and address services must not cover the same addresses (${WHY})`,
      },
    ]);
  });

  it('refuses a flow-hash service whose address lies in an address service', () => {
    const services = [{ address: '2001:db8:5::80', protocol: 'tcp', port: 443, backends: ['a1', 'a2'] }];
    expect(problems(doc([], { services }))).toEqual([
      {
        path: 'services[0].address',
        code: 'ERR_SLICE_OVERLAP',
        message: 'Service tcp [2001:db8:5::80]:443 (services[0]) lies in address service 2001:db8:5::/64 (addressServices[0]); ' +
          `flow-hash services and address services must not cover the same packets (${WHY})`,
      },
    ]);
  });

  it('takes egress and services beside the address service, and entries whose rule hands out no slice', () => {
    const services = [{ address: '2001:db8:6::80', port: 443, backends: ['a1', 'a2'] }];
    const config = validateConfig(doc([{ address: '2001:db8:6::1', slices: [{ ports: 80, owner: 'a1' }] }, { prefix: '2001:db8:5::/80', slices: { owners: [null] } }], { services }));
    const table = tableFor(config, 'a1');
    expect(table.addressServices()).toHaveLength(1);
    expect(table.lookup(config.egress[2]!.destination as never, 'tcp', 80)).toBe('a1');
  });

  it('places the problem at the later of the two in a YAML file', () => {
    const head = ['version: 1', 'datacenters:', '  A:', '    servers:', '      a1: { ipv4: 10.1.0.1, ipv6: 2001:db8:a::1 }'];
    const egress = ['egress:', '  - address: 2001:db8:5::7', "    slices: [{ ports: '0-4095', owner: a1 }]"];
    const services = ['addressServices:', '  - prefix: 2001:db8:5::/64', '    slices: [{ prefix: 2001:db8:5::/64, owner: a1 }]'];
    const placed = (lines: string[]) => {
      const error = thrown(() => parseConfig([...lines, ''].join('\n'), 'yaml', 'apart.yaml'));
      expect(error).toBeInstanceOf(InvalidConfigError);
      return error.problems.map((p) => [p.path, p.line, p.column, p.code]);
    };
    expect(placed([...head, ...egress, ...services])).toEqual([['addressServices[0].prefix', 10, 13, 'ERR_SLICE_OVERLAP']]);
    expect(placed([...head, ...services, ...egress])).toEqual([['egress[0].address', 10, 14, 'ERR_SLICE_OVERLAP']]);
  });
});
