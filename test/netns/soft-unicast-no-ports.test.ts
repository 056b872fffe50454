// Soft-unicast end to end, for the packets that carry no port of their own slice: ICMP errors
// (steered by the packet they quote: path MTU discovery works from every slice, also across data
// centres) and fragments (the later pieces follow the first to the owner, which reassembles).
// The world and its helpers: test/netns/soft-unicast-suite.ts. Run by vitest as root.
import { createHash } from 'node:crypto';

import { beforeAll, describe, expect, it } from 'vitest';

import { execIn, spawnIn, waitFor } from '../../src/netns/index.js';
import { FAMILIES, inetOf, sliceOf, softUnicastSuite } from './soft-unicast-suite.js';
import { HTTP_PORT, sharedOf } from './topology.js';

const suite = softUnicastSuite();

describe('a Router on every server', () => {
  beforeAll(() => suite.startRouters(), 120_000);

  it('ICMP errors reach the server whose packet they quote: path MTU discovery works from every slice, also across data centres', async () => {
    // Uploads from a3 and b2 leave through their own centre's router, whose link to inet now
    // carries 1280 bytes; the routers answer each 1500-byte DF packet with "fragmentation
    // needed" / "packet too big" to the shared address, which lands at an entry server: a1
    // (IPv4, reached by rB over the backbone) or b1 (IPv6, from rA likewise). Only if the
    // error is steered on to the sender does its kernel lower the path MTU; otherwise the
    // upload stalls (a black hole: without the steering this test times out).
    const inetLinks = (['A', 'B'] as const).map((dc) => suite.world.routers[dc]);
    const setMtu = (mtu: number) => Promise.all(inetLinks.map((r) => execIn(r.ns, 'ip', ['link', 'set', 'dev', r.inetLink, 'mtu', String(mtu)], { throwOnError: true })));
    await setMtu(1280);
    try {
      // a3 and b2: a server of each data centre that is not its entry server.
      const runs = (['a3', 'b2'] as const).flatMap((server) => FAMILIES.map((family) => ({ server, family })));
      const answers = await Promise.all(runs.map(({ server, family }) =>
        suite.clients.get(server)!.run('put', { source: sharedOf(family), host: inetOf(family), port: HTTP_PORT, ...sliceOf(server), size: 300_000, timeoutMs: 5_000, deadlineMs: 20_000 }, 30_000)));
      const all = await suite.allCounters();
      runs.forEach(({ server, family }, i) => {
        const a = answers[i]!;
        expect({ server, family, error: a.error, status: a.status, received: a.answer }, `counters: ${JSON.stringify(all)}`).toEqual({
          server, family, error: undefined, status: 200, received: { bytes: 300_000, sha256: a.sent },
        });
      });
      // Each sender's kernel learnt the smaller path MTU from the error it was sent on.
      for (const { server, family } of runs) {
        const route = await execIn(suite.world.server(server).ns, 'ip', [family === 'v4' ? '-4' : '-6', 'route', 'get', inetOf(family)], { throwOnError: true });
        expect(route.stdout, `${server}'s route to ${inetOf(family)}`).toMatch(/mtu 1280/);
      }
    } finally {
      await setMtu(1500);
    }
    suite.expectNoDrops(await suite.allCounters());
  }, 90_000);

  it('fragmented UDP datagrams from the Internet are reassembled by the owner of their slice, in the same and the other data centre', async () => {
    // 4,000-byte datagrams from inet leave in three pieces; only the first has the port. Each
    // landing and forwarding server sends the later pieces where their first went (the XDP
    // program's and the fast path's fragment tables); the owner's kernel reassembles them.
    const PORT_OFFSET = 1234;
    const flows = (['a3', 'b2'] as const).flatMap((server) => FAMILIES.map((family) => ({ server, family, port: sliceOf(server).from + PORT_OFFSET })));
    const listeners = await Promise.all(flows.map(async ({ server, family, port }) => {
      const l = spawnIn(suite.world.server(server).ns, process.execPath, ['-e', `
        const s = require('node:dgram').createSocket('${family === 'v4' ? 'udp4' : 'udp6'}');
        s.on('message', (m) => console.log(m.length + ' ' + require('node:crypto').createHash('sha256').update(m).digest('hex')));
        s.bind(${port}, '${sharedOf(family)}', () => console.log('listening'));`]);
      await l.waitForLine('listening');
      return l;
    }));
    const DATAGRAMS = 5;
    const sender = await execIn(suite.world.inet.ns, process.execPath, ['-e', `
      const dgram = require('node:dgram');
      const flows = ${JSON.stringify(flows.map(({ family, port }) => ({ family, port, host: sharedOf(family) })))};
      (async () => {
        for (const f of flows) {
          const s = dgram.createSocket(f.family === 'v4' ? 'udp4' : 'udp6');
          for (let i = 0; i < ${DATAGRAMS}; i++) {
            await new Promise((r, j) => s.send(Buffer.alloc(4000, i + 1), f.port, f.host, (e) => (e ? j(e) : r())));
            await new Promise((r) => setTimeout(r, 20));
          }
          s.close();
        }
      })().catch((e) => { console.error(e); process.exit(1); });`], { timeoutMs: 20_000 });
    expect(sender.code, sender.stderr).toBe(0);
    const hash = (i: number) => createHash('sha256').update(Buffer.alloc(4000, i + 1)).digest('hex');
    const expected = Array.from({ length: DATAGRAMS }, (_, i) => `4000 ${hash(i)}`);
    for (const [i, l] of listeners.entries()) {
      await waitFor(() => l.stdoutLines.length > DATAGRAMS, { what: `${DATAGRAMS} datagrams at ${flows[i]!.server} over ${flows[i]!.family}`, timeoutMs: 10_000 }).catch(() => undefined);
      expect({ ...flows[i], received: l.stdoutLines.slice(1) }).toEqual({ ...flows[i], received: expected });
      await l.stop();
    }
    const all = await suite.allCounters();
    // The entry servers sent later pieces on where their first went, and none was dropped on
    // the way (drop_fragment among them).
    suite.expectNoDrops(all);
  });
});
