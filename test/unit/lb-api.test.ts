// The load-balancer pieces through the public entry point (src/index.ts, namespace `lb`), used
// together as docs/load-balancer.md shows: a drain rebuilds the table with second chance.
import { createServer } from 'node:net';

import { describe, expect, it } from 'vitest';

import { lb } from '../../src/index.js';

describe('lb namespace', () => {
  it('drains a backend: its rows go to the others and keep it as their secondary', async () => {
    const server = createServer((s) => s.destroy());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    const port = (server.address() as { port: number }).port;
    const names = ['10.0.1.1', '10.0.1.2', '10.0.1.3'];
    const health = new lb.BackendHealth(names.map((name) => ({ name, address: '127.0.0.1', port })), { rise: 1 });
    try {
      let table = lb.buildMaglev(names.map((name) => ({ name })), { size: 1009 });
      health.onChange(() => {
        const up = health.newFlowBackends();
        if (up.length > 0) table = lb.rebuild(table, up.map((name) => ({ name })), { forget: health.forgotten() });
      });
      for (const name of names) await health.checkNow(name);
      const before = table;
      health.drain('10.0.1.2', { deadlineMs: 3_600_000 });
      expect(table.active.map((b) => b.name)).toEqual(['10.0.1.1', '10.0.1.3']);
      const flow = { protocol: 'tcp' as const, source: '192.0.2.7', destination: '198.51.100.1', sourcePort: 40000, destinationPort: 443 };
      for (let p = 40000; p < 40200; p++) {
        const hash = lb.flowHash(0x5eed, { ...flow, sourcePort: p });
        const was = lb.lookupRow(before, hash);
        const now = lb.lookupRow(table, hash);
        // Rows that move (all of the drained backend's, and a few others) keep a second chance.
        if (now.primary !== was.primary) expect(now.secondary).toBe(was.primary);
        expect(now.primary).not.toBe('10.0.1.2');
      }
      health.endDrain('10.0.1.2');
      expect(table.names).not.toContain('10.0.1.2');
      expect(lb.decodeHopList(lb.encodeHopList({ protocol: 4, nextHop: 0, hops: ['10.0.1.2'] })).hops).toEqual(['10.0.1.2']);
    } finally {
      health.close();
      server.close();
    }
  });
});
