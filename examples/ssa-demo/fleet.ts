// The programs of the structured-addressing world: endpoint servers with second chance on their
// links, the DNS agent (on the router's configuration file; checked once with dig), the client agent. Used by scenario.ts.
import { fileURLToPath } from 'node:url';

import { lb } from '../../src/index.js';
import { Agent, mustExecIn } from '../../src/netns/index.js';
import { ROUTER_SERVER } from './deployment.js';
import { SERVICE_NAMES } from './rules.js';
import { DNS_ADDRESS, endpointIpv4, SERVICE_PORT, type SsaWorld } from './world.js';

const agent = (name: string): string => fileURLToPath(new URL(`./agents/${name}.js`, import.meta.url));

export interface Fleet {
  readonly servers: Agent[];
  readonly chance: lb.SecondChanceBackend[];
  readonly dns: Agent;
  readonly client: Agent;
}

/** Every endpoint's server on [::]:80, and SecondChanceBackend on its eth0 (next hops: the others). */
async function startEndpoints(world: SsaWorld): Promise<Pick<Fleet, 'servers' | 'chance'>> {
  const servers: Agent[] = [];
  const chance: lb.SecondChanceBackend[] = [];
  for (const [i, e] of world.endpoints.entries()) {
    servers.push((await Agent.ready(`${e.name}-server`, e.ns, agent('endpoint'), { name: e.name, port: SERVICE_PORT })).agent);
    const nextHops = world.endpoints.flatMap((o, j) => (j === i ? [] : [{ address: endpointIpv4(j), mac: o.mac }]));
    chance.push(await lb.SecondChanceBackend.open({ netns: e.ns, ifname: 'eth0', nextHops }));
  }
  return { servers, chance };
}

/** The endpoints, the DNS agent reading the router's configuration `file` (written already), the client agent. */
export async function startFleet(world: SsaWorld, file: string): Promise<Fleet> {
  const { servers, chance } = await startEndpoints(world);
  const dnsAgent = (await Agent.ready('dns', world.dns.ns, agent('dns'), { host: DNS_ADDRESS, file, server: ROUTER_SERVER })).agent;
  const client = (await Agent.ready('client', world.client.ns, agent('client'), { dns: DNS_ADDRESS, port: SERVICE_PORT })).agent;
  return { servers, chance, dns: dnsAgent, client };
}

/** What dig reads for each record of one service name: APL (as type 42), TXT, AAAA. */
export async function digService(world: SsaWorld, name: string): Promise<{ apl: string[]; txt: string[]; aaaa: string[] }> {
  const ask = async (type: string): Promise<string[]> => {
    const { stdout } = await mustExecIn(world.client.ns, 'dig', [`@${DNS_ADDRESS}`, name, type, '+short', '+tries=3']);
    return stdout.split('\n').map((l) => l.trim()).filter((l) => l !== '');
  };
  return { apl: await ask('APL'), txt: await ask('TXT'), aaaa: await ask('AAAA') };
}

/** The service names and what dig found under each. */
export async function digAll(world: SsaWorld): Promise<{ name: string; apl: number; txt: string; aaaa: number }[]> {
  const out = [];
  for (const { name } of Object.values(SERVICE_NAMES)) {
    const r = await digService(world, name);
    out.push({ name, apl: r.apl.length, txt: r.txt.join(' '), aaaa: r.aaaa.length });
  }
  return out;
}

export async function stopFleet(fleet: Fleet): Promise<void> {
  for (const c of fleet.chance) await c.close();
  for (const a of [...fleet.servers, fleet.dns, fleet.client]) await a.proc.stop();
}
