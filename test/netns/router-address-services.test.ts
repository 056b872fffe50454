// The soft-unicast-router binary with a file's addressServices (issue 16): a slice of srv's goes to its
// kernel, a slice of peer's back to peer in GUE; a SIGHUP with the slice moved steers it the new way;
// the source filter drops and counts (drop_ssa_source: stats line, Prometheus) what does not conform. Run as root after the build (dist/).
//
//   srv   eth0 10.8.0.1/24, fd00:8::1/64     the router
//    |    veth
//   peer  eth0 10.8.0.2/24, fd00:8::2/64     sends UDP to 2001:db8:5a::/64 and 2001:db8:5b::/64 via srv
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { execIn, mustExecIn, ping, requireNetnsPrivileges, spawnIn, teardownRun, waitFor, type SpawnedProcess } from '../../src/netns/index.js';
import { twoHosts } from './two-hosts.js';

const MAIN = fileURLToPath(new URL('../../dist/examples/soft-unicast-router/main.js', import.meta.url));
const SRV4 = '10.8.0.1';
const PEER4 = '10.8.0.2';
const RULE = 'v=ssa1 rule=source-derived source-bits=64 fn=flowhash-1 key=5a5a0123456789abcdeffedcba987654';
/** An address of each /65 of 2001:db8:5a::/64, and one of the filtered service. */
const LOW = '2001:db8:5a::1';
const HIGH = '2001:db8:5a:0:8000::1';
const FILTERED = '2001:db8:5b::1';
const COUNT = 50;
const METRICS = 9464;

/** srv owns the low /65 (or, `moved`, peer does, srv its secondary), peer the high one; the /64 of 5b filtered, srv's. */
function configText(moved: boolean): string {
  const low = moved ? { prefix: '2001:db8:5a::/65', owner: 'peer', secondary: 'srv' } : { prefix: '2001:db8:5a::/65', owner: 'srv' };
  return `${JSON.stringify({
    version: 1,
    datacenters: { dc1: { servers: { srv: { ipv4: SRV4, interface: 'eth0' }, peer: { ipv4: PEER4 } } } },
    stats: { prometheus: `127.0.0.1:${METRICS}` },
    addressServices: [
      { name: 'web', prefix: '2001:db8:5a::/64', slices: [low, { prefix: '2001:db8:5a:0:8000::/65', owner: 'peer' }] },
      { prefix: '2001:db8:5b::/64', slices: [{ prefix: '2001:db8:5b::/64', owner: 'srv' }], filter: { rule: RULE, nonConforming: 'drop' } },
    ],
  }, null, 2)}\n`;
}

interface StatsLine {
  generation: number;
  drops: Record<string, number>;
  totals: { fates: Record<string, number> };
}

let srv: string;
let peer: string;
let dir: string;
let file: string;
let router: SpawnedProcess;

beforeAll(async () => {
  requireNetnsPrivileges(['ip', 'ethtool', 'ping']);
  dir = mkdtempSync(join(tmpdir(), 'su-router-ssa-'));
  file = join(dir, 'router.json');
  writeFileSync(file, configText(false));
  ({ srv, peer } = await twoHosts({ srv4: SRV4, peer4: PEER4, shared: '192.0.2.1' }));
  await mustExecIn(srv, 'ip', ['addr', 'add', 'fd00:8::1/64', 'dev', 'eth0', 'nodad']);
  await mustExecIn(peer, 'ip', ['addr', 'add', 'fd00:8::2/64', 'dev', 'eth0', 'nodad']);
  await mustExecIn(peer, 'ip', ['-6', 'route', 'add', '2001:db8:5a::/64', 'via', 'fd00:8::1']);
  // The router sends GUE to peer around the kernel: srv's kernel must know peer's MAC first.
  if (!(await ping(srv, PEER4, { count: 1 }))) throw new Error(`Expected ${PEER4} to answer a ping from srv but received no answer`);
}, 60_000);
afterAll(async () => {
  await teardownRun();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

/** The newest --json stats line that `accept`s, printed from now on. */
async function nextStats(accept: (s: StatsLine) => boolean, what: string): Promise<StatsLine> {
  const from = router.stdoutLines.length;
  return await waitFor(
    () => router.stdoutLines.slice(from).map((l) => JSON.parse(l) as StatsLine).find(accept),
    { what: `${what}; the router's stderr:\n${router.stderr}`, timeoutMs: 15_000, intervalMs: 20 },
  );
}

/** COUNT UDP datagrams from peer to `to`, port 9. */
async function send(to: string): Promise<void> {
  const script = `const s = require('node:dgram').createSocket('udp6'); let n = 0;
const next = () => n++ < ${COUNT} ? s.send('x', 9, '${to}', next) : s.close(); next();`;
  await mustExecIn(peer, process.execPath, ['-e', script], { what: `sending to ${to}` });
}

/** Sends to `to` and waits for the fate `fate` to have grown by COUNT; the totals then. */
async function sendCounted(to: string, fate: string, before: StatsLine): Promise<StatsLine> {
  await send(to);
  return await nextStats((s) => s.totals.fates[fate]! >= before.totals.fates[fate]! + COUNT, `${COUNT} more ${fate} after sending to ${to}`);
}

describe('soft-unicast-router with address services', () => {
  it('steers each slice to its owner, and a reload with a moved slice steers it the new way', async () => {
    router = spawnIn(srv, process.execPath, [MAIN, '--no-pin', '--config', file, '--host', 'srv', '--json', '--no-watch', '--stats-interval', '0.2', '--socket', join(dir, 'srv.sock')]);
    let s = await nextStats((l) => l.generation === 1, 'a stats line of generation 1');
    expect(router.stderr).toMatch(/ loaded in \d+ ms: 1 data centre, 2 servers, 0 egress entries, 2 address services\n/);
    s = await sendCounted(LOW, 'pass_local', s);
    s = await sendCounted(HIGH, 'forward_server_gue', s);
    expect([s.totals.fates.pass_local, s.totals.fates.forward_server_gue]).toEqual([COUNT, COUNT]);

    writeFileSync(file, configText(true));
    router.child.kill('SIGHUP');
    s = await nextStats((l) => l.generation === 2, 'a stats line of generation 2');
    s = await sendCounted(LOW, 'forward_server_gue', s);
    // The low slice's packets now go to peer (with srv as the hop that holds older connections).
    expect([s.totals.fates.pass_local, s.totals.fates.forward_server_gue]).toEqual([COUNT, 2 * COUNT]);
  });

  it('drops what the source filter finds non-conforming, counted by name in the stats line', async () => {
    await mustExecIn(peer, 'ip', ['-6', 'route', 'add', '2001:db8:5b::/64', 'via', 'fd00:8::1']);
    const before = await nextStats(() => true, 'a stats line');
    const after = await sendCounted(FILTERED, 'drop_ssa_source', before);
    // fd00:8::2's destination would be flowhash-1 of fd00:8:: (one in 2^64 to be 2001:db8:5b::1).
    expect(after.totals.fates.drop_ssa_source).toBe(COUNT);
    expect(after.totals.fates.pass_local).toBe(COUNT);
    const lines = router.stdoutLines.map((l) => JSON.parse(l) as StatsLine);
    expect(lines.reduce((n, l) => n + (l.drops.drop_ssa_source ?? 0), 0)).toBe(COUNT);
    const text = await execIn(srv, process.execPath, ['-e', `fetch('http://127.0.0.1:${METRICS}/metrics').then(async (r) => process.stdout.write(await r.text()))`]);
    expect(text.stdout.split('\n')).toContain(`softunicast_route_packets_total{fate="drop_ssa_source",lane="xdp"} ${COUNT}`);
    expect((await router.kill('SIGTERM')).code).toBe(0);
  });
});
