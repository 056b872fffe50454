// One RX queue of a port as TypeScript sees it: batches in, frames out, counters. The slow path
// for custom logic in TypeScript: one native call per batch, packets never copied on receive.
import { ABI } from '../generated/abi.js';
import { invalid } from '../errors.js';
import type { NativePort } from '../native.js';
import { Exchange, RxBatch, TxBatch } from './batch.js';
import { named, type QueueCounters } from './counters.js';

const TRANSMIT = ABI.actions.TRANSMIT;
const RECYCLE = ABI.actions.RECYCLE;

export type BatchHandler = (batch: RxBatch) => void;

export class XdpQueue {
  readonly #native: NativePort;
  readonly #position: number;
  readonly #rx: Exchange;
  readonly #tx: Exchange;
  readonly #umem: Uint8Array;
  readonly #batch: RxBatch;
  readonly #frameSize: number;
  readonly #headroom: number;
  readonly #batchSize: number;
  readonly #portClosed: () => boolean;

  /** @internal */
  constructor(
    native: NativePort,
    position: number,
    /** The RX queue index on the interface. */
    readonly id: number,
    umem: Uint8Array,
    options: { frameSize: number; frameHeadroom: number; batchSize: number },
    portClosed: () => boolean,
  ) {
    this.#portClosed = portClosed;
    this.#native = native;
    this.#position = position;
    const exchange = native.exchange(position);
    this.#rx = new Exchange(exchange, ABI.exchangeArea.rx, options.batchSize);
    this.#tx = new Exchange(exchange, ABI.exchangeArea.tx, options.batchSize);
    this.#umem = umem;
    this.#frameSize = options.frameSize;
    this.#headroom = options.frameHeadroom;
    this.#batchSize = options.batchSize;
    this.#batch = new RxBatch(umem, this.#rx, options.frameSize);
  }

  /**
   * Calls `handler` on the JS thread with each batch of received packets; `null` stops delivery
   * (packets are then dropped and counted). The handler must be synchronous: the batch's views
   * are recycled when it returns. An exception thrown by the handler drops the batch and is
   * rethrown as an uncaught exception.
   */
  onBatch(handler: BatchHandler | null): void {
    if (handler !== null && typeof handler !== 'function') invalid('handler', 'a function or null', handler);
    if (handler === null) {
      this.#native.setBatchHandler(this.#position, null);
      return;
    }
    this.#native.setBatchHandler(this.#position, (count: number) => {
      this.#batch.reset(count);
      try {
        handler(this.#batch);
      } finally {
        this.#batch.reset(0);
        // A handler may close the port; its frames went with the UMEM.
        if (!this.#portClosed()) this.#native.submit(this.#position, this.#rx.area, count);
      }
    });
  }

  /**
   * Takes up to `count` free frames to build packets in (fewer, possibly none, while the
   * worker restocks its reserve; try again on a later tick).
   */
  allocate(count: number): TxBatch {
    if (!Number.isInteger(count) || count < 1) invalid('count', 'a positive integer', count);
    const got = this.#native.allocate(this.#position, Math.min(count, this.#batchSize));
    const addrs = new Uint32Array(got);
    for (let i = 0; i < got; i++) addrs[i] = this.#tx.addr(i);
    return new TxBatch(this.#umem, this.#frameSize - this.#headroom, addrs, (a, lengths) => this.#submit(a, lengths));
  }

  #submit(addrs: Uint32Array, lengths: Uint32Array): number {
    let queued = 0;
    for (let i = 0; i < addrs.length; i++) {
      const len = lengths[i]!;
      this.#tx.set(i, addrs[i]!, len, len > 0 ? TRANSMIT : RECYCLE);
      if (len > 0) queued++;
    }
    this.#native.submit(this.#position, this.#tx.area, addrs.length);
    return queued;
  }

  /**
   * Copies `packets` (whole Ethernet frames) into free frames and queues them for transmission.
   * Returns how many were queued: fewer than given when no free frame is left right now.
   */
  send(packets: readonly Uint8Array[]): number {
    const capacity = this.#frameSize - this.#headroom;
    packets.forEach((p, i) => {
      if (!(p instanceof Uint8Array) || p.length < 1 || p.length > capacity) {
        invalid(`packets[${i}]`, `a Uint8Array of 1 to ${capacity} bytes`, p);
      }
    });
    let sent = 0;
    while (sent < packets.length) {
      const tx = this.allocate(packets.length - sent);
      if (tx.length === 0) break;
      for (let i = 0; i < tx.length; i++) {
        const p = packets[sent + i]!;
        tx.frame(i).set(p);
        tx.setLength(i, p.length);
      }
      sent += tx.send();
    }
    return sent;
  }

  /** A snapshot of this queue's worker counters and its socket's kernel statistics. */
  counters(): QueueCounters {
    return {
      queue: this.id,
      ...named(ABI.queueCounters, this.#native.queueCounters(this.#position)),
      kernel: named(ABI.kernelXdpStats, this.#native.kernelStats(this.#position)),
    };
  }
}
