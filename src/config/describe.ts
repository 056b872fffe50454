// describeTable: one router's table as rows a person (or, as JSON, a machine) can read: what the
// router binary's --check prints. Rows follow the file's order, one per slice.
import { invalid } from '../errors.js';
import { formatPrefix, parsePrefix } from '../slices/address.js';
import type { OwnerSpec } from '../slices/types.js';
import type { Destination, PortRange, Protocol } from '../fields.js';
import type { Config } from './types.js';
import { perspectiveOf } from './perspective.js';

export type OwnerKind = OwnerSpec['kind'];

/** One slice as seen by one router. */
export interface TableRow {
  destination: Destination;
  protocols: readonly Protocol[];
  ports: PortRange;
  /** The server the slice belongs to. */
  server: string;
  /** Its owner in this router's table: the server, or its data centre. */
  owner: string;
  kind: OwnerKind;
  /** How this router's packets for the slice get there: 'kernel', 'gue0 to 10.1.0.2 port 6080', 'l2 to 02:...', with ', fallback NAME' when it has one. */
  reached: string;
  tags: Readonly<Record<string, string>>;
}

function reached(spec: OwnerSpec): string {
  switch (spec.kind) {
    case 'local':
      return 'kernel (this host)';
    case 'server':
      return (spec.encap === 'l2' ? `l2 to ${spec.mac}` : `${spec.encap ?? 'gue0'} to ${text(spec.address)} port ${spec.guePort}`) + fallbackText(spec.fallback);
    case 'datacenter':
      return `${spec.encap ?? 'gue0'} to ${text(spec.endpoint)} port ${spec.guePort}${fallbackText(spec.fallback)}`;
  }
}

/** Who takes the slices while the owner is down (peer health). */
const fallbackText = (fallback: string | undefined): string => (fallback === undefined ? '' : `, fallback ${fallback}`);

/** Every slice of the file as the router on server `host` sees it. */
export function describeTable(config: Config, host: string): TableRow[] {
  const p = perspectiveOf(config, host);
  const rows: TableRow[] = [];
  for (const e of config.egress) {
    for (const s of e.slices) {
      const owner = p.ownerOf.get(s.owner)!;
      const spec = p.owners.get(owner)!;
      rows.push({ destination: e.destination, protocols: s.protocols, ports: s.ports, server: s.owner, owner, kind: spec.kind, reached: reached(spec), tags: e.tags });
    }
  }
  return rows;
}

/** RFC 5952 text ('2001:db8::1', not ip-num's '2001:db8:0:0:0:0:0:1'); a prefix with its length. */
function text(d: Destination): string {
  return formatPrefix(parsePrefix(d, 'destination', invalid));
}

function portsText(p: PortRange): string {
  return p.from === p.to ? String(p.from) : `${p.from}-${p.to}`;
}

/** A row as plain JSON data (addresses as text), for `--check --json`. */
export function rowJson(row: TableRow): Record<string, unknown> {
  return { ...row, destination: text(row.destination), protocols: [...row.protocols], ports: { ...row.ports }, tags: { ...row.tags } };
}

/** The rows as an aligned text table with a header line. */
export function formatTable(rows: readonly TableRow[]): string {
  const header = ['DESTINATION', 'PROTOCOLS', 'PORTS', 'SERVER', 'OWNER', 'KIND', 'REACHED', 'TAGS'];
  const cells = rows.map((r) => [
    text(r.destination),
    r.protocols.join('+'),
    portsText(r.ports),
    r.server,
    r.owner,
    r.kind,
    r.reached,
    Object.entries(r.tags).map(([k, v]) => `${k}=${v}`).join(' '),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  return [header, ...cells].map((line) => line.map((c, i) => (i === line.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd()).join('\n');
}
