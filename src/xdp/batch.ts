// Views of UMEM frames handed to TypeScript: RxBatch for received packets (valid during the
// handler call only), TxBatch for frames allocated to build packets in.
import { ABI } from '../generated/abi.js';
import { InvalidFrameError, invalid } from '../errors.js';

const ENTRY_WORDS = ABI.exchangeEntry.size / 4;
const ADDR = ABI.exchangeEntry.fields.addr.offset / 4;
const LEN = ABI.exchangeEntry.fields.len.offset / 4;
const ACTION = ABI.exchangeEntry.fields.action.offset / 4;
const TRANSMIT = ABI.actions.TRANSMIT;
const RECYCLE = ABI.actions.RECYCLE;

/** One area of the per-queue exchange buffer (struct su_exchange_entry[], abi.h) as 32-bit
 * words: the RX area carries the batch being handled, the TX area frames being allocated. */
export class Exchange {
  readonly words: Uint32Array;
  /** The area's number, as the addon's submit() takes it. */
  readonly area: number;
  constructor(buffer: ArrayBuffer, area: number, entries: number) {
    this.area = area;
    this.words = new Uint32Array(buffer, area * entries * ABI.exchangeEntry.size, entries * ENTRY_WORDS);
  }
  addr(i: number): number {
    return this.words[i * ENTRY_WORDS + ADDR]!;
  }
  len(i: number): number {
    return this.words[i * ENTRY_WORDS + LEN]!;
  }
  set(i: number, addr: number, len: number, action: number): void {
    const at = i * ENTRY_WORDS;
    this.words[at + ADDR] = addr;
    this.words[at + LEN] = len;
    this.words[at + ACTION] = action;
  }
  setAction(i: number, action: number, len?: number): void {
    this.words[i * ENTRY_WORDS + ACTION] = action;
    if (len !== undefined) this.words[i * ENTRY_WORDS + LEN] = len;
  }
}

/**
 * Received packets, in place in the UMEM. Every packet is dropped (its frame recycled) unless
 * the handler calls transmit(i). The views are only valid until the handler returns.
 */
export class RxBatch {
  #length = 0;

  /** @internal */
  constructor(
    private readonly umem: Uint8Array,
    private readonly exchange: Exchange,
    private readonly frameSize: number,
  ) {}

  /** @internal */
  reset(length: number): void {
    this.#length = length;
  }

  get length(): number {
    return this.#length;
  }

  #check(i: number): void {
    if (!Number.isInteger(i) || i < 0 || i >= this.#length) invalid('index', `an index below ${this.#length}`, i);
  }

  /** The i-th packet, as a view of its frame (not a copy). */
  packet(i: number): Uint8Array {
    this.#check(i);
    const addr = this.exchange.addr(i);
    return this.umem.subarray(addr, addr + this.exchange.len(i));
  }

  /** Room the i-th packet may grow to in place (for transmit with a new length). */
  capacity(i: number): number {
    this.#check(i);
    return this.frameSize - (this.exchange.addr(i) % this.frameSize);
  }

  /** Sends the i-th packet out of the queue's interface, after the handler returns; `length` if it was rewritten. */
  transmit(i: number, length?: number): void {
    this.#check(i);
    if (length !== undefined && (!Number.isInteger(length) || length < 1 || length > this.capacity(i))) {
      throw new InvalidFrameError(`Expected a length from 1 to ${this.capacity(i)} for packet ${i} but received ${String(length)}`);
    }
    this.exchange.setAction(i, TRANSMIT, length);
  }

  /** Drops the i-th packet (the default): its frame goes back to the fill ring. */
  drop(i: number): void {
    this.#check(i);
    this.exchange.setAction(i, RECYCLE);
  }
}

/** Frames allocated for transmission. Write packets into frame(i), set their lengths, then send(). */
export class TxBatch {
  readonly #addrs: Uint32Array;
  readonly #lengths: Uint32Array;
  #done = false;

  /** @internal */
  constructor(
    private readonly umem: Uint8Array,
    private readonly capacityBytes: number,
    addrs: Uint32Array,
    private readonly submit: (addrs: Uint32Array, lengths: Uint32Array) => number,
  ) {
    this.#addrs = addrs;
    this.#lengths = new Uint32Array(addrs.length);
  }

  get length(): number {
    return this.#addrs.length;
  }

  #check(i: number): void {
    if (this.#done) throw new InvalidFrameError('Expected an unsent TxBatch but this one was sent already');
    if (!Number.isInteger(i) || i < 0 || i >= this.#addrs.length) invalid('index', `an index below ${this.#addrs.length}`, i);
  }

  /** The whole writable frame i. */
  frame(i: number): Uint8Array {
    this.#check(i);
    const addr = this.#addrs[i]!;
    return this.umem.subarray(addr, addr + this.capacityBytes);
  }

  /** Marks frame i for transmission with `length` bytes. Frames left at 0 are given back unsent. */
  setLength(i: number, length: number): void {
    this.#check(i);
    if (!Number.isInteger(length) || length < 0 || length > this.capacityBytes) {
      invalid(`length of frame ${i}`, `an integer from 0 to ${this.capacityBytes}`, length);
    }
    this.#lengths[i] = length;
  }

  /** Queues the frames with a length for transmission, gives the others back; returns how many were queued. */
  send(): number {
    if (this.#done) throw new InvalidFrameError('Expected an unsent TxBatch but this one was sent already');
    this.#done = true;
    return this.submit(this.#addrs, this.#lengths);
  }
}
