// What the soft-unicast suites share (test/netns/soft-unicast*.test.ts): the world of
// test/netns/topology.ts built once per file with inet's server and every server's applications,
// a Router per server on demand, and the downloads, counters and checks the tests are made of.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, beforeEach, expect } from 'vitest';

import { splitPorts } from '../../src/index.js';
import { requireNetnsPrivileges, teardownRun } from '../../src/netns/index.js';
import {
  Agent, DATACENTRES, HTTP_PORT, INET4, INET6, INET_SERVER, ROUTER_AGENT, SLICE_CLIENT, UDP_ECHO_PORT,
  buildWorld, hostFor, sharedOf, tableFor, type Assignment, type Family, type PortRange, type World,
} from './topology.js';

export const TOOLS = ['ip', 'ping', 'sysctl', 'ethtool', 'tshark'];
/** Big enough that every download spans thousands of packets, and many GUE packets per flow. */
export const BLOB = 3_000_000;
/** Small enough that five captures at once keep up with it. */
export const SMALL_BLOB = 200_000;
export const DOWNLOADS_PER_FAMILY = 3;
export const FAMILIES = ['v4', 'v6'] as const;
export const inetOf = (family: Family): string => (family === 'v4' ? INET4 : INET6);

// splitPorts: 31 slices of 2048 ports from 2048 up; one to each server, the rest unassigned.
const SLICES = splitPorts({ sliceSize: 2048 });
export const SERVERS = [...DATACENTRES.A.servers, ...DATACENTRES.B.servers];
export const INITIAL: Assignment = SERVERS.map((server, i) => ({ server, ports: SLICES[i]! }));
export const sliceOf = (server: string): PortRange => INITIAL.find((a) => a.server === server)!.ports;
export const inSlice = (port: number, slice: PortRange): boolean => port >= slice.from && port <= slice.to;

export interface Download {
  status: number;
  length: number;
  sha256: string;
  local: { address: string; port: number };
}

export type Counters = {
  generation: string;
  fates: Record<string, number>;
  program: Record<string, number>;
  unresolvedOwners: Record<string, string>;
};

/** The slice-client command for `count` concurrent GETs of /blob/<size> from `server`'s slice. */
export function getCommand(server: string, family: Family, size: number, count: number, connectTimeoutMs: number) {
  return { source: sharedOf(family), host: inetOf(family), port: HTTP_PORT, ...sliceOf(server), path: `/blob/${size}`, count, timeoutMs: connectTimeoutMs };
}

/** One test file's world: filled in by the hooks softUnicastSuite() registers. */
export class SoftUnicastSuite {
  world!: World;
  dir!: string;
  hashes!: Record<string, string>;
  /** One slice-client.mjs per server: its applications. */
  readonly clients = new Map<string, Agent>();
  /** router-agent.mjs per server, once startRouters() ran. */
  readonly routers = new Map<string, Agent>();

  /** A Router on every server, with the initial slices. */
  async startRouters(): Promise<void> {
    await Promise.all(
      this.world.servers.map(async (s) => {
        const { agent } = await Agent.ready(`${s.name}-router`, s.ns, ROUTER_AGENT, {
          interface: s.ifname,
          host: hostFor(this.world, s.name),
          table: tableFor(this.world, s.name, INITIAL),
        });
        this.routers.set(s.name, agent);
      }),
    );
  }

  /** `count` concurrent GETs of /blob/<size> from `server`'s slice over `family`. */
  async download(server: string, family: Family, size: number, count: number): Promise<Download[]> {
    // 5 s for a handshake: a SYN-ACK that went astray fails the download instead of waiting for
    // the kernel's two minutes of retries.
    const answer = await this.clients.get(server)!.run('get', getCommand(server, family, size, count, 5_000), 60_000);
    if (answer.error !== undefined) throw new Error(`${server} ${family}: download failed: ${JSON.stringify(answer.error)}`);
    return answer.results as Download[];
  }

  expectIntact(server: string, family: Family, results: Download[], size: number): void {
    const ports = sliceOf(server);
    for (const r of results) {
      expect({ server, family, status: r.status, length: r.length, sha256: r.sha256, source: r.local.address }).toEqual({
        server, family, status: 200, length: size, sha256: this.hashes[size], source: sharedOf(family),
      });
      expect(inSlice(r.local.port, ports), `${server} ${family}: source port ${r.local.port} in ${ports.from}-${ports.to}`).toBe(true);
    }
  }

  async counters(server: string): Promise<Counters> {
    return (await this.routers.get(server)!.must('counters')).counters as Counters;
  }

  async allCounters(): Promise<Record<string, Counters>> {
    return Object.fromEntries(await Promise.all(SERVERS.map(async (s) => [s, await this.counters(s)] as const)));
  }

  /** The drops that nothing in this world should cause. */
  expectNoDrops(all: Record<string, Counters>): void {
    for (const [server, c] of Object.entries(all)) {
      const drops = Object.fromEntries(Object.entries(c.fates).filter(([k, v]) => k.startsWith('drop') && v !== 0));
      expect({ server, drops, unresolved: c.unresolvedOwners }).toEqual({ server, drops: {}, unresolved: {} });
    }
  }
}

/** Registers the file's hooks (the world with inet and the applications before all, teardown
 * after) and returns the suite they fill in. Call at the top level of a test file. */
export function softUnicastSuite(): SoftUnicastSuite {
  const suite = new SoftUnicastSuite();
  beforeAll(async () => {
    requireNetnsPrivileges(TOOLS);
    suite.dir = mkdtempSync(join(tmpdir(), 'su-soft-unicast-'));
    suite.world = await buildWorld();
    const { first } = await Agent.ready('inet', suite.world.inet.ns, INET_SERVER, {
      addresses: [INET4, INET6],
      httpPort: HTTP_PORT,
      udpPort: UDP_ECHO_PORT,
      blobs: [BLOB, SMALL_BLOB],
    });
    suite.hashes = first.hashes as Record<string, string>;
    await Promise.all(
      suite.world.servers.map(async (s) => {
        suite.clients.set(s.name, (await Agent.ready(`${s.name}-app`, s.ns, SLICE_CLIENT)).agent);
      }),
    );
  }, 120_000);
  afterAll(async () => {
    await teardownRun();
    if (suite.dir !== undefined) rmSync(suite.dir, { recursive: true, force: true });
  });
  beforeEach(() => requireNetnsPrivileges(TOOLS));
  return suite;
}
