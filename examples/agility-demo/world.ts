// The agility demo's namespaces (examples/agility-demo/main.ts; test/netns/agility-demo.test.ts runs
// the demo): `cli` in the middle, a veth to `dns` (the policy responder) and one to `srv` (one HTTP
// server and one UDP echo serving the pools through sk_lookup, with local routes for the pools).
//
//   dns 10.53.0.53 ---- 10.53.0.1 cli 10.80.0.1 ---- 10.80.0.2 srv   (lo: local 198.18.0.0/20, 2001:db8:100::/44)
//                                     fd80::1   ---- fd80::2
import { fileURLToPath } from 'node:url';

import { createNamespace, mustExec } from '../../src/netns/index.js';

/** The pools: the paper's /20 and /44 (Fayed et al., SIGCOMM'21), from the benchmarking ranges. */
export const POOL4 = '198.18.0.0/20';
export const POOL6 = '2001:db8:100::/44';
export const DNS4 = '10.53.0.53';
const CLI_DNS4 = '10.53.0.1';
const CLI_SRV4 = '10.80.0.1';
const SRV4 = '10.80.0.2';
const CLI_SRV6 = 'fd80::1';
const SRV6 = 'fd80::2';

export interface AgilityWorld {
  dns: string;
  srv: string;
  cli: string;
}

/** `ip -n NS -batch -`: one process for many commands; iproute2 names the failing line. */
async function ipBatch(ns: string, lines: readonly string[], what: string): Promise<void> {
  await mustExec('ip', ['-n', ns, '-batch', '-'], { input: `${lines.join('\n')}\n`, what });
}

/** A veth pair with each end created directly in its namespace (nothing ever sits in the root one). */
async function veth(nsA: string, ifA: string, nsB: string, ifB: string): Promise<void> {
  await mustExec('ip', ['link', 'add', 'name', ifA, 'netns', nsA, 'type', 'veth', 'peer', 'name', ifB, 'netns', nsB], {
    what: `creating veth ${nsA}/${ifA} <-> ${nsB}/${ifB}`,
  });
}

/**
 * Builds the three namespaces. Each is registered for teardown (teardownRun) before it exists,
 * so a failure half-way leaves nothing once the caller tears the run down.
 */
export async function buildWorld(): Promise<AgilityWorld> {
  const w: AgilityWorld = { dns: await createNamespace('dns'), srv: await createNamespace('srv'), cli: await createNamespace('cli') };
  await veth(w.cli, 'dns', w.dns, 'cli');
  await veth(w.cli, 'srv', w.srv, 'cli');
  await ipBatch(w.dns, [`addr add ${DNS4}/24 dev cli`, 'link set dev cli up'], `configuring ${w.dns}`);
  await ipBatch(w.srv, [
    `addr add ${SRV4}/24 dev cli`,
    `addr add ${SRV6}/64 dev cli nodad`,
    'link set dev cli up',
    // No address of the pools on an interface: the local routes make the kernel look for a
    // socket, and sk_lookup hands it the one server (docs/socket-steering.md).
    `route add local ${POOL4} dev lo`,
    `route add local ${POOL6} dev lo`,
  ], `configuring ${w.srv}`);
  await ipBatch(w.cli, [
    `addr add ${CLI_DNS4}/24 dev dns`,
    'link set dev dns up',
    `addr add ${CLI_SRV4}/24 dev srv`,
    `addr add ${CLI_SRV6}/64 dev srv nodad`,
    'link set dev srv up',
    `route add ${POOL4} via ${SRV4}`,
    `route add ${POOL6} via ${SRV6}`,
  ], `configuring ${w.cli}`);
  return w;
}

// Agents run as node processes of their own in the namespaces, always compiled: this module runs
// compiled in the demo (dist/examples/agility-demo/) and from source under vitest.
const AGENTS = new URL(import.meta.url.endsWith('.ts') ? '../../dist/examples/agility-demo/agents/' : './agents/', import.meta.url);
/** agents/dns.ts: the policy responder with the demo's hostnames. */
export const DNS_AGENT = fileURLToPath(new URL('dns.js', AGENTS));
/** agents/pool-server.ts: one HTTP server and one UDP echo, steered to with sk_lookup. */
export const SERVER_AGENT = fileURLToPath(new URL('pool-server.js', AGENTS));
/** agents/client.ts: resolves names (Node's resolver or dig) and fetches over TCP and UDP, in a loop. */
export const CLIENT_AGENT = fileURLToPath(new URL('client.js', AGENTS));
