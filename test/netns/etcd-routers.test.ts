// Three soft-unicast-routers on one etcd, in namespaces: a slice moved with `slices move` reaches
// all three (each publishes the revision that wrote it), killing etcd changes nothing for traffic
// (each says etcd is gone, in its log and its metrics), bringing it back converges (a move made
// then reaches all three). Run by vitest as root, after the build (dist/).
//
//   net    br0 10.8.0.254/24; ports p1 p2 p3 (veth_peer.bpf.o on each); the sender of UDP to
//    |     192.0.2.1, routed via r2: replies land at r2, which forwards each slice to its owner
//   r1 r2 r3   eth0 10.8.0.N/24, lo 192.0.2.1/32, the router (--etcd, --no-pin); UDP sinks on r1, r3
//    |     mgmt0 10.9.N.2/30
//   store  sN 10.9.N.1/30: etcd on 10.9.N.1:2379 (and its loopback), its data in a temp directory
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { EtcdServer } from '../fixtures/etcd-server.js';
import {
  xdpOnVethPeer, createNamespace, execIn, mustExec, mustExecIn, requireNetnsPrivileges, spawnIn, teardownRun,
  waitFor, type SpawnedProcess,
} from '../../src/netns/index.js';
import { TrafficAgent } from './traffic-agent.js';

const MAIN = fileURLToPath(new URL('../../dist/examples/soft-unicast-router/main.js', import.meta.url));
const TOOLS = ['ip', 'ethtool'];
const SHARED = '192.0.2.1';
const PREFIX = '/softunicast/test';
const NAMES = ['r1', 'r2', 'r3'] as const;
type Name = (typeof NAMES)[number];
const DEPLOYMENT = `version: 1
datacenters:
  dc1:
    servers:
      r1: { ipv4: 10.8.0.1, interface: eth0 }
      r2: { ipv4: 10.8.0.2, interface: eth0 }
      r3: { ipv4: 10.8.0.3, interface: eth0 }
egress:
  - address: ${SHARED}
    protocols: [udp]
    slices:
      - { ports: 10000-10999, owner: r1 }
      - { ports: 20000-20999, owner: r2 }
      - { ports: 30000-30999, owner: r3 }
stats: { intervalSeconds: 5, prometheus: 127.0.0.1:9464 }
`;
/** Ports of the slice that moves: one for each phase of the test, so that counts stay apart. */
const PORTS = { before: 10000, outage: 10001, after: 10002 };

let net: string;
let store: string;
let dir: string;
let etcd: EtcdServer | undefined;
let sender: TrafficAgent;
const ns = {} as Record<Name, string>;
const sinks = {} as Record<'r1' | 'r3', TrafficAgent>;
const routers = {} as Record<Name, SpawnedProcess>;
const socketOf = (name: Name) => join(dir, `${name}.sock`);

beforeAll(async () => {
  requireNetnsPrivileges(TOOLS);
  dir = mkdtempSync(join(tmpdir(), 'su-etcd-routers-'));
  writeFileSync(join(dir, 'deploy.yaml'), DEPLOYMENT);
  net = await createNamespace('net');
  store = await createNamespace('store');
  for (const name of NAMES) ns[name] = await createNamespace(name);
  await mustExecIn(net, 'ip', ['link', 'add', 'name', 'br0', 'type', 'bridge', 'stp_state', '0']);
  for (const [i, name] of NAMES.entries()) {
    const n = i + 1;
    await mustExec('ip', ['link', 'add', 'name', 'eth0', 'netns', ns[name], 'type', 'veth', 'peer', 'name', `p${n}`, 'netns', net]);
    await mustExec('ip', ['link', 'add', 'name', 'mgmt0', 'netns', ns[name], 'type', 'veth', 'peer', 'name', `s${n}`, 'netns', store]);
    // What the routers' XDP programs send back out reaches the bridge at once (src/netns/veth-peer.ts).
    await xdpOnVethPeer(net, `p${n}`);
    await mustExecIn(net, 'ip', ['link', 'set', 'dev', `p${n}`, 'master', 'br0', 'up']);
    for (const [where, dev, address] of [[ns[name], 'eth0', `10.8.0.${n}/24`], [ns[name], 'mgmt0', `10.9.${n}.2/30`], [store, `s${n}`, `10.9.${n}.1/30`]] as const) {
      await mustExecIn(where, 'ip', ['addr', 'add', address, 'dev', dev]);
      await mustExecIn(where, 'ip', ['link', 'set', 'dev', dev, 'up']);
    }
    // The shared address on lo, so that the kernel accepts what the XDP program passes.
    await mustExecIn(ns[name], 'ip', ['addr', 'add', `${SHARED}/32`, 'dev', 'lo']);
  }
  await mustExecIn(net, 'ip', ['addr', 'add', '10.8.0.254/24', 'dev', 'br0']);
  await mustExecIn(net, 'ip', ['link', 'set', 'dev', 'br0', 'up']);
  // Every reply to the shared address lands at r2, the wrong server for r1's and r3's slices.
  await mustExecIn(net, 'ip', ['route', 'add', `${SHARED}/32`, 'via', '10.8.0.2']);
  // Complete checksums on what the routers copy into GUE, as a physical NIC would deliver them.
  for (const dev of ['br0', 'p1', 'p2', 'p3']) await mustExecIn(net, 'ethtool', ['-K', dev, 'tx', 'off']);
  etcd = await EtcdServer.start({ netns: store, addresses: ['10.9.1.1', '10.9.2.1', '10.9.3.1'], clientPort: 2379, peerPort: 2380 });
  const load = await execIn(store, process.execPath, [MAIN, 'slices', 'load', '--config', join(dir, 'deploy.yaml'), '--etcd', etcd.url, '--prefix', PREFIX]);
  expect(load.code, load.stderr).toBe(0);
  sinks.r1 = await TrafficAgent.start(ns.r1, ['sink', SHARED, ...Object.values(PORTS).map(String)]);
  sinks.r3 = await TrafficAgent.start(ns.r3, ['sink', SHARED, ...Object.values(PORTS).map(String)]);
  sender = await TrafficAgent.start(net, ['peer']);
}, 90_000);
afterAll(async () => {
  await teardownRun();
  await etcd?.stop();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => requireNetnsPrivileges(TOOLS));

/** The messages of a router's log. */
const messages = (name: Name) => routers[name].stderr.split('\n').filter((l) => l !== '').map((l) => l.replace(/^\S+ (info|warn|error) +/, ''));
async function logged(name: Name, re: RegExp): Promise<string> {
  return await waitFor(() => messages(name).find((m) => re.test(m)), { what: `${name} to log a line matching ${re}; its log:\n${routers[name].stderr}`, timeoutMs: 20_000 });
}
/** Runs the binary in the store's namespace (where etcd is) with `args`. */
async function slices(...args: string[]): Promise<string> {
  const r = await execIn(store, process.execPath, [MAIN, 'slices', ...args, '--etcd', etcd!.url, '--prefix', PREFIX]);
  expect(r.code, r.stderr).toBe(0);
  return r.stdout;
}
/** The owner of 192.0.2.1 udp `port` in `name`'s live table, and the table's generation. */
async function ownerAt(name: Name, port: number): Promise<{ owner: string; generation: number }> {
  const r = await execIn(ns[name], process.execPath, [MAIN, 'owner', SHARED, 'udp', String(port), '--socket', socketOf(name), '--json']);
  const a = JSON.parse(r.stdout) as { generation: number; owner: { name: string } };
  return { owner: a.owner.name, generation: a.generation };
}
/** `name`'s metrics whose line starts with `prefix`. */
async function metric(name: Name, prefix: string): Promise<string | undefined> {
  const r = await execIn(ns[name], process.execPath, ['-e', "fetch('http://127.0.0.1:9464/metrics').then(async (r) => process.stdout.write(await r.text()))"]);
  return r.stdout.split('\n').find((l) => l.startsWith(prefix));
}
const received = async (sink: 'r1' | 'r3', port: number) => ((await sinks[sink].run('report')).received[port] ?? 0) as number;

describe('three routers on one etcd', () => {
  let loaded: number;

  it('each starts from etcd at the revision of the load', async () => {
    for (const name of NAMES) {
      routers[name] = spawnIn(ns[name], process.execPath, [
        MAIN, '--no-pin', '--etcd', `http://10.9.${NAMES.indexOf(name) + 1}.1:2379`, '--prefix', PREFIX, '--host', name, '--socket', socketOf(name), '--stats-interval', '60',
      ]);
    }
    const revisions = await Promise.all(NAMES.map(async (name) => {
      await logged(name, /^ready in /);
      return Number(/^loaded in \d+ ms: revision (\d+), 1 data centre, 3 servers, 1 egress entry$/.exec(await logged(name, /^loaded in /))![1]);
    }));
    loaded = revisions[0]!;
    expect(revisions).toEqual([loaded, loaded, loaded]);
    for (const name of NAMES) {
      expect(await metric(name, 'softunicast_source_generation')).toBe(`softunicast_source_generation{source="etcd"} ${loaded}`);
      expect(await metric(name, 'softunicast_source_up')).toBe('softunicast_source_up{source="etcd"} 1');
    }
    await sender.run('start', { target: SHARED, ports: [PORTS.before], intervalMs: 5 });
    await waitFor(async () => (await received('r1', PORTS.before)) > 100, { what: 'r1 to receive its slice through r2', timeoutMs: 20_000, intervalMs: 100 });
  });

  it('a move reaches all three: the revision that wrote it, the new owner, traffic at the new owner', async () => {
    const out = await slices('move', SHARED, '10000-10999', '--to', 'r3', '--from', 'r1');
    const revision = Number(/^moved 192\.0\.2\.1 udp 10000-10999 from r1 to r3; revision (\d+)\n$/.exec(out)![1]);
    expect(revision).toBeGreaterThan(loaded);
    for (const name of NAMES) {
      await logged(name, new RegExp(`^reloaded \\(etcd revision ${revision}\\): generation 2 in use; 0 slices added, 0 removed, 1 moved \\(\\d+ ms\\)`));
      await logged(name, /^slice 192\.0\.2\.1 udp 10000-10999 moved from r1 to r3/);
      expect(await ownerAt(name, 10500)).toEqual({ owner: 'r3', generation: 2 });
      expect(await metric(name, 'softunicast_source_generation')).toBe(`softunicast_source_generation{source="etcd"} ${revision}`);
    }
    await waitFor(async () => (await received('r3', PORTS.before)) > 100, { what: 'r3 to receive the moved slice through r2', timeoutMs: 20_000, intervalMs: 100 });
  });

  it('killing etcd changes nothing: every datagram still arrives, and each router says etcd is gone', async () => {
    await sender.run('start', { target: SHARED, ports: [PORTS.outage], intervalMs: 5 });
    await waitFor(async () => (await received('r3', PORTS.outage)) > 50, { what: 'traffic before etcd goes', timeoutMs: 20_000, intervalMs: 100 });
    await etcd!.kill();
    for (const name of NAMES) {
      await logged(name, /^etcd http:\/\/10\.9\.\d\.1:2379 \/softunicast\/test unreachable; forwarding goes on with generation 2 \(source generation \d+\): /);
      expect(await metric(name, 'softunicast_source_up')).toBe('softunicast_source_up{source="etcd"} 0');
      expect(await metric(name, 'softunicast_source_disconnects_total')).toBe('softunicast_source_disconnects_total{source="etcd"} 1');
      expect((await ownerAt(name, 10500)).owner).toBe('r3');
    }
    const during = await received('r3', PORTS.outage);
    await waitFor(async () => (await received('r3', PORTS.outage)) > during + 200, { what: 'traffic while etcd is gone', timeoutMs: 20_000, intervalMs: 100 });
    const { sent } = await sender.run('stop');
    await waitFor(async () => (await received('r3', PORTS.outage)) === sent[PORTS.outage], { what: `all ${sent[PORTS.outage]} datagrams of the outage at r3`, timeoutMs: 10_000, intervalMs: 100 });
    for (const name of NAMES) expect(routers[name].running).toBe(true);
  });

  it('bringing etcd back converges: each router says so, and a move made then reaches all three', async () => {
    await etcd!.resume();
    const out = await slices('move', SHARED, '10000-10999', '--to', 'r1', '--from', 'r3');
    const revision = Number(/revision (\d+)\n$/.exec(out)![1]);
    for (const name of NAMES) {
      await logged(name, /^etcd http:\/\/10\.9\.\d\.1:2379 \/softunicast\/test reachable again; following it from source generation \d+ /);
      await waitFor(async () => (await ownerAt(name, 10500)).owner === 'r1', { what: `${name} to give the slice back to r1`, timeoutMs: 20_000, intervalMs: 100 });
      expect(await metric(name, 'softunicast_source_generation')).toBe(`softunicast_source_generation{source="etcd"} ${revision}`);
      expect(await metric(name, 'softunicast_source_up')).toBe('softunicast_source_up{source="etcd"} 1');
    }
    await sender.run('start', { target: SHARED, ports: [PORTS.after], intervalMs: 5 });
    await waitFor(async () => (await received('r1', PORTS.after)) > 100, { what: 'r1 to receive its slice again', timeoutMs: 20_000, intervalMs: 100 });
    const { sent } = await sender.run('stop');
    await waitFor(async () => (await received('r1', PORTS.after)) === sent[PORTS.after], { what: `all ${sent[PORTS.after]} datagrams at r1`, timeoutMs: 10_000, intervalMs: 100 });
  });
});
