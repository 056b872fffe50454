// Public types of slice tables: owners, slices, selectors, diff entries. Used by SliceTable
// (table.ts), compileTable (compile.ts), diffTables (diff.ts) and, through src/index.ts, users.
import type { IPv4, IPv6 } from 'ip-num';

import type { Destination, PortRange, Protocol } from '../fields.js';


/**
 * How packets reach a server of this data centre. 'glb': GUE variant 0 carrying GLB director's hop
 * list (src/lb/hop-list.ts), to an IPv4 address, port 19523 by default: a flow-hash row's packets
 * name the row's secondary as the next hop, so that a backend without the flow's connection sends
 * them on there (second chance, lb.SecondChanceBackend).
 */
export type ServerEncap = 'gue0' | 'gue1' | 'l2' | 'glb';
/** How packets reach another data centre. */
export type DatacenterEncap = 'gue0' | 'gue1';

/** This host: the XDP program passes the slice's packets to the kernel stack. */
export interface LocalOwnerSpec {
  kind: 'local';
}

/** Another server of this data centre. */
export interface ServerOwnerSpec {
  kind: 'server';
  /** The server's unicast address: the outer destination of GUE. */
  address: IPv4 | IPv6;
  /**
   * Default 'gue0'. 'l2' rewrites the Ethernet destination instead (servers on one segment).
   * 'glb' (an IPv4 address only): GUE with GLB's hop list, for load-balancer backends.
   */
  encap?: ServerEncap;
  /** The server's MAC address, 'aa:bb:cc:dd:ee:ff'; required for 'l2' and only allowed there. */
  mac?: string;
  /** GUE destination port. Default 6080 (IANA "gue"), 19523 (GLB_GUE_PORT) for 'glb'; not allowed for 'l2'. */
  guePort?: number;
  /**
   * The server's other unicast addresses (its address of the other family): packets never go
   * there, but GUE from them is this server's, so what it sends is never forwarded to a server
   * again, nor back to it (the loop rule). Default none.
   */
  otherAddresses?: readonly (IPv4 | IPv6)[];
  /** An owner of the table that takes every slice of this one while it is down (Router option `health`). */
  fallback?: string;
}

/** Another data centre, reached in GUE through its backbone endpoint. */
export interface DatacenterOwnerSpec {
  kind: 'datacenter';
  /** The data centre's backbone endpoint: the outer destination of GUE. */
  endpoint: IPv4 | IPv6;
  /** Default 'gue0'. */
  encap?: DatacenterEncap;
  /** GUE destination port. Default 6080. */
  guePort?: number;
  /** An owner of the table that takes every slice of this one while it is down (Router option `health`). */
  fallback?: string;
}

/** Who owns a slice, and how its packets get there. */
export type OwnerSpec = LocalOwnerSpec | ServerOwnerSpec | DatacenterOwnerSpec;

/**
 * One slice to assign: packets to `destination` with one of `protocols` and a destination port
 * in `ports` belong to the owner named `owner`.
 */
export interface SliceSpec {
  destination: Destination;
  /** Default: both. */
  protocols?: readonly Protocol[];
  /** One port or an inclusive range. */
  ports: number | PortRange;
  /** A name given to defineOwner(). */
  owner: string;
}

/**
 * Picks slices for move() and release(): the slices with exactly this destination and port
 * range, and, when `protocols` is given, exactly this protocol set (any set when omitted).
 */
export interface SliceSelector {
  destination: Destination;
  protocols?: readonly Protocol[];
  ports: number | PortRange;
}

/** A slice as the table holds it: every field filled in. */
export interface Slice {
  destination: Destination;
  protocols: readonly Protocol[];
  ports: PortRange;
}

/** A slice and its owner's name. */
export interface SliceEntry extends Slice {
  owner: string;
}

/** A slice that changed owner between two tables. */
export interface SliceMove {
  slice: Slice;
  from: string;
  to: string;
}

/** What diffTables() reports. */
export interface TableDiff {
  /** Slices only in the later table. */
  added: SliceEntry[];
  /** Slices only in the earlier table. */
  removed: SliceEntry[];
  /** Slices in both, with another owner. */
  moved: SliceMove[];
  /** Owner names defined in only one table, or defined differently in the two. */
  ownersChanged: string[];
}
