// SecondChanceBackend's options (src/lb/backend.ts) are refused, naming the option, before any
// loader runs; its counters are the names of native/include/softunicast/chance.h. No root needed.
import { describe, expect, it } from 'vitest';

import { InvalidOptionError } from '../../src/errors.js';
import { CHANCE_COUNTERS, SecondChanceBackend } from '../../src/lb/index.js';

describe('SecondChanceBackend options', () => {
  it.each([
    [{ attach: 'offload' }, /Expected 'driver' or 'generic' for attach but received .*offload/],
    [{ ifname: '' }, /for ifname but received/],
    [{ nextHops: [{ address: '2001:db8::1', mac: '02:00:00:00:00:01' }] }, /Expected an IPv4 address .* for nextHops\[0\]\.address but received .*2001:db8::1/],
    [{ nextHops: [{ address: '10.0.0.1', mac: '02:00:00:00:01' }] }, /for nextHops\[0\]\.mac but received .*02:00:00:00:01/],
  ])('refuses %j', async (options, message) => {
    const opening = SecondChanceBackend.open(options as never);
    await expect(opening).rejects.toThrow(InvalidOptionError);
    await expect(opening).rejects.toThrow(message);
  });

  it('counts every outcome by the name the C header gives it', () => {
    expect(CHANCE_COUNTERS).toEqual([
      'chance_local_syn', 'chance_local_socket', 'chance_local_cookie', 'chance_local_other', 'chance_forwarded',
      'chance_last_hop', 'chance_no_neighbour', 'chance_malformed', 'chance_not_gue',
    ]);
  });
});
