// The one place that loads softunicast.node: finds the built binary and XDP object, checks that
// they were built from the same headers as src/generated/abi.ts, and installs the error factory.
import { existsSync } from 'node:fs';
import { constants } from 'node:os';
import { join } from 'node:path';

import { NativeBuildError, errorFromCode } from './errors.js';
import { ABI } from './generated/abi.js';
import { packageRoot } from './package.js';

/** Options the addon reads, all present and validated (src/xdp/options.ts). */
export interface NativePortOptions {
  interface: string;
  bpfObjectPath: string;
  queues: number[];
  frameSize: number;
  frameCount: number;
  frameHeadroom: number;
  rxRingSize: number;
  txRingSize: number;
  fillRingSize: number;
  completionRingSize: number;
  batchSize: number;
  bind: 'auto' | 'copy' | 'zero-copy';
  attach: 'driver' | 'generic';
  needWakeup: boolean;
  busyPoll: boolean;
  replace: boolean;
  /** '' for none. */
  pinDir: string;
}

export interface NativePort {
  info(): { zeroCopy: boolean; adopted: boolean; driver: string };
  umem(): ArrayBuffer;
  exchange(queue: number): ArrayBuffer;
  start(): void;
  setCapture(image: Uint8Array): void;
  setBatchHandler(queue: number, handler: ((count: number) => void) | null): void;
  submit(queue: number, area: number, count: number): number;
  allocate(queue: number, count: number): number;
  queueCounters(queue: number): Float64Array;
  kernelStats(queue: number): Float64Array;
  steerCounters(): Float64Array;
  ref(): void;
  unref(): void;
  close(): void;
}

/** A checked, indexed table image (native/core): the fast path's view of a SliceTable. */
export interface NativeSliceView {
  generation(): bigint;
  /** asXdp: as the XDP program decides (kernel-bound packets keep their fates and bytes). */
  explain(frame: Uint8Array, asXdp?: boolean): { fate: string; output: Uint8Array | null };
  release(): void;
}

/** The C fast path on a NativePort's queues (native/router). */
export interface NativeRouter {
  /** Takes the view (it is empty afterwards); returns how many old tables wait to be freed. */
  publish(view: NativeSliceView): number;
  /** Replaced tables a worker may still read; the router frees them itself as workers move on. */
  retiredTables(): number;
  generation(): bigint;
  counters(queue: number): Float64Array;
  /** The XDP lane's fates, summed over CPUs. */
  xdpCounters(): Float64Array;
  /** What the router would do with a frame: the live table, the XDP program's fragment memory. */
  explain(frame: Uint8Array): { fate: string; output: Uint8Array | null; owner: number };
  /** Owner `owner` of the table in use is reached through a next hop of MAC address `mac` (6 bytes). */
  setNextHop(owner: number, mac: Uint8Array): void;
  /** ABI.modes.express or ABI.modes.afxdp, from the next publish on. */
  setMode(mode: number): void;
  /** Per-owner counters of the table in use: [owner][ABI.ownerStats.perOwner]. */
  ownerCounters(): { generation: number; counters: Float64Array };
  /** Final per-owner counters of tables no worker reads any more, each handed out once. */
  takeFinished(): { generation: number; counters: Float64Array }[];
  captureStart(snaplen: number): void;
  captureStop(): void;
  captureDrain(): { records: Buffer; lost: number };
  close(): void;
}

/** A neighbour entry as the kernel reports it (RTM_NEWNEIGH / RTM_DELNEIGH). */
export interface NetlinkNeighbour {
  family: 4 | 6;
  ifindex: number;
  address: string;
  /** NUD_* bits (linux/neighbour.h). */
  state: number;
  flags: number;
  /** Link-layer address as aa:bb:cc:dd:ee:ff; null when the entry has none (not NUD_VALID). */
  lladdr: string | null;
  deleted: boolean;
}

/** A change the netlink follower saw (softunicast/netlink.h, su_nl_event). */
export type NetlinkEvent =
  | ({ kind: 'neigh' } & NetlinkNeighbour)
  | { kind: 'link'; ifindex: number; flags: number; deleted: boolean }
  | { kind: 'route' }
  | { kind: 'overrun' };

/** The kernel's answers carry `error`: null, or an errno's name such as 'ENETUNREACH'. */
export interface NetlinkRoute {
  error: string | null;
  /** RTN_* (RTN_UNICAST 1, RTN_LOCAL 2, ...). */
  type: number;
  /** Output interface index. */
  oif: number;
  /** The next hop when it is not the destination itself (possibly of the other family). */
  gateway: string | null;
}

/** Requests to the kernel's routing and neighbour tables, and a follower of their changes (native/netlink). */
export interface NativeNetlink {
  /** Starts delivering changes to the constructor's callback; `ifindex` keeps neighbour and link changes to one interface. */
  follow(ifindex: number): void;
  routeGet(address: string): NetlinkRoute;
  neighGet(ifindex: number, address: string): Partial<NetlinkNeighbour> & { error: string | null };
  /** Asks the kernel to treat the entry as used (NTF_USE, creating it when missing); null or the errno's name. */
  neighUse(ifindex: number, address: string): string | null;
  linkGet(ifindex: number): { error: string | null; flags: number };
  close(): void;
}

/** The sk_lookup program in a network namespace (native/steer/sk_lookup.h). */
export interface NativeSkLookup {
  /** `count` packed su_skl_key and su_skl_ranges: the whole rule set, swapped in at once. */
  publish(keys: Uint8Array, values: Uint8Array, count: number): void;
  setSocket(slot: number, fd: number): void;
  clearSocket(slot: number): void;
  /** SU_SKL_COUNTERS, summed over CPUs. */
  counters(): Float64Array;
  /** Packed su_skl_load_key and their counts. */
  load(): { keys: Uint8Array; counts: Float64Array };
  close(): void;
}

interface Binding {
  NativePort: new (options: NativePortOptions) => NativePort;
  SliceView: new (image: Uint8Array) => NativeSliceView;
  NativeRouter: new (port: NativePort) => NativeRouter;
  NativeSkLookup: new (objectPath: string, netnsPath: string, countLoad: boolean) => NativeSkLookup;
  NativeNetlink: {
    new (onEvents: (events: NetlinkEvent[]) => void): NativeNetlink;
    /** The index of interface `name` in this network namespace, 0 when there is none. */
    interfaceIndex(name: string): number;
    interfaceName(index: number): string | null;
  };
  abi: {
    abiVersion: number;
    steerCounters: string[];
    queueCounters: string[];
    errorCodes: string[];
    captureRuleSize: number;
    exchangeEntrySize: number;
  };
  setErrorFactory(factory: (code: string, message: string, errno?: number, syscall?: string) => Error): void;
  rxQueueCount(ifname: string): number;
  removePinned(dir: string): void;
}

const root = packageRoot();
const buildDir = join(root, 'build', 'native');

/** The compiled XDP program that ports attach. */
export const steerObjectPath = join(buildDir, 'bpf', 'steer.bpf.o');
/** The sk_lookup program of socket steering (bpf/sk_lookup.bpf.c). */
export const skLookupObjectPath = join(buildDir, 'bpf', 'sk_lookup.bpf.o');
/** The XDP program for the far end of a veth whose near end runs a router (bpf/veth_peer.bpf.c). */
export const vethPeerObjectPath = join(buildDir, 'bpf', 'veth_peer.bpf.o');

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

function load(): Binding {
  const path = join(buildDir, 'Release', 'softunicast.node');
  for (const file of [path, steerObjectPath]) {
    if (!existsSync(file)) {
      // The package's install step (scripts/install.mjs) builds both; `npm rebuild` reruns it.
      throw new NativeBuildError(`Expected the native build at ${file} but it is missing: run npm rebuild softunicast (npm run build in a checkout)`);
    }
  }
  // RTLD_NOW: a symbol the binary cannot resolve fails here, at load, instead of at the first
  // call that needs it (a C header without extern "C" once did exactly that).
  const module = { exports: {} as Binding };
  process.dlopen(module, path, constants.dlopen.RTLD_NOW);
  const binding = module.exports;
  const abi = binding.abi;
  const fresh =
    abi.abiVersion === ABI.abiVersion &&
    sameList(abi.steerCounters, ABI.steerCounters.map((c) => c.name)) &&
    sameList(abi.queueCounters, ABI.queueCounters.map((c) => c.name)) &&
    sameList(abi.errorCodes, ABI.errorCodes) &&
    abi.captureRuleSize === ABI.captureRule.size &&
    abi.exchangeEntrySize === ABI.exchangeEntry.size;
  if (!fresh) {
    throw new NativeBuildError(
      `The native addon at ${path} was built from other headers than src/generated/abi.ts: run npm run build (and npm run gen:abi after changing native/include)`,
    );
  }
  binding.setErrorFactory((code, message, errno, syscall) => errorFromCode(code, message, errno, syscall));
  return binding;
}

let cached: Binding | undefined;

/** The addon, loaded on first use so that importing the library never fails by itself. */
export function native(): Binding {
  cached ??= load();
  return cached;
}
