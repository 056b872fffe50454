// Next-hop MAC addresses for the owners the fast path encapsulates to, from the kernel's routing
// and neighbour tables (DESIGN.md "Things that bite"): the route to the owner's address names the
// gateway (or the owner itself when on-link), the neighbour table its MAC. Read through
// `ip -j` (iproute2) rather than raw netlink: this runs on publish and on a refresh timer, never
// per packet.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The states in which the kernel's neighbour entry carries a usable MAC address. */
const USABLE = new Set(['REACHABLE', 'STALE', 'DELAY', 'PROBE', 'PERMANENT', 'NOARP']);

export interface NextHop {
  /** The address traffic for the owner is sent to at layer 2: the gateway, or the owner. */
  via: string;
  /** Its MAC address, or undefined while the kernel does not know it. */
  mac: string | undefined;
  /** Why there is no MAC, for counters and logs. */
  problem?: string;
}

async function ipJson(args: string[]): Promise<unknown[]> {
  try {
    const { stdout } = await run('ip', ['-j', ...args], { encoding: 'utf8' });
    return stdout.trim() === '' ? [] : (JSON.parse(stdout) as unknown[]);
  } catch {
    return [];
  }
}

async function neighbourMac(via: string, ifname: string): Promise<string | undefined> {
  const entries = (await ipJson(['neigh', 'show', 'to', via, 'dev', ifname])) as { lladdr?: string; state?: string[] }[];
  const entry = entries.find((e) => e.lladdr !== undefined && (e.state ?? []).some((s) => USABLE.has(s)));
  return entry?.lladdr;
}

/**
 * Resolves the next hop towards `address` leaving through `ifname`. When the kernel has no
 * neighbour entry yet, one ICMP echo to the next hop makes it resolve one (the kernel only
 * resolves neighbours it sends to; this is the next hop we are about to send to anyway).
 */
export async function resolveNextHop(address: string, ifname: string): Promise<NextHop> {
  const routes = (await ipJson(['route', 'get', address])) as { dev?: string; gateway?: string }[];
  const route = routes[0];
  if (route === undefined) return { via: address, mac: undefined, problem: `no route to ${address}` };
  if (route.dev !== ifname) {
    return { via: route.gateway ?? address, mac: undefined, problem: `the route to ${address} leaves through ${route.dev ?? 'nothing'}, not ${ifname}` };
  }
  const via = route.gateway ?? address;
  let mac = await neighbourMac(via, ifname);
  if (mac === undefined) {
    const family = via.includes(':') ? '-6' : '-4';
    await run('ping', [family, '-c', '1', '-W', '1', '-I', ifname, via]).catch(() => undefined);
    mac = await neighbourMac(via, ifname);
  }
  return mac === undefined ? { via, mac, problem: `the kernel has no MAC address for ${via} on ${ifname}` } : { via, mac };
}
