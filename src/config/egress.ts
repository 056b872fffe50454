// The file's `egress` section: shared addresses and prefixes and their slices, explicit or by rule
// (the i-th slice of splitPorts to the i-th server), checked whole against overlaps by a SliceTable.
import { SliceOverlapError } from '../errors.js';
import { splitPorts } from '../slices/split.js';
import { SliceTable } from '../slices/table.js';
import type { Protocol, SliceSpec } from '../slices/types.js';
import { about, fail, formatPath, within, type Path } from './path.js';
import type { EgressConfig, EgressSlice, ServerConfig } from './types.js';
import { address, object, ports, prefix, protocols, tags } from './values.js';

const BOTH: readonly Protocol[] = ['tcp', 'udp'];

function owner(value: unknown, path: Path, servers: ReadonlyMap<string, ServerConfig>): string {
  if (typeof value === 'string' && servers.has(value)) return value;
  const known = [...servers.keys()];
  const list = `${known.slice(0, 10).join(', ')}${known.length > 10 ? ', ...' : ''}`;
  return fail(path, `the name of a server of the configuration (${list})`, value);
}

/** `slices: { size, reserveLowest, owners }`: slice i of splitPorts() to owners[i]; null skips one. */
function byRule(value: unknown, path: Path, protos: readonly Protocol[], servers: ReadonlyMap<string, ServerConfig>, out: [EgressSlice, Path][]): void {
  const r = object(value, path, 'sliceRule', 'a slice rule { size?, reserveLowest?, owners }');
  const options = { ...(r.size !== undefined && { sliceSize: r.size }), ...(r.reserveLowest !== undefined && { reserveLowest: r.reserveLowest }) };
  const ranges = within(path, { sliceSize: 'size' }, () => splitPorts(options as never));
  const at = [...path, 'owners'];
  const owners = r.owners;
  if (!Array.isArray(owners) || owners.length === 0) fail(at, 'a non-empty list of server names (null leaves a slice unassigned)', owners);
  if (owners.length > ranges.length) {
    const size = ranges[0]!.to - ranges[0]!.from + 1;
    fail(at, `at most ${ranges.length} owners (ports ${ranges[0]!.from}-65535 hold ${ranges.length} slices of ${size})`, owners);
  }
  owners.forEach((name: unknown, i) => {
    if (name === null) return;
    out.push([{ ports: ranges[i]!, protocols: protos, owner: owner(name, [...at, i], servers) }, [...at, i]]);
  });
}

/** `slices: [{ ports, owner, protocols? }, ...]`. */
function explicit(list: unknown[], path: Path, protos: readonly Protocol[], servers: ReadonlyMap<string, ServerConfig>, out: [EgressSlice, Path][]): void {
  if (list.length === 0) fail(path, 'a slice rule or a non-empty list of slices', list);
  list.forEach((value, i) => {
    const at = [...path, i];
    const s = object(value, at, 'slice', 'a slice { ports, owner, protocols? }');
    const range = ports(s.ports, [...at, 'ports']);
    const name = owner(s.owner, [...at, 'owner'], servers);
    out.push([{ ports: range, protocols: protocols(s.protocols, [...at, 'protocols'], protos), owner: name }, at]);
  });
}

function entry(value: unknown, path: Path, servers: ReadonlyMap<string, ServerConfig>, out: [EgressSlice, Path][]): EgressConfig {
  const e = object(value, path, 'egress', 'an egress entry { address or prefix, protocols?, tags?, slices }');
  if (e.address !== undefined && e.prefix !== undefined) fail([...path, 'prefix'], 'no prefix when an address is given (one or the other)', e.prefix);
  if (e.address === undefined && e.prefix === undefined) fail([...path, 'address'], 'an address (or a prefix under prefix) the slices share', undefined);
  const destination =
    e.address !== undefined
      ? typeof e.address === 'string' && e.address.includes('/')
        ? fail([...path, 'address'], 'an address without a prefix length (prefixes go under prefix)', e.address)
        : address(e.address, [...path, 'address'])
      : prefix(e.prefix, [...path, 'prefix']);
  const protos = protocols(e.protocols, [...path, 'protocols'], BOTH);
  const labels = tags(e.tags, [...path, 'tags']);
  const first = out.length;
  const at = [...path, 'slices'];
  if (Array.isArray(e.slices)) explicit(e.slices, at, protos, servers, out);
  else if (typeof e.slices === 'object' && e.slices !== null) byRule(e.slices, at, protos, servers, out);
  else fail(at, 'a slice rule { size?, reserveLowest?, owners } or a list of slices { ports, owner }', e.slices);
  return { destination, protocols: protos, tags: labels, slices: out.slice(first).map(([s]) => s) };
}

/**
 * Assigns every slice to a table whose owners are the servers: overlaps between two servers'
 * slices, across entries and nested prefixes too, are refused with the paths of both slices.
 */
function checkOverlaps(entries: readonly EgressConfig[], all: readonly [EgressSlice, Path][], servers: ReadonlyMap<string, ServerConfig>): void {
  const table = new SliceTable();
  for (const s of servers.values()) table.defineOwner(s.name, { kind: 'server', address: (s.ipv4 ?? s.ipv6)! });
  const specs: SliceSpec[] = [];
  entries.forEach((e) => {
    for (const s of e.slices) specs.push({ destination: e.destination, protocols: s.protocols, ports: s.ports, owner: s.owner });
  });
  try {
    table.assignMany(specs);
  } catch (error) {
    if (!(error instanceof SliceOverlapError)) throw error;
    // The table names slices by their index in the batch: name their place in the file instead.
    // The first one named is the slice that broke the table: the error is about it.
    let first: Path | undefined;
    const message = error.message.replace(/\(slices\[(\d+)\]\)/g, (_, i: string) => {
      const path = all[Number(i)]![1];
      first ??= path;
      return `(${formatPath(path)})`;
    });
    const located = new SliceOverlapError(message);
    throw first === undefined ? located : about(located, first);
  }
}

/** Checks the `egress` list; every owner must be a server of `servers`. */
export function checkEgress(value: unknown, servers: ReadonlyMap<string, ServerConfig>): EgressConfig[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) fail(['egress'], 'a list of egress entries { address or prefix, slices, ... }', value);
  const all: [EgressSlice, Path][] = [];
  const entries = value.map((e: unknown, i) => entry(e, ['egress', i], servers, all));
  checkOverlaps(entries, all, servers);
  return entries;
}
