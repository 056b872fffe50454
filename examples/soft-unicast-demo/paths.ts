// How a flow's replies reached the server that owns its slice: observed from the routers' counters
// (what moved while that one flow ran) and expected from the routes and the configuration.
// main.ts compares the two for every flow and prints the observed path.
import type { Config } from '../../src/index.js';
import { endpointServer } from './deployment.js';
import { landingServer, type Family } from './world.js';

/** A router's counter totals, as its --json stats lines give them (camelCase keys of abi.h). */
export interface Totals {
  fates: Record<string, number>;
  program: Record<string, number>;
}

export type PathKind = 'local' | 'same data centre' | 'GUE from the other data centre';
export const PATH_KINDS: readonly PathKind[] = ['local', 'same data centre', 'GUE from the other data centre'];

/** One forwarding step: `from` sent the replies on to `to`. */
export interface Hop {
  from: string;
  to: string;
  how: 'GUE' | 'L2' | 'GUE over the backbone';
}

export interface Path {
  /** The server whose XDP program first saw the replies (from its data centre's router). */
  landed: string;
  kind: PathKind;
  hops: Hop[];
}

/** What each router counted between two snapshots, by server. */
export function deltas(before: ReadonlyMap<string, Totals>, after: ReadonlyMap<string, Totals>): Map<string, Totals> {
  const minus = (a: Record<string, number>, b: Record<string, number> | undefined): Record<string, number> =>
    Object.fromEntries(Object.entries(a).map(([k, v]) => [k, v - (b?.[k] ?? 0)]));
  return new Map([...after].map(([server, t]) => [server, { fates: minus(t.fates, before.get(server)?.fates), program: minus(t.program, before.get(server)?.program) }]));
}

const n = (r: Record<string, number>, key: string): number => r[key] ?? 0;

/**
 * The path the counters show for one flow owned by `owner`, when that flow was the only traffic:
 * a server that encapsulated to a data centre (encap_datacenter) is where the replies landed,
 * and a server that forwarded within its data centre (forward_server_gue, forward_server_l2)
 * is the next step, or the first when nobody encapsulated; with neither, the replies landed at
 * the owner itself. The owner must have taken them in: unwrapped (decap_local) after GUE, passed
 * (pass_local) after L2 or when they landed there. Returns why not when the counters disagree.
 */
export function observedPath(moved: ReadonlyMap<string, Totals>, owner: string): Path | { problem: string } {
  const servers = [...moved.keys()];
  const encapsulating = servers.filter((s) => n(moved.get(s)!.fates, 'encap_datacenter') > 0);
  const forwarding = servers.filter((s) => n(moved.get(s)!.fates, 'forward_server_gue') + n(moved.get(s)!.fates, 'forward_server_l2') > 0);
  if (encapsulating.length > 1 || forwarding.length > 1) {
    return { problem: `more than one server forwarded the replies (encap_datacenter: ${encapsulating.join(', ') || 'none'}; forward_server_*: ${forwarding.join(', ')})` };
  }
  const inDc = (from: string): Hop => ({ from, to: owner, how: n(moved.get(from)!.fates, 'forward_server_l2') > 0 ? 'L2' : 'GUE' });
  const hops: Hop[] = [];
  let landed = owner;
  let kind: PathKind = 'local';
  const [encapsulator] = encapsulating;
  const [forwarder] = forwarding;
  if (encapsulator !== undefined) {
    landed = encapsulator;
    kind = 'GUE from the other data centre';
    hops.push({ from: encapsulator, to: forwarder ?? owner, how: 'GUE over the backbone' });
    if (forwarder !== undefined) hops.push(inDc(forwarder));
  } else if (forwarder !== undefined) {
    landed = forwarder;
    kind = 'same data centre';
    hops.push(inDc(forwarder));
  }
  if (hops.some((h) => h.from === owner)) return { problem: `the owner ${owner} itself forwarded its replies` };
  const last = hops.at(-1);
  const taken = last === undefined || last.how === 'L2' ? 'pass_local' : 'decap_local';
  if (n(moved.get(owner)?.fates ?? {}, taken) === 0) {
    const how = taken === 'pass_local' ? 'passed (pass_local)' : 'unwrapped (decap_local)';
    return { problem: `${owner}'s router ${how} nothing for it${last === undefined ? ' and no router forwarded anything' : ` after ${last.from} sent them on`}` };
  }
  return { landed, kind, hops };
}

/**
 * The path the routes and the configuration predict for replies to `owner` over `family`: they
 * land at the entry server of the data centre inet routes that family to; from there they go to
 * the owner (in its data centre) or to the endpoint of the owner's data centre, which sends them on.
 */
export function expectedPath(config: Config, owner: string, family: Family): Path {
  const landed = landingServer(family);
  const dcOf = (server: string): string => config.servers.get(server)!.datacenter;
  const inDc = (from: string): Hop => ({ from, to: owner, how: config.servers.get(owner)!.encap === 'l2' ? 'L2' : 'GUE' });
  if (landed === owner) return { landed, kind: 'local', hops: [] };
  if (dcOf(landed) === dcOf(owner)) return { landed, kind: 'same data centre', hops: [inDc(landed)] };
  const endpoint = endpointServer(config, dcOf(owner)) ?? '(no endpoint)';
  const hops: Hop[] = [{ from: landed, to: endpoint, how: 'GUE over the backbone' }];
  if (endpoint !== owner) hops.push(inDc(endpoint));
  return { landed, kind: 'GUE from the other data centre', hops };
}

/** "a1 =GUE=> b1 -L2-> b2"; the owner alone when the replies landed there. */
export function pathText(path: Path): string {
  if (path.hops.length === 0) return path.landed;
  const arrow = (h: Hop): string => (h.how === 'GUE over the backbone' ? ' =GUE=> ' : ` -${h.how}-> `);
  return path.hops.reduce((text, h) => `${text}${arrow(h)}${h.to}`, path.hops[0]!.from);
}
