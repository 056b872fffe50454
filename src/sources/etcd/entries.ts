// Egress entries between a validated Config and etcd's values: the explicit JSON the store
// writes (one value per destination), and the slices an operator names by destination, ports
// and protocols. Used by store.ts (list, move, split) and load.ts.
import type { Config, EgressConfig, EgressSlice } from '../../config/types.js';
import { packedOf } from '../../config/packed.js';
import { describe, InvalidSliceError } from '../../errors.js';
import { formatPrefix } from '../../slices/address.js';
import type { PortRange, Protocol } from '../../fields.js';
import type { StoredEntryJson, StoredSliceJson } from './layout.js';

/** A slice as the store holds it, with the key it lives under and that key's last revision. */
export interface StoredSlice {
  /** Canonical text: '192.0.2.1', '198.51.100.0/24', '2001:db8::1'. */
  readonly destination: string;
  readonly protocols: readonly Protocol[];
  readonly ports: PortRange;
  /** The server that owns it. */
  readonly owner: string;
  readonly key: string;
  readonly modRevision: number;
}

/** Names slices for move() and split(): a destination, its ports, and protocols when two entries share those ports. */
export interface SliceRef {
  destination: string;
  /** 5000, '2048-4095' or { from, to }: exactly the slice's range. */
  ports: number | string | PortRange;
  protocols?: readonly Protocol[];
}

const BOTH: readonly Protocol[] = ['tcp', 'udp'];
const same = (a: readonly Protocol[], b: readonly Protocol[]) => a.length === b.length && a.every((p) => b.includes(p));

/** "2048-4095" (or "53" for one port): how the store writes a range. */
export const portsText = (r: PortRange): string => (r.from === r.to ? String(r.from) : `${r.from}-${r.to}`);

/** A SliceRef's ports as a range. Throws InvalidSliceError naming what was expected. */
export function refPorts(value: unknown, path = 'ports'): PortRange {
  const ok = (from: number, to: number) => Number.isInteger(from) && Number.isInteger(to) && from >= 0 && from <= to && to <= 65535;
  if (typeof value === 'number' && ok(value, value)) return { from: value, to: value };
  if (typeof value === 'string') {
    const m = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(value);
    if (m !== null && ok(Number(m[1]), Number(m[2] ?? m[1]))) return { from: Number(m[1]), to: Number(m[2] ?? m[1]) };
  }
  if (typeof value === 'object' && value !== null) {
    const { from, to } = value as Partial<PortRange>;
    if (typeof from === 'number' && typeof to === 'number' && ok(from, to)) return { from, to };
  }
  throw new InvalidSliceError(`Expected a port or a range such as '2048-4095' (from 0 to 65535, from <= to) for ${path} but received ${describe(value)}`);
}

/** The canonical destination text of each egress entry of a validated Config, in order. */
export function destinationsOf(config: Config): string[] {
  return packedOf(config)!.prefixes.map((p) => formatPrefix(p!));
}

/** An entry in the store's explicit form: the file's syntax, defaults left out. */
export function entryJson(entry: EgressConfig, destination: string, slices: readonly EgressSlice[] = entry.slices): StoredEntryJson {
  const out: StoredEntryJson = destination.includes('/') ? { prefix: destination, slices: [] } : { address: destination, slices: [] };
  if (!same(entry.protocols, BOTH)) out.protocols = [...entry.protocols];
  if (Object.keys(entry.tags).length > 0) out.tags = { ...entry.tags };
  out.slices = slices.map((s) => {
    const slice: StoredSliceJson = { ports: s.ports.from === s.ports.to ? s.ports.from : portsText(s.ports), owner: s.owner };
    if (!same(s.protocols, entry.protocols)) slice.protocols = [...s.protocols];
    return slice;
  });
  return out;
}

/** Where a slice sits: entry `entry` of the key's entries, slice `index` of that entry. */
export interface Found {
  readonly entry: number;
  readonly index: number;
  readonly slice: EgressSlice;
}

/**
 * The one slice of `entries` (all of one destination) with exactly `ports` and, when given,
 * exactly `protocols`. Throws InvalidSliceError when none matches or, without protocols, two do.
 */
export function findSlice(entries: readonly EgressConfig[], destination: string, ports: PortRange, protocols: readonly Protocol[] | undefined): Found {
  const found: Found[] = [];
  entries.forEach((e, entry) => e.slices.forEach((slice, index) => {
    if (slice.ports.from === ports.from && slice.ports.to === ports.to && (protocols === undefined || same(slice.protocols, protocols))) found.push({ entry, index, slice });
  }));
  const named = `${destination}${protocols !== undefined ? ` ${protocols.join('+')}` : ''} ports ${portsText(ports)}`;
  if (found.length === 0) {
    const near = entries.flatMap((e) => e.slices).slice(0, 8).map((s) => `${s.protocols.join('+')} ${portsText(s.ports)}`);
    throw new InvalidSliceError(`Expected a slice of the deployment for ${named} but there is none${near.length > 0 ? ` (${destination} has ${near.join(', ')}${near.length === 8 ? ', ...' : ''})` : ` (${destination} has no entry)`}`);
  }
  if (found.length > 1) {
    throw new InvalidSliceError(`Expected one slice for ${named} but ${found.length} match (${found.map((f) => f.slice.protocols.join('+')).join(', ')}): name its protocols`);
  }
  return found[0]!;
}

/** "192.0.2.1 udp 10000-10999" for messages. */
export const sliceName = (destination: string, s: Pick<EgressSlice, 'protocols' | 'ports'>): string => `${destination} ${s.protocols.join('+')} ${portsText(s.ports)}`;
