// Router: a soft-unicast node. Opens an XdpPort and runs the one core (native/core) in both of its
// lanes: the XDP program finishes what the kernel can (the express lane), the AF_XDP workers the
// rest. One compiled SliceTable feeds both, published to each atomically.
import { randomInt } from 'node:crypto';

import type { IPv4, IPv6 } from 'ip-num';

import { ClosedError, invalid } from '../errors.js';
import { ABI } from '../generated/abi.js';
import { native, type NativeRouter } from '../native.js';
import type { HostSpec } from '../slices/compile.js';
import { parseMac } from '../slices/owner.js';
import { SliceTable } from '../slices/table.js';
import type { OwnerSpec, SliceEntry } from '../slices/types.js';
import type { Protocol } from '../fields.js';
import { named } from '../xdp/counters.js';
import { openFastPathPort, type XdpPort } from '../xdp/port.js';
import { captureRunning, DropCapture, type DropCaptureOptions } from './drop-capture.js';
import { checkHealthSetting, movedBetween, type FallbackRoutes } from './fallback.js';
import { interfaceFacts } from './interface.js';
import { NextHops, type NextHop } from './next-hops.js';
import { checkObject, hostSpec, openSettings, updatedHost, type Lane, type RouterHostOptions, type RouterOptions } from './options.js';
import { OwnerTotals } from './owner-counters.js';
import { healthSettings, PeerHealth, type HealthChange, type HealthEvent, type HealthSetting } from './peer-health.js';
import { udpProbes } from './probe-socket.js';
import { prepareTable, resolveNextHops, type Prepared } from './publication.js';
import { stageOf, sumFates, type Explanation, type RouterCounters } from './reports.js';

export type { Lane, RouterHostOptions, RouterOptions } from './options.js';
export type { Explanation, RouteFates, RouterCounters } from './reports.js';

export class Router {
  readonly #port: XdpPort;
  readonly #native: NativeRouter;
  #host: HostSpec;
  readonly #neighbours: NextHops;
  #table: SliceTable;
  /** #table with the slices of down owners given to their fallbacks: what the fast path uses. */
  #effective: SliceTable;
  #routes: FallbackRoutes = new Map();
  readonly #health: PeerHealth;
  readonly #healthListeners = new Set<(event: HealthEvent) => void>();
  #nextHops = new Map<string, NextHop>();
  #generation = 0;
  readonly #owners = new OwnerTotals();
  #capture: DropCapture | undefined;
  #closed = false;
  readonly #lane: Lane;
  /** Publications run one at a time, in call order. */
  #queue: Promise<unknown> = Promise.resolve();
  /** Owner name -> index of its record in the table in use (compileTable's ownerIndex). */
  #ownerIndex: ReadonlyMap<string, number> = new Map();

  private constructor(port: XdpPort, nativeRouter: NativeRouter, first: Prepared, neighbours: NextHops, lane: Lane, health: PeerHealth) {
    this.#port = port;
    this.#lane = lane;
    this.#native = nativeRouter;
    this.#host = first.host;
    this.#table = first.table;
    this.#effective = first.effective;
    this.#neighbours = neighbours;
    this.#health = health;
    neighbours.on('change', () => void this.#refresh());
  }

  /**
   * Attaches to `options.port.interface`, publishes `options.table` and starts forwarding.
   * Rejects with a typed error for bad options, an invalid table or an unusable interface.
   */
  static async open(options: RouterOptions): Promise<Router> {
    const s = openSettings(options);
    const host = hostSpec(interfaceFacts(s.ifname), s.host, randomInt(2 ** 32));
    let router: Router | undefined;
    const health = new PeerHealth(
      healthSettings(s.health),
      (onReply) => udpProbes(() => (router === undefined ? host : router.#host), onReply),
      (change) => {
        if (router !== undefined) router.#healthChanged(change);
      },
    );
    const neighbours = NextHops.open(s.ifname, { probeIntervalMs: s.refreshMs });
    // A next hop that changes before the router listens is looked at again once it does.
    let changedEarly = false;
    const early = (): void => {
      changedEarly = true;
    };
    neighbours.on('change', early);
    try {
      // The first table, compiled once and before the interface is touched: a bad one fails here.
      const first = await prepareTable(s.table, host, 1, health, neighbours);
      const { port, fastPath } = await openFastPathPort(s.port);
      try {
        fastPath.setMode(s.lane === 'auto' ? ABI.modes.express : ABI.modes.afxdp);
        router = new Router(port, fastPath, first, neighbours, s.lane, health);
        router.#install(first);
      } catch (error) {
        port.close();
        throw error;
      }
      neighbours.off('change', early);
      if (changedEarly) void router.#refresh();
      health.start();
      return router;
    } catch (error) {
      health.close();
      neighbours.close();
      throw error;
    }
  }

  /**
   * The table as last published (a copy: change it and publish() to apply). While an owner is
   * down its slices go to its fallback: lookup() and the fast path use that table.
   */
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
      // Refused here, before the queue: a bad setting never reaches a table.
      if (o.host !== undefined) host = updatedHost(this.#host, o.host);
    }
    return this.#enqueue(table.clone(), host).then(({ generation }) => ({ generation }));
  }

  #enqueue(table: SliceTable, host: HostSpec): Promise<{ generation: number; moved: HealthEvent['moved'] }> {
    const done = this.#queue.then(() => this.#apply(table, host));
    this.#queue = done.catch(() => undefined);
    return done;
  }

  async #apply(table: SliceTable, host: HostSpec): Promise<{ generation: number; moved: HealthEvent['moved'] }> {
    if (this.#closed) throw new ClosedError('The router is closed');
    const prepared = await prepareTable(table, host, this.#generation + 1, this.#health, this.#neighbours);
    if (this.#closed) throw new ClosedError('The router is closed');
    const moved = movedBetween(this.#routes, prepared.routes);
    this.#install(prepared);
    return { generation: prepared.compiled.generation, moved };
  }

  /** Both lanes, each atomically: the XDP program's maps (a bank flip), then the workers' table
   * (a pointer swap). Packets of slices that keep their owner see no gap. The table replaced is
   * freed by the native router once no worker reads it. */
  #install(p: Prepared): void {
    const view = new (native().SliceView)(p.compiled.image);
    this.#owners.published(p.compiled.generation, p.compiled.ownerIndex);
    this.#native.publish(view);
    this.#ownerIndex = p.compiled.ownerIndex;
    this.#generation = p.compiled.generation;
    this.#table = p.table;
    this.#effective = p.effective;
    this.#routes = p.routes;
    this.#host = p.host;
    this.#nextHops = p.hops;
  }

  /** An owner went down or came back: the table is published again with its slices where they go now. */
  #healthChanged(change: HealthChange): void {
    if (this.#closed) return;
    const spec = this.#table.ownerSpec(change.owner);
    const event = (moved: HealthEvent['moved']): HealthEvent => ({
      ...change,
      moved,
      slicesTo: this.#routes.get(change.owner) ?? change.owner,
      fallback: spec !== undefined && spec.kind !== 'local' ? spec.fallback : undefined,
    });
    this.#enqueue(this.#table, this.#host).then(
      ({ moved }) => this.#emitHealth(event(moved)),
      () => this.#emitHealth(event([])),
    );
  }

  #emitHealth(event: HealthEvent): void {
    if (this.#closed) return;
    for (const listener of this.#healthListeners) listener(event);
  }

  /**
   * Calls `listener` on every change of an owner's health (probes or setHealth()), once the
   * table it leads to is in use. Returns a function that stops it.
   */
  onHealthChange(listener: (event: HealthEvent) => void): () => void {
    if (typeof listener !== 'function') invalid('listener', 'a function', listener);
    this.#healthListeners.add(listener);
    return () => this.#healthListeners.delete(listener);
  }

  /**
   * The operator's word on a server or data centre owner of the table in use, over what the
   * probes say: 'down' gives its slices to its fallback (if that is up), 'up' keeps them, 'auto'
   * hands the decision back to the probes. Throws at once for an owner or setting it refuses;
   * the promise resolves once the resulting table is in use.
   */
  setHealth(owner: string, setting: HealthSetting): Promise<void> {
    if (this.#closed) throw new ClosedError('The router is closed');
    checkHealthSetting(this.#table, owner, setting);
    this.#health.set(owner, setting);
    return this.#queue.then(() => undefined);
  }

  /**
   * A next hop in use changed (NextHops 'change'). A new or changed MAC address goes into the
   * forwarding records of the table in use at once, in both lanes, without a publish (a
   * million-slice table takes a second to publish; a MAC address should not wait for that). A
   * next hop lost, or an owner the table in use does not hold, takes a new table.
   */
  async #refresh(): Promise<void> {
    if (this.#closed) return;
    const hops = await resolveNextHops(this.#neighbours, this.#effective);
    const changed = [...hops].filter(([owner, hop]) => this.#nextHops.get(owner)?.mac !== hop.mac);
    if (changed.length === 0 || this.#closed) return;
    if (!changed.every(([owner, hop]) => hop.mac !== undefined && this.#ownerIndex.has(owner))) {
      await this.publish(this.#table).catch(() => undefined);
      return;
    }
    // In the publications' queue: never between a publish's compile and its swap.
    const done = this.#queue.then(() => {
      if (this.#closed) return;
      for (const [owner, hop] of changed) {
        this.#native.setNextHop(this.#ownerIndex.get(owner)!, parseMac(hop.mac, 'mac'));
        this.#nextHops.set(owner, hop);
      }
    });
    this.#queue = done.catch(() => undefined);
    await done.catch(() => undefined);
  }

  /**
   * The slice of the table in use that decides packets to `destination`, `protocol`, `port`, and
   * its owner's definition; undefined when no slice covers them.
   */
  lookup(destination: IPv4 | IPv6, protocol: Protocol, port: number): { slice: SliceEntry; owner: OwnerSpec } | undefined {
    if (this.#closed) throw new ClosedError('The router is closed');
    const slice = this.#effective.find(destination, protocol, port);
    return slice === undefined ? undefined : { slice, owner: this.#effective.ownerSpec(slice.owner)! };
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

  /** A snapshot of every counter: fates, the XDP program, queues, unresolved next hops, peer health. */
  counters(): RouterCounters {
    if (this.#closed) throw new ClosedError('The router is closed');
    const port = this.#port.counters();
    const queues = port.queues.map((q, i) => ({ ...q, fates: named(ABI.routeCounters, this.#native.counters(i)) }));
    const xdp = named(ABI.routeCounters, this.#native.xdpCounters());
    const fates = sumFates(xdp, queues);
    const unresolvedOwners: Record<string, string> = {};
    for (const [owner, hop] of this.#nextHops) if (hop.problem !== undefined) unresolvedOwners[owner] = hop.problem;
    const retiredTables = this.#native.retiredTables();
    this.#owners.finished(this.#native.takeFinished());
    const owners = this.#owners.snapshot(this.#native.ownerCounters());
    const health: RouterCounters['health'] = {};
    for (const [owner, h] of Object.entries(this.#health.snapshot())) health[owner] = { ...h, slicesTo: this.#routes.get(owner) ?? owner };
    return { generation: Number(this.#native.generation()), lane: this.#lane, fates, xdp, program: port.program, queues, owners, unresolvedOwners, health, retiredTables };
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
    this.#health.close();
    this.#neighbours.close();
    void this.#capture?.stop('closed');
    this.#native.close();
    this.#port.close();
  }
}
