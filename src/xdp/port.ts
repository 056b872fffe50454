// XdpPort: our XDP program on one interface, a UMEM, and an AF_XDP socket with a native worker
// thread per RX queue. The entry point of the AF_XDP layer.
import { invalid } from '../errors.js';
import { ABI } from '../generated/abi.js';
import { native, steerObjectPath, type NativePort, type NativeRouter } from '../native.js';
import { checkCapabilities } from './capabilities.js';
import { compileCaptureRules, type CaptureRule } from './capture.js';
import { named, type PortCounters } from './counters.js';
import { resolveOptions, type AttachMode, type XdpPortOptions } from './options.js';
import { XdpQueue } from './queue.js';

export interface XdpMode {
  /** What the kernel granted: 'zero-copy' only where the driver supports it (never on veth). */
  bind: 'copy' | 'zero-copy';
  attach: AttachMode;
  needWakeup: boolean;
  busyPoll: boolean;
  /** The program, its link and maps were taken over from an earlier process (options.pinDir). */
  adopted: boolean;
  /** The interface's driver as ethtool names it ('veth', 'mlx5_core'), '' when it names none. */
  driver: string;
}

let openWithFastPath: (options: XdpPortOptions) => Promise<{ port: XdpPort; fastPath: NativeRouter }>;

/**
 * For the Router (src/router/), not exported by the package: a port whose queues run the C fast
 * path (native/router) instead of capture rules. Its XDP program keeps the state it was adopted
 * with (a pinned router's tables keep forwarding until the Router publishes its own); the fast
 * path is the Router's to configure, publish to and close (closing it closes the port's workers).
 */
export function openFastPathPort(options: XdpPortOptions): Promise<{ port: XdpPort; fastPath: NativeRouter }> {
  return openWithFastPath(options);
}

export class XdpPort {
  readonly #native: NativePort;
  readonly #state: { closed: boolean };

  /** The interface the port is attached to. */
  readonly interface: string;
  readonly mode: XdpMode;
  readonly queues: readonly XdpQueue[];
  /** The whole UMEM, shared by the queues; emptied (detached) by close(). */
  readonly umem: Uint8Array;

  private constructor(nativePort: NativePort, state: { closed: boolean }, ifname: string, mode: XdpMode, queues: readonly XdpQueue[], umem: Uint8Array) {
    this.#native = nativePort;
    this.#state = state;
    this.interface = ifname;
    this.mode = mode;
    this.queues = queues;
    this.umem = umem;
  }

  /**
   * Attaches the XDP program to `options.interface` and binds a socket to each queue. Packets
   * that match no capture rule keep reaching the kernel stack. Rejects with a typed error
   * (src/errors.ts) for every bad option or unusable interface, and with PermissionDeniedError
   * naming each capability the process lacks (src/xdp/capabilities.ts).
   */
  static async open(options: XdpPortOptions): Promise<XdpPort> {
    return (await XdpPort.#open(options, false)).port;
  }

  /** The port, and the C fast path on its queues when `fastPath` (the Router's, see openFastPathPort). */
  static async #open(options: XdpPortOptions, fastPath: boolean): Promise<{ port: XdpPort; fastPath?: NativeRouter }> {
    const resolved = resolveOptions(options, (ifname) => native().rxQueueCount(ifname));
    const image = compileCaptureRules(resolved.capture, 'options.capture');
    const { capture: _capture, ...nativeOptions } = resolved;
    // Before the kernel sees anything: without this a missing capability surfaces as EPERM from
    // one call or as a verifier log (CAP_PERFMON), naming neither the capability nor the rest.
    checkCapabilities(resolved.frameCount * resolved.frameSize);
    const port = new (native().NativePort)({ ...nativeOptions, bpfObjectPath: steerObjectPath });
    try {
      if (!fastPath) port.setCapture(image);
      const umem = new Uint8Array(port.umem());
      const state = { closed: false };
      const queues = resolved.queues.map((id, position) => new XdpQueue(port, position, id, umem, resolved, () => state.closed));
      const mode: XdpMode = {
        bind: port.info().zeroCopy ? 'zero-copy' : 'copy',
        attach: resolved.attach,
        needWakeup: resolved.needWakeup,
        busyPoll: resolved.busyPoll,
        adopted: port.info().adopted,
        driver: port.info().driver,
      };
      port.start();
      // The fast path becomes every queue's batch handler; it holds the native port alive.
      const router = fastPath ? new (native().NativeRouter)(port) : undefined;
      return { port: new XdpPort(port, state, resolved.interface, mode, queues, umem), ...(router && { fastPath: router }) };
    } catch (error) {
      port.close();
      throw error;
    }
  }

  static {
    openWithFastPath = async (options) => {
      const { port, fastPath } = await XdpPort.#open(options, true);
      return { port, fastPath: fastPath! };
    };
  }

  get closed(): boolean {
    return this.#state.closed;
  }

  /** Replaces the capture rules. Rules are validated whole before any is applied. */
  setCapture(rules: readonly CaptureRule[]): void {
    this.#native.setCapture(compileCaptureRules(rules, 'rules'));
  }

  /**
   * Unpins what a port opened with `pinDir` left in `dir`: the XDP program leaves the interface
   * unless a live port still holds it. A missing directory is no error.
   */
  static removePinned(dir: string): void {
    if (typeof dir !== 'string' || !dir.startsWith('/')) invalid('dir', 'an absolute directory path', dir);
    native().removePinned(dir);
  }

  /** A snapshot of the XDP program's and every queue's counters. */
  counters(): PortCounters {
    return {
      program: named(ABI.steerCounters, this.#native.steerCounters()),
      queues: this.queues.map((q) => q.counters()),
    };
  }

  /** An open port keeps the process alive (like a listening server); unref() lets it exit. */
  unref(): this {
    this.#native.unref();
    return this;
  }

  ref(): this {
    this.#native.ref();
    return this;
  }

  /** Stops the workers, detaches the program, frees the UMEM. Idempotent. */
  close(): void {
    if (this.#state.closed) return;
    this.#state.closed = true;
    this.#native.close();
  }
}
