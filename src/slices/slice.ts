// Compact slices and their messages: how a SliceTable's store (slice-store.ts) keeps a slice in two numbers,
// parses a SliceSpec or selector, and names slices in errors.
import { describe, InvalidSliceError } from '../errors.js';
import { isPort, portRange, protocolBits, type Fail } from '../fields.js';
import { formatPrefix, parsePrefix, type Prefix } from './address.js';
import type { PortRange, Protocol } from '../fields.js';

/**
 * All slices of one destination prefix: two numbers per slice in the table's arena, `ports` =
 * from * 65536 + to (so numeric order is port order) and `meta` = owner id * 4 + protocol bits.
 * One typed array for the whole table keeps a million slices at 16 bytes each, with no array
 * or buffer per prefix; a group owns `cap` slices of room from number `at` on and uses `n`.
 */
export interface Group {
  readonly prefix: Prefix;
  at: number;
  cap: number;
  n: number;
  /** Only while a change is checked: its first and last slice in the batch (-1: none), and how many. */
  head: number;
  tail: number;
  pending: number;
}

/** An empty group, with no room yet. */
export function newGroup(prefix: Prefix): Group {
  return { prefix, at: 0, cap: 0, n: 0, head: -1, tail: -1, pending: 0 };
}

/** The table's slices: groups' places in `data`, `used` numbers handed out, `holes` of them abandoned. */
export interface Arena {
  data: Float64Array;
  used: number;
  holes: number;
}

/** Unpacking a slice's two numbers (see Group). */
export const fromOf = (ports: number): number => ports >>> 16;
export const toOf = (ports: number): number => ports & 0xffff;
export const ownerOf = (meta: number): number => meta >>> 2;
export const protoOf = (meta: number): number => meta & 3;

/** Throws InvalidSliceError in the house format ("Expected X for Y but received Z"). */
export const sliceFail: Fail = (path, expected, received) => {
  throw new InvalidSliceError(`Expected ${expected} for ${path} but received ${describe(received)}`);
};

/** The protocol list of a bit set, TCP first. */
export function protocolNames(bits: number): Protocol[] {
  return bits === 3 ? ['tcp', 'udp'] : bits === 1 ? ['tcp'] : ['udp'];
}

/** "198.51.100.7 tcp+udp ports 2048-4095", "192.0.2.0/24 udp port 53". */
export function formatSlice(prefix: Prefix, bits: number, from: number, to: number): string {
  const ports = from === to ? `port ${from}` : `ports ${from}-${to}`;
  return `${formatPrefix(prefix)} ${protocolNames(bits).join('+')} ${ports}`;
}

/** Protocol bits (SU_PROTO_*), with a fast path for an absent or one-protocol list. */
export function parseProtocols(value: unknown, path: string): number {
  if (value === undefined) return 3; // both: SU_PROTO_TCP | SU_PROTO_UDP
  if (Array.isArray(value) && value.length === 1) {
    if (value[0] === 'tcp') return 1;
    if (value[0] === 'udp') return 2;
  }
  return protocolBits(value, path, sliceFail);
}

/** Ports as from * 65536 + to; a slice must name its ports (no default, unlike capture rules). */
export function parsePorts(value: unknown, path: string): number {
  if (typeof value === 'number') {
    if (isPort(value)) return value * 65536 + value;
  } else if (typeof value === 'object' && value !== null) {
    const { from, to } = value as Partial<PortRange>;
    if (isPort(from) && isPort(to) && from <= to) return from * 65536 + to;
  } else if (value === undefined) {
    sliceFail(path, 'a port from 0 to 65535 or { from, to }', value);
  }
  // Slow path: the shared parser names exactly what is wrong.
  const r = portRange(value, path, sliceFail);
  return r.from * 65536 + r.to;
}

/** A parsed selector for move() and release(); `bits` undefined matches any protocol set. */
export interface Selector {
  prefix: Prefix;
  bits: number | undefined;
  ports: number;
}

/** Checks a move()/release() selector; InvalidSliceError like a slice. */
export function parseSelector(value: unknown, path: string): Selector {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) sliceFail(path, 'a slice selector { destination, protocols?, ports }', value);
  const v = value as Record<string, unknown>;
  for (const key of Object.keys(v)) {
    if (key !== 'destination' && key !== 'protocols' && key !== 'ports') sliceFail(`${path}.${key}`, 'no such option (destination, protocols, ports)', v[key]);
  }
  return {
    prefix: parsePrefix(v.destination, `${path}.destination`, sliceFail),
    bits: v.protocols === undefined ? undefined : parseProtocols(v.protocols, `${path}.protocols`),
    ports: parsePorts(v.ports, `${path}.ports`),
  };
}
