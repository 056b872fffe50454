// compileTable: a SliceTable and this host's settings -> the table image the one core reads
// (layout: native/include/softunicast/table.h), in the AF_XDP workers and, through the maps the
// addon fills from it, in the XDP program. Used by the Router (src/router/router.ts) on every
// publish.
import { endianness } from 'node:os';

import type { IPv4, IPv4CidrRange, IPv6, IPv6CidrRange } from 'ip-num';

import { invalid, OwnerUnreachableError, SliceOverlapError, TableLimitError } from '../errors.js';
import { ABI } from '../generated/abi.js';
import { isIPv4, isIPv6 } from '../ip.js';
import { FAMILY_V4, FAMILY_V6, formatPrefix, formatV4, formatV6, parsePrefix, writeAddress, type Prefix } from './address.js';
import { checkFallbacks, parseMac } from './owner.js';
import { ownerOf, protoOf, type Group } from './slice.js';
import { SliceTable, sortedGroups, tableState } from './table.js';
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
  /** Servers of this data centre: a packet they forwarded is never forwarded again. */
  peers: number;
  /** Bytes of the image. */
  bytes: number;
}

/** Everything a publish hands to native code, laid out by abi.h. */
export interface CompiledTable {
  /** struct su_table_header, then su_prefix trusted[], su_peer peers[], su_owner owners[], su_slice_key keys[], su_port_range ranges[]. */
  image: Uint8Array;
  generation: number;
  /** Owner name -> index of its record in the image, for every owner a slice belongs to. */
  ownerIndex: ReadonlyMap<string, number>;
  stats: CompileStats;
}

// IANA protocol numbers, as the IP header carries them (the keys' `protocol` field).
const IPPROTO_TCP = 6;
const IPPROTO_UDP = 17;
const HOST_KEYS = ['mac', 'mtu', 'ipv4', 'ipv6', 'guePort', 'flowHashSeed', 'trustedPeers'];
/** Owner records an image may hold: a range's sort key packs the owner index into 21 bits. */
const OWNERS_MAX = 2 ** 21;

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
  bytes[fields.encap.offset] = spec.encap === 'gue1' ? encaps.GUE1 : encaps.GUE0;
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
 * family and address, each once: the addresses they send GUE from, and the MAC addresses of
 * those reached by L2 (what a frame they forwarded carries as its source).
 */
function encodePeers(specs: ReadonlyMap<string, OwnerSpec>): Uint8Array {
  const { size, fields } = ABI.peer;
  const rows = new Map<string, Uint8Array>();
  for (const [name, spec] of specs) {
    if (spec.kind !== 'server') continue;
    const bytes = new Uint8Array(size);
    const v4 = isIPv4(spec.address);
    bytes[fields.family.offset] = v4 ? FAMILY_V4 : FAMILY_V6;
    writeAddress(bytes, fields.addr.offset, v4 ? FAMILY_V4 : FAMILY_V6, v4 ? Number(spec.address.getValue()) : 0, v4 ? 0n : spec.address.getValue());
    if (spec.encap === 'l2') {
      bytes[fields.flags.offset] = ABI.table.peerFlags.hasMac;
      bytes.set(parseMac(spec.mac, `owners['${name}'].mac`), fields.mac.offset);
    }
    // Sorted as the native side compares them: family, then address bytes.
    const key = String.fromCharCode(bytes[fields.family.offset]!, ...bytes.subarray(fields.addr.offset, fields.addr.offset + 16));
    if (!rows.has(key) || spec.encap === 'l2') rows.set(key, bytes);
  }
  if (rows.size > ABI.table.peersMax) {
    throw new TableLimitError(`The table defines ${rows.size} servers of this data centre, more than the ${ABI.table.peersMax} the packet path holds (SU_PEERS_MAX)`);
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

/**
 * Sorts a key's ports (with their owners) by ports: insertion sort for the short runs an address
 * usually has, else a native numeric sort of ports * 2^21 + owner (exact below 2^53).
 */
function sortRun(ports: Float64Array, owners: Int32Array, n: number, packed: Float64Array): void {
  if (n > 24) {
    for (let i = 0; i < n; i++) packed[i] = ports[i]! * OWNERS_MAX + owners[i]!;
    packed.subarray(0, n).sort();
    for (let i = 0; i < n; i++) {
      const p = Math.floor(packed[i]! / OWNERS_MAX);
      ports[i] = p;
      owners[i] = packed[i]! - p * OWNERS_MAX;
    }
    return;
  }
  for (let i = 1; i < n; i++) {
    const p = ports[i]!;
    const o = owners[i]!;
    let j = i - 1;
    while (j >= 0 && ports[j]! > p) {
      ports[j + 1] = ports[j]!;
      owners[j + 1] = owners[j]!;
      j--;
    }
    ports[j + 1] = p;
    owners[j + 1] = o;
  }
}

/**
 * Compiles `table` for this host. Throws InvalidOptionError for bad host settings or options,
 * UnknownOwnerError for a fallback the table does not define, OwnerUnreachableError when a GUE
 * owner's family has no host address, TableLimitError when the trusted peers or this data
 * centre's servers do not fit the packet path.
 */
export function compileTable(table: SliceTable, host: HostSpec, options: CompileOptions): CompiledTable {
  if (!(table instanceof SliceTable)) invalid('table', 'a SliceTable', table);
  const state = tableState(table);
  const data = state.data;
  const h = checkHost(host);
  const opts = checkOptions(options, state.specs);
  checkFallbacks(state.specs);
  const little = endianness() === 'LE';

  // Owners with slices, in definition order; identical records share one index.
  const imageOwner = new Int32Array(state.names.length).fill(-1);
  const records: Uint8Array[] = [];
  const recordIndex = new Map<string, number>();
  const ownerIndex = new Map<string, number>();
  state.names.forEach((name, id) => {
    if (name === undefined || state.uses[id] === 0) return;
    const record = ownerRecord(name, state.specs.get(name)!, h, opts.nextHops);
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

  const groups: Group[] = [...sortedGroups(state, FAMILY_V4), ...sortedGroups(state, FAMILY_V6)];
  let keyCount = 0;
  let rangeBound = 0;
  let slices = 0;
  let longest = 0;
  for (const g of groups) {
    let tcp = 0;
    let udp = 0;
    for (let i = g.at + 1; i < g.at + g.n * 2; i += 2) {
      const bits = protoOf(data[i]!);
      tcp += bits & 1;
      udp += bits >> 1;
    }
    keyCount += (tcp > 0 ? 1 : 0) + (udp > 0 ? 1 : 0);
    rangeBound += tcp + udp;
    slices += g.n;
    longest = Math.max(longest, tcp, udp);
  }

  const header = ABI.tableHeader;
  const peers = encodePeers(state.specs);
  const trustedAt = header.size;
  const peersAt = trustedAt + h.trusted.length * ABI.prefix.size;
  const ownersAt = peersAt + peers.length;
  const keysAt = ownersAt + records.length * ABI.owner.size;
  const rangesAt = keysAt + keyCount * ABI.sliceKey.size;
  const capacity = rangesAt + rangeBound * ABI.portRange.size;
  // Every section size is a multiple of 4 (table.h), so 16- and 32-bit views line up; typed
  // arrays use the platform's byte order, which is the host byte order the image wants.
  const buffer = new ArrayBuffer(capacity);
  const u8 = new Uint8Array(buffer);
  const u16 = new Uint16Array(buffer, 0, capacity >> 1);
  const u32 = new Uint32Array(buffer, 0, capacity >> 2);
  const view = new DataView(buffer);

  u8.set(encodePrefixes(h.trusted), trustedAt);
  u8.set(peers, peersAt);
  records.forEach((r, i) => u8.set(r, ownersAt + i * ABI.owner.size));

  const K = ABI.sliceKey;
  const R = ABI.portRange;
  const rFirst = R.fields.first.offset >> 1;
  const rLast = R.fields.last.offset >> 1;
  const rOwner = R.fields.owner.offset >> 2;
  const scratchPorts = new Float64Array(Math.max(longest, 1));
  const scratchOwners = new Int32Array(Math.max(longest, 1));
  const packed = new Float64Array(Math.max(longest, 1));
  let key = 0;
  let range = 0;
  for (const g of groups) {
    const p = g.prefix;
    for (let bit = 1; bit <= 2; bit++) {
      // Ports (from * 65536 + to) and owner image index of the key's slices, sorted by ports.
      let n = 0;
      let sorted = true;
      for (let i = g.at; i < g.at + g.n * 2; i += 2) {
        const meta = data[i + 1]!;
        if ((meta & bit) === 0) continue;
        const ports = data[i]!;
        if (n > 0 && ports < scratchPorts[n - 1]!) sorted = false;
        scratchPorts[n] = ports;
        scratchOwners[n] = imageOwner[ownerOf(meta)]!;
        n++;
      }
      if (n === 0) continue;
      if (!sorted) sortRun(scratchPorts, scratchOwners, n, packed);
      const first = range;
      let owner = scratchOwners[0]!;
      let from = scratchPorts[0]! >>> 16;
      let to = scratchPorts[0]! & 0xffff;
      for (let k = 1; k <= n; k++) {
        let o = -1;
        let f = 0;
        let t = 0;
        if (k < n) {
          const ports = scratchPorts[k]!;
          o = scratchOwners[k]!;
          f = ports >>> 16;
          t = ports & 0xffff;
          // Same owner (after deduplication) and touching or overlapping: one range.
          if (o === owner && f <= to + 1) {
            if (t > to) to = t;
            continue;
          }
          if (f <= to) {
            // SliceTable never lets different owners overlap; this guards the invariant.
            throw new SliceOverlapError(`Internal error: ports ${f}-${t} and ${from}-${to} of ${formatPrefix(p)} have different owners`);
          }
        }
        const at = (rangesAt + range * R.size) >> 1;
        u16[at + rFirst] = from;
        u16[at + rLast] = to;
        u32[(at >> 1) + rOwner] = owner;
        range++;
        owner = o;
        from = f;
        to = t;
      }
      const at = keysAt + key * K.size;
      u8[at + K.fields.family.offset] = p.family;
      u8[at + K.fields.prefix_len.offset] = p.len;
      u8[at + K.fields.protocol.offset] = bit === 1 ? IPPROTO_TCP : IPPROTO_UDP;
      u32[(at + K.fields.range_first.offset) >> 2] = first;
      u32[(at + K.fields.range_count.offset) >> 2] = range - first;
      writeAddress(u8, at + K.fields.addr.offset, p.family, p.v4, p.v6);
      key++;
    }
  }

  const hf = header.fields;
  view.setUint32(hf.magic.offset, ABI.table.magic, little);
  view.setUint32(hf.abi_version.offset, ABI.abiVersion, little);
  view.setBigUint64(hf.generation.offset, BigInt(opts.generation), little);
  view.setUint32(hf.trusted_count.offset, h.trusted.length, little);
  view.setUint32(hf.owner_count.offset, records.length, little);
  view.setUint32(hf.key_count.offset, keyCount, little);
  view.setUint32(hf.range_count.offset, range, little);
  view.setUint32(hf.peer_count.offset, peers.length / ABI.peer.size, little);
  u8.set(h.bytes, hf.host.offset);
  const size = rangesAt + range * R.size;
  const image = size === capacity ? u8 : u8.slice(0, size);

  return {
    image,
    generation: opts.generation,
    ownerIndex,
    stats: {
      slices,
      owners: records.length,
      keys: keyCount,
      ranges: range,
      trustedPeers: h.trusted.length,
      peers: peers.length / ABI.peer.size,
      bytes: size,
    },
  };
}

