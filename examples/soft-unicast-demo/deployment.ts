// The demo's one configuration file: the world of world.ts as a soft-unicast deployment (the format
// of src/config), and what the demo reads back from it. main.ts writes it; every router reads it.
import { IPv4, IPv6 } from 'ip-num';

import type { Config, PortRange } from '../../src/index.js';
import { DATACENTRES, GUE_PORT, SHARED4, SHARED6, TRUSTED_PEERS, type DcName, type Family, type World } from './world.js';

/** Ports per slice: 2048-4095 to a1, 4096-6143 to a2, ... (the lowest slice is kept back). */
export const SLICE_SIZE = 2048;

/**
 * How the servers of each data centre reach each other, per server (an owner in a router's
 * table has one address and one encapsulation): A in GUE variant 0; in B, b2 by rewriting the
 * Ethernet destination on br0 (b1 and b2 share that segment), b1 in GUE variant 1. Other data
 * centres send to a data centre's entry server in GUE variant 1.
 */
const SERVER_ENCAP: Record<string, 'gue0' | 'gue1' | 'l2'> = { a1: 'gue0', a2: 'gue0', a3: 'gue0', b1: 'gue1', b2: 'l2' };

/** The YAML text of the deployment: both data centres, every server, both shared addresses. */
export function deploymentYaml(world: World): string {
  const owners = world.servers.map((s) => s.name).join(', ');
  const dc = (name: DcName): string => {
    const plan = DATACENTRES[name];
    const entry = world.server(plan.entry);
    const servers = world.servers.filter((s) => s.dc === name).map((s) => {
      const encap = SERVER_ENCAP[s.name] ?? 'gue0';
      const extra = encap === 'l2' ? `, encap: l2, mac: '${s.mac}'` : encap === 'gue0' ? '' : `, encap: ${encap}`;
      const note = encap === 'l2' ? `  # ${plan.entry} and ${s.name} share br0: the MAC address is rewritten, no GUE` : '';
      return `      ${s.name}: { ipv4: ${s.ipv4}, ipv6: '${s.ipv6}'${extra}, interface: { name: ${s.ifname}, queues: all, attach: driver } }${note}`;
    });
    return [
      `  ${name}:`,
      `    # The other data centre sends replies for the slices of ${name}'s servers to ${entry.name}, in GUE.`,
      `    endpoint: { ipv4: ${entry.ipv4}, ipv6: '${entry.ipv6}' }`,
      '    encap: gue1',
      '    servers:',
      ...servers,
    ].join('\n');
  };
  // Exactly the peers (every server, the endpoints among them; world.ts): a wider prefix such
  // as 2001:db8::/32 would cover the shared address and the Internet host, and validation
  // refuses a trusted range over a shared address.
  const trusted = TRUSTED_PEERS;
  return `# The soft-unicast demo's deployment (examples/soft-unicast-demo): two data centres whose five
# servers share ${SHARED4} and ${SHARED6} by port slices. Every server's router reads this
# one file and picks its own view: soft-unicast-router --config FILE --host NAME.
version: 1

gue:
  port: ${GUE_PORT}
  encap: gue0        # between servers of a data centre unless a server says otherwise
  trustedPeers: [${trusted.map((p) => `'${p}'`).join(', ')}]   # the servers, one by one

datacenters:
${dc('A')}
${dc('B')}

# The i-th slice of ${SLICE_SIZE} ports to the i-th server, on both shared addresses.
egress:
  - address: ${SHARED4}
    slices: { size: ${SLICE_SIZE}, reserveLowest: true, owners: [${owners}] }
  - address: '${SHARED6}'
    slices: { size: ${SLICE_SIZE}, reserveLowest: true, owners: [${owners}] }
`;
}

/** Each server's slice of each shared address, as the configuration says. */
export function slicesOf(config: Config): Record<Family, Map<string, PortRange>> {
  const out: Record<Family, Map<string, PortRange>> = { v4: new Map(), v6: new Map() };
  for (const e of config.egress) {
    const family = e.destination instanceof IPv4 ? 'v4' : e.destination instanceof IPv6 ? 'v6' : undefined;
    if (family === undefined) continue; // a prefix: the demo's file has none
    for (const s of e.slices) out[family].set(s.owner, s.ports);
  }
  return out;
}

/** The server of the configuration that is data centre `dc`'s endpoint (its entry server). */
export function endpointServer(config: Config, dc: string): string | undefined {
  const endpoint = config.datacenters.get(dc)?.endpoint;
  if (endpoint?.ipv4 === undefined) return undefined;
  for (const s of config.servers.values()) if (s.ipv4?.getValue() === endpoint.ipv4.getValue()) return s.name;
  return undefined;
}
