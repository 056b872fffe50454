// `npm run demo:agility`: addressing agility (issue 17, docs/agility.md) on real TCP and UDP in network
// namespaces. A policy DNS responder with N hostnames (default 100,000); one HTTP server and one
// UDP echo serving a /20 and a /44 through sk_lookup; clients resolving names (Node's resolver, and
// dig) and fetching. Phases: names bound statically (stable policy) over the /20, then random per
// query over the /20, /24 and /32, shrunk while the clients run. Prints failed requests per phase
// (0 expected), the per-address load the sk_lookup program counted, and writes the plot.
//   node dist/examples/agility-demo/main.js [--names N] [--requests R] [--svg FILE]
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';

import { Agent, requireNetnsPrivileges, runMain, runPrefix } from '../../src/netns/index.js';
import { renderTable } from '../soft-unicast-demo/table.js';
import { countsOf, delta, LOAD_HEADERS, loadCells, loadChart, summarize, type Counts, type LoadEntry } from './load.js';
import { runPhases, type Phase, type PhaseResult, type World } from './phases.js';
import { buildWorld, CLIENT_AGENT, DNS4, DNS_AGENT, POOL4, POOL6, SERVER_AGENT } from './world.js';

const log = (line: string): void => void process.stderr.write(`agility: ${line}\n`);
const out = (line = ''): void => void process.stdout.write(`${line}\n`);
const since = (t: number): string => `${((performance.now() - t) / 1000).toFixed(1)} s`;

function options(): { names: number; requests: number; svg: string } {
  const { values } = parseArgs({ options: { names: { type: 'string', default: '100000' }, requests: { type: 'string', default: '8000' }, svg: { type: 'string', default: 'build/agility-demo/agility-load.svg' } } });
  const whole = (text: string, what: string, min: number): number => {
    const n = Number(text);
    if (!Number.isInteger(n) || n < min) {
      log(`Expected a whole number of at least ${min} for --${what} but received ${JSON.stringify(text)}`);
      process.exit(2);
    }
    return n;
  };
  return { names: whole(values.names, 'names', 1), requests: whole(values.requests, 'requests', 10), svg: values.svg };
}
const OPTIONS = options();
const ORIGIN = 'agility.example';
/** Short, as the paper's: a resolver that caches keeps an address of the old pool this long. */
const TTL = 2;
const ZIPF = 1;

/** The phases, in order: each runs until the clients finished `requests` in it (the /32 a quarter). */
const PHASES: readonly Phase[] = [
  { name: 'static /20', select: 'stable', ipv4: POOL4 },
  { name: 'random /20', select: 'random', ipv4: POOL4 },
  { name: 'random /24', select: 'random', ipv4: '198.18.0.0/24' },
  { name: 'random /32', select: 'random', ipv4: '198.18.0.7/32' },
];

async function startAgents(w: Awaited<ReturnType<typeof buildWorld>>): Promise<World> {
  const dns = await Agent.ready('dns', w.dns, DNS_AGENT, { host: DNS4, names: OPTIONS.names, origin: ORIGIN, ttl: TTL, ipv4: POOL4, ipv6: POOL6, select: 'stable' });
  const server = await Agent.ready('srv', w.srv, SERVER_AGENT);
  const common = {
    dns: DNS4, dnsPort: dns.first.port as number, origin: ORIGIN, names: OPTIONS.names, zipf: ZIPF, aaaaEvery: 4, udpEvery: 4,
    httpPort: server.first.httpPort as number, echoPort: server.first.echoPort as number,
  };
  const clients = await Promise.all([
    Agent.ready('node1', w.cli, CLIENT_AGENT, { ...common, name: 'node1', resolver: 'node', concurrency: 6 }),
    Agent.ready('node2', w.cli, CLIENT_AGENT, { ...common, name: 'node2', resolver: 'node', concurrency: 6 }),
    Agent.ready('dig', w.cli, CLIENT_AGENT, { ...common, name: 'dig', resolver: 'dig', concurrency: 2, bind: '10.53.0.1', bindPort: 40_001 }),
  ]);
  return { dns: dns.agent, server: server.agent, clients: clients.map((c) => c.agent) };
}

function printPhases(results: readonly PhaseResult[]): void {
  out(renderTable(
    ['phase', 'DNS answers from', 'sk_lookup serves (TCP 80, UDP 7)', 'requests', 'failed', 'A', 'AAAA', 'UDP echoes', 'resolved by dig'],
    results.map((r) => [r.phase.name, `${r.phase.ipv4} (${r.phase.select}), ${POOL6}`, `${r.steered}, ${POOL6}`, r.ok + r.failed, r.failed, r.a, r.aaaa, r.udp, r.viaDig]),
  ));
  for (const r of results) for (const e of r.errors) out(`  ${r.phase.name}: ${e}`);
}

function poolSize(cidr: string): number {
  return 2 ** (32 - Number(cidr.split('/')[1]));
}

function printLoad(results: readonly PhaseResult[], loads: Map<string, { v4: Counts; v6: Counts }>): void {
  out('IPv4 load per address in each phase: TCP connections to port 80, as the sk_lookup program counted them (SocketSteering.load()):');
  out(renderTable(['phase', ...LOAD_HEADERS], results.map((r) => [r.phase.name, ...loadCells(summarize(loads.get(r.phase.name)!.v4, poolSize(r.phase.ipv4)))])));
  const v6 = results.map((r) => [r.phase.name, loads.get(r.phase.name)!.v6] as const);
  out(`IPv6 (${POOL6} throughout): ${v6.map(([name, c]) => `${name} ${[...c.values()].reduce((a, b) => a + b, 0)} connections to ${c.size} addresses`).join('; ')}`);
}

async function demo(): Promise<boolean> {
  requireNetnsPrivileges(['ip', 'dig']);
  let t = performance.now();
  log(`building namespaces ${runPrefix}-dns, -srv and -cli`);
  const world = await buildWorld();
  log(`starting the responder with ${OPTIONS.names} names, the server and three clients`);
  const agents = await startAgents(world);
  log(`ready in ${since(t)}`);
  out(`agility: ${OPTIONS.names.toLocaleString('en')} names h<i>.${ORIGIN} under one policy at ${DNS4} (TTL ${TTL} s); ONE HTTP server (port 80) and ONE UDP echo (port 7)`);
  out(`serve ${POOL4} and ${POOL6} through sk_lookup, with local routes for the pools and no pool address on any interface.`);
  out(`Clients: two with Node's dns.Resolver (6 requests in flight each), one with dig (2 in flight); names drawn by popularity (Zipf s=${ZIPF});`);
  out(`every 4th request asks AAAA, every 4th sends a UDP echo as well. A request fails if a lookup, the fetch, the address the server saw or the echo is wrong.`);
  out();
  t = performance.now();
  const loadNow = async (): Promise<LoadEntry[]> => (await agents.server.must('load')).load as LoadEntry[];
  const { results, snapshots } = await runPhases(agents, PHASES, OPTIONS.requests, TTL, loadNow, log);
  log(`phases done in ${since(t)}`);

  const loads = new Map(results.map((r, i) => {
    const [before, after] = [snapshots[i]!, snapshots[i + 1]!];
    return [r.phase.name, { v4: delta(countsOf(before, 4, 'tcp'), countsOf(after, 4, 'tcp')), v6: delta(countsOf(before, 6, 'tcp'), countsOf(after, 6, 'tcp')) }] as const;
  }));
  printPhases(results);
  out();
  printLoad(results, loads);
  const counters = (await agents.server.must('counters')).counters as Record<string, number>;
  out(`sk_lookup counters: ${Object.entries(counters).map(([k, v]) => `${k} ${v}`).join(', ')}`);

  mkdirSync(dirname(OPTIONS.svg), { recursive: true });
  const series = [
    { name: 'static /20 (Zipf names)', counts: loads.get('static /20')!.v4, dashed: true, color: '#1f77b4' },
    { name: 'random /20', counts: loads.get('random /20')!.v4, color: '#1f77b4' },
    { name: 'random /24', counts: loads.get('random /24')!.v4, color: '#d62728' },
  ];
  writeFileSync(OPTIONS.svg, loadChart(series, `Measured connections per address, busiest first (${OPTIONS.names.toLocaleString('en')} names, Zipf ${ZIPF})`));
  out(`plot: ${OPTIONS.svg}`);

  const failed = results.reduce((s, r) => s + r.failed, 0);
  const empty = results.filter((r) => r.ok === 0).map((r) => r.phase.name);
  out();
  if (failed > 0 || empty.length > 0 || counters.skl_no_rule !== 0) {
    out(`FAILED: ${failed} failed requests${empty.length > 0 ? `; no request completed in ${empty.join(', ')}` : ''}; ${counters.skl_no_rule} lookups matched no rule`);
    return false;
  }
  out(`OK: ${results.reduce((s, r) => s + r.ok, 0)} requests, 0 failed, across ${PHASES.map((p) => p.name).join(' -> ')}`);
  return true;
}

// The namespaces are registered before they exist; runMain deletes them (and stops the agents)
// whatever happened, and the kit's signal hook does the same on Ctrl-C.
process.exitCode = await runMain(demo, { log });
