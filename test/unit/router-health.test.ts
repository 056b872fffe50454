// What the router binary makes of peer health: its log lines (health-log.ts), the metrics
// (softunicast_owner_up and the probe counters), and the health command on the command line.
import { describe, expect, it } from 'vitest';

import { parseCli } from '../../examples/soft-unicast-router/cli.js';
import { healthLines } from '../../examples/soft-unicast-router/health-log.js';
import { RouterMetrics } from '../../examples/soft-unicast-router/metrics.js';
import type { HealthEvent } from '../../src/index.js';
import { counters } from './router-fixtures.js';

const event = (e: Partial<HealthEvent>): HealthEvent => ({ owner: 'a2', up: false, reason: '3 probes unanswered', moved: [], slicesTo: 'a2', fallback: undefined, ...e });

describe('health log lines', () => {
  it('says when an owner goes down, why, and where its slices go', () => {
    expect(healthLines(event({ moved: [{ owner: 'a2', to: 'a3' }], slicesTo: 'a3', fallback: 'a3' }))).toEqual([
      { level: 'warn', msg: 'owner a2 down: 3 probes unanswered; its slices go to a3', fields: { owner: 'a2', up: false, reason: '3 probes unanswered', slicesTo: 'a3' } },
    ]);
    expect(healthLines(event({}))[0]!.msg).toBe('owner a2 down: 3 probes unanswered; it has no fallback: its packets are lost until it is back');
    expect(healthLines(event({ fallback: 'a3' }))[0]!.msg).toBe('owner a2 down: 3 probes unanswered; its fallback a3 is down too: its slices stay with it');
  });

  it('says when it is back, and what else moved with it', () => {
    expect(healthLines(event({ up: true, reason: '2 probes answered', moved: [{ owner: 'a2', to: 'a2' }], fallback: 'a3' })).map((l) => [l.level, l.msg])).toEqual([
      ['info', 'owner a2 up again: 2 probes answered; its slices are its own again'],
    ]);
    // a3 goes down while its slices are a2's fallback... a2's slices have nowhere to go.
    expect(healthLines(event({ owner: 'a3', moved: [{ owner: 'a2', to: 'a2' }], fallback: 'a2', slicesTo: 'a3' })).map((l) => l.msg)).toEqual([
      'owner a3 down: 3 probes unanswered; its fallback a2 is down too: its slices stay with it',
      'slices of a2 go back to a2 (a3 down)',
    ]);
    expect(healthLines(event({ owner: 'a3', up: true, reason: 'set by the operator', moved: [{ owner: 'a2', to: 'a3' }] })).map((l) => l.msg)).toEqual([
      'owner a3 up again: set by the operator',
      'slices of a2 go to a3 (a3 up)',
    ]);
  });
});

describe('health metrics', () => {
  it('gives each probed owner softunicast_owner_up and its probe counters', async () => {
    const c = counters({
      health: {
        a2: { up: false, probes: 12, replies: 7, since: '2026-12-08T10:00:00.000Z', source: 'probes', slicesTo: 'a3' },
        a3: { up: true, probes: 12, replies: 12, since: '2026-12-08T09:00:00.000Z', source: 'probes', slicesTo: 'a3' },
      },
    });
    const text = await new RouterMetrics(() => c).registry.metrics();
    expect(text).toContain('# TYPE softunicast_owner_up gauge');
    expect(text).toContain('softunicast_owner_up{owner="a2"} 0\n');
    expect(text).toContain('softunicast_owner_up{owner="a3"} 1\n');
    expect(text).toContain('# TYPE softunicast_owner_probes_total counter');
    expect(text).toContain('softunicast_owner_probes_total{owner="a2"} 12\n');
    expect(text).toContain('softunicast_owner_probe_replies_total{owner="a2"} 7\n');
  });
});

describe('the health command', () => {
  const cli = (...argv: string[]) => parseCli(argv, () => 'fra1');

  it('shows every owner, or sets one', () => {
    expect(cli('health')).toEqual({ kind: 'control', cli: { socket: '/run/softunicast/fra1.sock', json: false, command: { cmd: 'health' } } });
    expect(cli('health', 'fra2', 'down', '--json')).toEqual({ kind: 'control', cli: { socket: '/run/softunicast/fra1.sock', json: true, command: { cmd: 'health', owner: 'fra2', setting: 'down' } } });
  });

  it('refuses a setting it does not know, saying what it takes', () => {
    expect(() => cli('health', 'fra2', 'dead')).toThrow("Expected nothing, or OWNER up|down|auto, e.g. 'health fra2 down' for the command health but received 'fra2' 'dead'");
    expect(() => cli('health', 'fra2')).toThrow("Expected nothing, or OWNER up|down|auto, e.g. 'health fra2 down' for the command health but received 'fra2'");
  });
});
