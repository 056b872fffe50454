// src/netns/veth.ts: a veth pair between two fresh namespaces, addressed and up, registered for
// teardown before it exists. The netns tests' and the pps bench's usual starting point.
import { addPairAddresses, MAX_PAIRS, pairAddresses, type PairAddresses } from './addresses.js';
import { deleteNamespaces, errorsText } from './delete.js';
import { ip, readLink } from './iproute.js';
import { runName } from './names.js';
import { registerNamespace } from './registry.js';
import { sweepStaleOnce } from './teardown.js';
import { waitFor } from './wait.js';

export interface VethEnd {
  /** Namespace holding this end. The interface has the same name as its namespace. */
  ns: string;
  ifname: string;
  /** MAC address as the kernel reports it, lower-case aa:bb:cc:dd:ee:ff. */
  mac: string;
  /** IPv4 address without prefix length (the prefix length is VethPair.ipv4PrefixLen). */
  ipv4: string;
  /** IPv6 address without prefix length (the prefix length is VethPair.ipv6PrefixLen). */
  ipv6: string;
  /** ifindex inside `ns`. */
  ifindex: number;
  mtu: number;
}

export interface VethPair {
  /** Per-run pair number; it picks the pair's subnets. */
  readonly index: number;
  readonly a: VethEnd;
  readonly b: VethEnd;
  readonly queues: number;
  readonly ipv4PrefixLen: 24;
  readonly ipv6PrefixLen: 64;
  readonly destroyed: boolean;
  /** Deletes both namespaces (and so both veth ends) after stopping what runs in them. Idempotent. */
  destroy(): Promise<void>;
}

/** The creation steps, in order, as passed to VethPairOptions.onStep. */
export type CreateStep = 'netns' | 'veth' | 'up' | 'addresses' | 'readback';

export interface VethPairOptions {
  /** RX and TX queues of each end (`numrxqueues N numtxqueues N`). Default 1. */
  queues?: number;
  /** MTU of both ends; default the kernel's (1500). The kernel enforces the range. */
  mtu?: number;
  /**
   * Called before each creation step; if it throws, creation stops as if that step had failed.
   * For tests of failure handling.
   */
  onStep?: (step: CreateStep) => void | Promise<void>;
}

let nextPairIndex = 0;

function checkedQueues(opts: VethPairOptions): number {
  const queues = opts.queues ?? 1;
  if (!Number.isInteger(queues) || queues < 1) throw new Error(`createVethPair: queues must be an integer >= 1, got ${queues}`);
  if (opts.mtu !== undefined && (!Number.isInteger(opts.mtu) || opts.mtu < 1)) {
    throw new Error(`createVethPair: mtu must be a positive integer, got ${opts.mtu}`);
  }
  return queues;
}

/** The veth itself. Each end is created directly in its namespace ("netns" on both sides), so no
 * veth is ever left in the root namespace if something fails half-way. */
async function addVeth(nsA: string, nsB: string, queues: number, mtu: number | undefined): Promise<void> {
  const endArgs = (ns: string): string[] => [
    'numrxqueues', String(queues), 'numtxqueues', String(queues),
    ...(mtu === undefined ? [] : ['mtu', String(mtu)]),
    'netns', ns,
  ];
  await ip(
    null,
    ['link', 'add', 'name', nsA, ...endArgs(nsA), 'type', 'veth', 'peer', 'name', nsB, ...endArgs(nsB)],
    `creating veth ${nsA} <-> ${nsB}`,
  );
}

/** One end as the kernel reports it, once it is operationally up. */
async function readEnd(ns: string, a4: string, a6: string): Promise<VethEnd> {
  // veth reports operstate UP once both ends are up; wait so the first packet is not lost.
  const link = await waitFor(
    async () => {
      const l = await readLink(ns, ns, `reading back ${ns} in namespace ${ns}`);
      return l.operstate === 'UP' ? l : undefined;
    },
    { what: `${ns} in namespace ${ns} to be operationally UP`, timeoutMs: 5_000, intervalMs: 20 },
  );
  const { ifindex, address, mtu } = link;
  if (typeof ifindex !== 'number' || typeof address !== 'string' || typeof mtu !== 'number') {
    throw new Error(`reading back ${ns}: unexpected ip -j link output ${JSON.stringify(link)}`);
  }
  return { ns, ifname: ns, mac: address.toLowerCase(), ipv4: a4, ipv6: a6, ifindex, mtu };
}

/** Every creation step in order, each announced through `enter` first. */
async function buildPair(
  nsA: string,
  nsB: string,
  addr: PairAddresses,
  queues: number,
  opts: VethPairOptions,
  enter: (step: CreateStep) => Promise<void>,
): Promise<[VethEnd, VethEnd]> {
  await enter('netns');
  await ip(null, ['netns', 'add', nsA], `creating namespace ${nsA}`);
  await ip(null, ['netns', 'add', nsB], `creating namespace ${nsB}`);
  await enter('veth');
  await addVeth(nsA, nsB, queues, opts.mtu);
  await enter('up');
  for (const ns of [nsA, nsB]) {
    // lo up too: programs that bind 127.0.0.1 or ::1 inside the namespace expect it.
    await ip(ns, ['link', 'set', 'dev', 'lo', 'up'], `bringing lo up in namespace ${ns}`);
    await ip(ns, ['link', 'set', 'dev', ns, 'up'], `bringing ${ns} up in namespace ${ns}`);
  }
  await enter('addresses');
  await addPairAddresses(nsA, addr.a4, addr.a6);
  await addPairAddresses(nsB, addr.b4, addr.b6);
  await enter('readback');
  return [await readEnd(nsA, addr.a4, addr.a6), await readEnd(nsB, addr.b4, addr.b6)];
}

/** The VethPair handed out: destroy() once, retried after a failure. */
function pairHandle(index: number, a: VethEnd, b: VethEnd, queues: number): VethPair {
  let destroyed = false;
  let destroying: Promise<void> | undefined;
  return {
    index,
    a,
    b,
    queues,
    ipv4PrefixLen: 24,
    ipv6PrefixLen: 64,
    get destroyed() {
      return destroyed;
    },
    destroy() {
      destroying ??= deleteNamespaces([a.ns, b.ns]).then(
        () => {
          destroyed = true;
        },
        (err: unknown) => {
          destroying = undefined; // let a later call (or teardownRun) try again
          throw err;
        },
      );
      return destroying;
    },
  };
}

/**
 * Makes namespaces `<prefix>-<N>a` and `<prefix>-<N>b` joined by a veth pair whose ends carry
 * the same names as their namespaces, brings the ends and both `lo` up, and gives them
 * 198.18.N.1/24 + 2001:db8:N::1/64 (a) and .2 / ::2 (b). No static neighbour entries: ARP and
 * ND run as usual. The namespaces are registered before they exist, and on any failure
 * everything made so far is deleted before the error is rethrown.
 */
export async function createVethPair(opts: VethPairOptions = {}): Promise<VethPair> {
  const queues = checkedQueues(opts);
  await sweepStaleOnce();
  const index = nextPairIndex++;
  if (index >= MAX_PAIRS) throw new Error(`createVethPair: this run already made ${MAX_PAIRS} pairs, all of 198.18.0.0/15`);
  const nsA = runName(`${index}a`);
  const nsB = runName(`${index}b`);
  // Registered before anything exists: from here on, teardownRun() (or the exit hook) deletes
  // these even if this function never returns.
  registerNamespace(nsA);
  registerNamespace(nsB);
  let step: CreateStep = 'netns';
  const enter = async (s: CreateStep): Promise<void> => {
    step = s;
    await opts.onStep?.(s);
  };
  try {
    const [a, b] = await buildPair(nsA, nsB, pairAddresses(index), queues, opts, enter);
    return pairHandle(index, a, b, queues);
  } catch (err) {
    try {
      await deleteNamespaces([nsA, nsB]);
    } catch (cleanupErr) {
      throw new AggregateError(
        [err, cleanupErr],
        `createVethPair failed at step "${step}" and cleaning up failed too: ${errorsText([err, cleanupErr])}`,
      );
    }
    if (err instanceof Error) err.message = `createVethPair (${nsA} <-> ${nsB}) failed at step "${step}": ${err.message}`;
    throw err;
  }
}
