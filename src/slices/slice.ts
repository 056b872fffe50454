// Compact slices and their messages: how SliceTable (table.ts) stores a slice in two numbers,
// parses a SliceSpec or selector, and names slices in errors.
import { describe, InvalidSliceError } from '../errors.js';
import { isPort, portRange, protocolBits, type Fail } from '../xdp/capture.js';
import { formatPrefix, parsePrefix, type Prefix } from './address.js';
import type { PortRange, Protocol } from './types.js';

/** Both protocols, as SU_PROTO_* bits (abi.h): TCP 1, UDP 2. */
export const BOTH = 3;

/**
 * All slices of one destination prefix. `s` holds two numbers per slice, `n` slices in all:
 * `ports` = from * 65536 + to (so numeric order is port order) and `meta` = owner id * 4 +
 * protocol bits. A typed array per prefix keeps a million slices at 16 bytes each, no objects.
 */
export interface Group {
  readonly prefix: Prefix;
  s: Float64Array;
  n: number;
  /** Only while a change is checked: its first and last slice in the batch (-1: none), and how many. */
  head: number;
  tail: number;
  pending: number;
}

const EMPTY = new Float64Array(0);

export function newGroup(prefix: Prefix): Group {
  return { prefix, s: EMPTY, n: 0, head: -1, tail: -1, pending: 0 };
}

export const fromOf = (ports: number): number => ports >>> 16;
export const toOf = (ports: number): number => ports & 0xffff;
export const ownerOf = (meta: number): number => meta >>> 2;
export const protoOf = (meta: number): number => meta & 3;

/** Throws InvalidSliceError in the house format ("Expected X for Y but received Z"). */
export const sliceFail: Fail = (path, expected, received) => {
  throw new InvalidSliceError(`Expected ${expected} for ${path} but received ${describe(received)}`);
};

export function protocolNames(bits: number): Protocol[] {
  return bits === BOTH ? ['tcp', 'udp'] : bits === 1 ? ['tcp'] : ['udp'];
}

/** "198.51.100.7 tcp+udp ports 2048-4095", "192.0.2.0/24 udp port 53". */
export function formatSlice(prefix: Prefix, bits: number, from: number, to: number): string {
  const ports = from === to ? `port ${from}` : `ports ${from}-${to}`;
  return `${formatPrefix(prefix)} ${protocolNames(bits).join('+')} ${ports}`;
}

/** Protocol bits, with a fast path for the absent list and for the list seen last. */
export function parseProtocols(value: unknown, path: string): number {
  if (value === undefined) return BOTH;
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
