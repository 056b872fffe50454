// Where a deployment lives in etcd (docs/table-sources.md, "Key layout"): PREFIX/deployment (the
// configuration without egress, JSON), PREFIX/egress/DESTINATION (that address's or prefix's
// egress entries, JSON, in the file's syntax), PREFIX/loading (set while a bulk load runs).
// Used by the etcd source (state.ts) and the store (store.ts).
import { invalid } from '../../errors.js';
import { formatPrefix, type Prefix } from '../../slices/address.js';
import { addressPrefix, prefixOf } from '../../config/addresses.js';

export interface Layout {
  /** '/softunicast/prod': every key of the deployment starts with it and a '/'. */
  readonly prefix: string;
  readonly deployment: string;
  readonly loading: string;
  /** Egress keys start with this: PREFIX/egress/. */
  readonly egress: string;
}

/** Printable ASCII without spaces, segments separated by '/', no empty or dot segments. */
const PREFIX = /^(\/[!-.0-~]+)+$/;

/** Checks a key prefix such as '/softunicast/prod'. */
export function layoutOf(prefix: unknown, path = 'prefix'): Layout {
  const ok = typeof prefix === 'string' && prefix.length <= 200 && PREFIX.test(prefix) && !prefix.split('/').some((s) => s === '.' || s === '..');
  if (!ok) invalid(path, "a key prefix such as '/softunicast/prod' (printable ASCII, starting with '/', not ending with one)", prefix);
  return { prefix, deployment: `${prefix}/deployment`, loading: `${prefix}/loading`, egress: `${prefix}/egress/` };
}

/** The key of a destination's entries: the canonical text of its address or prefix. */
export function egressKey(layout: Layout, destination: Prefix): string {
  return `${layout.egress}${formatPrefix(destination)}`;
}

/** The destination an egress entry names (address or prefix), canonical, or undefined if it names none validly. */
export function entryDestination(entry: unknown): string | undefined {
  if (typeof entry !== 'object' || entry === null) return undefined;
  const e = entry as Record<string, unknown>;
  try {
    if (e.address !== undefined && e.prefix === undefined) return formatPrefix(addressPrefix(e.address, []));
    if (e.prefix !== undefined && e.address === undefined) return formatPrefix(prefixOf(e.prefix, []));
  } catch {
    // Validation names what is wrong with it, with its key.
  }
  return undefined;
}

/** A destination text as given by an operator ('192.0.2.1', '2001:db8::/48') -> its Prefix. */
export function destinationOf(text: unknown, path: string): Prefix {
  try {
    return typeof text === 'string' && text.includes('/') ? prefixOf(text, []) : addressPrefix(text, []);
  } catch {
    return invalid(path, "an address or prefix such as '192.0.2.1' or '198.51.100.0/24'", text);
  }
}

/** A slice as the store writes it: the file's explicit form. */
export interface StoredSliceJson {
  ports: string | number;
  owner: string;
  protocols?: string[];
}

/** An egress entry as the store writes it (the file's syntax, slices explicit). */
export interface StoredEntryJson {
  address?: string;
  prefix?: string;
  protocols?: string[];
  tags?: Record<string, string>;
  slices: StoredSliceJson[];
}

/** What one egress key decodes to: its entries, or why it cannot be read. */
export type Decoded = { entries: unknown[] } | { problem: string };

/**
 * The entries of egress key `key`: a JSON list of entries, each naming the key's destination.
 * Anything else is a problem of that key (a router refuses the whole table, as for a bad file).
 */
export function decodeEntries(layout: Layout, key: string, value: Buffer): Decoded {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value.toString('utf8'));
  } catch (error) {
    return { problem: `Expected a JSON list of egress entries for the key ${key} but received text that is not JSON (${(error as Error).message})` };
  }
  if (!Array.isArray(parsed) || parsed.length === 0) return { problem: `Expected a non-empty JSON list of egress entries for the key ${key} but received ${Array.isArray(parsed) ? 'an empty list' : typeof parsed}` };
  const want = key.slice(layout.egress.length);
  for (const entry of parsed) {
    const named = entryDestination(entry);
    // An entry whose destination is malformed is left to validation, which says what is wrong.
    if (named !== undefined && named !== want) return { problem: `Expected entries for ${want} under the key ${key} but one names ${named}` };
  }
  return { entries: parsed };
}

/** The deployment key's value: the configuration without `egress`, as a JSON object. */
export function decodeDeployment(key: string, value: Buffer): { document: Record<string, unknown> } | { problem: string } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value.toString('utf8'));
  } catch (error) {
    return { problem: `Expected a JSON object (the configuration without egress) for the key ${key} but received text that is not JSON (${(error as Error).message})` };
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return { problem: `Expected a JSON object (the configuration without egress) for the key ${key} but received ${Array.isArray(parsed) ? 'a list' : String(parsed)}` };
  if ('egress' in parsed) return { problem: `Expected no egress in the key ${key} (each destination has a key of its own under the prefix's egress/) but it has one` };
  return { document: parsed as Record<string, unknown> };
}
