// compileTable: a SliceTable and this host's settings -> the table image the one core reads
// (layout: native/include/softunicast/table.h), in the AF_XDP workers and, through the maps the
// addon fills from it, in the XDP program. Used by the Router (src/router/router.ts) on every
// publish.
import { endianness } from 'node:os';

import type { IPv4, IPv4CidrRange, IPv6, IPv6CidrRange } from 'ip-num';

import { invalid, OwnerUnreachableError, TableLimitError } from '../errors.js';
import { ABI } from '../generated/abi.js';
import { isIPv4, isIPv6 } from '../ip.js';
import { FAMILY_V4, FAMILY_V6, formatV4, formatV6, parsePrefix, writeAddress, type Prefix } from './address.js';
import { checkFallbacks, parseMac } from './owner.js';
import type { HeaderField, KeyKind, KindSection } from './kind.js';
import { KEY_KINDS } from './kinds.js';
import { OWNERS_MAX } from './port-slices.js';
import type { TableState } from './state.js';
import { SliceTable, tableState } from './table.js';
import type { OwnerSpec } from './types.js';

/** This host's side of forwarding (struct su_host), and whom it accepts GUE from. */
export interface HostSpec {
  /** The port interface's MAC address, 'aa:bb:cc:dd:ee:ff': the outer source MAC. */
  mac: string;
  /** The port interface's MTU, 68 to 65535: larger encapsulated packets are dropped. */
  mtu: number;
  /** This host's unicast IPv4 address: outer source of GUE, and where peers send GUE. */
  ipv4?: IPv4;
  /** This host's unicast IPv6 address. */
  ipv6?: IPv6;
  /** UDP port GUE arrives on. Default 6080; 0 turns decapsulation off. */
  guePort?: number;
  /** Seeds the GUE source-port hash (draft-ietf-intarea-gue-09 5.11.2). Default 0. */
  flowHashSeed?: number;
  /** Sources GUE is accepted from: addresses or prefixes, at most 64. */
  trustedPeers?: readonly (IPv4 | IPv6 | IPv4CidrRange | IPv6CidrRange)[];
}

/** Options of compileTable(). */
export interface CompileOptions {
  /** Chosen by the publisher, shown in the counters; a whole number from 0 to 2^53 - 1. */
  generation: number;
  /** Owner name -> next-hop MAC address of GUE owners ('l2' owners use their own mac). */
  nextHops?: ReadonlyMap<string, string>;
}

/** Sizes of a compiled table. */
export interface CompileStats {
  slices: number;
  /** Owner records in the image (identical owners share one). */
  owners: number;
  keys: number;
  ranges: number;
  trustedPeers: number;
  /** Servers of this data centre (owners of kind 'server'): a packet they forwarded is never forwarded again. */
  peers: number;
  /** Bytes of the image. */
  bytes: number;
}

/** Everything a publish hands to native code, laid out by abi.h. */
export interface CompiledTable {
  /** struct su_table_header, then su_prefix trusted[], su_peer peers[], su_owner owners[], then one section per key kind (table.h). */
  image: Uint8Array;
  generation: number;
  /** Owner name -> index of its record in the image, for every owner a slice belongs to. */
  ownerIndex: ReadonlyMap<string, number>;
  stats: CompileStats;
}

const HOST_KEYS = ['mac', 'mtu', 'ipv4', 'ipv6', 'guePort', 'flowHashSeed', 'trustedPeers'];

interface Host {
  bytes: Uint8Array;
  ipv4: IPv4 | undefined;
  ipv6: IPv6 | undefined;
  guePort: number;
  trusted: Prefix[];
}

function checkHost(value: unknown): Host {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) invalid('host', 'a host spec object', value);
  const h = value as Record<string, unknown>;
  for (const key of Object.keys(h)) if (!HOST_KEYS.includes(key)) invalid(`host.${key}`, `no such option (known: ${HOST_KEYS.join(', ')})`, h[key]);
  const mac = parseMac(h.mac, 'host.mac');
  // 68: the smallest MTU every IPv4 link must carry (RFC 791).
  if (!Number.isInteger(h.mtu) || (h.mtu as number) < 68 || (h.mtu as number) > 65535) invalid('host.mtu', 'an MTU from 68 to 65535', h.mtu);
  if (h.ipv4 !== undefined && !isIPv4(h.ipv4)) invalid('host.ipv4', 'an ip-num IPv4 address', h.ipv4);
  if (h.ipv6 !== undefined && !isIPv6(h.ipv6)) invalid('host.ipv6', 'an ip-num IPv6 address', h.ipv6);
  const guePort = h.guePort ?? ABI.gue.defaultPort;
  if (!Number.isInteger(guePort) || (guePort as number) < 0 || (guePort as number) > 65535) invalid('host.guePort', 'a UDP port from 0 (no decapsulation) to 65535', guePort);
  const seed = h.flowHashSeed ?? 0;
  if (!Number.isInteger(seed) || (seed as number) < 0 || (seed as number) > 0xffffffff) invalid('host.flowHashSeed', 'an integer from 0 to 4294967295', seed);
  const peers = h.trustedPeers ?? [];
  if (!Array.isArray(peers)) invalid('host.trustedPeers', 'an array of ip-num addresses or CIDR ranges', peers);
  if (peers.length > ABI.table.trustedPeersMax) {
    throw new TableLimitError(`host.trustedPeers has ${peers.length} entries, more than the ${ABI.table.trustedPeersMax} the XDP program holds (SU_TRUSTED_PEERS_MAX)`);
  }
  const trusted = peers.map((p: unknown, i) => parsePrefix(p, `host.trustedPeers[${i}]`, invalid));

  const { size, fields } = ABI.host;
  const bytes = new Uint8Array(size);
  const view = new DataView(bytes.buffer);
  const little = endianness() === 'LE';
  const ipv4 = h.ipv4 as IPv4 | undefined;
  const ipv6 = h.ipv6 as IPv6 | undefined;
  bytes.set(mac, fields.mac.offset);
  view.setUint16(fields.mtu.offset, h.mtu as number, little);
  view.setUint16(fields.gue_port.offset, guePort as number, little);
  bytes[fields.flags.offset] = (ipv4 ? ABI.table.hostFlags.ipv4 : 0) | (ipv6 ? ABI.table.hostFlags.ipv6 : 0);
  view.setUint32(fields.flow_hash_seed.offset, seed as number, little);
  if (ipv4) writeAddress(bytes, fields.ipv4.offset, FAMILY_V4, Number(ipv4.getValue()), 0n);
  if (ipv6) writeAddress(bytes, fields.ipv6.offset, FAMILY_V6, 0, ipv6.getValue());
  return { bytes, ipv4, ipv6, guePort: guePort as number, trusted };
}

function encodePrefixes(prefixes: readonly Prefix[]): Uint8Array {
  const { size, fields } = ABI.prefix;
  const bytes = new Uint8Array(size * prefixes.length);
  prefixes.forEach((p, i) => {
    bytes[i * size + fields.family.offset] = p.family;
    bytes[i * size + fields.prefix_len.offset] = p.len;
    writeAddress(bytes, i * size + fields.addr.offset, p.family, p.v4, p.v6);
  });
  return bytes;
}

/** An owner's su_owner record; throws OwnerUnreachableError when the host cannot send to it. */
function ownerRecord(name: string, spec: OwnerSpec, host: Host, nextHops: ReadonlyMap<string, string> | undefined): Uint8Array {
  const { size, fields } = ABI.owner;
  const bytes = new Uint8Array(size);
  const { ownerKinds, encaps, ownerFlags } = ABI.table;
  if (spec.kind === 'local') {
    bytes[fields.kind.offset] = ownerKinds.LOCAL;
    return bytes;
  }
  bytes[fields.kind.offset] = spec.kind === 'server' ? ownerKinds.SERVER : ownerKinds.DATACENTER;
  if (spec.kind === 'server' && spec.encap === 'l2') {
    bytes[fields.encap.offset] = encaps.L2;
    bytes[fields.flags.offset] = ownerFlags.nextHopKnown;
    bytes.set(parseMac(spec.mac, `owners['${name}'].mac`), fields.next_hop_mac.offset);
    return bytes;
  }
  const address = spec.kind === 'server' ? spec.address : spec.endpoint;
  const v4 = isIPv4(address);
  if (v4 ? host.ipv4 === undefined : host.ipv6 === undefined) {
    throw new OwnerUnreachableError(
      `Owner '${name}' is reached in GUE at ${v4 ? formatV4(Number(address.getValue())) : formatV6(address.getValue())}, an IPv${v4 ? 4 : 6} address, ` +
        `but the host has no IPv${v4 ? 4 : 6} address to send from (host.ipv${v4 ? 4 : 6} is not set)`,
    );
  }
  bytes[fields.encap.offset] = spec.encap === 'gue1' ? encaps.GUE1 : spec.encap === 'glb' ? encaps.GLB : encaps.GUE0;
  bytes[fields.family.offset] = v4 ? FAMILY_V4 : FAMILY_V6;
  new DataView(bytes.buffer).setUint16(fields.gue_port.offset, spec.guePort ?? ABI.gue.defaultPort, endianness() === 'LE');
  writeAddress(bytes, fields.endpoint.offset, v4 ? FAMILY_V4 : FAMILY_V6, v4 ? Number(address.getValue()) : 0, v4 ? 0n : address.getValue());
  const hop = nextHops?.get(name);
  if (hop !== undefined) {
    bytes[fields.flags.offset] = ownerFlags.nextHopKnown;
    bytes.set(parseMac(hop, `options.nextHops.get('${name}')`), fields.next_hop_mac.offset);
  }
  return bytes;
}

/**
 * struct su_peer[] of every server owner the table defines (with slices or without), sorted by
 * family and address, each once: the addresses they send GUE from (the owner's address and its
 * other addresses: a packet from any of them is never forwarded to a server again), and the MAC
 * addresses of those reached by L2 (what a frame they forwarded carries as its source).
 */
function encodePeers(specs: ReadonlyMap<string, OwnerSpec>): Uint8Array {
  const { size, fields } = ABI.peer;
  const rows = new Map<string, Uint8Array>();
  const add = (address: IPv4 | IPv6, mac: Uint8Array | undefined) => {
    const bytes = new Uint8Array(size);
    const v4 = isIPv4(address);
    bytes[fields.family.offset] = v4 ? FAMILY_V4 : FAMILY_V6;
    writeAddress(bytes, fields.addr.offset, v4 ? FAMILY_V4 : FAMILY_V6, v4 ? Number(address.getValue()) : 0, v4 ? 0n : address.getValue());
    if (mac !== undefined) {
      bytes[fields.flags.offset] = ABI.table.peerFlags.hasMac;
      bytes.set(mac, fields.mac.offset);
    }
    // Sorted as the native side compares them: family, then address bytes.
    const key = String.fromCharCode(bytes[fields.family.offset]!, ...bytes.subarray(fields.addr.offset, fields.addr.offset + 16));
    if (!rows.has(key) || mac !== undefined) rows.set(key, bytes);
  };
  for (const [name, spec] of specs) {
    if (spec.kind !== 'server') continue;
    add(spec.address, spec.encap === 'l2' ? parseMac(spec.mac, `owners['${name}'].mac`) : undefined);
    for (const other of spec.otherAddresses ?? []) add(other, undefined);
  }
  if (rows.size > ABI.table.peersMax) {
    throw new TableLimitError(`The table's servers of this data centre have ${rows.size} addresses, more than the ${ABI.table.peersMax} the packet path holds (SU_PEERS_MAX)`);
  }
  const out = new Uint8Array(size * rows.size);
  [...rows.keys()].sort().forEach((key, i) => out.set(rows.get(key)!, i * size));
  return out;
}

function checkOptions(value: unknown, owners: ReadonlyMap<string, OwnerSpec>): CompileOptions {
  if (typeof value !== 'object' || value === null) invalid('options', 'an options object { generation, nextHops? }', value);
  const o = value as Record<string, unknown>;
  for (const key of Object.keys(o)) if (key !== 'generation' && key !== 'nextHops') invalid(`options.${key}`, 'no such option (generation, nextHops)', o[key]);
  const g = o.generation;
  if (!Number.isSafeInteger(g) || (g as number) < 0) invalid('options.generation', 'a whole number from 0 to 2^53 - 1', g);
  const hops = o.nextHops;
  if (hops !== undefined) {
    if (!(hops instanceof Map)) invalid('options.nextHops', 'a Map from owner name to MAC address', hops);
    for (const [name, mac] of hops) {
      if (!owners.has(name)) invalid('options.nextHops', `owner names of the table (known: ${[...owners.keys()].join(', ')})`, name);
      parseMac(mac, `options.nextHops.get('${name}')`);
    }
  }
  return o as unknown as CompileOptions;
}

/** Owners with slices or in a service's rows (primary or secondary), in definition order, as image records; identical records share one index. */
function ownerRecords(state: TableState, h: Host, nextHops: ReadonlyMap<string, string> | undefined): { records: Uint8Array[]; imageOwner: Int32Array; ownerIndex: Map<string, number> } {
  const imageOwner = new Int32Array(state.names.length).fill(-1);
  const records: Uint8Array[] = [];
  const recordIndex = new Map<string, number>();
  const ownerIndex = new Map<string, number>();
  const backends = new Set(state.services.flatMap((s) => s.maglev.names));
  for (const a of state.addressServices) {
    for (const x of a.slices) backends.add(x.owner).add(x.secondary);
    const nc = a.filter?.nonConforming;
    if (nc !== undefined && nc !== 'drop') backends.add(nc.owner);
  }
  state.names.forEach((name, id) => {
    if (name === undefined || (state.uses[id] === 0 && !backends.has(name))) return;
    const record = ownerRecord(name, state.specs.get(name)!, h, nextHops);
    const key = String.fromCharCode(...record);
    let index = recordIndex.get(key);
    if (index === undefined) {
      index = records.length;
      records.push(record);
      recordIndex.set(key, index);
    }
    imageOwner[id] = index;
    ownerIndex.set(name, index);
  });
  if (records.length > OWNERS_MAX) throw new TableLimitError(`The table has ${records.length} distinct owners, more than the ${OWNERS_MAX} an image holds`);
  return { records, imageOwner, ownerIndex };
}

/** The parts every image has, after its header: trusted prefixes, peers, owners. */
interface FixedParts {
  trusted: Uint8Array;
  peers: Uint8Array;
  owners: Uint8Array[];
}

/**
 * The image (table.h): header, fixed parts, then each kind's section back to back in KEY_KINDS
 * order, listed in the header's sections. The one place that writes an image.
 */
function layImage(generation: number, h: Host, parts: FixedParts, sections: readonly { kind: KeyKind; section: KindSection }[]): Uint8Array {
  const header = ABI.tableHeader;
  const hf = header.fields;
  const peersAt = header.size + parts.trusted.length;
  const ownersAt = peersAt + parts.peers.length;
  let at = ownersAt + parts.owners.length * ABI.owner.size;
  const size = sections.reduce((n, s) => n + s.section.bytes.length, at);
  const u8 = new Uint8Array(size);
  const view = new DataView(u8.buffer);
  const little = endianness() === 'LE';
  u8.set(parts.trusted, header.size);
  u8.set(parts.peers, peersAt);
  parts.owners.forEach((r, i) => u8.set(r, ownersAt + i * ABI.owner.size));
  view.setUint32(hf.magic.offset, ABI.table.magic, little);
  view.setUint32(hf.abi_version.offset, ABI.abiVersion, little);
  view.setBigUint64(hf.generation.offset, BigInt(generation), little);
  view.setUint32(hf.trusted_count.offset, parts.trusted.length / ABI.prefix.size, little);
  view.setUint32(hf.owner_count.offset, parts.owners.length, little);
  view.setUint32(hf.peer_count.offset, parts.peers.length / ABI.peer.size, little);
  view.setUint32(hf.section_count.offset, sections.length, little);
  u8.set(h.bytes, hf.host.offset);
  sections.forEach(({ kind, section }, i) => {
    const entry = hf.sections.offset + i * ABI.section.size;
    const f = ABI.section.fields;
    view.setUint32(entry + f.kind.offset, ABI.table.keyKinds[kind.name], little);
    view.setUint32(entry + f.offset.offset, at, little);
    view.setUint32(entry + f.size.offset, section.bytes.length, little);
    for (const [field, value] of Object.entries(section.header)) view.setUint32(hf[field as HeaderField].offset, value, little);
    u8.set(section.bytes, at);
    at += section.bytes.length;
  });
  return u8;
}

/**
 * Compiles `table` for this host. Throws InvalidOptionError for bad host settings or options,
 * UnknownOwnerError for a fallback the table does not define, OwnerUnreachableError when a GUE
 * owner's family has no host address, TableLimitError when the trusted peers or this data
 * centre's servers do not fit the packet path.
 */
export function compileTable(table: SliceTable, host: HostSpec, options: CompileOptions): CompiledTable {
  if (!(table instanceof SliceTable)) invalid('table', 'a SliceTable', table);
  return compileState(tableState(table), host, options);
}

/**
 * compileTable() over a table's insides (not exported from src/index.ts). The fuzz seeds
 * (native/fuzz/seeds-addr.ts) lay with it an image no SliceTable holds, port slices inside an
 * address service (refused by kinds-apart.ts), so that the core's order of kinds stays fuzzed.
 */
export function compileState(state: TableState, host: HostSpec, options: CompileOptions): CompiledTable {
  const h = checkHost(host);
  const opts = checkOptions(options, state.specs);
  checkFallbacks(state.specs);
  const { records, imageOwner, ownerIndex } = ownerRecords(state, h, opts.nextHops);
  const sections = KEY_KINDS.flatMap((kind) => {
    const section = kind.compile(state, imageOwner);
    return section === undefined ? [] : [{ kind, section }];
  });
  const peers = encodePeers(state.specs);
  const image = layImage(opts.generation, h, { trusted: encodePrefixes(h.trusted), peers, owners: records }, sections);
  const stats = { slices: 0, keys: 0, ranges: 0 };
  for (const { section } of sections) for (const key of ['slices', 'keys', 'ranges'] as const) stats[key] += section.stats[key] ?? 0;
  return {
    image,
    generation: opts.generation,
    ownerIndex,
    stats: {
      ...stats,
      owners: records.length,
      trustedPeers: h.trusted.length,
      peers: [...state.specs.values()].filter((s) => s.kind === 'server').length,
      bytes: image.length,
    },
  };
}
