// A flood of orphan fragments: later pieces of datagrams whose first piece never comes, from
// random sources with random identifications, as fast as a sender in a namespace can send them,
// at the shared address. Meanwhile legitimate datagrams of 3,000 bytes (three pieces each on a
// 1,500-byte link) go to this server's slice. The fragment memory only learns from first pieces,
// so the flood takes none of it: the legitimate datagrams arrive whole (under 1% lost), the
// orphans are dropped and counted (drop_fragment). Before, each orphan took an entry and the
// flood cost 95-98% of the legitimate datagrams. Run by vitest as root, in both lanes.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import {
  execIn, mustExecIn, requireNetnsPrivileges, spawnIn, teardownRun,
  waitFor,
} from '../../src/netns/index.js';
import { twoHostConfig, twoHosts } from './two-hosts.js';
import { TrafficAgent } from './traffic-agent.js';
import { ethernet, hex, ipv4, raw } from '../fixtures/packets.js';

const MAIN = fileURLToPath(new URL('../../dist/examples/soft-unicast-router/main.js', import.meta.url));
const TOOLS = ['ip', 'ethtool', 'python3'];
const SHARED = '192.0.2.1';
const SRV4 = '10.7.0.1';
const PEER4 = '10.7.0.2';
const PORT = 10001;
const DATAGRAMS = 2_000;
const FLOOD_SECONDS = 4;

const CONFIG = twoHostConfig({ srv4: SRV4, peer4: PEER4, shared: SHARED });

/**
 * Python in `peer`: sends, for `seconds`, the frame `template` (a later fragment to the shared
 * address) over and over with a random source address and identification each time, through a
 * packet socket on eth0; prints how many it sent.
 */
function floodScript(template: Uint8Array, seconds: number): string {
  return `
import os, socket, struct, time
frame = bytearray.fromhex('${hex(template)}')
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind(('eth0', 0))
end = time.monotonic() + ${seconds}
sent = 0
while time.monotonic() < end:
    for _ in range(256):
        r = os.urandom(6)
        frame[18:20] = r[0:2]            # IPv4 identification
        frame[26:30] = b'\\xcb\\x00' + r[2:4]  # source 203.0.x.y
        frame[24:26] = b'\\x00\\x00'
        c = 0
        for i in range(14, 34, 2):
            c += (frame[i] << 8) | frame[i + 1]
        c = (c & 0xffff) + (c >> 16)
        c = (c & 0xffff) + (c >> 16)
        frame[24:26] = struct.pack('!H', ~c & 0xffff)
        s.send(frame)
        sent += 1
print(sent)
`;
}

let srv: string;
let peer: string;
let dir: string;
let srvMac: string;

beforeAll(async () => {
  requireNetnsPrivileges(TOOLS);
  dir = mkdtempSync(join(tmpdir(), 'su-fragment-flood-'));
  writeFileSync(join(dir, 'router.yaml'), CONFIG);
  ({ srv: srv, peer: peer } = await twoHosts({ srv4: SRV4, peer4: PEER4, shared: SHARED }));
  srvMac = JSON.parse((await mustExecIn(srv, 'ip', ['-j', 'link', 'show', 'dev', 'eth0'])).stdout)[0].address;
}, 60_000);
afterAll(async () => {
  await teardownRun();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => requireNetnsPrivileges(TOOLS));

describe('a flood of orphan fragments', () => {
  it.each(['auto', 'afxdp'] as const)('lane %s: legitimate fragmented datagrams arrive whole, the orphans are dropped and counted', async (lane) => {
    const socket = join(dir, `${lane}.sock`);
    const router = spawnIn(srv, process.execPath, [MAIN, '--no-pin', '--lane', lane, '--config', join(dir, 'router.yaml'), '--host', 'srv', '--socket', socket]);
    const sink = await TrafficAgent.start(srv, ['sink', SHARED, String(PORT)]);
    const sender = await TrafficAgent.start(peer, ['peer']);
    try {
      await waitFor(() => / info +ready in /.test(router.stderr) || !router.running, { what: 'the router to be ready', timeoutMs: 30_000 });
      expect(router.running, router.stderr).toBe(true);
      const orphan = ethernet({ dst: srvMac, src: '02:00:00:00:00:02' }, ipv4({ src: '203.0.0.1', dst: SHARED, id: 1, fragmentOffset: 185 }, raw(17, new Uint8Array(1200))));
      const flood = execIn(peer, 'python3', ['-c', floodScript(orphan, FLOOD_SECONDS)], { timeoutMs: (FLOOD_SECONDS + 20) * 1000 });
      // 2,000 datagrams of 3,000 bytes in 4 s, three pieces each, all during the flood.
      await sender.run('start', { target: SHARED, ports: [PORT], intervalMs: 2, size: 3000 });
      await waitFor(async () => (await sender.run('report')).sent[PORT] >= DATAGRAMS, { what: `${DATAGRAMS} datagrams sent`, timeoutMs: 30_000 });
      const { sent } = await sender.run('stop');
      const floodResult = await flood;
      expect(floodResult.code, floodResult.stderr).toBe(0);
      const orphans = Number(floodResult.stdout.trim());
      await new Promise((r) => setTimeout(r, 500));
      const received = (await sink.run('report')).received[PORT] ?? 0;
      const stats = JSON.parse((await execIn(srv, process.execPath, [MAIN, 'stats', '--socket', socket, '--json'], { throwOnError: true })).stdout).counters;
      console.log(`lane ${lane}: ${orphans} orphan fragments; ${received} of ${sent[PORT]} legitimate datagrams arrived whole; drop_fragment ${stats.fates.drop_fragment}`);
      expect(received / sent[PORT], `${received} of ${sent[PORT]} arrived`).toBeGreaterThanOrEqual(0.99);
      expect(stats.fates.drop_fragment, 'orphans counted').toBeGreaterThan(orphans / 2);
    } finally {
      await sender.proc.kill('SIGTERM');
      await sink.proc.kill('SIGTERM');
      await router.kill('SIGTERM');
    }
  }, 120_000);
});
