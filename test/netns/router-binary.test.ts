// The soft-unicast-router binary in namespaces, as an operator runs it: two servers of one data
// centre on one veth link share 192.0.2.1 by port slices; the router runs on srv while peer sends
// UDP with sequence numbers to both slices. Reloads (SIGHUP with a good file, a bad file, a file
// written without a signal) under traffic lose nothing; /metrics answers on loopback; SIGTERM
// detaches. Run by vitest as root, after the build (dist/).
//
//   srv   eth0 10.7.0.1/24, lo 192.0.2.1/32        the router; UDP sockets on its slice's ports
//    |    veth
//   peer  eth0 10.7.0.2/24, route to 192.0.2.1 via srv
//         sends to ports of both slices; counts the GUE the router sends back for its own slice
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import {
  execIn, mustExecIn, requireNetnsPrivileges, spawnIn, teardownRun, waitFor,
  xdpAttachments, type SpawnedProcess, 
} from '../../src/netns/index.js';
import { twoHosts } from './two-hosts.js';
import { TrafficAgent } from './traffic-agent.js';
import { vethPeerObjectPath } from '../../src/native.js';

const MAIN = fileURLToPath(new URL('../../dist/examples/soft-unicast-router/main.js', import.meta.url));
const TOOLS = ['ip', 'ethtool'];
const SHARED = '192.0.2.1';
const SRV4 = '10.7.0.1';
const PEER4 = '10.7.0.2';
/** Ports of srv's slice (10000-10999) and of peer's (20000-20999) that traffic goes to. */
const SRV_PORTS = [10000, 10500];
const PEER_PORTS = [20000, 20999];
const METRICS = 9464;

/** The deployment; `slice0` is srv's slice, `extra` more egress entries. */
function configText(slice0 = '10000-10999', extra = ''): string {
  return `# srv and peer share ${SHARED} by UDP port slices.
version: 1
datacenters:
  dc1:
    servers:
      srv: { ipv4: ${SRV4}, interface: eth0 }
      peer: { ipv4: ${PEER4} }
egress:
  - address: ${SHARED}
    protocols: [udp]
    slices:
      - { ports: ${slice0}, owner: srv }
      - { ports: 20000-20999, owner: peer }
${extra}stats: { intervalSeconds: 5, prometheus: 127.0.0.1:${METRICS} }
`;
}
const WITH_192_0_2_2 = '  - { address: 192.0.2.2, slices: { size: 4096, owners: [srv, peer] } }\n';
const WITH_192_0_2_3 = '  - { address: 192.0.2.3, slices: [{ ports: 4096-8191, owner: peer }] }\n';

interface StatsLine {
  generation: number;
  final?: true;
  pps: Record<string, number>;
  drops: Record<string, number>;
  totals: { fates: Record<string, number>; program: Record<string, number> };
}

let srv: string;
let peer: string;
let dir: string;
let configPath: string;
let sink: TrafficAgent;
let sender: TrafficAgent;
let router: SpawnedProcess;

beforeAll(async () => {
  requireNetnsPrivileges(TOOLS);
  dir = mkdtempSync(join(tmpdir(), 'su-router-binary-'));
  configPath = join(dir, 'router.yaml');
  writeFileSync(configPath, configText());
  ({ srv: srv, peer: peer } = await twoHosts({ srv4: SRV4, peer4: PEER4, shared: SHARED }));
  sink = await TrafficAgent.start(srv, ['sink', SHARED, ...SRV_PORTS.map(String)]);
  sender = await TrafficAgent.start(peer, ['peer']);
}, 60_000);
afterAll(async () => {
  await teardownRun();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => requireNetnsPrivileges(TOOLS));

/** A log line: ISO time, level, message. */
const LOG_LINE = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z) (info|warn|error) +(.*)$/;
/** The messages of a process's log, each line checked for its time and level. */
function messagesOf(stderr: string): string[] {
  return stderr.split('\n').filter((l) => l !== '').map((l) => {
    const m = LOG_LINE.exec(l);
    if (m === null) throw new Error(`Expected a log line with an ISO time and a level but received '${l}'`);
    return m[3]!;
  });
}
const stderrLines = () => messagesOf(router.stderr);
/** The first message of the router's log matching `re` (stderr is where its log goes). */
async function logLine(re: RegExp, timeoutMs = 15_000): Promise<string> {
  try {
    return await waitFor(() => stderrLines().find((l) => re.test(l)), { what: `the router to log a line matching ${re}`, timeoutMs });
  } catch (error) {
    throw new Error(`${(error as Error).message}; its stderr:\n${router.stderr}`);
  }
}
/** The first --json stats line printed from now on that `accept`s (every one by default). */
async function nextStats(accept: (s: StatsLine) => boolean = () => true, what = 'a stats line'): Promise<StatsLine> {
  const from = router.stdoutLines.length;
  return await waitFor(
    () => router.stdoutLines.slice(from).map((l) => JSON.parse(l) as StatsLine).find(accept),
    { what: `${what} from the router; its stderr:\n${router.stderr}`, timeoutMs: 15_000, intervalMs: 20 },
  );
}
const statsOf = (generation: number) => nextStats((s) => s.generation === generation, `a stats line of generation ${generation}`);
/** Distinct datagrams srv's sockets received, and peer received back in GUE, by port. */
async function received(): Promise<{ local: Record<string, number>; gue: Record<string, number>; sent: Record<string, number> }> {
  const [s, p] = await Promise.all([sink.run('report'), sender.run('report')]);
  return { local: s.received, gue: p.gue, sent: p.sent };
}
const total = (counts: Record<string, number>, ports: number[]) => ports.reduce((sum, p) => sum + (counts[p] ?? 0), 0);
const quoted = (re: string) => re.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

describe('soft-unicast-router on srv', () => {
  it('starts: progress on stderr, attached to eth0, a JSON stats line per interval on stdout', async () => {
    router = spawnIn(srv, process.execPath, [MAIN, '--no-pin', '--config', configPath, '--host', 'srv', '--json', '--stats-interval', '0.2', '--socket', join(dir, 'srv.sock')]);
    await logLine(/^ready in /, 30_000);
    const progress = stderrLines();
    expect(progress.map((l) => l.replace(/\d+ ms/g, 'N ms'))).toEqual([
      `loading ${configPath}`,
      'loaded in N ms: 1 data centre, 2 servers, 1 egress entry',
      'compiling the table of srv',
      'compiled in N ms: 2 slices, 2 owners, 1 key, 2 ranges, 2 trusted peers, 1 server of this data centre, 300 bytes',
      `serving Prometheus text at http://127.0.0.1:${METRICS}/metrics`,
      `answering commands on ${join(dir, 'srv.sock')}`,
      'attaching to eth0, lane auto',
      'publishing generation 1: 2 slices',
      // srv sits on a veth, whose peer carries veth_peer.bpf.o (this test's setup): the warning
      // is for operators who have not done that.
      `eth0 is a veth: what the XDP program sends back out reaches the far end only if that end carries an XDP program (e.g. ${vethPeerObjectPath}; docs/deploying.md), or run with --lane afxdp`,
      'ready in N ms (attached and published in N ms): generation 1 on eth0, queues 0',
    ]);
    expect((await xdpAttachments(srv, 'eth0')).map((a) => a.name)).toEqual(['su_steer']);
    const first = await statsOf(1);
    expect(Object.keys(first.pps)).toEqual(['rx', 'local', 'forwarded', 'encapsulated', 'passed', 'dropped']);
  });

  it('exits 1 with the reason when it cannot start, leaving the running router alone', async () => {
    const program = await xdpAttachments(srv, 'eth0');
    // The Prometheus port is taken (by the running router): refused before touching eth0.
    const second = spawnIn(srv, process.execPath, [MAIN, '--no-pin', '--config', configPath, '--host', 'srv', '--socket', join(dir, 'second.sock')]);
    expect(await second.exited).toEqual({ code: 1, signal: null });
    expect(messagesOf(second.stderr).at(-1)).toBe(
      `Could not serve Prometheus text at 127.0.0.1:${METRICS}: listen EADDRINUSE: address already in use 127.0.0.1:${METRICS}`,
    );
    expect(second.stderr).not.toContain('attaching');
    expect(await xdpAttachments(srv, 'eth0')).toEqual(program);
    // An interface the namespace does not have.
    const elsewhere = join(dir, 'eth9.yaml');
    writeFileSync(elsewhere, configText().replace('interface: eth0', 'interface: eth9'));
    const third = spawnIn(srv, process.execPath, [MAIN, '--no-pin', '--config', elsewhere, '--host', 'srv', '--prometheus', String(METRICS + 1), '--socket', join(dir, 'third.sock')]);
    expect(await third.exited).toEqual({ code: 1, signal: null });
    expect(messagesOf(third.stderr).slice(-3)).toEqual([
      'attaching to eth9, lane auto',
      'publishing generation 1: 2 slices',
      "Expected an interface named 'eth9' in this network namespace but there is none",
    ]);
    // The control socket of the running router stays its own: a second one is refused by name.
    const fourth = spawnIn(srv, process.execPath, [MAIN, '--no-pin', '--config', configPath, '--host', 'srv', '--prometheus', String(METRICS + 2), '--socket', join(dir, 'srv.sock')]);
    expect(await fourth.exited).toEqual({ code: 1, signal: null });
    expect(messagesOf(fourth.stderr).at(-1)).toBe(`Expected no other router on the control socket ${join(dir, 'srv.sock')} but one answers there: give this one another --socket`);
    expect(third.stdoutLines).toEqual([]);
  });

  it('passes srv\'s slice to its sockets and sends peer\'s slice back to peer in GUE', async () => {
    await sender.run('start', { target: SHARED, ports: [...SRV_PORTS, ...PEER_PORTS], intervalMs: 2 });
    await waitFor(async () => {
      const r = await received();
      return SRV_PORTS.every((p) => (r.local[p] ?? 0) > 100) && PEER_PORTS.every((p) => (r.gue[p] ?? 0) > 100);
    }, { what: 'datagrams on both slices', timeoutMs: 20_000, intervalMs: 100 });
    const s = await statsOf(1);
    expect(s.totals.fates.pass_local).toBeGreaterThan(0);
    expect(s.totals.fates.forward_server_gue).toBeGreaterThan(0);
  });

  it('reloads a good file on SIGHUP: the next generation, and what changed', async () => {
    writeFileSync(configPath, configText('10000-10999', WITH_192_0_2_2));
    router.child.kill('SIGHUP');
    await logLine(/^reloaded \(SIGHUP\): generation 2 in use; 2 slices added, 0 removed, 0 moved \(\d+ ms\) reason=SIGHUP generation=2$/);
    expect(stderrLines()).toContain('reload (SIGHUP): publishing 4 slices');
    // Each change by name: the entry's two rule slices (ports 0-4095 reserved by default).
    await logLine(/^slice 192\.0\.2\.2 tcp,udp 4096-8191 added, owner srv owner=srv$/);
    await logLine(/^slice 192\.0\.2\.2 tcp,udp 8192-12287 added, owner peer owner=peer$/);
    await statsOf(2);
  });

  it('keeps generation 2 when the new file is bad, says why, and traffic keeps flowing', async () => {
    writeFileSync(configPath, configText('10000-99999', WITH_192_0_2_2));
    router.child.kill('SIGHUP');
    await logLine(new RegExp(`^reload \\(SIGHUP\\) refused; generation 2 stays in use: ${quoted(
      `The configuration ${configPath} has 1 problem:`,
    )} reason=SIGHUP$`));
    await logLine(new RegExp(`^${quoted(
      `${configPath}:12:18: Expected ports from 0 to 65535 for egress[0].slices[0].ports but received '10000-99999'`,
    )} reason=SIGHUP$`));
    const before = await received();
    // A stats line printed after the failure: still generation 2.
    expect((await nextStats()).generation).toBe(2);
    await waitFor(async () => {
      const r = await received();
      return total(r.local, SRV_PORTS) > total(before.local, SRV_PORTS) + 100 && total(r.gue, PEER_PORTS) > total(before.gue, PEER_PORTS) + 100;
    }, { what: 'traffic on both slices after the bad file', timeoutMs: 20_000, intervalMs: 100 });
  });

  it('reloads when the file is written, without a signal', async () => {
    writeFileSync(configPath, configText('10000-10999', WITH_192_0_2_2 + WITH_192_0_2_3));
    await logLine(/^reloaded \(file changed\): generation 3 in use; 1 slice added, 0 removed, 0 moved \(\d+ ms\) reason="file changed" generation=3$/);
    await statsOf(3);
  });

  it('lost not one datagram through three reloads, on either slice; the counters agree', async () => {
    const { sent } = await sender.run('stop');
    let last = await received();
    try {
      await waitFor(async () => {
        last = await received();
        return SRV_PORTS.every((p) => last.local[p] === sent[p]) && PEER_PORTS.every((p) => last.gue[p] === sent[p]);
      }, { what: 'every datagram sent to arrive', timeoutMs: 10_000, intervalMs: 100 });
    } finally {
      expect({ local: last.local, gue: last.gue }).toEqual({
        local: Object.fromEntries(SRV_PORTS.map((p) => [p, sent[p]])),
        gue: Object.fromEntries(PEER_PORTS.map((p) => [p, sent[p]])),
      });
    }
    // The XDP program passed every datagram of srv's slice to the kernel and sent every one of
    // peer's back out in GUE itself (the express lane), and nothing was dropped.
    const s = await nextStats((line) => line.totals.fates.forward_server_gue === total(sent, PEER_PORTS), 'stats counting every datagram');
    expect(s.totals.fates.pass_local).toBe(total(sent, SRV_PORTS));
    expect(s.totals.xdp.forward_server_gue).toBe(total(sent, PEER_PORTS));
    expect(s.totals.program.redirected).toBe(0);
    expect(Object.entries(s.totals.fates).filter(([k, v]) => k.startsWith('drop') && v !== 0)).toEqual([]);
  });

  it('serves the counters as Prometheus text on loopback inside srv', async () => {
    const { sent } = await sender.run('report');
    const fetchScript = `fetch('http://127.0.0.1:${METRICS}/metrics').then(async (r) => { process.stdout.write(r.status + ' ' + r.headers.get('content-type') + '\\n' + await r.text()); })`;
    const r = await execIn(srv, process.execPath, ['-e', fetchScript]);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.split('\n');
    expect(lines[0]).toBe('200 text/plain; version=0.0.4; charset=utf-8');
    expect(lines).toContain('softunicast_table_generation 3');
    expect(lines).toContain(`softunicast_route_packets_total{fate="forward_server_gue",lane="xdp"} ${total(sent, PEER_PORTS)}`);
    expect(lines).toContain('softunicast_route_packets_total{fate="forward_server_gue",lane="worker"} 0');
    expect(lines).toContain('softunicast_route_packets_total{fate="drop_no_owner",lane="xdp"} 0');
    expect(lines).toContain(`softunicast_route_packets_total{fate="pass_local",lane="xdp"} ${total(sent, SRV_PORTS)}`);
    expect(lines).toContain('softunicast_xdp_packets_total{counter="redirected"} 0');
    expect(lines).toContain('# HELP softunicast_queue_rx_packets_total Per RX queue: packets taken from the RX ring');
    // The express lane finished every packet in the kernel: the worker received none.
    expect(lines).toContain('softunicast_queue_rx_packets_total{queue="0"} 0');
    // Per owner, summed across the three tables the traffic met.
    expect(lines).toContain(`softunicast_owner_packets_total{owner="peer",fate="forward_server_gue"} ${total(sent, PEER_PORTS)}`);
    expect(lines.find((l) => l.startsWith('softunicast_owner_bytes_total{owner="peer",fate="forward_server_gue"} '))).toBeDefined();
    expect(lines).toContain('softunicast_reloads_total{result="applied"} 2');
    // One bad file was written; its refusals are as many as the log says (SIGHUP's, and the file
    // watcher's when a slow machine delivers its event before SIGHUP has read the file): the
    // counter and the log agree.
    const refusals = stderrLines().filter((l) => /^reload \((SIGHUP|file changed)\) refused; /.test(l)).length;
    expect(refusals).toBeGreaterThanOrEqual(1);
    expect(lines).toContain(`softunicast_reloads_total{result="refused"} ${refusals}`);
    expect(lines).toContain('softunicast_slices{owner="srv"} 2');
    expect(lines.some((l) => l.startsWith('process_resident_memory_bytes '))).toBe(true);
    // Loopback only: srv's other addresses do not answer.
    const outside = await execIn(srv, process.execPath, ['-e', `fetch('http://${SRV4}:${METRICS}/metrics').then(() => process.exit(0), (e) => { console.log(e.cause?.code); process.exit(3); })`]);
    expect({ code: outside.code, why: outside.stdout.trim() }).toEqual({ code: 3, why: 'ECONNREFUSED' });
  });

  it('refuses a FIFO put in place of its file, and still exits on SIGTERM', async () => {
    const saved = readFileSync(configPath, 'utf8');
    rmSync(configPath);
    execFileSync('mkfifo', [configPath]);
    router.child.kill('SIGHUP');
    await logLine(/^reload \(SIGHUP\) refused; generation 3 stays in use: Expected a regular file for the configuration file .* but it is a FIFO \(named pipe\)/);
    rmSync(configPath);
    writeFileSync(configPath, saved);
  });

  it('detaches on SIGTERM: a final stats line, exit 0, no XDP program left on eth0', async () => {
    const exit = await router.kill('SIGTERM');
    expect(exit).toEqual({ code: 0, signal: null });
    const final = JSON.parse(router.stdoutLines.at(-1)!) as StatsLine;
    expect(final).toMatchObject({ final: true, generation: 3 });
    expect(stderrLines().at(-1)).toBe('SIGTERM: detached from eth0, exiting');
    expect(await xdpAttachments(srv, 'eth0')).toEqual([]);
  });
});
