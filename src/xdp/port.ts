// XdpPort: our XDP program on one interface, a UMEM, and an AF_XDP socket with a native worker
// thread per RX queue. The entry point of the AF_XDP layer.
import { ABI } from '../generated/abi.js';
import { native, steerObjectPath, type NativePort } from '../native.js';
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
    const resolved = resolveOptions(options, (ifname) => native().rxQueueCount(ifname));
    const image = compileCaptureRules(resolved.capture, 'options.capture');
    const { capture: _capture, ...nativeOptions } = resolved;
    // Before the kernel sees anything: without this a missing capability surfaces as EPERM from
    // one call or as a verifier log (CAP_PERFMON), naming neither the capability nor the rest.
    checkCapabilities(resolved.frameCount * resolved.frameSize);
    const port = new (native().NativePort)({ ...nativeOptions, bpfObjectPath: steerObjectPath });
    try {
      port.setCapture(image);
      const umem = new Uint8Array(port.umem());
      const state = { closed: false };
      const queues = resolved.queues.map((id, position) => new XdpQueue(port, position, id, umem, resolved, () => state.closed));
      const mode: XdpMode = {
        bind: port.info().zeroCopy ? 'zero-copy' : 'copy',
        attach: resolved.attach,
        needWakeup: resolved.needWakeup,
        busyPoll: resolved.busyPoll,
      };
      port.start();
      return new XdpPort(port, state, resolved.interface, mode, queues, umem);
    } catch (error) {
      port.close();
      throw error;
    }
  }

  get closed(): boolean {
    return this.#state.closed;
  }

  /** Replaces the capture rules. Rules are validated whole before any is applied. */
  setCapture(rules: readonly CaptureRule[]): void {
    this.#native.setCapture(compileCaptureRules(rules, 'rules'));
  }

  /**
   * Replaces the XDP program's local view: this host's addresses and GUE port (`host`, a struct
   * su_host), the slices it owns (`localRules`, struct su_capture_rule each), whose packets the
   * program passes to the kernel, unwrapping those that come in GUE from a `trusted` peer
   * (struct su_prefix each). Packets see the old view or the new one, never a mix; once this
   * returns none uses the old one.
   *
   * Internal: the Router (src/router/) calls it with images compiled from its SliceTable
   * (src/slices/); the bytes are not checked here beyond their sizes and limits.
   * @internal
   */
  setLocalView(image: { host: Uint8Array; localRules: Uint8Array; trusted: Uint8Array }): void {
    this.#native.setLocalView(image.host, image.localRules, image.trusted);
  }

  /** @internal The addon object, for the Router (src/router/) that runs the C fast path on it. */
  static internals(port: XdpPort): { native: NativePort } {
    return { native: port.#native };
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
