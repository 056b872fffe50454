// Next-hop MAC addresses for the owners the fast path encapsulates to, followed in the kernel's
// routing and neighbour tables through netlink (native/netlink; DESIGN.md "Things that bite").
// Used by Router: it asks resolve() on every publish and publishes again on 'change'.
import { EventEmitter } from 'node:events';

import { InterfaceNotFoundError } from '../errors.js';
import { native, type NativeNetlink, type NetlinkEvent, type NetlinkNeighbour } from '../native.js';

/** NUD_* states of a neighbour entry (linux/neighbour.h). */
const NUD = { INCOMPLETE: 0x01, REACHABLE: 0x02, STALE: 0x04, DELAY: 0x08, PROBE: 0x10, FAILED: 0x20, NOARP: 0x40, PERMANENT: 0x80 } as const;
/** Entries the kernel never probes. NTF_USE would even clear NUD_PERMANENT (neigh_add hands
 * __neigh_update `old & ~NUD_PERMANENT`): never probe these. */
const STATIC = NUD.NOARP | NUD.PERMANENT;
/** States the kernel leaves an entry in until someone sends to it: the fast path does, but
 * around the kernel, so we ask it to probe (a deleted entry counts as state 0). */
const NEEDS_PROBE = NUD.STALE | NUD.FAILED;
const IFF_UP = 0x1;
const IFF_LOWER_UP = 0x10000;
const RTN_UNICAST = 1;
/** Probes of one next hop that its own changes trigger are this far apart at least: a kernel
 * that answers every probe with another change must not make us spin. */
const PROBE_GAP_MS = 500;

export interface NextHop {
  /** The address traffic for the owner is sent to at layer 2: the gateway, or the owner. */
  via: string;
  /** Its MAC address, or undefined while the kernel has never known it. */
  mac: string | undefined;
  /** Why there is no MAC, for counters and logs. */
  problem?: string;
}

export interface NextHopsOptions {
  /** Milliseconds between requests that the kernel treat the next hops in use as used
   * (NTF_USE), so that it probes them when their reachable time is up instead of letting them
   * go STALE; 0: none. Below the kernel's delay_first_probe_time (5 s by default) an entry in
   * use never goes STALE. Either way a next hop in use that goes STALE or FAILED, or is
   * deleted, is probed at once. */
  probeIntervalMs: number;
  /** How long resolve() waits for the kernel to resolve a next hop it was never asked about
   * before. Default 1000. */
  resolveWaitMs?: number;
}

/** What NextHops asks the kernel: NativeNetlink's requests. */
export type NetlinkRequests = Pick<NativeNetlink, 'routeGet' | 'neighGet' | 'neighUse' | 'linkGet' | 'close'>;

interface Route {
  via: string;
  problem?: string;
}

/** What the kernel said last about a next hop. */
interface Neighbour {
  /** Kept until the kernel names another: a deleted or FAILED entry says nothing about it. */
  mac: string | undefined;
  state: number;
  lastProbe: number;
}

const sameHop = (a: NextHop | undefined, b: NextHop): boolean => a !== undefined && a.via === b.via && a.mac === b.mac && a.problem === b.problem;

/**
 * The next hops of one interface's owner addresses. Neighbour, route and link changes arrive
 * from the kernel as they happen; 'change' is emitted when the next hop of an address in use
 * (the last resolve()'s) differs from what was last handed out.
 */
export class NextHops extends EventEmitter<{ change: [] }> {
  readonly #netlink: NetlinkRequests;
  readonly #interfaceName: (index: number) => string | null;
  readonly #ifname: string;
  readonly #ifindex: number;
  readonly #resolveWaitMs: number;
  readonly #timer: NodeJS.Timeout | undefined;
  #linkUp = false;
  /** Owner addresses of the table in use: kept confirmed, their changes reported. */
  #inUse: ReadonlySet<string> = new Set();
  readonly #routes = new Map<string, Route>();
  /** By next-hop address: only those some route above goes through. */
  readonly #neighbours = new Map<string, Neighbour>();
  /** The next hop last handed out per owner address, by resolve() or with 'change'. */
  readonly #reported = new Map<string, NextHop>();
  readonly #waiters = new Set<() => void>();
  #resolving = 0;
  #closed = false;

  /** Follows the kernel's tables for `ifname` in this network namespace. */
  static open(ifname: string, options: NextHopsOptions): NextHops {
    const { NativeNetlink } = native();
    const ifindex = NativeNetlink.interfaceIndex(ifname);
    if (ifindex === 0) throw new InterfaceNotFoundError(`Expected an interface named '${ifname}' in this network namespace but there is none`);
    let hops: NextHops | undefined;
    const netlink = new NativeNetlink((events) => hops?.handle(events));
    try {
      // Following starts before anything is read, so that no change falls between a read
      // and the follower; changes queued meanwhile arrive in order after the reads.
      netlink.follow(ifindex);
      hops = new NextHops({ ifname, ifindex, netlink, interfaceName: (index) => NativeNetlink.interfaceName(index) }, options);
    } catch (error) {
      netlink.close();
      throw error;
    }
    return hops;
  }

  /** Use open(); this is the seam for tests, which hand in the requests and call handle(). */
  constructor(
    kernel: { ifname: string; ifindex: number; netlink: NetlinkRequests; interfaceName: (index: number) => string | null },
    options: NextHopsOptions,
  ) {
    super();
    this.#netlink = kernel.netlink;
    this.#interfaceName = kernel.interfaceName;
    this.#ifname = kernel.ifname;
    this.#ifindex = kernel.ifindex;
    this.#resolveWaitMs = options.resolveWaitMs ?? 1000;
    this.#linkUp = this.#readLink();
    this.#timer = options.probeIntervalMs > 0 ? setInterval(() => this.#probeInUse(), options.probeIntervalMs).unref() : undefined;
  }

  /**
   * The next hop of each of `addresses` (owner addresses reached through this interface),
   * which are the ones in use from now on. A next hop the kernel was never asked about is
   * resolved first (NTF_USE), waiting up to resolveWaitMs for the kernel's answer.
   */
  async resolve(addresses: Iterable<string>): Promise<Map<string, NextHop>> {
    const inUse = new Set(addresses);
    this.#inUse = inUse;
    const asked = [...inUse].filter((a) => !this.#routes.has(a));
    for (const a of asked) this.#lookUpRoute(a);
    // Waits only for next hops asked about just now: one the kernel already failed to
    // resolve would stall every publish. A later answer arrives through 'change'.
    const waiting = asked.filter((a) => this.#nextHop(a).mac === undefined && this.#routes.get(a)?.problem === undefined);
    this.#resolving++;
    try {
      if (waiting.length > 0) await this.#until(() => waiting.every((a) => this.#nextHop(a).mac !== undefined), this.#resolveWaitMs);
    } finally {
      this.#resolving--;
    }
    const hops = new Map<string, NextHop>();
    for (const a of inUse) hops.set(a, this.#nextHop(a));
    for (const [a, hop] of hops) this.#reported.set(a, hop);
    if (this.#resolving === 0) this.#forgetUnused();
    return hops;
  }

  /** Applies a batch of changes as the netlink follower delivers them (public for tests). */
  handle(events: readonly NetlinkEvent[]): void {
    if (this.#closed) return;
    let routes = false;
    let cameUp = false;
    for (const e of events) {
      if (e.kind === 'neigh') this.#onNeighbour(e);
      else if (e.kind === 'route') routes = true;
      else if (e.kind === 'link') {
        if (e.ifindex !== this.#ifindex) continue;
        const up = !e.deleted && (e.flags & IFF_UP) !== 0 && (e.flags & IFF_LOWER_UP) !== 0;
        cameUp ||= up && !this.#linkUp;
        this.#linkUp = up;
      } else {
        this.#resync();
        routes = true;
      }
    }
    if (routes || cameUp) for (const a of this.#routes.keys()) this.#lookUpRoute(a);
    // With the carrier the kernel dropped its entries; it learns them again when asked. The
    // fast path keeps sending to the MAC it knows meanwhile.
    if (cameUp) this.#probeInUse();
    this.#settle();
  }

  /** Stops following the kernel. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#netlink.close();
    for (const wake of this.#waiters) wake();
  }

  #readLink(): boolean {
    const link = this.#netlink.linkGet(this.#ifindex);
    return link.error === null && (link.flags & IFF_UP) !== 0 && (link.flags & IFF_LOWER_UP) !== 0;
  }

  #onNeighbour(e: NetlinkNeighbour): void {
    const n = this.#neighbours.get(e.address);
    if (n === undefined || e.ifindex !== this.#ifindex) return;
    n.state = e.deleted ? 0 : e.state;
    // A valid entry's address is the kernel's word; a deleted, INCOMPLETE or FAILED entry
    // (a link that went down, a peer that did not answer for a while) says nothing about it.
    if (!e.deleted && e.lladdr !== null) n.mac = e.lladdr;
    if ((n.state === 0 || (n.state & NEEDS_PROBE) !== 0) && this.#viaInUse(e.address)) this.#probe(e.address, n, false);
  }

  #lookUpRoute(address: string): Route {
    const answer = this.#netlink.routeGet(address);
    const via = answer.gateway ?? address;
    let route: Route = { via };
    if (answer.error !== null) route = { via: address, problem: `no route to ${address}` };
    else if (answer.oif !== this.#ifindex) route = { via, problem: `the route to ${address} leaves through ${this.#interfaceName(answer.oif) ?? 'nothing'}, not ${this.#ifname}` };
    else if (answer.type !== RTN_UNICAST) route = { via, problem: `the route to ${address} is not a unicast route (type ${answer.type})` };
    const known = this.#routes.get(address);
    // A link that is down has lost its routes (or has them marked dead); the route that held
    // before is the best guess for when it is back, and the kernel says so then.
    if (route.problem !== undefined && known !== undefined && known.problem === undefined && !this.#linkUp) return known;
    this.#routes.set(address, route);
    if (route.problem === undefined) this.#track(route.via);
    return route;
  }

  /** Starts following a next hop: what the kernel knows now, and a probe if that is nothing. */
  #track(via: string): void {
    if (this.#neighbours.has(via)) return;
    const n: Neighbour = { mac: undefined, state: 0, lastProbe: -Infinity };
    const entry = this.#netlink.neighGet(this.#ifindex, via);
    if (entry.error === null) {
      n.state = entry.state ?? 0;
      n.mac = entry.lladdr ?? undefined;
    }
    this.#neighbours.set(via, n);
    if (n.mac === undefined || (n.state & NEEDS_PROBE) !== 0) this.#probe(via, n, true);
  }

  /** Asks the kernel to treat `via` as used: it probes a stale entry and resolves a missing
   * or failed one (softunicast/netlink.h, su_nl_neigh_use). */
  #probe(via: string, n: Neighbour, force: boolean): void {
    const now = performance.now();
    if (this.#closed || !this.#linkUp || (n.state & STATIC) !== 0 || (!force && now - n.lastProbe < PROBE_GAP_MS)) return;
    n.lastProbe = now;
    // The kernel refuses only for a missing interface or one going down: the link change
    // that follows probes again, and the MAC in use stays meanwhile.
    this.#netlink.neighUse(this.#ifindex, via);
  }

  #probeInUse(): void {
    for (const address of this.#inUse) {
      const route = this.#routes.get(address);
      const n = route === undefined || route.problem !== undefined ? undefined : this.#neighbours.get(route.via);
      if (n !== undefined) this.#probe(route!.via, n, true);
    }
  }

  #viaInUse(via: string): boolean {
    for (const address of this.#inUse) if (this.#routes.get(address)?.via === via) return true;
    return false;
  }

  #nextHop(address: string): NextHop {
    const route = this.#routes.get(address) ?? this.#lookUpRoute(address);
    if (route.problem !== undefined) return { via: route.via, mac: undefined, problem: route.problem };
    const mac = this.#neighbours.get(route.via)?.mac;
    return mac === undefined ? { via: route.via, mac, problem: `the kernel has no MAC address for ${route.via} on ${this.#ifname}` } : { via: route.via, mac };
  }

  /** After lost changes (the socket's buffer overflowed): everything read again. */
  #resync(): void {
    this.#linkUp = this.#readLink();
    for (const [via, n] of this.#neighbours) {
      const entry = this.#netlink.neighGet(this.#ifindex, via);
      n.state = entry.error === null ? (entry.state ?? 0) : 0;
      if (entry.error === null && entry.lladdr != null) n.mac = entry.lladdr;
    }
  }

  /** Wakes resolve()s that wait, and reports next hops in use that changed: unless a
   * resolve() is under way, which hands out the addresses in use as they are when it ends. */
  #settle(): void {
    for (const wake of this.#waiters) wake();
    if (this.#resolving > 0) return;
    let changed = false;
    for (const address of this.#inUse) {
      const hop = this.#nextHop(address);
      if (sameHop(this.#reported.get(address), hop)) continue;
      this.#reported.set(address, hop);
      changed = true;
    }
    if (changed) this.emit('change');
  }

  #until(done: () => boolean, ms: number): Promise<void> {
    return new Promise((resolve) => {
      const finish = (): void => {
        clearTimeout(timer);
        this.#waiters.delete(check);
        resolve();
      };
      const check = (): void => {
        if (done() || this.#closed) finish();
      };
      const timer = setTimeout(finish, ms);
      this.#waiters.add(check);
    });
  }

  #forgetUnused(): void {
    for (const address of [...this.#routes.keys(), ...this.#reported.keys()]) {
      if (this.#inUse.has(address)) continue;
      this.#routes.delete(address);
      this.#reported.delete(address);
    }
    const vias = new Set([...this.#routes.values()].map((r) => r.via));
    for (const via of this.#neighbours.keys()) if (!vias.has(via)) this.#neighbours.delete(via);
  }
}
