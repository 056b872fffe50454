// Running out: a caller that hoards every free frame empties the UMEM and then the fill ring, a
// burst larger than the TX ring has to wait for room. Each shows in a counter, loses nothing
// it did not count, and recovers by itself once the pressure goes: never stuck.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';

import { udp4Frame, createVethPair, requireNetnsPrivileges, spawnIn, teardownRun, waitFor } from '../../src/netns/index.js';
import { captureConfig, PortAgent, startRawSender } from './port-agent.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'su-exhaustion-'));
});
afterAll(async () => {
  await teardownRun();
  rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => requireNetnsPrivileges(['ip', 'python3']));

interface QueueCounters {
  rx_packets: number;
  fill_ring_empty: number;
  tx_ring_full: number;
  tx_packets: number;
  tx_dropped_kicks: number;
  kernel: { rx_dropped: number; rx_ring_full: number; rx_fill_ring_empty_descs: number };
}
const queueOf = async (agent: PortAgent): Promise<QueueCounters> =>
  ((await agent.command('counters')).counters as { queues: QueueCounters[] }).queues[0]!;

it('a caller hoarding every free frame empties the fill ring: the kernel counts each packet it drops, and receiving resumes once the frames come back', async () => {
  const pair = await createVethPair();
  const config = captureConfig(pair);
  const { agent } = await PortAgent.start(pair.a.ns, { ...config, open: { ...config.open, frameCount: 512, rings: { fill: 256, rx: 256 } } });
  await agent.command('hoard');

  // Every frame the handler gives back is taken by the hoarder: the fill ring drains.
  const burst = startRawSender(pair, 3000, 3000, join(dir, 'burst.bin'));
  await burst.waitForLine('sent 3000');
  const dry = await waitFor(async () => {
    const q = await queueOf(agent);
    return q.rx_packets + q.kernel.rx_dropped === 3000 && q;
  }, { what: 'all 3000 packets received or counted as dropped by the kernel' });
  expect(dry.kernel.rx_dropped, 'packets the kernel dropped for want of a fill-ring entry').toBeGreaterThan(0);
  expect(dry.kernel.rx_fill_ring_empty_descs).toBeGreaterThan(0);
  expect(dry.fill_ring_empty, 'times the worker found no frame to put on the fill ring').toBeGreaterThan(0);
  const { frames: held } = await agent.command('held');
  expect(held as number).toBeGreaterThan(256);

  // The hoarder lets go: the worker restocks the fill ring (half the queue's 512 frames; the
  // reserve for allocate() keeps the other half) and nothing more is dropped. 200 frames at
  // once: a burst the restocked ring holds whole, however late the handler runs.
  expect((await agent.command('release')).released).toBe(held);
  const after = startRawSender(pair, 200, 200, join(dir, 'after.bin'));
  await after.waitForLine('sent 200');
  const back = await waitFor(async () => {
    const q = await queueOf(agent);
    return q.rx_packets + q.kernel.rx_dropped >= 3200 && q;
  }, { what: '200 more packets accounted for' });
  expect({ received: back.rx_packets - dry.rx_packets, dropped: back.kernel.rx_dropped - dry.kernel.rx_dropped }).toEqual({ received: 200, dropped: 0 });
  await agent.command('close');
  await pair.destroy();
});

it('a burst 125 times the TX ring waits for room, is counted, and every frame reaches the peer', async () => {
  const pair = await createVethPair();
  const config = captureConfig(pair);
  const { agent } = await PortAgent.start(pair.a.ns, { ...config, open: { ...config.open, rings: { tx: 16, completion: 16 } } });
  const listener = spawnIn(pair.b.ns, process.execPath, [
    '-e',
    `const s = require('node:dgram').createSocket({ type: 'udp4', recvBufferSize: 16 << 20 });
     const seen = new Set();
     s.on('message', (m) => { seen.add(m.readUInt32BE(0)); if (seen.size % 500 === 0) console.log('seen ' + seen.size); });
     s.bind(9100, () => console.log('listening'));`,
  ]);
  await listener.waitForLine('listening');
  const packets = Array.from({ length: 2000 }, (_, i) => {
    const payload = Buffer.alloc(64);
    payload.writeUInt32BE(i, 0);
    return udp4Frame({ srcMac: pair.a.mac, dstMac: pair.b.mac, srcIp: pair.a.ipv4, dstIp: pair.b.ipv4, srcPort: 30000, dstPort: 9100, payload }).toString('hex');
  });
  expect((await agent.command('send', { packets })).sent).toBe(2000);
  await listener.waitForLine('seen 2000', 20_000);
  const q = await waitFor(async () => {
    const c = await queueOf(agent);
    return c.tx_packets === 2000 && c;
  }, { what: 'the worker to complete all 2000 transmissions' });
  expect(q.tx_ring_full, 'times a frame waited for room on the 16-entry TX ring').toBeGreaterThan(0);
  expect(q.tx_dropped_kicks).toBe(0);
  await agent.command('close');
  await pair.destroy();
});
