// Router: a soft-unicast node. Opens an XdpPort and runs the one core (native/core) in both of its
// lanes: the XDP program finishes what the kernel can (the express lane), the AF_XDP workers the
// rest. One compiled SliceTable feeds both, published to each atomically.
import { randomInt } from 'node:crypto';

import type { IPv4, IPv4CidrRange, IPv6, IPv6CidrRange } from 'ip-num';

import { ClosedError, invalid } from '../errors.js';
import { ABI } from '../generated/abi.js';
import { native, type NativeRouter } from '../native.js';
import { compileTable, type HostSpec } from '../slices/compile.js';
import { SliceTable } from '../slices/table.js';
import type { OwnerSpec, SliceEntry } from '../slices/types.js';
import type { Protocol } from '../fields.js';
import { named, type QueueCounters, type SteerCounters } from '../xdp/counters.js';
import type { XdpPortOptions } from '../xdp/options.js';
import { XdpPort } from '../xdp/port.js';
import { captureRunning, DropCapture, type DropCaptureOptions } from './drop-capture.js';
import { interfaceFacts } from './interface.js';
import { NextHops, type NextHop } from './next-hops.js';
import { OwnerTotals, type OwnerCounters } from './owner-counters.js';

type Keys<L extends readonly { name: string }[]> = L[number]['name'];
/** How many packets met each fate in the fast path (names from SU_ROUTE_COUNTERS, abi.h). */
export type RouteFates = Record<Keys<typeof ABI.routeCounters>, number>;

export interface RouterHostOptions {
  /** This host's unicast IPv4 address: the outer source of GUE it sends, and where peers send GUE to. */
  ipv4?: IPv4;
  /** This host's unicast IPv6 address. */
  ipv6?: IPv6;
  /** UDP port GUE arrives on; 0 turns decapsulation off. Default 6080. */
  guePort?: number;
  /** Sources GUE is accepted from; anything else on the GUE port is dropped and counted. */
  trustedPeers?: readonly (IPv4 | IPv6 | IPv4CidrRange | IPv6CidrRange)[];
  /** Seed of the GUE source-port hash. Default: random per router. */
  flowHashSeed?: number;
}

export interface RouterOptions {
  /** The port the router runs on (its capture rules come from the table). */
  port: Omit<XdpPortOptions, 'capture'>;
  host: RouterHostOptions;
  /** The first table; later ones arrive through publish(). */
  table: SliceTable;
  /** Milliseconds between requests that the kernel keep the next hops in use confirmed (it
   * probes them rather than letting them go stale: the fast path sends around it); 0 turns
   * these off, leaving only the probes of next hops that went STALE or FAILED. Changes to next
   * hops are followed as they happen either way. Default 1000. */
  neighbourRefreshMs?: number;
  /**
   * Which lane finishes packets. 'auto' (default): the XDP program finishes every verdict it
   * can in the kernel (local delivery, forwards to servers and data centres, GUE unwrapping,
   * drops) and hands the AF_XDP workers only what needs them (drops while a drop capture runs).
   * 'afxdp': the workers forward and drop everything; XDP only passes the kernel's packets.
   */
  lane?: Lane;
}

export type Lane = 'auto' | 'afxdp';

/** Every counter of a router: plain numbers and strings, so that JSON.stringify takes it. */
export interface RouterCounters {
  /** Generation of the table the fast path is using (0 before the first publish). */
  generation: number;
  /** The lane that finishes packets (options.lane). */
  lane: Lane;
  /** Fates of every packet, both lanes: the XDP program's (`xdp`) and the workers' (`queues`). */
  fates: RouteFates;
  /** Fates the XDP program finished itself, summed over CPUs. */
  xdp: RouteFates;
  /** The XDP program's counters (local passes, decapsulations, redirects, ...). */
  program: SteerCounters;
  queues: (QueueCounters & { fates: RouteFates })[];
  /** Per owner name: packets and bytes the fast path sent to it, or dropped once it was known. */
  owners: OwnerCounters;
  /** Owners the fast path cannot send to yet, and why. */
  unresolvedOwners: Record<string, string>;
  /** Replaced tables still waiting for a worker to finish a batch that may read them. */
  retiredTables: number;
}

export interface Explanation {
  /** The counter the packet would be counted under, e.g. 'encap_datacenter'. */
  fate: string;
  /**
   * The frame as it leaves: transmitted, or passed to the kernel (unwrapped from GUE when it
   * came in it); null when it is dropped.
   */
  output: Uint8Array | null;
  /** Who finishes the packet: the XDP program ('xdp') or an AF_XDP worker ('worker'). */
  stage: 'xdp' | 'worker';
  /** The owner of the slice it is for, when the lookup found one. */
  owner: string | null;
}

const ROUTER_KEYS = ['port', 'host', 'table', 'neighbourRefreshMs', 'lane'];
const HOST_KEYS = ['ipv4', 'ipv6', 'guePort', 'trustedPeers', 'flowHashSeed'];

function checkObject(value: unknown, path: string, keys: readonly string[]): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) invalid(path, 'an object', value);
  for (const key of Object.keys(value)) {
    if (!keys.includes(key)) invalid(`${path}.${key}`, `no such option (known: ${keys.join(', ')})`, (value as Record<string, unknown>)[key]);
  }
  return value as Record<string, unknown>;
}

export class Router {
  readonly #port: XdpPort;
  readonly #native: NativeRouter;
  #host: HostSpec;
  readonly #neighbours: NextHops;
  #table: SliceTable;
  #nextHops = new Map<string, NextHop>();
  #generation = 0;
  readonly #owners = new OwnerTotals();
  #capture: DropCapture | undefined;
  #closed = false;
  readonly #lane: Lane;
  /** Publications run one at a time, in call order. */
  #queue: Promise<unknown> = Promise.resolve();

  private constructor(port: XdpPort, nativeRouter: NativeRouter, host: HostSpec, table: SliceTable, neighbours: NextHops, lane: Lane) {
    this.#port = port;
    this.#lane = lane;
    this.#native = nativeRouter;
    this.#host = host;
    this.#table = table;
    this.#neighbours = neighbours;
    neighbours.on('change', () => void this.#refresh());
  }

  /**
   * Attaches to `options.port.interface`, publishes `options.table` and starts forwarding.
   * Rejects with a typed error for bad options, an invalid table or an unusable interface.
   */
  static async open(options: RouterOptions): Promise<Router> {
    const o = checkObject(options, 'options', ROUTER_KEYS);
    const h = checkObject(o.host, 'options.host', HOST_KEYS) as RouterHostOptions;
    if (typeof o.port !== 'object' || o.port === null || Array.isArray(o.port)) invalid('options.port', 'an object of XdpPort options', o.port);
    const portOptions = o.port as Record<string, unknown>;
    // The table decides what the XDP program captures.
    if ('capture' in portOptions) invalid('options.port.capture', 'no capture rules (the router derives them from the table)', portOptions.capture);
    if (!(o.table instanceof SliceTable)) invalid('options.table', 'a SliceTable', o.table);
    const refreshMs = o.neighbourRefreshMs ?? 1000;
    if (typeof refreshMs !== 'number' || !Number.isInteger(refreshMs) || refreshMs < 0) {
      invalid('options.neighbourRefreshMs', 'a whole number of milliseconds, 0 or more', refreshMs);
    }
    const lane = o.lane ?? 'auto';
    if (lane !== 'auto' && lane !== 'afxdp') invalid('options.lane', "'auto' or 'afxdp'", lane);
    const ifname = portOptions.interface;
    if (typeof ifname !== 'string') invalid('options.port.interface', 'an interface name', ifname);
    const facts = interfaceFacts(ifname);
    const host = hostSpec(facts, h, randomInt(2 ** 32));
    const table = o.table;
    // Fail on a bad table before touching the interface.
    compileTable(table, host, { generation: 0 });

    const port = await XdpPort.openForRouter(portOptions as unknown as XdpPortOptions);
    let neighbours: NextHops | undefined;
    try {
      neighbours = NextHops.open(ifname, { probeIntervalMs: refreshMs });
      const nativeRouter = new (native().NativeRouter)(XdpPort.internals(port).native);
      nativeRouter.setMode(lane === 'auto' ? ABI.modes.express : ABI.modes.afxdp);
      const router = new Router(port, nativeRouter, host, table, neighbours, lane);
      await router.publish(table);
      return router;
    } catch (error) {
      neighbours?.close();
      port.close();
      throw error;
    }
  }

  /** The table in use (a copy: change it and publish() to apply). */
  get table(): SliceTable {
    return this.#table.clone();
  }

  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Whether the XDP program, its link and its tables were taken over from an earlier router
   * (port option `pinDir`): they kept forwarding until this router's first publish.
   */
  get adopted(): boolean {
    return this.#port.mode.adopted;
  }

  /** The interface's driver as ethtool names it ('veth', 'mlx5_core'), '' when it names none. */
  get driver(): string {
    return this.#port.mode.driver;
  }

  /**
   * Makes `table` the one both lanes use: next hops are resolved, the table compiled and
   * checked, then the XDP program's tables and the workers' are swapped, each atomically.
   * Packets of slices that do not change owner are never dropped by a publish.
   *
   * `options.host` replaces the host settings of open() with the same table (addresses, GUE
   * port, trusted peers, flow hash seed; a setting left out keeps its value): they are part of
   * the table both lanes read, so a new list of trusted peers applies with the publish.
   */
  publish(table: SliceTable, options?: { host?: RouterHostOptions }): Promise<{ generation: number }> {
    if (!(table instanceof SliceTable)) invalid('table', 'a SliceTable', table);
    let host = this.#host;
    if (options !== undefined) {
      const o = checkObject(options, 'options', ['host']);
      if (o.host !== undefined) {
        const h = checkObject(o.host, 'options.host', HOST_KEYS) as RouterHostOptions;
        host = hostSpec(this.#host, { ...hostOptionsOf(this.#host), ...h }, this.#host.flowHashSeed ?? 0);
        // Refused here, before the queue: a bad setting never reaches a table.
        compileTable(table, host, { generation: 0 });
      }
    }
    const snapshot = table.clone();
    const done = this.#queue.then(() => this.#apply(snapshot, host));
    this.#queue = done.catch(() => undefined);
    return done;
  }

  async #apply(table: SliceTable, host: HostSpec): Promise<{ generation: number }> {
    if (this.#closed) throw new ClosedError('The router is closed');
    const hops = await this.#resolve(table);
    if (this.#closed) throw new ClosedError('The router is closed');
    const generation = this.#generation + 1;
    const nextHops = new Map<string, string>();
    for (const [owner, hop] of hops) if (hop.mac !== undefined) nextHops.set(owner, hop.mac);
    const compiled = compileTable(table, host, { generation, nextHops });
    const view = new (native().SliceView)(compiled.image);
    // Both lanes, each atomically: the XDP program's maps (a bank flip), then the workers' table
    // (a pointer swap). Packets of slices that keep their owner see no gap.
    this.#owners.published(generation, compiled.ownerIndex);
    this.#native.publish(view);
    this.#generation = generation;
    this.#table = table;
    this.#host = host;
    this.#nextHops = hops;
    // Free the previous table once every worker has moved past it.
    setTimeout(() => this.#reclaim(), 50).unref();
    return { generation };
  }

  /** Next hops of `table`'s owners, which NextHops follows from now on: answered from what
   * it knows, the kernel asked only about next hops it never saw. */
  async #resolve(table: SliceTable): Promise<Map<string, NextHop>> {
    const addresses = new Map<string, string>();
    for (const [name, owner] of table.owners()) {
      if (owner.kind === 'local' || (owner.kind === 'server' && owner.encap === 'l2')) continue;
      addresses.set(name, (owner.kind === 'server' ? owner.address : owner.endpoint).toString());
    }
    const byAddress = await this.#neighbours.resolve(addresses.values());
    return new Map([...addresses].map(([name, address]) => [name, byAddress.get(address)!]));
  }

  /** A next hop in use changed (NextHops 'change'): the table is published again with it. */
  async #refresh(): Promise<void> {
    if (this.#closed) return;
    const hops = await this.#resolve(this.#table);
    const changed = [...hops].some(([owner, hop]) => this.#nextHops.get(owner)?.mac !== hop.mac);
    if (changed && !this.#closed) await this.publish(this.#table).catch(() => undefined);
  }

  #reclaim(): void {
    if (this.#closed) return;
    if (this.#native.reclaim() > 0) setTimeout(() => this.#reclaim(), 50).unref();
  }

  /**
   * The slice of the table in use that decides packets to `destination`, `protocol`, `port`, and
   * its owner's definition; undefined when no slice covers them.
   */
  lookup(destination: IPv4 | IPv6, protocol: Protocol, port: number): { slice: SliceEntry; owner: OwnerSpec } | undefined {
    if (this.#closed) throw new ClosedError('The router is closed');
    const slice = this.#table.find(destination, protocol, port);
    return slice === undefined ? undefined : { slice, owner: this.#table.ownerSpec(slice.owner)! };
  }

  /**
   * What the router would do with `frame` (an Ethernet frame), without sending anything: the
   * same core decides, under the table in use, as the XDP program runs it and with its fragment
   * memory (a later fragment follows its first as it would on the wire), and `stage` says which
   * lane finishes it.
   */
  explain(frame: Uint8Array): Explanation {
    if (this.#closed) throw new ClosedError('The router is closed');
    if (!(frame instanceof Uint8Array)) invalid('frame', 'a Uint8Array holding an Ethernet frame', frame);
    if (frame.length > 65535) invalid('frame', 'an Ethernet frame of at most 65535 bytes', frame);
    const { fate, output, owner } = this.#native.explain(frame);
    return {
      fate,
      output,
      stage: stageOf(fate, this.#lane, this.#capture?.active === true),
      owner: owner < 0 ? null : this.#owners.name(this.#generation, owner) ?? null,
    };
  }

  /** A snapshot of every counter: fates, the XDP program, queues, unresolved next hops. */
  counters(): RouterCounters {
    if (this.#closed) throw new ClosedError('The router is closed');
    const port = this.#port.counters();
    const queues = port.queues.map((q, i) => ({ ...q, fates: named(ABI.routeCounters, this.#native.counters(i)) }));
    const xdp = named(ABI.routeCounters, this.#native.xdpCounters());
    const fates = { ...xdp };
    for (const q of queues) for (const key of Object.keys(fates) as (keyof RouteFates)[]) fates[key] += q.fates[key];
    const unresolvedOwners: Record<string, string> = {};
    for (const [owner, hop] of this.#nextHops) if (hop.problem !== undefined) unresolvedOwners[owner] = hop.problem;
    const retiredTables = this.#native.reclaim();
    this.#owners.finished(this.#native.takeFinished());
    const owners = this.#owners.snapshot(this.#native.ownerCounters());
    return { generation: Number(this.#native.generation()), lane: this.#lane, fates, xdp, program: port.program, queues, owners, unresolvedOwners, retiredTables };
  }

  /**
   * Starts writing every packet the fast path drops to a pcapng file, each with its reason (the
   * drop counter's name and description, the owner when known) as the packet's comment, until
   * stop(), or a limit of `options` is reached. One capture at a time. Costs nothing per packet
   * while no capture runs.
   */
  startDropCapture(options: DropCaptureOptions): DropCapture {
    if (this.#closed) throw new ClosedError('The router is closed');
    if (this.#capture?.active) captureRunning(this.#capture.path);
    this.#capture = new DropCapture(this.#native, this.#port.interface, options, (g, i) => this.#owners.name(g, i));
    return this.#capture;
  }

  /** The drop capture running now, if any. */
  get dropCapture(): DropCapture | undefined {
    return this.#capture?.active ? this.#capture : undefined;
  }

  /** An open router keeps the process alive; unref() lets it exit. */
  unref(): this {
    this.#port.unref();
    return this;
  }

  ref(): this {
    this.#port.ref();
    return this;
  }

  /**
   * Stops the workers and frees every table. The XDP program leaves the interface, unless the
   * port was opened with `pinDir`: then it stays, pinned, and keeps finishing in the kernel what
   * it can (XdpPort.removePinned ends that). Idempotent.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#neighbours.close();
    void this.#capture?.stop('closed');
    this.#native.close();
    this.#port.close();
  }
}

/** The compiler's host settings: the interface's facts, then the options (defaults filled in). */
function hostSpec(facts: { mac: string; mtu: number }, h: RouterHostOptions, seed: number): HostSpec {
  return {
    mac: facts.mac,
    mtu: facts.mtu,
    ...(h.ipv4 !== undefined && { ipv4: h.ipv4 }),
    ...(h.ipv6 !== undefined && { ipv6: h.ipv6 }),
    guePort: h.guePort ?? ABI.gue.defaultPort,
    flowHashSeed: h.flowHashSeed ?? seed,
    trustedPeers: h.trustedPeers ?? [],
  };
}

function hostOptionsOf(h: HostSpec): RouterHostOptions {
  const { mac: _mac, mtu: _mtu, ...rest } = h;
  return rest;
}

const PASSES = new Set(['pass_local', 'decap_local', 'pass_unmanaged', 'pass_unparsed']);

/** Which lane finishes a packet of `fate` (bpf/steer.bpf.c decides the same way). */
function stageOf(fate: string, lane: Lane, capturing: boolean): 'xdp' | 'worker' {
  if (PASSES.has(fate)) return 'xdp';
  if (lane === 'afxdp') return 'worker';
  const drop = fate.startsWith('drop_');
  return drop && capturing ? 'worker' : 'xdp';
}
