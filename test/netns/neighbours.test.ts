// Next hops under change: a Router forwards a peer's slice in GUE while the peer's MAC address
// changes, while the link flaps, and while nothing but the fast path sends to the peer. The
// router follows the kernel's neighbour table (a new MAC reaches the fast path at once; a MAC is
// kept while the kernel merely forgets it) and keeps the kernel's entry confirmed. Each test
// prints what it measured. Run by vitest as root, after the build (dist/).
//
//   srv   eth0 10.9.0.1/24, lo 192.0.2.1/32   Router (agents/router-agent.mjs)
//    |    veth
//   peer  eth0 10.9.0.2/24                     sends to its own slice of 192.0.2.1 through srv;
//                                              srv's fast path sends each datagram back in GUE
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';

import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';

import {
  Agent, createNamespace, execIn, linkDrops, mustExec, mustExecIn, requireNetnsPrivileges, spawnIn,
  teardownRun, waitFor, xdpOnVethPeer,
} from '../../src/netns/index.js';

const ROUTER_AGENT = fileURLToPath(new URL('./agents/router-agent.mjs', import.meta.url));
const TRAFFIC_AGENT = fileURLToPath(new URL('./agents/router-binary-agent.mjs', import.meta.url));
const TOOLS = ['ip', 'ethtool', 'sysctl'];
const SHARED = '192.0.2.1';
const SRV4 = '10.9.0.1';
const PEER4 = '10.9.0.2';
/** The peer's slice; its traffic goes to the first port. */
const PORT = 20000;
/** The router's previous next-hop refresh ran every second: waits longer than that show
 * whether anything still depends on it. */
const LONGER_THAN_A_REFRESH_MS = 2500;
/** srv's kernel considers a confirmed neighbour reachable for 2-6 s (half to 1.5 times this):
 * short, so that the freshness test sees several rounds of confirmation. When that time is
 * up, an entry used within delay_first_probe_time (1 s) is probed; any other goes STALE
 * (net/core/neighbour.c, neigh_timer_handler). On this kernel a confirmation also stamps the
 * entry as used (ip -s neigh shows equal used and confirmed ages), so with a reachable time
 * shorter than the delay the entry would keep itself fresh with nobody sending: the delay is
 * kept below the shortest reachable time. */
const BASE_REACHABLE_MS = 4000;
const DELAY_FIRST_PROBE_S = 1;
/** How long the freshness test watches: at least two rounds of REACHABLE (up to 6 s), DELAY
 * (1 s) and PROBE. */
const WATCH_MS = 20_000;

const TABLE = {
  owners: { srv: { kind: 'local' }, peer: { kind: 'server', address: PEER4, encap: 'gue1' } },
  slices: [{ destination: SHARED, protocols: ['udp'], ports: { from: PORT, to: PORT + 999 }, owner: 'peer' }],
};

let router: Agent;
let peer: Agent;
let ns: { srv: string; peer: string };

const now = (): number => performance.timeOrigin + performance.now();
/** `ip -ts` prints local time with microseconds, 2026-12-07T07:52:25.831409: in ms since the epoch. */
function localTime(text: string): number {
  const [seconds, fraction = '0'] = text.split('.');
  return new Date(seconds!).getTime() + Number(`0.${fraction}`) * 1000;
}

interface Counters {
  generation: number;
  fates: Record<string, number>;
  owners: Record<string, Record<string, { packets: number; bytes: number }>>;
  unresolvedOwners: Record<string, string>;
}
async function counters(): Promise<Counters> {
  return (await router.must('counters')).counters as Counters;
}
/** Datagrams the fast path counted as sent to the peer. */
const forwarded = (c: Counters): number => c.owners.peer?.forward_server_gue?.packets ?? 0;
/** Distinct datagrams the peer received back in GUE. */
async function received(): Promise<number> {
  return ((await peer.must('report')).gue as Record<string, number>)[PORT] ?? 0;
}
/** Frames lost on the way from srv to the peer that the veth pair counted. */
async function returnDrops(): Promise<number> {
  const [s, p] = await Promise.all([linkDrops(ns.srv, 'eth0'), linkDrops(ns.peer, 'eth0')]);
  return s.tx + p.rx;
}

/** srv's kernel's neighbour entry for the peer: MAC address and states, or undefined. */
async function kernelEntry(): Promise<{ lladdr?: string; state: string[] } | undefined> {
  const r = await execIn(ns.srv, 'ip', ['-j', 'neigh', 'show', 'dev', 'eth0', 'to', PEER4], { throwOnError: true });
  const entries = JSON.parse(r.stdout.trim() === '' ? '[]' : r.stdout) as { lladdr?: string; state: string[] }[];
  return entries[0];
}

async function peerMac(): Promise<string> {
  const r = await execIn(ns.peer, 'cat', ['/sys/class/net/eth0/address'], { throwOnError: true });
  return r.stdout.trim();
}

/** The first GUE datagram of the peer's slice that arrived at the peer at or after `at`. */
async function firstArrivalAfter(at: number, what: string): Promise<number> {
  return await waitFor(async () => ((await peer.must('firstAfter', { port: PORT, at })).first as number | null) ?? undefined, {
    what, timeoutMs: 15_000, intervalMs: 10,
  });
}

beforeAll(async () => {
  requireNetnsPrivileges(TOOLS);
  const srv = await createNamespace('srv');
  const peerNs = await createNamespace('peer');
  ns = { srv, peer: peerNs };
  await mustExec('ip', ['link', 'add', 'name', 'eth0', 'netns', srv, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', peerNs]);
  // What srv's XDP program sends back out reaches peerNs at once (src/netns/veth-peer.ts).
  await xdpOnVethPeer(peerNs, 'eth0');
  for (const [n, address] of [[srv, SRV4], [peerNs, PEER4]] as const) {
    await mustExecIn(n, 'ip', ['addr', 'add', `${address}/24`, 'dev', 'eth0']);
    await mustExecIn(n, 'ip', ['link', 'set', 'dev', 'eth0', 'up']);
  }
  await mustExecIn(srv, 'sysctl', ['-qw', `net.ipv4.neigh.eth0.base_reachable_time_ms=${BASE_REACHABLE_MS}`]);
  await mustExecIn(srv, 'sysctl', ['-qw', `net.ipv4.neigh.eth0.delay_first_probe_time=${DELAY_FIRST_PROBE_S}`]);
  // A peer that changes its MAC address announces it (gratuitous ARP), as VRRP and bonding do.
  await mustExecIn(peerNs, 'sysctl', ['-qw', 'net.ipv4.conf.eth0.arp_notify=1']);
  await mustExecIn(srv, 'ip', ['addr', 'add', `${SHARED}/32`, 'dev', 'lo']);
  await mustExecIn(peerNs, 'ip', ['route', 'add', `${SHARED}/32`, 'via', SRV4]);
  // Complete checksums from the sender, as a physical NIC would deliver them (world.ts explains).
  await mustExecIn(peerNs, 'ethtool', ['-K', 'eth0', 'tx', 'off']);
  ({ agent: peer } = await Agent.readyWithArgs('peer', peerNs, TRAFFIC_AGENT, ['peer']));
  ({ agent: router } = await Agent.ready('router', srv, ROUTER_AGENT, {
    interface: 'eth0',
    host: { ipv4: SRV4, guePort: 6080, trustedPeers: ['10.9.0.0/24'] },
    table: TABLE,
  }));
  await peer.must('start', { target: SHARED, ports: [PORT], intervalMs: 1 });
  await waitFor(async () => (await received()) > 100, { what: 'GUE from srv at the peer', timeoutMs: 10_000, intervalMs: 50 });
}, 60_000);
afterAll(async () => {
  await teardownRun();
});
beforeEach(() => requireNetnsPrivileges(TOOLS));

it('sends to a peer\'s new MAC address as soon as the kernel knows it, and counts nothing as forwarded to the old one', async () => {
  const before = await peerMac();
  const after = before === '02:00:00:00:09:02' ? '02:00:00:00:09:03' : '02:00:00:00:09:02';
  // Stamps the moment srv's kernel learns the new address, to the microsecond.
  const monitor = spawnIn(ns.srv, 'ip', ['-ts', 'monitor', 'neigh', 'dev', 'eth0']);
  await sleep(100); // subscribed
  const changedAt = now();
  await mustExecIn(ns.peer, 'ip', ['link', 'set', 'dev', 'eth0', 'address', after]);
  // The peer's gratuitous ARP teaches srv's kernel the new address; from then on, every
  // datagram the router counts as forwarded must reach the peer.
  await waitFor(async () => (await kernelEntry())?.lladdr === after, { what: `srv's kernel to learn ${after}`, timeoutMs: 10_000, intervalMs: 5 });
  // Received first, forwarded second: a datagram counted after this point arrives after it.
  const received1 = await received();
  const forwarded1 = forwarded(await counters());
  const drops1 = await returnDrops();
  await sleep(LONGER_THAN_A_REFRESH_MS);
  const forwarded2 = forwarded(await counters());
  await sleep(200); // what was counted has arrived
  const received2 = await received();
  const wire = (await returnDrops()) - drops1;
  await monitor.stop();
  const learned = monitor.stdoutLines.map((line) => /^\[(.+)\] .*lladdr (\S+)/.exec(line)).find((m) => m?.[2] === after);
  const learnedAt = learned === undefined ? Number.NaN : localTime(learned[1]!);
  const first = (await peer.must('firstAfter', { port: PORT, at: learnedAt })).first as number;
  // The quiet stretch at the peer: from the last datagram sent to the old address to the first
  // sent to the new one.
  const gap = (await peer.must('longestGap', { port: PORT, from: changedAt - 100, to: changedAt + LONGER_THAN_A_REFRESH_MS })) as unknown as { start: number; end: number };

  const lostAtOldMac = forwarded2 - forwarded1 - (received2 - received1) - wire;
  console.log(`MAC change: srv's kernel learned the new address ${(learnedAt - changedAt).toFixed(1)} ms after the change began; ` +
    `the first datagram reached it ${(first - learnedAt).toFixed(1)} ms later; nothing reached the peer for ${(gap.end - gap.start).toFixed(1)} ms. ` +
    `Once the test saw the new address in srv's table: ${forwarded2 - forwarded1} datagrams counted as forwarded, ` +
    `${received2 - received1} received, ${Math.max(lostAtOldMac, 0)} sent to the old address`);
  expect(forwarded2 - forwarded1, 'datagrams forwarded after the change').toBeGreaterThan(1000);
  expect(lostAtOldMac, `forwarded but not received (${wire} dropped by the veth pair)`).toBeLessThanOrEqual(0);
});

it('keeps the MAC address of a peer across a link flap: traffic resumes with the link, none dropped for want of a MAC', async () => {
  const c1 = await counters();
  await mustExecIn(ns.srv, 'ip', ['link', 'set', 'dev', 'eth0', 'down']);
  await sleep(LONGER_THAN_A_REFRESH_MS);
  const during = await counters();
  const upAt = now();
  await mustExecIn(ns.srv, 'ip', ['link', 'set', 'dev', 'eth0', 'up']);
  const first = await firstArrivalAfter(upAt, 'GUE at the peer after the link came back');
  await sleep(LONGER_THAN_A_REFRESH_MS);
  const c2 = await counters();

  const noNeighbour = c2.fates.drop_no_neighbour! - c1.fates.drop_no_neighbour!;
  console.log(`link flap: first GUE at the peer ${(first - upAt).toFixed(1)} ms after the link came back; ` +
    `${noNeighbour} datagrams dropped for want of a MAC address`);
  expect({ unresolved: during.unresolvedOwners, noNeighbour }).toEqual({ unresolved: {}, noNeighbour: 0 });
  expect(forwarded(c2) - forwarded(c1), 'datagrams forwarded after the flap').toBeGreaterThan(1000);
});

it('keeps the kernel\'s entry for the peer confirmed while only the fast path sends to it', async () => {
  // Sampled for several reachable times: the entry goes from REACHABLE through DELAY and PROBE
  // (the kernel asking the peer) back to REACHABLE. It may pass through STALE, but never stays
  // there: never in two samples in a row.
  const samples: string[] = [];
  const until = now() + WATCH_MS;
  while (now() < until) {
    const entry = await kernelEntry();
    samples.push(entry?.state.find((s) => ['REACHABLE', 'STALE', 'DELAY', 'PROBE', 'FAILED', 'INCOMPLETE'].includes(s)) ?? 'none');
    await sleep(50);
  }
  const changes = samples.filter((s, i) => s !== samples[i - 1]);
  const confirmations = changes.filter((s, i) => s === 'REACHABLE' && i > 0).length;
  const staleInARow = samples.filter((s, i) => s === 'STALE' && samples[i - 1] === 'STALE').length;
  const unusable = samples.filter((s) => !['REACHABLE', 'STALE', 'DELAY', 'PROBE'].includes(s));
  console.log(`neighbour states in ${WATCH_MS} ms (${samples.length} samples): ${changes.join(' -> ')}`);
  expect({ staleInARow, unusable, confirmedAgain: confirmations >= 2 }, `states: ${changes.join(' -> ')}`)
    .toEqual({ staleInARow: 0, unusable: [], confirmedAgain: true });
}, 60_000);
