// Fallback owners: the table the fast path uses while owners are down (every slice of a down
// owner goes to its fallback, unless that is down too), which owners peer health probes, and
// which the operator may set. Used by Router on every publish, health change and setHealth().
import { invalid } from '../errors.js';
import { ABI } from '../generated/abi.js';
import type { SliceTable } from '../slices/table.js';
import type { HealthSetting, ProbeTarget } from './peer-health.js';

/** Where the slices of down owners go: down owner -> the owner that takes them. */
export type FallbackRoutes = ReadonlyMap<string, string>;

/**
 * `table` with every slice of each down owner given to its fallback (a fallback down itself is
 * not used: its slices stay, and go nowhere, rather than to a third owner). `table` itself when
 * nothing moves; else a copy.
 */
export function fallbackTable(table: SliceTable, isDown: (owner: string) => boolean): { table: SliceTable; routes: FallbackRoutes } {
  const routes = new Map<string, string>();
  for (const [name, spec] of table.owners()) {
    if (spec.kind === 'local' || spec.fallback === undefined || !isDown(name)) continue;
    if (isDown(spec.fallback) || table.ownerSpec(spec.fallback) === undefined) continue;
    routes.set(name, spec.fallback);
  }
  if (routes.size === 0) return { table, routes };
  const out = table.clone();
  for (const [from, to] of routes) out.moveOwner(from, to);
  return { table: out, routes };
}

/** Refuses what Router.setHealth cannot take: an owner that is no server or data centre of `table`, a setting it does not know. */
export function checkHealthSetting(table: SliceTable, owner: unknown, setting: unknown): asserts setting is HealthSetting {
  const spec = typeof owner === 'string' ? table.ownerSpec(owner) : undefined;
  if (spec === undefined || spec.kind === 'local') {
    const known = [...table.owners()].filter(([, s]) => s.kind !== 'local').map(([n]) => n);
    invalid('owner', `a server or data centre owner of the table in use (${known.slice(0, 10).join(', ') || 'none'}${known.length > 10 ? ', ...' : ''})`, owner);
  }
  if (setting !== 'up' && setting !== 'down' && setting !== 'auto') invalid('setting', "'up', 'down' or 'auto'", setting);
}

/** Owners whose slices go elsewhere under `after` than under `before`, and where they go now. */
export function movedBetween(before: FallbackRoutes, after: FallbackRoutes): { owner: string; to: string }[] {
  const out: { owner: string; to: string }[] = [];
  for (const owner of new Set([...before.keys(), ...after.keys()])) {
    const was = before.get(owner) ?? owner;
    const now = after.get(owner) ?? owner;
    if (was !== now) out.push({ owner, to: now });
  }
  return out;
}

/**
 * The owners of `table` to probe: those with a fallback, or every server and data centre with
 * `all`. A server is probed at its GUE port; one reached by 'l2' has none in its spec and is
 * probed at this host's (`guePort`; none when that is 0). Also the owners the operator may set.
 */
export function probeTargets(table: SliceTable, all: boolean, guePort: number): { targets: ProbeTarget[]; owners: Set<string> } {
  const targets: ProbeTarget[] = [];
  const owners = new Set<string>();
  for (const [owner, spec] of table.owners()) {
    if (spec.kind === 'local') continue;
    owners.add(owner);
    if (!all && spec.fallback === undefined) continue;
    const l2 = spec.kind === 'server' && spec.encap === 'l2';
    const port = l2 ? guePort : spec.guePort ?? ABI.gue.defaultPort;
    if (port === 0) continue;
    targets.push({ owner, address: spec.kind === 'server' ? spec.address : spec.endpoint, port });
  }
  return { targets, owners };
}
