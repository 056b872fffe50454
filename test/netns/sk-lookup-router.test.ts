// Socket steering beside the soft-unicast router on one host: the router's XDP program passes the
// packets of this host's own slices to the kernel (pass_local), where sk_lookup hands them to the
// one socket that serves the whole pool. Run by vitest as root.
import { afterAll, beforeEach, expect, it } from 'vitest';

import { requireNetnsPrivileges, teardownRun, xdpOnVethPeer } from '../../src/netns/index.js';
import { steerWorld } from './steer-world.js';

afterAll(teardownRun);
beforeEach(() => requireNetnsPrivileges());

it('serves a local slice of the pool through the router\'s XDP program and sk_lookup', async () => {
  const w = await steerWorld();
  // Native XDP on a veth end wants a program on its peer too (src/netns/veth-peer.ts).
  await xdpOnVethPeer(w.pair.a.ns, w.pair.a.ifname);
  await w.server.must('router', {
    interface: w.pair.b.ifname,
    ipv4: w.pair.b.ipv4,
    slices: [{ destination: '10.20.0.0/20', protocols: ['tcp'], ports: { from: 1, to: 1023 } }],
  });
  await w.server.must('listen', { name: 'web', kind: 'http', host: '::ffff:127.0.0.1', port: 80 });
  await w.server.must('attach');
  await w.server.must('add', { rule: { protocol: 'tcp', prefix: '10.20.0.0/20', ports: 80 }, target: 'web' });

  const answers = (await w.client.must('http', { host: '10.20.5.5', port: 80, count: 3 })).answers;
  expect(answers).toEqual(Array(3).fill('web ::ffff:10.20.5.5'));
  const steering = (await w.server.must('counters')).counters as Record<string, number>;
  expect(steering.skl_steered).toBe(3);
  // Every packet of the three connections to the slice went through the XDP program as local.
  const xdp = (await w.server.must('router-counters')).xdp as Record<string, number>;
  expect(xdp.pass_local).toBeGreaterThanOrEqual(3 * 3);
  await w.server.must('router-close');
  await w.server.must('detach');
});
