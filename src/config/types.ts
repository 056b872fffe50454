// Public types of a validated configuration file: what parseConfig/loadConfig return and what
// tableFor, routerOptionsFor and describeTable read. Every address is an ip-num value.
import type { IPv4, IPv4CidrRange, IPv6, IPv6CidrRange } from 'ip-num';

import type { ConfigProblem } from '../errors.js';
import type { DatacenterEncap, ServerEncap } from '../slices/types.js';
import type { Destination, PortRange, Protocol } from '../fields.js';
import type { XdpPortOptions } from '../xdp/options.js';
import type { ServiceHealth } from '../lb/health-options.js';
import type { RebuildMoves } from '../lb/second-chance.js';
import type { SourceDerivedRule } from '../ssa/rule.js';

/** A host's unicast addresses; at least one is set. */
export interface HostAddresses {
  readonly ipv4?: IPv4;
  readonly ipv6?: IPv6;
}

/** Where GUE is accepted from: an address or a prefix. */
export type TrustedPeer = IPv4 | IPv6 | IPv4CidrRange | IPv6CidrRange;

/** The file's `gue` section with defaults filled in. */
export interface GueConfig {
  /** Default GUE port of every peer. 6080 unless set. */
  readonly port: number;
  /** Default encapsulation of every peer. 'gue0' unless set. */
  readonly encap: DatacenterEncap;
  /**
   * Sources every router accepts GUE from: the file's list, or, when it has none, the address
   * each server sends GUE from (its address of the family it shares with its peers).
   */
  readonly trustedPeers: readonly TrustedPeer[];
  /** Whether trustedPeers was derived from the servers rather than written in the file. */
  readonly trustedPeersDerived: boolean;
}

/** A data centre. */
export interface DatacenterConfig {
  readonly name: string;
  /** The backbone endpoint other data centres send GUE to; only optional with one data centre. */
  readonly endpoint: HostAddresses | undefined;
  /** How other data centres encapsulate towards it. */
  readonly encap: DatacenterEncap;
  /** The UDP port its endpoint receives GUE on; its servers' too unless they set another. */
  readonly guePort: number;
  /** Its servers' names, in file order. */
  readonly servers: readonly string[];
  /** A server of another data centre that takes its slices while it is down. */
  readonly fallback?: string;
}

/** Port options of a server's router: XdpPortOptions without capture (the table decides it). */
export type ServerInterface = Omit<XdpPortOptions, 'capture'>;

/** A server: an owner of slices, and a router when it has an interface. */
export interface ServerConfig extends HostAddresses {
  readonly name: string;
  readonly datacenter: string;
  /** How servers of its own data centre reach it. */
  readonly encap: ServerEncap;
  /** Its MAC address (lower case), for encap 'l2' only. */
  readonly mac?: string;
  /** The UDP port it receives GUE on. */
  readonly guePort: number;
  /** Where its router runs; a server without one owns slices but runs no router. */
  readonly interface?: ServerInterface;
  /** A server, or another data centre than its own, that takes its slices while it is down. */
  readonly fallback?: string;
}

/** One slice of an egress entry, its owner a server's name. */
export interface EgressSlice {
  readonly ports: PortRange;
  readonly protocols: readonly Protocol[];
  readonly owner: string;
}

/** A shared address or prefix and its slices. */
export interface EgressConfig {
  readonly destination: Destination;
  /** The entry's protocols (a slice may narrow them). */
  readonly protocols: readonly Protocol[];
  /** Free-form labels (country, product, ...), carried into describeTable(). */
  readonly tags: Readonly<Record<string, string>>;
  /** In file order; made on first use (the configuration keeps its slices packed as numbers). */
  readonly slices: readonly EgressSlice[];
}

/** The file's `stats` section with defaults filled in. */
export interface StatsConfig {
  /** Seconds between stats lines. 5 unless set. */
  readonly intervalSeconds: number;
  /** Where to serve Prometheus text: a loopback address and port. Off unless set. */
  readonly prometheus?: { readonly address: IPv4 | IPv6; readonly port: number };
}

/** The file's `health` section with defaults filled in: Router option `health` of every router. */
export interface HealthConfig {
  /** Milliseconds between two probes of an owner. 1000 unless set. */
  readonly intervalMs: number;
  /** Unanswered probes in a row after which an owner is down. 3 unless set. */
  readonly downAfter: number;
  /** Answered probes in a row after which it is up again. 2 unless set. */
  readonly upAfter: number;
  /** Probe every server and data centre, not only those with a fallback. false unless set. */
  readonly probeAll: boolean;
}

/** A backend of a service: a server of the file. */
export interface ServiceBackendConfig {
  readonly server: string;
  /** Share of new flows relative to the others. 1 unless set. */
  readonly weight: number;
  /** Draining: no new flows; its connections go on (second chance) until the drain deadline. false unless set. */
  readonly drain: boolean;
}

/** How the load balancer checks a service's backends: lb's ServiceHealth, defaults filled in. */
export type ServiceHealthConfig = ServiceHealth;

/** A flow-hash service (issue 15): new flows to (address, protocol, port) spread over its backends by Maglev. */
export interface ServiceConfig {
  /** For logs and metrics: 'protocol-address-port' unless set. */
  readonly name: string;
  readonly address: IPv4 | IPv6;
  readonly protocol: Protocol;
  readonly port: number;
  /** Maglev rows, a prime: 65537 unless set; one value for every service of the file. */
  readonly rows: number;
  /** How rebuilds choose primaries (lb.rebuild): 'stateless' unless set. */
  readonly moves: RebuildMoves;
  /** Servers of one data centre, in file order. */
  readonly backends: readonly ServiceBackendConfig[];
  readonly health: ServiceHealthConfig;
}

/** An address slice of an address service: its prefix (canonical text), its owner and, while it moves, its old owner (servers' names). */
export interface AddressSliceConfig {
  readonly prefix: string;
  readonly owner: string;
  /** The old owner while the slice moves: established connections finish there (second chance with 'glb' owners). */
  readonly secondary?: string;
}

/** The source filter of an address service: the rule (from its text) and what non-conforming packets meet. */
export interface AddressFilterConfig {
  readonly rule: SourceDerivedRule;
  /** 'drop' (counted as drop_ssa_source) unless set, or a low-priority owner (a server's name). */
  readonly nonConforming: 'drop' | { readonly owner: string };
}

/** An address-slice service (issue 16): an IPv6 prefix cut into slices of servers, on every router. */
export interface AddressServiceConfig {
  /** For logs: the prefix's text unless set. */
  readonly name: string;
  /** The service's prefix (canonical text), /1 to /64. */
  readonly prefix: string;
  /** In file order; they cover the prefix exactly. */
  readonly slices: readonly AddressSliceConfig[];
  readonly filter?: AddressFilterConfig;
}

/** A whole deployment, validated: every router reads the same one and picks its own view. */
export interface Config {
  /** The file name given to parseConfig/loadConfig, for messages. */
  readonly source: string | undefined;
  readonly gue: GueConfig;
  /** Data centres by name, in file order. */
  readonly datacenters: ReadonlyMap<string, DatacenterConfig>;
  /** Servers of every data centre by name (names are unique across the file), in file order. */
  readonly servers: ReadonlyMap<string, ServerConfig>;
  readonly egress: readonly EgressConfig[];
  readonly stats: StatsConfig;
  readonly health: HealthConfig;
  /**
   * Seed of every router's flow hash (GUE source ports, service rows): the file's, or, when the
   * file has services and no seed, one derived from them (balancer hosts must agree on each
   * flow's row); undefined (random per router) otherwise.
   */
  readonly flowHashSeed: number | undefined;
  /** Flow-hash services, in file order; none unless set. */
  readonly services: readonly ServiceConfig[];
  /** Address-slice services, in file order; none unless set. */
  readonly addressServices: readonly AddressServiceConfig[];
  /** What validation warns of (severity 'warning'): a server that owns no slice, trust that reaches too far. */
  readonly warnings: readonly ConfigProblem[];
}
