// diffTables: what changes between two slice tables, slice by slice and owner by owner. Used by
// callers that log or review a publish, and by tests.
import { invalid } from '../errors.js';
import { toDestination } from './address.js';
import { sameOwner } from './owner.js';
import { fromOf, ownerOf, protocolNames, protoOf, type Group } from './slice.js';
import type { TableState } from './state.js';
import { SliceTable, tableState } from './table.js';
import type { TableDiff } from './types.js';
import type { Destination } from '../fields.js';

/** A group's slices keyed by ports * 4 + protocol bits (exact slice identity) -> owner name. */
function keyed(state: TableState, g: Group | undefined): Map<number, string> {
  const out = new Map<number, string>();
  if (g === undefined) return out;
  const d = state.data;
  for (let i = g.at; i < g.at + g.n * 2; i += 2) out.set(d[i]! * 4 + protoOf(d[i + 1]!), state.names[ownerOf(d[i + 1]!)]!);
  return out;
}

function slice(destination: Destination, key: number) {
  const ports = Math.floor(key / 4);
  return { destination, protocols: protocolNames(key % 4), ports: { from: fromOf(ports), to: ports & 0xffff } };
}

/**
 * The slices only in `after` (added), only in `before` (removed), and in both with another owner
 * (moved); a slice is its exact destination, protocol set and port range, so splitting one slice
 * in two shows as one removal and two additions. `ownersChanged` names owners defined in one
 * table only, or defined differently in the two.
 */
export function diffTables(before: SliceTable, after: SliceTable): TableDiff {
  if (!(before instanceof SliceTable)) invalid('before', 'a SliceTable', before);
  if (!(after instanceof SliceTable)) invalid('after', 'a SliceTable', after);
  const b = tableState(before);
  const a = tableState(after);
  const diff: TableDiff = { added: [], removed: [], moved: [], ownersChanged: [] };

  const compare = (gb: Group | undefined, ga: Group | undefined) => {
    const kb = keyed(b, gb);
    const ka = keyed(a, ga);
    let destination: Destination | undefined;
    const dest = () => (destination ??= toDestination((gb ?? ga)!.prefix));
    for (const [key, owner] of kb) {
      const now = ka.get(key);
      if (now === undefined) diff.removed.push({ ...slice(dest(), key), owner });
      else if (now !== owner) diff.moved.push({ slice: slice(dest(), key), from: owner, to: now });
    }
    for (const [key, owner] of ka) if (!kb.has(key)) diff.added.push({ ...slice(dest(), key), owner });
  };
  const walk = <K extends number | bigint>(mb: readonly (Map<K, Group> | undefined)[], ma: readonly (Map<K, Group> | undefined)[]) => {
    for (let len = 0; len < mb.length; len++) {
      const keys = new Set<K>([...(mb[len]?.keys() ?? []), ...(ma[len]?.keys() ?? [])]);
      const sorted = [...keys].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0));
      for (const key of sorted) compare(mb[len]?.get(key), ma[len]?.get(key));
    }
  };
  walk(b.v4, a.v4);
  walk(b.v6, a.v6);

  const names = new Set([...b.specs.keys(), ...a.specs.keys()]);
  for (const name of [...names].sort()) {
    const sb = b.specs.get(name);
    const sa = a.specs.get(name);
    if (sb === undefined || sa === undefined || !sameOwner(sb, sa)) diff.ownersChanged.push(name);
  }
  return diff;
}
