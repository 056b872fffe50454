// The router binary's stats lines: rates and drops between two counter snapshots, as text and JSON.
import { describe, expect, it } from 'vitest';

import { statsBetween, statsJson, statsLine, type Sample } from '../../examples/soft-unicast-router/stats.js';
import { counters } from './router-fixtures.js';

describe('stats lines', () => {
  const before: Sample = {
    atMs: 10_000,
    counters: counters({
      program: { packets: 1000, redirected: 840 },
      fates: { pass_local: 100, decap_local: 50, pass_unmanaged: 10, forward_server_gue: 500, forward_server_l2: 100, encap_datacenter: 200, drop_no_owner: 40 },
    }),
  };
  const after: Sample = {
    atMs: 12_000,
    counters: counters({
      generation: 3,
      program: { packets: 5000, pass_unmatched: 1, pass_no_socket: 1 },
      fates: { pass_local: 600, decap_local: 250, pass_unmanaged: 28, pass_unparsed: 2, forward_server_gue: 1500, forward_server_l2: 300, encap_datacenter: 1000, drop_no_owner: 48, drop_too_big: 2 },
      queues: [{ queue: 0, rx_ring_full: 3 }, { queue: 1, rx_ring_full: 1 }],
      unresolvedOwners: { ams: 'the kernel has no MAC address for 192.0.2.21 on eth0' },
      health: {
        fra2: { up: false, probes: 9, replies: 5, since: '2025-01-02T03:04:00.000Z', source: 'probes', slicesTo: 'fra1' },
        fra3: { up: false, probes: 0, replies: 0, since: '2025-01-02T03:04:01.000Z', source: 'operator', slicesTo: 'fra3' },
        ams: { up: true, probes: 9, replies: 9, since: '2025-01-02T03:03:00.000Z', source: 'probes', slicesTo: 'ams' },
      },
    }),
  };

  it('computes rates from the two snapshots\' deltas, and drops by reason, non-zero only', () => {
    expect(statsBetween(before, after)).toEqual({
      seconds: 2,
      generation: 3,
      // (5000-1000)/2; local (600+250-150)/2; forwarded (1800-600)/2; encapsulated 800/2; passed
      // (18 unmanaged + 2 unparsed + 1 unmatched + 1 without a socket)/2;
      // dropped (8 + 2 + 3 + 1)/2.
      pps: { rx: 2000, local: 350, forwarded: 600, encapsulated: 400, passed: 11, dropped: 7 },
      drops: { drop_no_owner: 8, drop_too_big: 2, rx_ring_full: 4 },
      unresolvedOwners: { ams: 'the kernel has no MAC address for 192.0.2.21 on eth0' },
      downOwners: { fra2: 'fra1', fra3: 'fra3' },
    });
  });

  it('prints one text line', () => {
    expect(statsLine(statsBetween(before, after))).toBe(
      'generation 3: rx 2000 pps, local 350, forwarded 600, encapsulated 400, passed 11, dropped 7 pps; ' +
        'drops in 2.0 s: drop_no_owner 8, drop_too_big 2, rx_ring_full 4; unresolved: ams; down: fra2 (to fra1), fra3',
    );
    const quiet = statsBetween(before, { atMs: 15_000, counters: before.counters });
    expect(statsLine(quiet, true)).toBe('final: generation 1: rx 0 pps, local 0, forwarded 0, encapsulated 0, passed 0, dropped 0 pps');
  });

  it('prints one JSON object with --json, totals included', () => {
    const json = statsJson(statsBetween(before, after), after.counters, new Date('2025-01-02T03:04:05.678Z'));
    expect(JSON.parse(JSON.stringify(json))).toEqual({
      time: '2025-01-02T03:04:05.678Z',
      seconds: 2,
      generation: 3,
      pps: { rx: 2000, local: 350, forwarded: 600, encapsulated: 400, passed: 11, dropped: 7 },
      drops: { drop_no_owner: 8, drop_too_big: 2, rx_ring_full: 4 },
      unresolvedOwners: { ams: 'the kernel has no MAC address for 192.0.2.21 on eth0' },
      health: after.counters.health,
      totals: { lane: 'auto', fates: after.counters.fates, xdp: after.counters.xdp, program: after.counters.program },
      retiredTables: 0,
    });
    expect(statsJson(statsBetween(before, after), after.counters, new Date(0), true)).toMatchObject({ final: true });
  });
});

