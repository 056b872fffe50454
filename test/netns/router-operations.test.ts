// Watching and questioning a running soft-unicast-router in namespaces, as an operator does: its
// JSON log, the commands over its control socket (owner, explain with hex and pcap files,
// stats), per-owner counters, and drop capture to pcapng files that tshark reads with each
// drop's reason. Run by vitest as root, after the build (dist/).
//
//   srv   eth0 10.8.0.1/24, lo 192.0.2.1/32        the router
//    |    veth
//   peer  eth0 10.8.0.2/24, route to 192.0.2.1 via srv: sends to its own slice (forwarded back
//         in GUE), to a port between the slices (dropped: no owner)
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { pcapngHeader, pcapngPacket } from '../../src/router/pcapng.js';
import { ethernet, hex, ipv4, raw, udp } from '../fixtures/packets.js';

const raw17 = (bytes: Uint8Array) => raw(17, bytes);
import {
  execIn, mustExecIn, requireNetnsPrivileges, spawnIn, teardownRun, waitFor,
  type SpawnedProcess, 
} from '../../src/netns/index.js';
import { twoHostConfig, twoHosts } from './two-hosts.js';

const MAIN = fileURLToPath(new URL('../../dist/examples/soft-unicast-router/main.js', import.meta.url));
const TOOLS = ['ip', 'ethtool', 'tshark'];
const SHARED = '192.0.2.1';
const SRV4 = '10.8.0.1';
const PEER4 = '10.8.0.2';
const CONFIG = twoHostConfig({ srv4: SRV4, peer4: PEER4, shared: SHARED });

let srv: string;
let peer: string;
let dir: string;
let socket: string;
let router: SpawnedProcess;

interface LogEntry {
  time: string;
  level: string;
  msg: string;
  [field: string]: unknown;
}
const log = (): LogEntry[] => router.stderr.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as LogEntry);
async function logged(re: RegExp): Promise<LogEntry> {
  return await waitFor(() => log().find((e) => re.test(e.msg)), { what: `a log entry matching ${re}`, timeoutMs: 15_000 });
}

/** The binary run as a command inside srv (where the control socket is). */
async function command(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return await execIn(srv, process.execPath, [MAIN, ...args, '--socket', socket]);
}
async function json(...args: string[]): Promise<any> {
  const r = await command(...args, '--json');
  return JSON.parse(r.stdout);
}

/** Sends `count` UDP datagrams of 32 bytes from peer to the shared address's `port`. */
async function send(port: number, count: number): Promise<void> {
  const script = `const s = require('dgram').createSocket('udp4'); let n = 0;
    const next = () => n++ < ${count} ? s.send(Buffer.alloc(32, 7), ${port}, '${SHARED}', next) : s.close(); next();`;
  await mustExecIn(peer, process.execPath, ['-e', script]);
}

function tshark(file: string, fields: string[]): string[][] {
  const r = spawnSync('tshark', ['-r', file, '-T', 'fields', ...fields.flatMap((f) => ['-e', f])], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  return r.stdout.split('\n').filter((l) => l !== '').map((l) => l.split('\t'));
}

beforeAll(async () => {
  requireNetnsPrivileges(TOOLS);
  dir = mkdtempSync(join(tmpdir(), 'su-router-ops-'));
  socket = join(dir, 'control', 'srv.sock');
  writeFileSync(join(dir, 'router.yaml'), CONFIG);
  ({ srv: srv, peer: peer } = await twoHosts({ srv4: SRV4, peer4: PEER4, shared: SHARED }));
  router = spawnIn(srv, process.execPath, [
    MAIN, '--no-pin', '--config', join(dir, 'router.yaml'), '--host', 'srv', '--socket', socket, '--log-format', 'json',
    '--capture-drops', join(dir, 'startup.pcapng'), '--capture-seconds', '600', '--stats-interval', '60',
  ]);
  await logged(/^ready in /);
  // peer's MAC address, learnt from its ARP request, resolves its next hop within a second.
  await mustExecIn(peer, 'ping', ['-c', '1', '-W', '2', SRV4]);
  await waitFor(async () => (await json('owner', SHARED, 'udp', '20000')).unresolved === null, { what: "peer's next hop to resolve", timeoutMs: 10_000 });
}, 60_000);
afterAll(async () => {
  await teardownRun();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => requireNetnsPrivileges(TOOLS));

describe('a running router, questioned', () => {
  it('logs one JSON object a line, each with an ISO time and a level', () => {
    const entries = log();
    expect(entries.length).toBeGreaterThan(5);
    for (const e of entries) {
      expect(e.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      expect(['info', 'warn', 'error']).toContain(e.level);
    }
    expect(entries.find((e) => e.msg === 'drop capture started')).toMatchObject({ level: 'info', path: join(dir, 'startup.pcapng') });
  });

  it('keeps its control socket to root: mode 0600, in a directory of mode 0700', () => {
    expect(statSync(socket).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, 'control')).mode & 0o777).toBe(0o700);
    expect(statSync(socket).isSocket()).toBe(true);
  });

  it('names the owner and slice of a destination, with that owner\'s counters', async () => {
    await send(20000, 10);
    const expected = { packets: 10, bytes: 10 * (14 + 20 + 8 + 4 + 20 + 8 + 32) }; // GUE variant 0 around each datagram
    await waitFor(async () => (await json('owner', SHARED, 'udp', '20000')).counters.forward_server_gue?.packets === 10, { what: '10 packets counted for peer', timeoutMs: 10_000 });
    expect(await json('owner', SHARED, 'udp', '20999')).toEqual({
      ok: true, generation: 1, unresolved: null,
      owner: { name: 'peer', kind: 'server', address: PEER4, encap: 'gue0', guePort: 6080 },
      slice: { destination: SHARED, protocols: ['udp'], ports: { from: 20000, to: 20999 } },
      counters: { forward_server_gue: expected },
    });
    expect((await json('owner', SHARED, 'udp', '10000')).owner).toEqual({ name: 'srv', kind: 'local' });
    expect(await json('owner', SHARED, 'udp', '15000')).toEqual({ ok: true, generation: 1, owner: null });
    expect(await json('owner', SHARED, 'tcp', '20000')).toEqual({ ok: true, generation: 1, owner: null });
    const text = await command('owner', SHARED, 'udp', '20000');
    expect(text).toMatchObject({
      code: 0, stderr: '',
      stdout: `owner peer (server: server at ${PEER4}), slice ${SHARED} udp 20000-20999, generation 1\n  forward_server_gue: 10 packets, ${expected.bytes} bytes\n`,
    });
    // stats carries the same per-owner counters, and every other counter.
    const stats = await json('stats');
    expect(stats.counters.owners.peer.forward_server_gue).toEqual(expected);
    expect(stats.counters.fates.forward_server_gue).toBe(10);
    expect(typeof stats.counters.generation).toBe('number');
  });

  it('explains frames given as hex or in pcap and pcapng files', async () => {
    const frame = (port: number) => ethernet({}, ipv4({ src: PEER4, dst: SHARED }, udp({ dst: port, payload: new Uint8Array(8) })));
    const toPeer = hex(frame(20001));
    const nowhere = hex(frame(15000));
    const answers = await json('explain', toPeer, nowhere);
    // The express lane (the default) forwards in the XDP program; the drop goes to a worker
    // because a drop capture runs (started with the router), which writes it down.
    expect(answers.map((a: any) => [a.stage, a.fate])).toEqual([['XDP program', 'forward_server_gue'], ['AF_XDP worker', 'drop_no_owner']]);
    expect(answers[0].output).toMatch(/^[0-9a-f]+$/);
    expect(answers[1]).toMatchObject({ doc: 'dropped: a managed port (between slices of its key) that no slice owns', output: null });
    expect(await command('explain', nowhere)).toMatchObject({ code: 0, stderr: '', stdout: 'frame 1: AF_XDP worker: drop_no_owner (dropped: a managed port (between slices of its key) that no slice owns)\n' });

    // The same two frames in a pcapng file and in a classic pcap file.
    const ng = join(dir, 'two.pcapng');
    writeFileSync(ng, Buffer.concat([pcapngHeader('test', 'eth0', 65535), pcapngPacket(0n, frame(20001), frame(20001).length, 'a'), pcapngPacket(1n, frame(15000), frame(15000).length, 'b')]));
    const pcap = join(dir, 'two.pcap');
    const header = Buffer.alloc(24);
    header.writeUInt32LE(0xa1b2c3d4, 0);
    header.writeUInt16LE(2, 4);
    header.writeUInt16LE(4, 6);
    header.writeUInt32LE(65535, 16);
    header.writeUInt32LE(1, 20);
    const record = (f: Uint8Array) => {
      const h = Buffer.alloc(16);
      h.writeUInt32LE(f.length, 8);
      h.writeUInt32LE(f.length, 12);
      return Buffer.concat([h, f]);
    };
    writeFileSync(pcap, Buffer.concat([header, record(frame(20001)), record(frame(15000))]));
    for (const file of [ng, pcap]) {
      expect((await json('explain', '--pcap', file)).map((a: any) => a.fate)).toEqual(['forward_server_gue', 'drop_no_owner']);
    }
    // Fragments follow their first as on the wire: the first piece of datagram 0x4242 goes
    // through the router for real; a later piece of it is explained by where that one went, a
    // later piece of a datagram never seen is dropped (drop_fragment).
    const first = ipv4({ src: PEER4, dst: SHARED, id: 0x4242, moreFragments: true }, udp({ dst: 20002, payload: new Uint8Array(64) }));
    const raw = `import socket; s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW); s.sendto(bytes.fromhex('${hex(first.bytes)}'), ('${SHARED}', 0))`;
    await mustExecIn(peer, 'python3', ['-c', raw]);
    const later = (id: number) => hex(ethernet({}, ipv4({ src: PEER4, dst: SHARED, id, fragmentOffset: 9 }, raw17(new Uint8Array(40)))));
    // (One frame: one JSON object.)
    await waitFor(async () => (await json('explain', later(0x4242))).fate === 'forward_server_gue', { what: 'the first piece to go through', timeoutMs: 5_000 });
    expect((await json('explain', later(0x4243))).fate).toBe('drop_fragment');

    const broken = join(dir, 'broken.pcap');
    writeFileSync(broken, 'not a capture');
    expect(await command('explain', '--pcap', broken)).toMatchObject({ code: 1, stderr: `soft-unicast-router: Expected a pcap or pcapng file for ${broken} but its first bytes are 6e6f7420\n` });
  });

  it('writes dropped packets to pcapng with each drop\'s reason, readable by tshark; bounded by packet count', async () => {
    await send(15000, 5);
    await waitFor(async () => (await json('stats')).counters.fates.drop_no_owner >= 5, { what: '5 drops counted', timeoutMs: 10_000 });
    expect(await command('capture-drops', 'stop')).toMatchObject({ code: 0, stdout: `stopping the drop capture into ${join(dir, 'startup.pcapng')}\n` });
    const ended = await logged(/^drop capture ended$/);
    expect(ended).toMatchObject({ path: join(dir, 'startup.pcapng'), packets: 5, lost: 0, end: 'stopped' });
    const rows = tshark(join(dir, 'startup.pcapng'), ['frame.comment', 'udp.dstport', 'ip.src', 'frame.len']);
    expect(rows).toEqual(Array(5).fill([
      'drop_no_owner: dropped: a managed port (between slices of its key) that no slice owns; queue 0; generation 1', '15000', PEER4, '74',
    ]));

    // Another capture from the control socket, up to 2 packets: 5 drops, 2 written.
    const limited = join(dir, 'limited.pcapng');
    expect(await command('capture-drops', 'start', limited, '--max-packets', '2', '--seconds', '60')).toMatchObject({ code: 0 });
    expect((await json('capture-drops', 'status')).running).toEqual({ path: limited, packets: 0 });
    await send(15000, 5);
    await waitFor(() => log().some((e) => e.msg === 'drop capture ended' && e.path === limited), { what: 'the limited capture to end', timeoutMs: 10_000 });
    expect(log().find((e) => e.msg === 'drop capture ended' && e.path === limited)).toMatchObject({ packets: 2, end: 'max-packets' });
    expect(tshark(limited, ['udp.dstport'])).toEqual([['15000'], ['15000']]);
    expect(await json('capture-drops', 'status')).toEqual({ ok: true, running: null });
    expect(statSync(limited).mode & 0o777).toBe(0o600);
  });

  it('refuses bad requests by name, and a second capture while one runs', async () => {
    const a = join(dir, 'a.pcapng');
    expect(await command('capture-drops', 'start', a, '--seconds', '60')).toMatchObject({ code: 0 });
    expect(await command('capture-drops', 'start', join(dir, 'b.pcapng'))).toMatchObject({
      code: 1, stdout: '', stderr: `soft-unicast-router: ERR_INVALID_OPTION: Expected no drop capture to be running but one writes ${a}: stop it first\n`,
    });
    await command('capture-drops', 'stop');
    const raw = await execIn(srv, process.execPath, ['-e', `const s = require('net').connect(${JSON.stringify(socket)}); s.on('data', (d) => { process.stdout.write(d); s.end(); }); s.write('{"cmd":"owner","address":"192.0.2.300","protocol":"udp","port":1}\\n');`]);
    expect(JSON.parse(raw.stdout)).toEqual({ ok: false, error: { code: 'ERR_INVALID_OPTION', message: "Expected an IPv4 or IPv6 address such as '192.0.2.1' for address but received '192.0.2.300'" } });
    expect(readFileSync(a).length).toBeGreaterThan(0);
  });

  it('removes its control socket when it exits', async () => {
    expect(await router.kill('SIGTERM')).toEqual({ code: 0, signal: null });
    expect(() => statSync(socket)).toThrow(/ENOENT/);
  });
});
