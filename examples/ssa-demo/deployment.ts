// The router's configuration for a slice set (the format of src/config: `addressServices`), the demo's
// starting set, and the return of moved slices when scaling back. Used by scenario.ts and router.ts.
//
// Steering: one address service per /64 of the set, its slices the set's; a slice in an open move
// window has its old owner as `secondary`. Owners are 'glb' servers: the router sends each packet in
// GLB's GUE with the secondary as the hop, and the endpoint's SecondChanceBackend takes SYNs and its
// own connections and hands the rest on to the hop (the old owner), so connections finish where they are.
import { ssa } from '../../src/index.js';
import { prefixOf } from '../../src/ssa/prefix.js';
import { ADDRESS_SERVICES, SERVICE_NAMES } from './rules.js';
import { endpointIpv4, endpointName, ROUTER } from './world.js';

/** The router's server name in the file: the router runs as it, and the DNS agent reads the file as it. */
export const ROUTER_SERVER = 'r';

/** Each prefix cut into 2^(length - 64) slices, the i-th of `owners.length` equal runs of each to owners[i]:
 * every owner holds a contiguous part of each prefix. */
export function contiguousSlices(prefixes: readonly string[], length: number, owners: readonly string[]): ssa.SliceSet {
  const slices = prefixes.flatMap((prefix) => {
    const even = ssa.evenSlices(prefix, length, owners).slices;
    return even.map((s, i) => ({ ...s, owner: owners[Math.floor((i * owners.length) / even.length)]! }));
  });
  return ssa.sliceSet({ prefixes: [...prefixes], slices: slices.map((s) => ({ prefix: ssa.formatPrefix(s), owner: s.owner })) });
}

/** The slices of `set` inside `prefix`. */
function within(set: ssa.SliceSet, prefix: ssa.Prefix6): ssa.AddressSlice[] {
  const end = prefix.network + ssa.sizeOf(prefix.length);
  return set.slices.filter((s) => s.network >= prefix.network && s.network < end);
}

/**
 * ssa.rebalance of each prefix (each address service) on its own, so that every service is spread
 * over the endpoints: one rebalance of the whole set would give the new endpoints the highest
 * addresses, all in one service. Moves summed.
 */
export function rebalanceEach(set: ssa.SliceSet, endpoints: readonly string[], options: ssa.MoveOptions): { set: ssa.SliceSet; moved: number } {
  const parts = set.prefixes.map((p) => ssa.rebalance({ prefixes: [p], slices: within(set, p) }, endpoints, options));
  return { set: { prefixes: set.prefixes, slices: parts.flatMap((r) => r.set.slices) }, moved: parts.reduce((n, r) => n + r.moved, 0) };
}

/**
 * Scaling back to the owners of `home` (the set before an earlier scale-up): every slice that left its
 * home owner returns to it, with a move window from its owner now. As many moves as ssa.rebalance
 * would make (each slice of the endpoints that go away moves once), but each slice goes back where the
 * connections opened before the scale-up live: one secondary per slice can hold connections of one
 * earlier owner only, and a slice moved twice would leave those of its first owner behind.
 * Undefined when `home` does not cut the prefixes into the same slices.
 */
export function returnHome(set: ssa.SliceSet, home: ssa.SliceSet, now: number, windowMs: number): { set: ssa.SliceSet; moved: number } | undefined {
  if (home.slices.length !== set.slices.length) return undefined;
  let moved = 0;
  const slices: ssa.AddressSlice[] = [];
  for (const [i, s] of set.slices.entries()) {
    const h = home.slices[i]!;
    if (h.network !== s.network || h.length !== s.length) return undefined;
    if (s.moving !== undefined && s.moving.until > now) return undefined;
    if (h.owner === s.owner) slices.push({ network: s.network, length: s.length, owner: s.owner });
    else {
      slices.push({ network: s.network, length: s.length, owner: h.owner, moving: { from: s.owner, until: now + windowMs } });
      moved++;
    }
  }
  return { set: { prefixes: set.prefixes, slices }, moved };
}

/** The address services of `set` at `now`: one per prefix (ADDRESS_SERVICES), secondaries for open moves, the source one filtered. */
export function addressServicesOf(set: ssa.SliceSet, now: number): Record<string, unknown>[] {
  return Object.entries(ADDRESS_SERVICES).map(([name, prefix]) => {
    const slices = within(set, prefixOf(prefix, name)).map((s) => ({
      prefix: ssa.formatPrefix(s),
      owner: s.owner,
      ...(s.moving !== undefined && s.moving.until > now && { secondary: s.moving.from }),
    }));
    const rule = Object.values(SERVICE_NAMES).find((n) => n.service === name && n.rule.rule === 'source-derived')?.rule;
    return { name, prefix, slices, ...(rule !== undefined && { filter: { rule: ssa.formatRule(rule), nonConforming: 'drop' } }) };
  });
}

/** The configuration text (JSON) of `set` at `now` for a world of `endpoints` endpoints. */
export function configText(set: ssa.SliceSet, endpoints: number, now = Date.now()): string {
  const servers: Record<string, unknown> = { [ROUTER_SERVER]: { ipv4: ROUTER.ipv4, interface: 'eth0' } };
  for (let i = 0; i < endpoints; i++) servers[endpointName(i)] = { ipv4: endpointIpv4(i), encap: 'glb' };
  return `${JSON.stringify({
    version: 1,
    gue: { trustedPeers: ['10.0.0.0/24'] },
    datacenters: { site: { servers } },
    addressServices: addressServicesOf(set, now),
    stats: { intervalSeconds: 1 },
  })}\n`;
}
