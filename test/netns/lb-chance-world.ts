// The world of test/netns/lb-second-chance.test.ts: one Ethernet segment (a bridge in its own
// namespace) joining a client, a stand-in load balancer (agents/glb-balancer.py) and two backends
// that serve the service address from lo, each with bpf/backend.bpf.c on its link. Every namespace
// comes from the harness, registered before it exists.
import { fileURLToPath } from 'node:url';

import { SecondChanceBackend } from '../../src/lb/index.js';
import { createNamespace, mustExecIn, spawnIn, xdpOnVethPeer, type SpawnedProcess } from '../../src/netns/index.js';
import { addresses, link, macOf, sysctl, Wire } from './attack-world.js';

const BALANCER = fileURLToPath(new URL('./agents/glb-balancer.py', import.meta.url));
const TCP_AGENT = fileURLToPath(new URL('./agents/tcp-agent.mjs', import.meta.url));

export const SERVICE = '192.0.2.80';
export const SERVICE_PORT = 80;
export const IP = { client: '10.9.0.100', lb: '10.9.0.1', b1: '10.9.0.11', b2: '10.9.0.12' } as const;
export type Backend = 'b1' | 'b2';

export interface Host {
  ns: string;
  mac: string;
}

export interface ChanceWorld {
  client: Host;
  lb: Host;
  b1: Host;
  b2: Host;
  /** Raw frames from the balancer's namespace (crafted GUE). */
  lbWire: Wire;
  /** Every frame that reaches the client, kept as 'client'. */
  clientWire: Wire;
  chance: Record<Backend, SecondChanceBackend>;
  balancer: SpawnedProcess;
  tcp: SpawnedProcess;
  processes: SpawnedProcess[];
}

/** A host on the segment: its veth's far end a port of the bridge in `sw`. */
async function host(sw: string, name: string, address: string): Promise<Host> {
  const ns = await createNamespace(name);
  await link(sw, name, ns, 'eth0');
  await mustExecIn(sw, 'ip', ['link', 'set', 'dev', name, 'master', 'br0']);
  await addresses(ns, 'eth0', [`${address}/24`]);
  return { ns, mac: await macOf(ns, 'eth0') };
}

/** A backend: the service address on lo (the kernel answers from it: direct server return),
 * rp_filter off (GUE and unwrapped packets come from addresses it does not route back to on
 * that link in general), a server that names itself, and the second-chance program. */
async function backend(sw: string, name: Backend, processes: SpawnedProcess[]): Promise<Host> {
  const h = await host(sw, name, IP[name]);
  await addresses(h.ns, 'lo', [`${SERVICE}/32`]);
  await sysctl(h.ns, { 'net.ipv4.conf.all.rp_filter': 0, 'net.ipv4.conf.eth0.rp_filter': 0 });
  // What the program sends back out (XDP_TX) reaches the bridge at once (src/netns/veth-peer.ts).
  await xdpOnVethPeer(sw, name);
  const server = spawnIn(h.ns, process.execPath, [TCP_AGENT, 'serve', SERVICE, String(SERVICE_PORT), name]);
  processes.push(server);
  await server.waitForLine('"ready"', 20_000);
  return h;
}

export async function buildChanceWorld(): Promise<ChanceWorld> {
  const processes: SpawnedProcess[] = [];
  const sw = await createNamespace('sw');
  await mustExecIn(sw, 'ip', ['link', 'add', 'br0', 'type', 'bridge']);
  await mustExecIn(sw, 'ip', ['link', 'set', 'dev', 'br0', 'up']);
  const client = await host(sw, 'client', IP.client);
  const lb = await host(sw, 'lb', IP.lb);
  const b1 = await backend(sw, 'b1', processes);
  const b2 = await backend(sw, 'b2', processes);
  // The client reaches the service through the balancer; what it sends there has room for the
  // GUE header and a hop list inside the segment's MTU.
  await mustExecIn(client.ns, 'ip', ['link', 'set', 'dev', 'eth0', 'mtu', '1400']);
  // The balancer copies the client's packets byte for byte: they must carry their checksums and
  // be no larger than the link's MTU (veth otherwise leaves both to a later hop that never comes).
  await mustExecIn(client.ns, 'ethtool', ['-K', 'eth0', 'tx', 'off', 'tso', 'off', 'gso', 'off']);
  await mustExecIn(client.ns, 'ip', ['route', 'add', `${SERVICE}/32`, 'via', IP.lb]);
  // The balancer's kernel drops what its agent wraps: silently (forwarding on, blackhole route).
  await sysctl(lb.ns, { 'net.ipv4.ip_forward': 1 });
  await mustExecIn(lb.ns, 'ip', ['route', 'add', 'blackhole', `${SERVICE}/32`]);
  const balancer = spawnIn(lb.ns, 'python3', [BALANCER, 'eth0', SERVICE, IP.lb, lb.mac], { stdin: 'pipe' });
  processes.push(balancer);
  balancer.child.stdin!.on('error', () => undefined);
  await balancer.waitForLine('"ready"', 20_000);
  const tcp = spawnIn(client.ns, process.execPath, [TCP_AGENT, 'client'], { stdin: 'pipe' });
  processes.push(tcp);
  await tcp.waitForLine('"ready"', 20_000);
  const chance = {
    b1: await SecondChanceBackend.open({ netns: b1.ns, ifname: 'eth0', nextHops: [{ address: IP.b2, mac: b2.mac }] }),
    b2: await SecondChanceBackend.open({ netns: b2.ns, ifname: 'eth0', nextHops: [{ address: IP.b1, mac: b1.mac }] }),
  };
  const [lbWire, clientWire] = await Promise.all([Wire.start(lb.ns), Wire.start(client.ns)]);
  await clientWire.sniff('client', 'eth0');
  return { client, lb, b1, b2, lbWire, clientWire, chance, balancer, tcp, processes };
}

let nextId = 0;

/** Sets the balancer's hop list: primary first. */
export async function balanceTo(world: ChanceWorld, list: readonly Backend[]): Promise<void> {
  const id = `h${nextId++}`;
  const hops = list.map((b) => ({ ip: IP[b], mac: world[b].mac }));
  world.balancer.child.stdin!.write(`${JSON.stringify({ cmd: 'hops', id, hops })}\n`);
  const answer = JSON.parse(await world.balancer.waitForLine(`"id": "${id}"`, 10_000)) as { event: string; message?: string };
  if (answer.event !== 'hops') throw new Error(`glb-balancer: ${answer.message}`);
}
