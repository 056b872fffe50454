// Router: a soft-unicast node. Opens an XdpPort, runs the C fast path on its queues, and keeps
// three views of one SliceTable in step: the fast path's table image, the XDP program's local
// view, and the capture rules that hand managed traffic to the fast path.
import { randomInt } from 'node:crypto';

import type { IPv4, IPv4CidrRange, IPv6, IPv6CidrRange } from 'ip-num';

import { ClosedError, invalid } from '../errors.js';
import { ABI } from '../generated/abi.js';
import { native, type NativeRouter, type NativeSliceView } from '../native.js';
import { compileTable, type CompiledTable, type HostSpec } from '../slices/compile.js';
import { unionOfEncodedRules } from '../slices/local-view.js';
import { SliceTable } from '../slices/table.js';
import type { OwnerSpec, Protocol, SliceEntry } from '../slices/types.js';
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
}

/** Every counter of a router: plain numbers and strings, so that JSON.stringify takes it. */
export interface RouterCounters {
  /** Generation of the table the fast path is using (0 before the first publish). */
  generation: number;
  /** Fates summed over queues. */
  fates: RouteFates;
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
  /** The frame the fast path would transmit, or null when it drops it. */
  output: Uint8Array | null;
}

const ROUTER_KEYS = ['port', 'host', 'table', 'neighbourRefreshMs'];
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
  readonly #host: HostSpec;
  readonly #neighbours: NextHops;
  #table: SliceTable;
  #compiled: CompiledTable | undefined;
  #explainView: NativeSliceView | undefined;
  #nextHops = new Map<string, NextHop>();
  #generation = 0;
  readonly #owners = new OwnerTotals();
  #capture: DropCapture | undefined;
  #closed = false;
  #lastCapture: Uint8Array | undefined;
  /** Publications run one at a time, in call order. */
  #queue: Promise<unknown> = Promise.resolve();

  private constructor(port: XdpPort, nativeRouter: NativeRouter, host: HostSpec, table: SliceTable, neighbours: NextHops) {
    this.#port = port;
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
    const h = checkObject(o.host, 'options.host', HOST_KEYS);
    if (typeof o.port !== 'object' || o.port === null || Array.isArray(o.port)) invalid('options.port', 'an object of XdpPort options', o.port);
    const portOptions = o.port as Record<string, unknown>;
    // The table decides what the XDP program captures.
    if ('capture' in portOptions) invalid('options.port.capture', 'no capture rules (the router derives them from the table)', portOptions.capture);
    if (!(o.table instanceof SliceTable)) invalid('options.table', 'a SliceTable', o.table);
    const refreshMs = o.neighbourRefreshMs ?? 1000;
    if (typeof refreshMs !== 'number' || !Number.isInteger(refreshMs) || refreshMs < 0) {
      invalid('options.neighbourRefreshMs', 'a whole number of milliseconds, 0 or more', refreshMs);
    }
    const ifname = portOptions.interface;
    if (typeof ifname !== 'string') invalid('options.port.interface', 'an interface name', ifname);
    const facts = interfaceFacts(ifname);
    const host: HostSpec = {
      mac: facts.mac,
      mtu: facts.mtu,
      ...(h.ipv4 !== undefined && { ipv4: h.ipv4 as IPv4 }),
      ...(h.ipv6 !== undefined && { ipv6: h.ipv6 as IPv6 }),
      guePort: (h.guePort as number | undefined) ?? ABI.gue.defaultPort,
      flowHashSeed: (h.flowHashSeed as number | undefined) ?? randomInt(2 ** 32),
      trustedPeers: (h.trustedPeers as RouterHostOptions['trustedPeers']) ?? [],
    };
    const table = o.table;
    // Fail on a bad table before touching the interface.
    compileTable(table, host, { generation: 0n });

    const port = await XdpPort.open(portOptions as unknown as XdpPortOptions);
    let neighbours: NextHops | undefined;
    try {
      neighbours = NextHops.open(ifname, { probeIntervalMs: refreshMs });
      const nativeRouter = new (native().NativeRouter)(XdpPort.internals(port).native);
      const router = new Router(port, nativeRouter, host, table, neighbours);
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
   * Makes `table` the one every queue uses: next hops are resolved, the table compiled and
   * checked, then the XDP program's local view and the fast path's table are swapped in, each
   * atomically. Packets of slices that do not change owner are never dropped by a publish.
   */
  publish(table: SliceTable): Promise<{ generation: number }> {
    if (!(table instanceof SliceTable)) invalid('table', 'a SliceTable', table);
    const snapshot = table.clone();
    const done = this.#queue.then(() => this.#apply(snapshot));
    this.#queue = done.catch(() => undefined);
    return done;
  }

  async #apply(table: SliceTable): Promise<{ generation: number }> {
    if (this.#closed) throw new ClosedError('The router is closed');
    const hops = await this.#resolve(table);
    if (this.#closed) throw new ClosedError('The router is closed');
    const generation = this.#generation + 1;
    const nextHops = new Map<string, string>();
    for (const [owner, hop] of hops) if (hop.mac !== undefined) nextHops.set(owner, hop.mac);
    const compiled = compileTable(table, this.#host, { generation: BigInt(generation), nextHops });
    const view = new (native().SliceView)(compiled.image);
    const internals = XdpPort.internals(this.#port);

    // Slices that change hands between this host and another meet no gap: the XDP program
    // first passes to the kernel what either table calls ours (a slice arriving is ours from
    // now on; one leaving stays ours until the fast path knows its new owner), then the fast
    // path takes the new table, then the XDP program narrows to the new local slices. Each
    // step waits until no packet still uses the view before it. When the two sets of local
    // rules together exceed the XDP program's limit, the new view goes first and packets of
    // slices leaving this host can meet the short window before the fast path's swap (each
    // one counted in drop_local). Slices that keep their owner never see either.
    const both = this.#compiled === undefined ? undefined : unionOfEncodedRules(this.#compiled.localRules, compiled.localRules);
    this.#port.setLocalView(both === undefined ? compiled : { ...compiled, localRules: both });
    this.#owners.published(generation, compiled.ownerIndex);
    this.#native.publish(view);
    if (both !== undefined && !sameBytes(both, compiled.localRules)) this.#port.setLocalView(compiled);
    if (this.#lastCapture === undefined || !sameBytes(this.#lastCapture, compiled.captureRules)) {
      internals.native.setCapture(compiled.captureRules);
      this.#lastCapture = compiled.captureRules;
    }
    this.#generation = generation;
    this.#table = table;
    this.#compiled = compiled;
    this.#nextHops = hops;
    this.#explainView = undefined;
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

  /** What the fast path would do with `frame` (an Ethernet frame), without sending anything. */
  explain(frame: Uint8Array): Explanation {
    if (this.#closed) throw new ClosedError('The router is closed');
    if (!(frame instanceof Uint8Array)) invalid('frame', 'a Uint8Array holding an Ethernet frame', frame);
    if (this.#compiled === undefined) return { fate: 'drop_no_table', output: null };
    this.#explainView ??= new (native().SliceView)(this.#compiled.image);
    return this.#explainView.explain(frame);
  }

  /** A snapshot of every counter: fates, the XDP program, queues, unresolved next hops. */
  counters(): RouterCounters {
    if (this.#closed) throw new ClosedError('The router is closed');
    const port = this.#port.counters();
    const queues = port.queues.map((q, i) => ({ ...q, fates: named(ABI.routeCounters, this.#native.counters(i)) }));
    const fates = named(ABI.routeCounters, new Float64Array(ABI.routeCounters.length));
    for (const q of queues) for (const key of Object.keys(fates) as (keyof RouteFates)[]) fates[key] += q.fates[key];
    const unresolvedOwners: Record<string, string> = {};
    for (const [owner, hop] of this.#nextHops) if (hop.problem !== undefined) unresolvedOwners[owner] = hop.problem;
    const retiredTables = this.#native.reclaim();
    this.#owners.finished(this.#native.takeFinished());
    const owners = this.#owners.snapshot(this.#native.ownerCounters());
    return { generation: Number(this.#native.generation()), fates, program: port.program, queues, owners, unresolvedOwners, retiredTables };
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

  /** Stops forwarding, detaches the XDP program, frees every table. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#neighbours.close();
    void this.#capture?.stop('closed');
    this.#native.close();
    this.#port.close();
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}
