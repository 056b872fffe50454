// Options of XdpPort.open(): types, defaults, and validation that names the option, what was
// expected and what was received, before anything touches the interface.
import { invalid } from '../errors.js';
import { ABI } from '../generated/abi.js';
import type { NativePortOptions } from '../native.js';
import type { CaptureRule } from './capture.js';

export type BindMode = 'auto' | 'copy' | 'zero-copy';
export type AttachMode = 'driver' | 'generic';

export interface RingSizes {
  /** Received descriptors the kernel can queue for the worker. Default 2048. */
  rx?: number;
  /** Descriptors the worker can queue for transmission. Default 2048. */
  tx?: number;
  /** Free frames offered to the kernel for receiving. Default 2048. */
  fill?: number;
  /** Transmitted frames the kernel gives back. Default 2048. */
  completion?: number;
}

export interface XdpPortOptions {
  /** The network interface, in the caller's network namespace. */
  interface: string;
  /** RX queue indices to bind a socket (and a worker thread) to, or 'all'. Default [0]. */
  queues?: readonly number[] | 'all';
  /** UMEM frame size in bytes: 2048 or 4096 (aligned chunks of at most a page). Default 4096. */
  frameSize?: 2048 | 4096;
  /** UMEM frames in all, split evenly between the queues. Default 4096 per queue. */
  frameCount?: number;
  /** Bytes kept free before each received packet (room to prepend headers). Default 0. */
  frameHeadroom?: number;
  /** Ring sizes, each a power of two from 16 to 65536. */
  rings?: RingSizes;
  /** Most packets handled per batch, native and in TypeScript. Default 64. */
  batchSize?: number;
  /** 'auto' lets the kernel use zero-copy where the driver can; 'zero-copy' fails where it cannot. Default 'auto'. */
  bind?: BindMode;
  /** 'driver' (native XDP, fails where the driver lacks it) or 'generic' (skb mode). Default 'driver'. */
  attach?: AttachMode;
  /** Use XDP_USE_NEED_WAKEUP: syscalls only when the kernel asks. Default true. */
  needWakeup?: boolean;
  /** Workers spin instead of sleeping in poll(): a core per queue for lower latency. Default false. */
  busyPoll?: boolean;
  /** Replace an XDP program found on the interface instead of failing. Default false. */
  replace?: boolean;
  /**
   * A directory on a bpf filesystem (e.g. '/sys/fs/bpf/softunicast/eth0') where the XDP
   * program's link and maps are pinned: they outlive the process, and the next port opened with
   * the same directory adopts them instead of starting cold. `removePinned()` ends that on
   * purpose. One directory per interface. Default: nothing pinned, the program leaves with the
   * port.
   */
  pinDir?: string;
  /** Which packets go to the sockets; everything else reaches the kernel stack. Default none. */
  capture?: readonly CaptureRule[];
}

/** What the native side receives, minus the XDP object path and the compiled capture image. */
export type ResolvedOptions = Omit<NativePortOptions, 'bpfObjectPath'> & { capture: readonly CaptureRule[] };

const KEYS = [
  'interface', 'queues', 'frameSize', 'frameCount', 'frameHeadroom', 'rings', 'batchSize',
  'bind', 'attach', 'needWakeup', 'busyPoll', 'replace', 'pinDir', 'capture',
] as const;
const RING_KEYS = ['rx', 'tx', 'fill', 'completion'] as const;

// Kernel limits (net/xdp/xdp_umem.c): chunks of 2048 bytes up to a page, and the headroom must
// leave XDP_PACKET_HEADROOM (256) plus a packet.
const XDP_PACKET_HEADROOM = 256;
const IFNAMSIZ = 16;

function isPowerOfTwo(n: number): boolean {
  return Number.isInteger(n) && n > 0 && (n & (n - 1)) === 0;
}

function integer(value: unknown, path: string, min: number, max: number, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    invalid(path, `an integer from ${min} to ${max}`, value);
  }
  return value;
}

function ringSize(value: unknown, path: string): number {
  if (value === undefined) return 2048;
  if (typeof value !== 'number' || !isPowerOfTwo(value) || value < 16 || value > 65536) {
    invalid(path, 'a power of two from 16 to 65536', value);
  }
  return value;
}

function oneOf<T extends string>(value: unknown, path: string, allowed: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if (!allowed.includes(value as T)) invalid(path, allowed.map((a) => `'${a}'`).join(' or '), value);
  return value as T;
}

function flag(value: unknown, path: string, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') invalid(path, 'a boolean', value);
  return value;
}

function checkKeys(value: object, allowed: readonly string[], path: string): void {
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) invalid(`${path}.${key}`, `no such option (known: ${allowed.join(', ')})`, (value as Record<string, unknown>)[key]);
  }
}

function interfaceName(value: unknown): string {
  // Linux names: 1 to 15 bytes, no '/', no whitespace (net/core/dev.c dev_valid_name).
  if (typeof value !== 'string' || value.length === 0 || Buffer.byteLength(value) >= IFNAMSIZ || /[\s/:]/.test(value) || value === '.' || value === '..') {
    invalid('options.interface', `an interface name of 1 to ${IFNAMSIZ - 1} bytes without '/', ':' or spaces`, value);
  }
  return value;
}

function queueList(value: unknown, allQueues: () => number): number[] {
  if (value === undefined) return [0];
  if (value === 'all') return Array.from({ length: Math.min(allQueues(), ABI.limits.maxQueues) }, (_, i) => i);
  if (!Array.isArray(value) || value.length === 0 || value.length > ABI.limits.maxQueues) {
    invalid('options.queues', `'all' or an array of 1 to ${ABI.limits.maxQueues} queue indices`, value);
  }
  const seen = new Set<number>();
  return value.map((q: unknown, i) => {
    if (typeof q !== 'number' || !Number.isInteger(q) || q < 0 || q >= ABI.limits.maxQueues) {
      invalid(`options.queues[${i}]`, `a queue index from 0 to ${ABI.limits.maxQueues - 1}`, q);
    }
    if (seen.has(q)) invalid(`options.queues[${i}]`, 'a queue not listed before', q);
    seen.add(q);
    return q;
  });
}

/**
 * Validates `options` and fills in defaults. `allQueues` is asked for the interface's RX queue
 * count only when queues is 'all'.
 */
export function resolveOptions(options: unknown, allQueues: (ifname: string) => number): ResolvedOptions {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) invalid('options', 'an options object', options);
  const o = options as Record<string, unknown>;
  checkKeys(o, KEYS, 'options');

  const ifname = interfaceName(o.interface);
  const frameSize = o.frameSize === undefined ? 4096 : o.frameSize;
  if (frameSize !== 2048 && frameSize !== 4096) invalid('options.frameSize', '2048 or 4096', frameSize);
  const batchSize = integer(o.batchSize, 'options.batchSize', 1, 1024, 64);
  const frameHeadroom = integer(o.frameHeadroom, 'options.frameHeadroom', 0, frameSize - XDP_PACKET_HEADROOM - 1, 0);

  const rings = o.rings === undefined ? {} : o.rings;
  if (typeof rings !== 'object' || rings === null) invalid('options.rings', 'an object of ring sizes', rings);
  checkKeys(rings, RING_KEYS, 'options.rings');
  const r = rings as Record<string, unknown>;

  const queues = queueList(o.queues, () => allQueues(ifname));
  // Each queue needs two batches of frames at the least; the UMEM offsets must fit 32 bits
  // (they travel to JavaScript as Uint32).
  const maxFrames = Math.floor(2 ** 32 / frameSize);
  const frameCount = integer(o.frameCount, 'options.frameCount', 2 * batchSize * queues.length, maxFrames, 4096 * queues.length);

  const capture = o.capture === undefined ? [] : o.capture;
  if (!Array.isArray(capture)) invalid('options.capture', 'an array of capture rules', capture);

  return {
    interface: ifname,
    queues,
    frameSize,
    frameCount,
    frameHeadroom,
    rxRingSize: ringSize(r.rx, 'options.rings.rx'),
    txRingSize: ringSize(r.tx, 'options.rings.tx'),
    fillRingSize: ringSize(r.fill, 'options.rings.fill'),
    completionRingSize: ringSize(r.completion, 'options.rings.completion'),
    batchSize,
    bind: oneOf(o.bind, 'options.bind', ['auto', 'copy', 'zero-copy'], 'auto'),
    attach: oneOf(o.attach, 'options.attach', ['driver', 'generic'], 'driver'),
    needWakeup: flag(o.needWakeup, 'options.needWakeup', true),
    busyPoll: flag(o.busyPoll, 'options.busyPoll', false),
    replace: flag(o.replace, 'options.replace', false),
    pinDir: pinDir(o.pinDir),
    capture: capture as CaptureRule[],
  };
}

// An absolute path, or '' for none (the addon's form). bpffs itself is checked natively.
function pinDir(value: unknown): string {
  if (value === undefined) return '';
  if (typeof value !== 'string' || !value.startsWith('/') || value.length >= 4000 || value.includes('\0')) {
    invalid('options.pinDir', 'an absolute directory path on a bpf filesystem', value);
  }
  return value.replace(/\/+$/, '') || '/';
}
