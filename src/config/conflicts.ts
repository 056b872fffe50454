// Addresses a host needs for itself, kept out of what the file shares: a shared address or prefix
// must not cover a server's or an endpoint's own address nor overlap a trusted peer prefix, and two
// servers must not have one address (tried: a shared prefix over a server broke its own TCP).
import type { IPv4, IPv6 } from 'ip-num';

import { invalid } from '../errors.js';
import { FAMILY_V4, formatPrefix, mask4, mask6, parsePrefix, type Prefix } from '../slices/address.js';
import type { EntryDraft } from './egress.js';
import { formatPath, type Path } from './path.js';
import type { Problems } from './problems.js';
import type { DatacenterConfig, ServerConfig, TrustedPeer } from './types.js';

/** An address or prefix the file names, with what it is and where. */
interface Named {
  readonly prefix: Prefix;
  readonly what: string;
  readonly path: Path;
}

/** Prefixes by family and length, each key to the items filed under it. */
class PrefixIndex<T> {
  readonly #v4: (Map<number, T[]> | undefined)[] = new Array(33).fill(undefined);
  readonly #v6: (Map<bigint, T[]> | undefined)[] = new Array(129).fill(undefined);
  /** The lengths in use per family, ascending: a lookup visits only these. */
  readonly #lens4: number[] = [];
  readonly #lens6: number[] = [];

  add(p: Prefix, item: T): void {
    const v4 = p.family === FAMILY_V4;
    const maps = (v4 ? this.#v4 : this.#v6) as (Map<number | bigint, T[]> | undefined)[];
    let map = maps[p.len];
    if (map === undefined) {
      map = maps[p.len] = new Map();
      const lens = v4 ? this.#lens4 : this.#lens6;
      lens.push(p.len);
      lens.sort((a, b) => a - b);
    }
    const key = v4 ? p.v4 : p.v6;
    const list = map.get(key);
    if (list === undefined) map.set(key, [item]);
    else list.push(item);
  }

  /** Calls `fn` with each item filed under a prefix that contains `p` (or equals it). */
  containing(p: Prefix, fn: (item: T) => void): void {
    const v4 = p.family === FAMILY_V4;
    for (const len of v4 ? this.#lens4 : this.#lens6) {
      if (len > p.len) break;
      const list = v4 ? this.#v4[len]!.get(mask4(p.v4, len)) : this.#v6[len]!.get(mask6(p.v6, len));
      if (list !== undefined) for (const item of list) fn(item);
    }
  }
}

const pathText = (path: Path) => formatPath(path);

function hostsOf(servers: ReadonlyMap<string, ServerConfig>, datacenters: ReadonlyMap<string, DatacenterConfig>): Named[] {
  const out: Named[] = [];
  const add = (a: IPv4 | IPv6 | undefined, what: string, path: Path) => {
    if (a !== undefined) out.push({ prefix: parsePrefix(a, 'address', invalid), what, path });
  };
  for (const s of servers.values()) {
    const at = ['datacenters', s.datacenter, 'servers', s.name];
    add(s.ipv4, `server ${s.name}`, [...at, 'ipv4']);
    add(s.ipv6, `server ${s.name}`, [...at, 'ipv6']);
  }
  for (const dc of datacenters.values()) {
    add(dc.endpoint?.ipv4, `the endpoint of data centre ${dc.name}`, ['datacenters', dc.name, 'endpoint', 'ipv4']);
    add(dc.endpoint?.ipv6, `the endpoint of data centre ${dc.name}`, ['datacenters', dc.name, 'endpoint', 'ipv6']);
  }
  return out;
}

/** Two servers with one address: the second is the problem. */
function checkDuplicates(p: Problems, hosts: readonly Named[]): void {
  const first = new Map<string, Named>();
  for (const h of hosts) {
    if (!h.what.startsWith('server ')) continue;
    const key = formatPrefix(h.prefix);
    const other = first.get(key);
    if (other === undefined) {
      first.set(key, h);
      continue;
    }
    p.error(
      h.path,
      'ERR_ADDRESS_CONFLICT',
      `Servers ${other.what.slice(7)} (${pathText(other.path)}) and ${h.what.slice(7)} (${pathText(h.path)}) have the same address ${key}; ` +
        'each server needs its own (peers reach a server by its address)',
    );
  }
}

function shared(e: EntryDraft): string {
  const kind = e.destinationPath.at(-1) === 'prefix' ? 'prefix' : 'address';
  return `Shared ${kind} ${formatPrefix(e.prefix!)} (${pathText(e.destinationPath)})`;
}

/** Each entry that covers hosts' addresses: one problem, naming the first host and counting the rest. */
function checkHosts(p: Problems, entries: PrefixIndex<EntryDraft>, hosts: readonly Named[]): void {
  const covered = new Map<EntryDraft, Named[]>();
  for (const h of hosts) {
    entries.containing(h.prefix, (e) => {
      const list = covered.get(e);
      if (list === undefined) covered.set(e, [h]);
      // An endpoint is usually a server of its data centre: one address, named once.
      else if (!list.some((o) => formatPrefix(o.prefix) === formatPrefix(h.prefix))) list.push(h);
    });
  }
  for (const [e, list] of covered) {
    const h = list[0]!;
    const addr = formatPrefix(h.prefix);
    const more = list.length > 1 ? ` (and ${list.length - 1} more host address${list.length > 2 ? 'es' : ''})` : '';
    const what = e.prefix!.len === h.prefix.len ? 'is the address of' : `covers ${addr}, the address of`;
    p.error(
      e.destinationPath,
      'ERR_ADDRESS_CONFLICT',
      `${shared(e)} ${what} ${h.what} (${pathText(h.path)})${more}; a host's own address must not be shared: ` +
        'packets to the host itself would be steered by port to other owners',
    );
  }
}

/** Entries overlapping an explicit trusted peer prefix: one problem per entry. */
function checkTrusted(p: Problems, entries: PrefixIndex<EntryDraft>, all: readonly EntryDraft[], trusted: readonly Named[]): void {
  const index = new PrefixIndex<Named>();
  for (const t of trusted) index.add(t.prefix, t);
  const found = new Map<EntryDraft, Named>();
  // Entries inside or equal to a trusted prefix, and entries containing one.
  for (const e of all) index.containing(e.prefix!, (t) => void (found.has(e) || found.set(e, t)));
  for (const t of trusted) entries.containing(t.prefix, (e) => void (found.has(e) || found.set(e, t)));
  for (const [e, t] of found) {
    const narrower = e.prefix!.len >= t.prefix.len ? e.prefix! : t.prefix;
    p.error(
      e.destinationPath,
      'ERR_ADDRESS_CONFLICT',
      `${shared(e)} overlaps ${t.what} (${pathText(t.path)}) at ${formatPrefix(narrower)}; ` +
        'a trusted peer may send GUE into every router: trust the servers and endpoints, never a shared address',
    );
  }
}

/** Warns of trusted prefixes covering an address the file names as something other than a peer. */
function warnTrusted(p: Problems, trusted: readonly Named[], others: readonly Named[]): void {
  for (const o of others) {
    for (const t of trusted) {
      const inside = t.prefix.family === o.prefix.family && t.prefix.len <= o.prefix.len &&
        (t.prefix.family === FAMILY_V4 ? mask4(o.prefix.v4, t.prefix.len) === t.prefix.v4 : mask6(o.prefix.v6, t.prefix.len) === t.prefix.v6);
      if (!inside) continue;
      p.warn(
        t.path,
        'ERR_ADDRESS_CONFLICT',
        `${t.what[0]!.toUpperCase()}${t.what.slice(1)} (${pathText(t.path)}) covers ${formatPrefix(o.prefix)}, ${o.what} (${pathText(o.path)}), ` +
          'which is not a GUE peer; trust the servers\' and endpoints\' addresses only',
      );
    }
  }
}

export interface ConflictInput {
  readonly servers: ReadonlyMap<string, ServerConfig>;
  readonly datacenters: ReadonlyMap<string, DatacenterConfig>;
  /** Entries that passed validation (a destination each). */
  readonly entries: readonly EntryDraft[];
  /** The file's own trust list, when it has one and it is valid. */
  readonly trusted: readonly TrustedPeer[] | undefined;
  readonly prometheus: IPv4 | IPv6 | undefined;
}

/** Records every address conflict (ERR_ADDRESS_CONFLICT) and warns of trust that reaches too far. */
export function checkConflicts(p: Problems, input: ConflictInput): void {
  const hosts = hostsOf(input.servers, input.datacenters);
  checkDuplicates(p, hosts);
  const entries = new PrefixIndex<EntryDraft>();
  for (const e of input.entries) entries.add(e.prefix!, e);
  checkHosts(p, entries, hosts);
  if (input.trusted === undefined) return;
  const trusted = input.trusted.map((t, i): Named => {
    const prefix = parsePrefix(t, 'trusted', invalid);
    return { prefix, what: `trusted peer ${prefix.len === (prefix.family === FAMILY_V4 ? 32 : 128) ? 'address' : 'prefix'} ${formatPrefix(prefix)}`, path: ['gue', 'trustedPeers', i] };
  });
  checkTrusted(p, entries, input.entries, trusted);
  const others: Named[] = [];
  if (input.prometheus !== undefined) others.push({ prefix: parsePrefix(input.prometheus, 'address', invalid), what: 'the Prometheus address', path: ['stats', 'prometheus'] });
  warnTrusted(p, trusted, others);
}
