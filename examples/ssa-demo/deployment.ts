// The router's configuration for a slice set (the format of src/config), and the demo's starting
// set. Used by main.ts and test/netns/ssa-demo.test.ts.
//
// Steering: each owner's address slices, joined into the fewest prefixes, are port-slice entries
// (every port, TCP) of that owner. Owners are 'glb' servers: the router sends each packet in GLB's
// GUE, which the endpoint's SecondChanceBackend unwraps for its kernel.
import { ssa } from '../../src/index.js';
import { aggregate } from '../../src/ssa/prefix.js';
import { endpointIpv4, endpointName, ROUTER } from './world.js';

/** A prefix cut into 2^bits slices, the i-th of `owners.length` equal runs to owners[i]: each
 * owner's space is a few prefixes, so the router's table stays small. */
export function contiguousSlices(prefix: string, length: number, owners: readonly string[]): ssa.SliceSet {
  const even = ssa.evenSlices(prefix, length, owners);
  const n = even.slices.length;
  return { prefixes: even.prefixes, slices: even.slices.map((s, i) => ({ ...s, owner: owners[Math.floor((i * owners.length) / n)]! })) };
}

/** Each owner's slices as the fewest prefixes (text), owners in name order. */
export function prefixesByOwner(set: ssa.SliceSet): Map<string, string[]> {
  const by = new Map<string, ssa.Prefix6[]>();
  for (const s of set.slices) {
    const list = by.get(s.owner) ?? [];
    list.push({ network: s.network, length: s.length });
    by.set(s.owner, list);
  }
  const out = new Map<string, string[]>();
  for (const owner of [...by.keys()].sort()) out.set(owner, aggregate(by.get(owner)!).map(ssa.formatPrefix));
  return out;
}

/** The configuration text (JSON) of `set` for a world of `endpoints` endpoints. */
export function configText(set: ssa.SliceSet, endpoints: number): string {
  const servers: Record<string, unknown> = { r: { ipv4: ROUTER.ipv4, interface: 'eth0' } };
  for (let i = 0; i < endpoints; i++) servers[endpointName(i)] = { ipv4: endpointIpv4(i), encap: 'glb' };
  const egress = [...prefixesByOwner(set)].flatMap(([owner, prefixes]) =>
    prefixes.map((prefix) => ({ prefix, protocols: ['tcp'], slices: [{ ports: '1-65535', owner }] })));
  return `${JSON.stringify({
    version: 1,
    gue: { trustedPeers: ['10.0.0.0/24'] },
    datacenters: { site: { servers } },
    egress,
    stats: { intervalSeconds: 1 },
  }, null, 2)}\n`;
}
