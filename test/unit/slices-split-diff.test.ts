// splitPorts (an address cut into port slices) and diffTables (what moved between two tables).
import { describe, expect, it } from 'vitest';

import { InvalidOptionError } from '../../src/errors.js';
import { diffTables } from '../../src/slices/diff.js';
import { splitPorts } from '../../src/slices/split.js';
import { cidr4, thrown, v4, v6 } from './helpers.js';
import { table } from './slices-fixture.js';

describe('splitPorts', () => {
  it('cuts 2048-port slices and keeps the lowest back by default: 31 slices', () => {
    const slices = splitPorts();
    expect(slices).toHaveLength(31);
    expect(slices[0]).toEqual({ from: 2048, to: 4095 });
    expect(slices[30]).toEqual({ from: 63488, to: 65535 });
  });

  it('takes other powers of two, with or without the lowest slice', () => {
    expect(splitPorts({ sliceSize: 16384, reserveLowest: false })).toEqual([
      { from: 0, to: 16383 },
      { from: 16384, to: 32767 },
      { from: 32768, to: 49151 },
      { from: 49152, to: 65535 },
    ]);
    expect(splitPorts({ sliceSize: 1 })).toHaveLength(65535);
    expect(splitPorts({ sliceSize: 65536, reserveLowest: false })).toEqual([{ from: 0, to: 65535 }]);
  });

  it.each([
    [{ sliceSize: 3000 }, 'Expected a power of two from 1 to 65536 for options.sliceSize but received 3000'],
    [{ sliceSize: 0 }, 'Expected a power of two from 1 to 65536 for options.sliceSize but received 0'],
    [{ sliceSize: 131072 }, 'Expected a power of two from 1 to 65536 for options.sliceSize but received 131072'],
    [{ sliceSize: 65536 }, 'Expected a size below 65536 when reserveLowest is set (no slice would be left) for options.sliceSize but received 65536'],
    [{ reserveLowest: 'yes' }, "Expected true or false for options.reserveLowest but received 'yes'"],
    [{ size: 2048 }, 'Expected no such option (sliceSize, reserveLowest) for options.size but received 2048'],
  ])('rejects %o', (options, message) => {
    const error = thrown(() => splitPorts(options as never), InvalidOptionError, 'ERR_INVALID_OPTION');
    expect(error.message).toBe(message);
  });
});

describe('diffTables', () => {
  it('reports added, removed and moved slices and changed owners', () => {
    const before = table().assignMany([
      { destination: v4('192.0.2.1'), ports: { from: 2048, to: 4095 }, owner: 'me' },
      { destination: v4('192.0.2.1'), ports: { from: 4096, to: 6143 }, owner: 'web2' },
      { destination: cidr4('198.51.100.0/24'), protocols: ['tcp'], ports: 443, owner: 'dc2' },
    ]);
    const after = before
      .clone()
      .move({ destination: v4('192.0.2.1'), ports: { from: 4096, to: 6143 } }, 'dc2')
      .release({ destination: cidr4('198.51.100.0/24'), ports: 443 })
      .assign({ destination: v6('2001:db8::1'), protocols: ['udp'], ports: 53, owner: 'me' })
      .defineOwner('web2', { kind: 'server', address: v4('10.0.0.22') })
      .defineOwner('web5', { kind: 'local' });
    const diff = diffTables(before, after);
    expect(diff.added).toEqual([{ destination: v6('2001:db8::1'), protocols: ['udp'], ports: { from: 53, to: 53 }, owner: 'me' }]);
    expect(diff.removed).toEqual([{ destination: cidr4('198.51.100.0/24'), protocols: ['tcp'], ports: { from: 443, to: 443 }, owner: 'dc2' }]);
    expect(diff.moved).toEqual([
      { slice: { destination: v4('192.0.2.1'), protocols: ['tcp', 'udp'], ports: { from: 4096, to: 6143 } }, from: 'web2', to: 'dc2' },
    ]);
    expect(diff.ownersChanged).toEqual(['web2', 'web5']);
    expect(diffTables(after, after)).toEqual({ added: [], removed: [], moved: [], ownersChanged: [] });
  });
});
