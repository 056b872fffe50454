// NextHops' policy against a scripted kernel (no root): what it answers for an owner address,
// which changes it reports, that it keeps a MAC address until the kernel names another, and
// when it asks the kernel to probe. The real kernel is test/netns/neighbours.test.ts's.
import { afterEach, describe, expect, it, vi } from 'vitest';

import type { NetlinkEvent, NetlinkRoute } from '../../src/native.js';
import { NextHops, type NetlinkRequests } from '../../src/router/next-hops.js';

const ETH0 = 2;
const OTHER = 3;
const UP = 0x1 | 0x10000; // IFF_UP | IFF_LOWER_UP
const NUD = { INCOMPLETE: 0x01, REACHABLE: 0x02, STALE: 0x04, DELAY: 0x08, FAILED: 0x20, PERMANENT: 0x80 };
const MAC_A = '02:00:00:00:00:0a';
const MAC_B = '02:00:00:00:00:0b';

/** The kernel as NextHops sees it: routes, neighbour entries and the link, changed by the test. */
class Kernel implements NetlinkRequests {
  routes = new Map<string, Omit<NetlinkRoute, 'error'>>();
  neighbours = new Map<string, { state: number; lladdr: string | null }>();
  linkFlags = UP;
  /** Every NTF_USE asked for, in order. */
  used: string[] = [];
  closed = false;

  routeGet(address: string): NetlinkRoute {
    const route = this.routes.get(address);
    return route === undefined ? { error: 'ENETUNREACH', type: 0, oif: 0, gateway: null } : { error: null, ...route };
  }
  neighGet(_ifindex: number, address: string) {
    const n = this.neighbours.get(address);
    return n === undefined ? { error: 'ENOENT' } : { error: null, ...n };
  }
  neighUse(_ifindex: number, address: string): string | null {
    this.used.push(address);
    return null;
  }
  linkGet() {
    return { error: null, flags: this.linkFlags };
  }
  close(): void {
    this.closed = true;
  }
}

const onLink = (): Omit<NetlinkRoute, 'error'> => ({ type: 1, oif: ETH0, gateway: null });
const neigh = (address: string, state: number, lladdr: string | null, deleted = false): NetlinkEvent =>
  ({ kind: 'neigh', family: 4, ifindex: ETH0, address, state, flags: 0, lladdr, deleted });
const link = (flags: number): NetlinkEvent => ({ kind: 'link', ifindex: ETH0, flags, deleted: false });

let opened: NextHops[] = [];
function open(kernel: Kernel, options: { probeIntervalMs?: number; resolveWaitMs?: number } = {}): NextHops {
  const hops = new NextHops(
    { ifname: 'eth0', ifindex: ETH0, netlink: kernel, interfaceName: (i) => (i === OTHER ? 'eth1' : null) },
    { probeIntervalMs: options.probeIntervalMs ?? 0, resolveWaitMs: options.resolveWaitMs ?? 20 },
  );
  opened.push(hops);
  return hops;
}
afterEach(() => {
  for (const h of opened) h.close();
  opened = [];
  vi.useRealTimers();
});

/** A kernel where 10.0.0.2 is on-link with MAC_A, REACHABLE. */
function peerKernel(): Kernel {
  const kernel = new Kernel();
  kernel.routes.set('10.0.0.2', onLink());
  kernel.neighbours.set('10.0.0.2', { state: NUD.REACHABLE, lladdr: MAC_A });
  return kernel;
}

describe('NextHops answers', () => {
  it('the MAC of an on-link owner, and of the gateway for one behind it', async () => {
    const kernel = peerKernel();
    kernel.routes.set('192.0.2.9', { type: 1, oif: ETH0, gateway: '10.0.0.2' });
    const hops = await open(kernel).resolve(['10.0.0.2', '192.0.2.9']);
    expect(Object.fromEntries(hops)).toEqual({
      '10.0.0.2': { via: '10.0.0.2', mac: MAC_A },
      '192.0.2.9': { via: '10.0.0.2', mac: MAC_A },
    });
  });

  it('why there is no MAC: no route, a route through another interface, a next hop the kernel cannot resolve', async () => {
    const kernel = new Kernel();
    kernel.routes.set('10.0.1.2', { type: 1, oif: OTHER, gateway: null });
    kernel.routes.set('10.0.0.3', onLink());
    const hops = await open(kernel).resolve(['10.9.9.9', '10.0.1.2', '10.0.0.3']);
    expect(Object.fromEntries(hops)).toEqual({
      '10.9.9.9': { via: '10.9.9.9', mac: undefined, problem: 'no route to 10.9.9.9' },
      '10.0.1.2': { via: '10.0.1.2', mac: undefined, problem: 'the route to 10.0.1.2 leaves through eth1, not eth0' },
      '10.0.0.3': { via: '10.0.0.3', mac: undefined, problem: 'the kernel has no MAC address for 10.0.0.3 on eth0' },
    });
    // The unknown next hop was handed to the kernel to resolve.
    expect(kernel.used).toEqual(['10.0.0.3']);
  });

  it('waits for the kernel to resolve a next hop it was never asked about', async () => {
    const kernel = new Kernel();
    kernel.routes.set('10.0.0.3', onLink());
    const hops = open(kernel, { resolveWaitMs: 60_000 });
    const answer = hops.resolve(['10.0.0.3']);
    expect(kernel.used).toEqual(['10.0.0.3']);
    hops.handle([neigh('10.0.0.3', NUD.REACHABLE, MAC_B)]);
    expect((await answer).get('10.0.0.3')).toEqual({ via: '10.0.0.3', mac: MAC_B });
  });
});

describe('NextHops follows the kernel', () => {
  it('hands a change that arrives while resolve() waits to that resolve(), without reporting it too', async () => {
    const kernel = peerKernel();
    kernel.routes.set('10.0.0.3', onLink());
    const hops = open(kernel, { resolveWaitMs: 60_000 });
    const change = vi.fn();
    hops.on('change', change);
    const answer = hops.resolve(['10.0.0.2', '10.0.0.3']);
    hops.handle([neigh('10.0.0.2', NUD.REACHABLE, MAC_B), neigh('10.0.0.3', NUD.REACHABLE, MAC_A)]);
    expect(Object.fromEntries(await answer)).toEqual({
      '10.0.0.2': { via: '10.0.0.2', mac: MAC_B },
      '10.0.0.3': { via: '10.0.0.3', mac: MAC_A },
    });
    hops.handle([neigh('10.0.0.2', NUD.REACHABLE, MAC_B)]);
    expect(change).not.toHaveBeenCalled();
  });

  it('reports a new MAC address at once', async () => {
    const hops = open(peerKernel());
    await hops.resolve(['10.0.0.2']);
    const change = vi.fn();
    hops.on('change', change);
    hops.handle([neigh('10.0.0.2', NUD.STALE, MAC_B)]);
    expect(change).toHaveBeenCalledTimes(1);
    expect((await hops.resolve(['10.0.0.2'])).get('10.0.0.2')).toEqual({ via: '10.0.0.2', mac: MAC_B });
  });

  it('keeps the MAC address while the kernel only forgets it (deleted, INCOMPLETE, FAILED), and asks the kernel to find the peer again', async () => {
    const kernel = peerKernel();
    const hops = open(kernel);
    await hops.resolve(['10.0.0.2']);
    const change = vi.fn();
    hops.on('change', change);
    hops.handle([neigh('10.0.0.2', NUD.FAILED, null), neigh('10.0.0.2', NUD.INCOMPLETE, null), neigh('10.0.0.2', 0, MAC_A, true)]);
    expect(change).not.toHaveBeenCalled();
    expect((await hops.resolve(['10.0.0.2'])).get('10.0.0.2')).toEqual({ via: '10.0.0.2', mac: MAC_A });
    // One probe for the burst: probes that the kernel's own answers trigger are spaced out.
    expect(kernel.used).toEqual(['10.0.0.2']);
  });

  it('keeps the route and the MAC address across a link flap, and asks the kernel to confirm the peer when the link is back', async () => {
    const kernel = peerKernel();
    const hops = open(kernel);
    await hops.resolve(['10.0.0.2']);
    const change = vi.fn();
    hops.on('change', change);
    // Down: the kernel drops the link's routes and neighbours.
    kernel.routes.clear();
    kernel.neighbours.clear();
    hops.handle([link(0x1), { kind: 'route' }, neigh('10.0.0.2', NUD.REACHABLE, MAC_A, true)]);
    // Up: its routes come back, its neighbours do not.
    kernel.routes.set('10.0.0.2', onLink());
    hops.handle([link(UP), { kind: 'route' }]);
    expect(change).not.toHaveBeenCalled();
    expect((await hops.resolve(['10.0.0.2'])).get('10.0.0.2')).toEqual({ via: '10.0.0.2', mac: MAC_A });
    expect(kernel.used, 'no probe while down, one when up').toEqual(['10.0.0.2']);
  });

  it('reports a route that moves to another interface while the link is up', async () => {
    const kernel = peerKernel();
    const hops = open(kernel);
    await hops.resolve(['10.0.0.2']);
    const change = vi.fn();
    hops.on('change', change);
    kernel.routes.set('10.0.0.2', { type: 1, oif: OTHER, gateway: null });
    hops.handle([{ kind: 'route' }]);
    expect(change).toHaveBeenCalledTimes(1);
    expect((await hops.resolve(['10.0.0.2'])).get('10.0.0.2')?.problem).toBe('the route to 10.0.0.2 leaves through eth1, not eth0');
  });

  it('reads everything again after lost changes (overrun)', async () => {
    const kernel = peerKernel();
    const hops = open(kernel);
    await hops.resolve(['10.0.0.2']);
    const change = vi.fn();
    hops.on('change', change);
    kernel.neighbours.set('10.0.0.2', { state: NUD.REACHABLE, lladdr: MAC_B });
    hops.handle([{ kind: 'overrun' }]);
    expect(change).toHaveBeenCalledTimes(1);
    expect((await hops.resolve(['10.0.0.2'])).get('10.0.0.2')?.mac).toBe(MAC_B);
  });

  it('ignores neighbours no owner in use goes through', async () => {
    const kernel = peerKernel();
    const hops = open(kernel);
    await hops.resolve(['10.0.0.2']);
    const change = vi.fn();
    hops.on('change', change);
    hops.handle([neigh('10.0.0.7', NUD.STALE, MAC_B), neigh('10.0.0.7', NUD.FAILED, null)]);
    expect({ change: change.mock.calls.length, used: kernel.used }).toEqual({ change: 0, used: [] });
  });
});

describe('NextHops keeps next hops in use confirmed', () => {
  it('asks the kernel every probeIntervalMs to treat them as used, and stops when closed', async () => {
    vi.useFakeTimers();
    const kernel = peerKernel();
    kernel.routes.set('10.0.0.5', onLink());
    kernel.neighbours.set('10.0.0.5', { state: NUD.REACHABLE, lladdr: MAC_B });
    const hops = open(kernel, { probeIntervalMs: 1000 });
    await hops.resolve(['10.0.0.2']);
    vi.advanceTimersByTime(3000);
    expect(kernel.used).toEqual(['10.0.0.2', '10.0.0.2', '10.0.0.2']);
    hops.close();
    vi.advanceTimersByTime(3000);
    expect({ used: kernel.used.length, closed: kernel.closed }).toEqual({ used: 3, closed: true });
  });

  it('probes a next hop in use as soon as it goes STALE', async () => {
    const kernel = peerKernel();
    const hops = open(kernel, { probeIntervalMs: 0 });
    await hops.resolve(['10.0.0.2']);
    hops.handle([neigh('10.0.0.2', NUD.STALE, MAC_A)]);
    expect(kernel.used).toEqual(['10.0.0.2']);
  });

  it('never probes a permanent entry (NTF_USE would clear its NUD_PERMANENT)', async () => {
    vi.useFakeTimers();
    const kernel = peerKernel();
    kernel.routes.set('10.0.0.6', onLink());
    kernel.neighbours.set('10.0.0.6', { state: NUD.PERMANENT, lladdr: MAC_B });
    const hops = open(kernel, { probeIntervalMs: 1000 });
    const answer = await hops.resolve(['10.0.0.2', '10.0.0.6']);
    vi.advanceTimersByTime(2000);
    expect({ mac: answer.get('10.0.0.6')?.mac, used: kernel.used }).toEqual({ mac: MAC_B, used: ['10.0.0.2', '10.0.0.2'] });
  });

  it('does not probe at all with probeIntervalMs 0 while nothing changes', async () => {
    vi.useFakeTimers();
    const kernel = peerKernel();
    const hops = open(kernel, { probeIntervalMs: 0 });
    await hops.resolve(['10.0.0.2']);
    vi.advanceTimersByTime(10_000);
    expect(kernel.used).toEqual([]);
  });
});
