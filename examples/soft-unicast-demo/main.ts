// `npm run demo`: soft-unicast end to end in network namespaces. Builds the world of world.ts,
// writes one configuration file, runs soft-unicast-router on every server, has every server
// download a file from the Internet host from its own slice of the shared addresses (with
// connectFromSlice and with curl, over IPv4 and IPv6), and prints where each flow's replies
// landed and how they reached their owner, then the routers' counters. Exits 0 only if every
// transfer arrived intact and all three paths showed for both families; always tears down.
// `--lane afxdp` runs the routers with the AF_XDP workers finishing every packet; by default the
// XDP program finishes what it can in the kernel (the express lane).
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { ABI } from '../../src/generated/abi.js';
import { loadConfig, type Config, type PortRange } from '../../src/index.js';
import {
  Agent, execIn, requireNetnsPrivileges, runMain, runPrefix, spawnIn, waitFor, type SpawnedProcess,
} from '../../src/netns/index.js';
import { deploymentYaml, slicesOf } from './deployment.js';
import { deltas, expectedPath, observedPath, PATH_KINDS, pathText, type Path, type PathKind, type Totals } from './paths.js';
import { renderTable, type Cell } from './table.js';
import {
  buildWorld, HTTP_PORT, INET4, INET6, INET_SERVER, inetOf, landingServer, SHARED4, SHARED6, sharedOf, SLICE_CLIENT, UDP_ECHO_PORT,
  type Family, type ServerNode, type World,
} from './world.js';

/** The router binary, compiled beside this demo. */
const ROUTER = fileURLToPath(new URL('../soft-unicast-router/main.js', import.meta.url));
/** The file every server downloads: 1 MiB, some 720 full-size packets a flow. */
const SIZE = 1 << 20;
const FAMILIES = ['v4', 'v6'] as const;
const FAMILY_NAME: Record<Family, string> = { v4: 'IPv4', v6: 'IPv6' };
const TOOLS = ['connectFromSlice', 'curl'] as const;
type Tool = (typeof TOOLS)[number];
/** How often the routers print counters: a snapshot costs at most this long. */
const STATS_INTERVAL_S = 0.1;

const log = (line: string): void => void process.stderr.write(`demo: ${line}\n`);

type Lane = 'auto' | 'afxdp';
function laneOf(argv: readonly string[]): Lane {
  if (argv.length === 0) return 'auto';
  if (argv.length === 2 && argv[0] === '--lane' && (argv[1] === 'auto' || argv[1] === 'afxdp')) return argv[1];
  log(`Expected no arguments or '--lane auto|afxdp' but received ${JSON.stringify(argv.join(' '))}`);
  process.exit(2);
}
const LANE = laneOf(process.argv.slice(2));
const out = (line = ''): void => void process.stdout.write(`${line}\n`);
const since = (t: number): string => `${((performance.now() - t) / 1000).toFixed(1)} s`;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Transfer {
  status: number;
  bytes: number;
  sha256: string;
  address: string;
  port: number;
}

interface Flow {
  server: ServerNode;
  family: Family;
  tool: Tool;
  slice: PortRange;
  expected: Path;
  transfer?: Transfer;
  observed?: Path;
  problems: string[];
}

interface RouterRun {
  server: string;
  proc: SpawnedProcess;
}

/** The first --json stats line a router prints from now on: its counters after this moment. */
async function nextTotals(r: RouterRun, timeoutMs = 5_000): Promise<Totals> {
  const from = r.proc.stdoutLines.length;
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const line = r.proc.stdoutLines.slice(from).find((l) => l.startsWith('{'));
    if (line !== undefined) return (JSON.parse(line) as { totals: Totals }).totals;
    if (!r.proc.running || performance.now() > deadline) {
      throw new Error(`soft-unicast-router on ${r.server} ${r.proc.running ? `printed no stats line for ${timeoutMs} ms` : 'exited'}; its stderr:\n${r.proc.stderr}`);
    }
    await sleep(10);
  }
}

async function snapshot(routers: readonly RouterRun[]): Promise<Map<string, Totals>> {
  return new Map(await Promise.all(routers.map(async (r) => [r.server, await nextTotals(r)] as const)));
}

/**
 * Resolves once `ns` holds no TCP connection but those in TIME-WAIT: every packet inet sent for
 * the flows of that server has arrived by then (the last one, a FIN or ACK, ends the state).
 */
async function quiet(ns: string): Promise<void> {
  const states = ['established', 'syn-sent', 'syn-recv', 'fin-wait-1', 'fin-wait-2', 'close-wait', 'last-ack', 'closing'];
  await waitFor(
    async () => (await execIn(ns, 'ss', ['-Htn', ...states.flatMap((s) => ['state', s])])).stdout.trim() === '',
    { what: `the TCP connections in ${ns} to close`, timeoutMs: 10_000, intervalMs: 20 },
  );
}

/** GET /blob/SIZE with the library's egress helper, in the server's slice-client agent. */
async function viaLibrary(client: Agent, family: Family, slice: PortRange): Promise<Transfer> {
  const answer = await client.run('get', {
    source: sharedOf(family), host: inetOf(family), port: HTTP_PORT, from: slice.from, to: slice.to, path: `/blob/${SIZE}`, count: 1,
    // A handshake whose SYN-ACK went astray fails in 5 s rather than after the kernel's retries.
    timeoutMs: 5_000,
  }, 60_000);
  if (answer.error !== undefined) throw new Error(`connectFromSlice: ${answer.error.message}`);
  const [r] = answer.results as { status: number; length: number; sha256: string; local: { address: string; port: number } }[];
  return { status: r!.status, bytes: r!.length, sha256: r!.sha256, address: r!.local.address, port: r!.local.port };
}

/** The same GET with an unmodified curl, bound to the shared address and told the slice's ports. */
async function viaCurl(server: ServerNode, family: Family, slice: PortRange, dir: string): Promise<Transfer> {
  const file = join(dir, `${server.name}-${family}.body`);
  const host = family === 'v4' ? INET4 : `[${INET6}]`;
  const r = await execIn(server.ns, 'curl', [
    '--silent', '--show-error', '--fail', '--globoff', '--noproxy', '*', '--connect-timeout', '5', '--max-time', '30',
    '--local-port', `${slice.from}-${slice.to}`, '--interface', sharedOf(family),
    '--output', file, '--write-out', '%{http_code} %{size_download} %{local_ip} %{local_port}',
    `http://${host}:${HTTP_PORT}/blob/${SIZE}`,
  ], { timeoutMs: 40_000 });
  if (r.code !== 0) throw new Error(`curl exited with ${String(r.code ?? r.signal)}: ${r.stderr.trim()}`);
  const [status, bytes, address, port] = r.stdout.trim().split(' ');
  const body = readFileSync(file);
  rmSync(file);
  // size_download and the file must agree; the table shows what reached the disk.
  if (Number(bytes) !== body.length) throw new Error(`curl reports ${bytes} bytes but wrote ${body.length}`);
  return { status: Number(status), bytes: body.length, sha256: createHash('sha256').update(body).digest('hex'), address: address!, port: Number(port) };
}

function checkTransfer(f: Flow, t: Transfer, sha256: string): void {
  if (t.status !== 200) f.problems.push(`HTTP status ${t.status}`);
  if (t.bytes !== SIZE) f.problems.push(`${t.bytes} bytes instead of ${SIZE}`);
  if (t.sha256 !== sha256) f.problems.push(`sha256 ${t.sha256.slice(0, 12)}... is not the server's ${sha256.slice(0, 12)}...`);
  if (t.address !== sharedOf(f.family)) f.problems.push(`sent from ${t.address}, not the shared ${sharedOf(f.family)}`);
  if (t.port < f.slice.from || t.port > f.slice.to) f.problems.push(`source port ${t.port} outside the slice ${f.slice.from}-${f.slice.to}`);
}

const sameHops = (a: Path, b: Path): boolean => a.landed === b.landed && pathText(a) === pathText(b);

/** One download, alone in the world, with a counter snapshot before and after it. */
async function runFlow(f: Flow, routers: readonly RouterRun[], client: Agent, dir: string, sha256: string, before: Map<string, Totals>): Promise<Map<string, Totals>> {
  try {
    f.transfer = f.tool === 'curl' ? await viaCurl(f.server, f.family, f.slice, dir) : await viaLibrary(client, f.family, f.slice);
    checkTransfer(f, f.transfer, sha256);
  } catch (error) {
    f.problems.push((error as Error).message);
  }
  await quiet(f.server.ns);
  const after = await snapshot(routers);
  const observed = observedPath(deltas(before, after), f.server.name);
  if ('problem' in observed) f.problems.push(`counters: ${observed.problem}`);
  else {
    f.observed = observed;
    if (!sameHops(observed, f.expected)) f.problems.push(`the counters show ${pathText(observed)}, the routes predict ${pathText(f.expected)}`);
  }
  return after;
}

/** The routers' totals: one row per non-zero counter, one column per server. */
function countersTable(totals: ReadonlyMap<string, Totals>, world: World): string {
  const servers = world.servers.map((s) => s.name);
  const rows: Cell[][] = [];
  const add = (section: 'program' | 'fates', list: readonly { name: string }[], label: string) => {
    for (const c of list) {
      const values = servers.map((s) => totals.get(s)?.[section][c.name] ?? 0);
      if (values.some((v) => v !== 0)) rows.push([`${label} ${c.name}`, ...values.map((v) => (v === 0 ? '' : v))]);
    }
  };
  add('program', ABI.steerCounters, 'xdp');
  add('fates', ABI.routeCounters, 'fate');
  return renderTable(['counter', ...world.servers.map((s) => `${s.name} (${s.dc})`)], rows);
}

/** Mounts a bpf filesystem of the demo's own at `path` (unmounted on exit). */
function mountBpf(path: string): void {
  mkdirSync(path, { recursive: true });
  const r = spawnSync('mount', ['-t', 'bpf', 'bpf', path], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`mount -t bpf bpf ${path} failed: ${r.stderr.trim()}`);
  mounted = path;
}
let mounted: string | undefined;
function unmountBpf(): void {
  if (mounted !== undefined) spawnSync('umount', [mounted]);
  mounted = undefined;
}

/** Whether an interface of namespace `ns` carries an XDP program. */
async function carriesXdp(ns: string): Promise<boolean> {
  const r = await execIn(ns, 'ip', ['-j', 'link', 'show'], { throwOnError: true });
  return (JSON.parse(r.stdout) as { xdp?: unknown }[]).some((l) => l.xdp !== undefined);
}

async function demo(dir: string): Promise<boolean> {
  requireNetnsPrivileges(['ip', 'ping', 'sysctl', 'ethtool', 'ss', 'curl']);
  let t = performance.now();
  log(`building the world in namespaces ${runPrefix}-*: inet, routers rA and rB, servers a1 a2 a3 (data centre A) and b1 b2 (B)`);
  const world = await buildWorld();
  log(`built in ${since(t)}`);

  // ---- one configuration file for every router ----------------------------------------------
  const configPath = join(dir, 'deployment.yaml');
  writeFileSync(configPath, deploymentYaml(world));
  const config: Config = await loadConfig(configPath);
  const slices = slicesOf(config);
  log(`wrote ${configPath}: ${config.datacenters.size} data centres, ${config.servers.size} servers, ${config.egress.length} shared addresses`);

  t = performance.now();
  const inet = (await Agent.ready('inet', world.inet.ns, INET_SERVER, { addresses: [INET4, INET6], httpPort: HTTP_PORT, udpPort: UDP_ECHO_PORT, blobs: [SIZE] })).first;
  const sha256 = (inet.hashes as Record<string, string>)[SIZE]!;
  // `ip netns exec` gives each router a /sys of its own without /sys/fs/bpf: the routers pin
  // their XDP programs in a bpf filesystem of the demo's instead.
  const pins = join(dir, 'bpf');
  mountBpf(pins);
  const common = ['--config', configPath, '--json', '--stats-interval', String(STATS_INTERVAL_S), '--no-watch', '--lane', LANE];
  log(`starting soft-unicast-router ${common.join(' ')} --host NAME --pin-dir ${pins}/NAME --socket ${dir}/NAME.sock on ${world.servers.map((s) => s.name).join(', ')}`);
  const routers: RouterRun[] = world.servers.map((s) => ({
    server: s.name,
    // A control socket in the demo's directory, not /run/softunicast/NAME.sock: another run
    // (a test, a second demo) starting routers of the same names must not meet these.
    proc: spawnIn(s.ns, process.execPath, [ROUTER, ...common, '--host', s.name, '--pin-dir', join(pins, s.name), '--socket', join(dir, `${s.name}.sock`)]),
  }));
  const clients = new Map<string, Agent>();
  await Promise.all([
    // The first stats line comes once the router is attached and its table published.
    ...routers.map(async (r) => void (await nextTotals(r, 30_000))),
    ...world.servers.map(async (s) => void clients.set(s.name, (await Agent.ready(`${s.name}-app`, s.ns, SLICE_CLIENT)).agent)),
  ]);
  log(`routers attached and serving in ${since(t)}`);

  // ---- every server, both families, both tools: one flow at a time --------------------------
  const flows: Flow[] = FAMILIES.flatMap((family) =>
    world.servers.flatMap((server) =>
      TOOLS.map((tool) => ({ server, family, tool, slice: slices[family].get(server.name)!, expected: expectedPath(config, server.name, family), problems: [] })),
    ),
  );
  t = performance.now();
  log(`${flows.length} downloads of ${SIZE} bytes, one at a time so that the counters that move are that flow's`);
  let totals = await snapshot(routers);
  for (const f of flows) totals = await runFlow(f, routers, clients.get(f.server.name)!, dir, sha256, totals);
  log(`downloads done in ${since(t)}`);

  // ---- the table ------------------------------------------------------------------------------
  out(`soft-unicast: ${config.servers.size} servers in ${config.datacenters.size} data centres share ${SHARED4} and ${SHARED6} by port slices.`);
  out(`inet routes ${SHARED4} into data centre A (it lands at ${landingServer('v4')}) and ${SHARED6} into B (at ${landingServer('v6')}).`);
  out(`Every server downloads ${SIZE} bytes from http://${INET4} and http://[${INET6}] from its own slice:`);
  out();
  out(renderTable(
    ['flow', 'owner', 'slice (port)', 'reply landed at', 'how it reached the owner', 'path', 'bytes', 'sha256'],
    flows.map((f) => [
      `${f.server.name} ${FAMILY_NAME[f.family]} ${f.tool}`,
      `${f.server.name} (${f.server.dc})`,
      `${f.slice.from}-${f.slice.to} (${f.transfer?.port ?? '-'})`,
      f.observed === undefined ? '?' : `${f.observed.landed} (${world.server(f.observed.landed).dc})`,
      f.observed?.kind ?? '?',
      f.observed === undefined ? '?' : pathText(f.observed),
      f.transfer?.bytes ?? 0,
      f.transfer === undefined ? 'none' : f.transfer.sha256 === sha256 ? 'verified' : 'MISMATCH',
    ]),
  ));
  out();
  const seen = Object.fromEntries(FAMILIES.map((family) => [family, new Set(flows.filter((f) => f.family === family && f.problems.length === 0).map((f) => f.observed!.kind))])) as Record<Family, Set<PathKind>>;
  for (const family of FAMILIES) out(`${FAMILY_NAME[family]} paths: ${PATH_KINDS.map((k) => `${k} ${seen[family].has(k) ? 'yes' : 'NO'}`).join(', ')}`);
  out();
  out(`Router counters (totals; ${landingServer('v4')} and ${landingServer('v6')} are their data centres' entry servers and endpoints; zeros left out):`);
  out(countersTable(totals, world));

  // ---- stop (SIGTERM), then detach, as an operator would ---------------------------------------
  const exits = await Promise.all(routers.map(async (r) => ({ r, exit: await r.proc.kill('SIGTERM') })));
  const problems = exits.filter(({ exit }) => exit.code !== 0).map(({ r, exit }) => `soft-unicast-router on ${r.server} exited with ${String(exit.code ?? exit.signal)}:\n${r.proc.stderr}`);
  for (const s of world.servers) {
    if (!(await carriesXdp(s.ns))) problems.push(`${s.name}: its router stopped and took the pinned XDP program with it`);
    const r = await execIn(s.ns, process.execPath, [ROUTER, '--detach', '--config', configPath, '--host', s.name, '--pin-dir', join(pins, s.name)]);
    if (r.code !== 0) problems.push(`soft-unicast-router --detach on ${s.name} exited with ${String(r.code ?? r.signal)}: ${r.stderr}`);
    if (await carriesXdp(s.ns)) problems.push(`${s.name}: an XDP program is still attached after --detach`);
  }
  for (const f of flows) for (const p of f.problems) problems.push(`${f.server.name} ${FAMILY_NAME[f.family]} ${f.tool}: ${p}`);
  for (const family of FAMILIES) {
    const missing = PATH_KINDS.filter((k) => !seen[family].has(k));
    if (missing.length > 0) problems.push(`${FAMILY_NAME[family]}: no flow took the path ${missing.join(', ')}`);
  }
  out();
  if (problems.length > 0) {
    out(`FAILED:\n${problems.map((p) => `  ${p}`).join('\n')}`);
    return false;
  }
  out(`OK: ${flows.length} of ${flows.length} transfers intact (sha256 verified); all three paths for IPv4 and IPv6 (lane ${LANE}); routers stopped, then detached cleanly`);
  return true;
}

const dir = mkdtempSync(join(tmpdir(), 'su-demo-'));
// The bpffs mount and the directory go after the namespaces, also on a signal (runMain's cleanup).
process.exitCode = await runMain(() => demo(dir), {
  log,
  cleanup: () => {
    unmountBpf();
    rmSync(dir, { recursive: true, force: true });
  },
});
