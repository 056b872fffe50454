// The file's `egress` section: shared addresses and prefixes and their slices, explicit or by rule
// (the i-th slice of splitPorts to the i-th server), packed as numbers (packed.ts), every problem
// recorded. A million explicit slices take the fast path below: no object, path or regex each.
import type { Prefix } from '../slices/address.js';
import { splitPorts } from '../slices/split.js';
import type { PortRange, Protocol } from '../fields.js';
import { addressPrefix, prefixOf } from './addresses.js';
import { checkOverlaps } from './overlaps.js';
import { SliceBuilder, type PackedSlices } from './packed.js';
import { fail, within, type Path } from './path.js';
import type { Problems } from './problems.js';
import { object, packedPorts, ports, protocols, tags } from './values.js';

const BOTH: readonly Protocol[] = ['tcp', 'udp'];

/** The servers slices may name. */
export interface Owners {
  /** Servers that passed validation: name -> owner index (file order). */
  readonly index: ReadonlyMap<string, number>;
  /** Every server name the file declares, valid or not, for messages. */
  readonly declared: readonly string[];
  /** Names of servers that failed validation: slices naming them are left out without a word. */
  readonly failed: ReadonlySet<string>;
  /** False when a data centre's servers could not be read: no name is then called unknown. */
  readonly complete: boolean;
}

/** An egress entry as checked; `prefix` is undefined when its destination was bad. */
export interface EntryDraft {
  readonly path: Path;
  /** Where the destination is written: [..., 'address'] or [..., 'prefix']. */
  readonly destinationPath: Path;
  readonly prefix: Prefix | undefined;
  readonly protocols: readonly Protocol[];
  readonly tags: Readonly<Record<string, string>>;
}

const bitsOf = (list: readonly Protocol[]): number => (list.includes('tcp') ? 1 : 0) | (list.includes('udp') ? 2 : 0);

/** The owner index of a slice, or undefined: unknown (a problem), or a server that failed (none). */
export function checkOwner(p: Problems, value: unknown, path: Path, owners: Owners): number | undefined {
  if (typeof value === 'string') {
    const index = owners.index.get(value);
    if (index !== undefined) return index;
    if (owners.failed.has(value) || !owners.complete) return undefined;
  }
  const known = owners.declared;
  const list = `${known.slice(0, 10).join(', ')}${known.length > 10 ? ', ...' : ''}`;
  return p.expected(path, `the name of a server of the configuration (${list})`, value);
}

/** splitPorts per (size, reserveLowest): thousands of rules usually share one or two. */
type Split = (size: unknown, reserve: unknown) => PortRange[];

function splitter(): Split {
  const cache = new Map<string, PortRange[]>();
  return (size, reserve) => {
    const options = { ...(size !== undefined && { sliceSize: size }), ...(reserve !== undefined && { reserveLowest: reserve }) };
    const key = typeof size !== 'object' && typeof reserve !== 'object' ? `${String(size)}|${String(reserve)}|${typeof size}|${typeof reserve}` : undefined;
    let ranges = key === undefined ? undefined : cache.get(key);
    if (ranges === undefined) {
      ranges = splitPorts(options as never);
      if (key !== undefined) cache.set(key, ranges);
    }
    return ranges;
  };
}

/** `slices: { size, reserveLowest, owners }`: slice i of splitPorts() to owners[i]; null skips one. */
function byRule(p: Problems, value: unknown, at: Path, bits: number, owners: Owners, split: Split, out: SliceBuilder): void {
  const r = object(p, value, at, 'sliceRule', 'a slice rule { size?, reserveLowest?, owners }');
  if (r === undefined) return;
  const ranges = p.attempt(at, () => within(at, { sliceSize: 'size' }, () => split(r.size, r.reserveLowest)));
  const list = r.owners;
  const path = [...at, 'owners'];
  if (!Array.isArray(list) || list.length === 0) {
    p.expected(path, 'a non-empty list of server names (null leaves a slice unassigned)', list);
    return;
  }
  const fits = ranges !== undefined && list.length <= ranges.length;
  if (ranges !== undefined && !fits) {
    const size = ranges[0]!.to - ranges[0]!.from + 1;
    p.expected(path, `at most ${ranges.length} owners (ports ${ranges[0]!.from}-65535 hold ${ranges.length} slices of ${size})`, list);
  }
  const index = owners.index;
  for (let i = 0; i < list.length; i++) {
    const name: unknown = list[i];
    if (name === null) continue;
    const id = (typeof name === 'string' ? index.get(name) : undefined) ?? checkOwner(p, name, [...path, i], owners);
    if (fits && id !== undefined) out.push(ranges[i]!.from * 65536 + ranges[i]!.to, bits, id, i);
  }
}

/** Protocol bits of the common lists, 0 for anything else (then protocols() decides). */
function quickBits(value: unknown): number {
  if (!Array.isArray(value) || value.length === 0 || value.length > 2) return 0;
  const a = value[0] === 'tcp' ? 1 : value[0] === 'udp' ? 2 : 0;
  const b = value.length === 1 ? 0 : value[1] === 'tcp' ? 1 : value[1] === 'udp' ? 2 : 0;
  return a === 0 || a === b || (value.length === 2 && b === 0) ? 0 : a | b;
}

/** One slice that missed the fast path: every field checked, each problem recorded. */
function slowSlice(p: Problems, value: unknown, at: Path, i: number, entry: readonly Protocol[], owners: Owners, out: SliceBuilder): void {
  const s = object(p, value, at, 'slice', 'a slice { ports, owner, protocols? }');
  if (s === undefined) return;
  const range = p.attempt(at, () => ports(s.ports, [...at, 'ports']));
  const id = checkOwner(p, s.owner, [...at, 'owner'], owners);
  const list = p.attempt(at, () => protocols(s.protocols, [...at, 'protocols'], entry));
  if (range !== undefined && id !== undefined && list !== undefined) out.push(range.from * 65536 + range.to, bitsOf(list), id, i);
}

/** `slices: [{ ports, owner, protocols? }, ...]`. */
function explicit(p: Problems, list: unknown[], at: Path, entry: readonly Protocol[], owners: Owners, out: SliceBuilder): void {
  if (list.length === 0) {
    p.expected(at, 'a slice rule or a non-empty list of slices', list);
    return;
  }
  const entryBits = bitsOf(entry);
  const index = owners.index;
  for (let i = 0; i < list.length; i++) {
    const s = list[i] as Record<string, unknown> | null;
    if (typeof s === 'object' && s !== null && !Array.isArray(s)) {
      let plain = true;
      for (const key in s) if (key !== 'ports' && key !== 'owner' && key !== 'protocols') plain = false;
      const packed = plain ? packedPorts(s.ports) : -1;
      const id = typeof s.owner === 'string' ? index.get(s.owner) : undefined;
      const bits = s.protocols === undefined ? entryBits : quickBits(s.protocols);
      if (packed >= 0 && id !== undefined && bits !== 0) {
        out.push(packed, bits, id, i);
        continue;
      }
    }
    slowSlice(p, s, [...at, i], i, entry, owners, out);
  }
}

/** The entry's address or prefix as numbers; a prefix of the whole address space is refused. */
function destination(p: Problems, e: Record<string, unknown>, path: Path): [Prefix | undefined, Path] {
  if (e.address !== undefined && e.prefix !== undefined) {
    return [p.expected([...path, 'prefix'], 'no prefix when an address is given (one or the other)', e.prefix), [...path, 'prefix']];
  }
  if (e.address === undefined && e.prefix === undefined) return [p.expected([...path, 'address'], 'an address (or a prefix under prefix) the slices share', undefined), [...path, 'address']];
  if (e.address !== undefined) {
    const at = [...path, 'address'];
    const text = e.address;
    return [p.attempt(at, () => (typeof text === 'string' && text.includes('/') ? fail(at, 'an address without a prefix length (prefixes go under prefix)', text) : addressPrefix(text, at))), at];
  }
  const at = [...path, 'prefix'];
  return [
    p.attempt(at, () => {
      const range = prefixOf(e.prefix, at);
      // Every address, each host's own among them: every router would steer its own traffic away.
      if (range.len === 0) fail(at, 'a prefix longer than /0 (it would cover every address, each host\'s own too)', e.prefix);
      return range;
    }),
    at,
  ];
}

function entry(p: Problems, value: unknown, i: number, owners: Owners, split: Split, out: SliceBuilder): EntryDraft | undefined {
  const path: Path = ['egress', i];
  const e = object(p, value, path, 'egress', 'an egress entry { address or prefix, protocols?, tags?, slices }');
  if (e === undefined) return undefined;
  const [parsed, destinationPath] = destination(p, e, path);
  // A bad entry-wide protocol list is one problem; its slices are still checked, as tcp+udp.
  const protos = p.attempt(path, () => protocols(e.protocols, [...path, 'protocols'], BOTH)) ?? BOTH;
  const labels = tags(p, e.tags, [...path, 'tags']);
  const at = [...path, 'slices'];
  if (Array.isArray(e.slices)) explicit(p, e.slices, at, protos, owners, out);
  else if (typeof e.slices === 'object' && e.slices !== null) byRule(p, e.slices, at, bitsOf(protos), owners, split, out);
  else p.expected(at, 'a slice rule { size?, reserveLowest?, owners } or a list of slices { ports, owner }', e.slices);
  return { path, destinationPath, prefix: parsed, protocols: protos, tags: labels };
}

/**
 * Checks the `egress` list: every owner a server of `owners`, and no two servers' slices covering
 * the same packets (across entries and nested prefixes too). Entries that failed are undefined.
 */
export function checkEgress(p: Problems, value: unknown, owners: Owners, servers: readonly string[]): { entries: (EntryDraft | undefined)[]; packed: PackedSlices } {
  const out = new SliceBuilder();
  const entries: (EntryDraft | undefined)[] = [];
  if (value !== undefined && !Array.isArray(value)) p.expected(['egress'], 'a list of egress entries { address or prefix, slices, ... }', value);
  else if (value !== undefined) {
    const split = splitter();
    for (let i = 0; i < value.length; i++) {
      entries.push(entry(p, value[i], i, owners, split, out));
      out.endEntry(typeof value[i]?.slices === 'object' && value[i].slices !== null && !Array.isArray(value[i].slices));
    }
  }
  const packed = out.finish(servers, entries.map((e) => e?.prefix));
  checkOverlaps(p, packed.prefixes, packed);
  return { entries, packed };
}
