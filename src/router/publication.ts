// One publication of a table, up to the bytes both lanes read: fallbacks applied, next hops
// resolved, the table compiled once. Used by src/router/router.ts for open() and publish().
import { ABI } from '../generated/abi.js';
import { compileTable, type CompiledTable, type HostSpec } from '../slices/compile.js';
import { checkFallbacks } from '../slices/owner.js';
import type { SliceTable } from '../slices/table.js';
import { fallbackTable, probeTargets, type FallbackRoutes } from './fallback.js';
import type { NextHop, NextHops } from './next-hops.js';
import type { PeerHealth } from './peer-health.js';

/** A table ready to go to the fast path, and what the router keeps of it once it is in use. */
export interface Prepared {
  table: SliceTable;
  /** `table` with the slices of down owners given to their fallbacks: what the fast path uses. */
  effective: SliceTable;
  routes: FallbackRoutes;
  host: HostSpec;
  hops: Map<string, NextHop>;
  compiled: CompiledTable;
}

/**
 * Makes `table` ready for generation `generation`: health starts watching its owners (a
 * fallback the table does not define is refused first), down owners' slices go to their
 * fallbacks, next hops are resolved and the result compiled, once.
 */
export async function prepareTable(table: SliceTable, host: HostSpec, generation: number, health: PeerHealth, neighbours: NextHops): Promise<Prepared> {
  checkFallbacks(table.owners());
  const watched = probeTargets(table, health.settings.probeAll, host.guePort ?? ABI.gue.defaultPort);
  health.watch(watched.targets, watched.owners);
  const { table: effective, routes } = fallbackTable(table, (owner) => health.isDown(owner));
  const hops = await resolveNextHops(neighbours, effective);
  const nextHops = new Map<string, string>();
  for (const [owner, hop] of hops) if (hop.mac !== undefined) nextHops.set(owner, hop.mac);
  const compiled = compileTable(effective, host, { generation, nextHops });
  return { table, effective, routes, host, hops, compiled };
}

/** Next hops of `table`'s owners, which NextHops follows from now on: answered from what
 * it knows, the kernel asked only about next hops it never saw. */
export async function resolveNextHops(neighbours: NextHops, table: SliceTable): Promise<Map<string, NextHop>> {
  const addresses = new Map<string, string>();
  for (const [name, owner] of table.owners()) {
    if (owner.kind === 'local' || (owner.kind === 'server' && owner.encap === 'l2')) continue;
    addresses.set(name, (owner.kind === 'server' ? owner.address : owner.endpoint).toString());
  }
  const byAddress = await neighbours.resolve(addresses.values());
  return new Map([...addresses].map(([name, address]) => [name, byAddress.get(address)!]));
}
