// A drop capture: the packets the fast path drops, written to a pcapng file with the drop's
// reason as each packet's comment, bounded in bytes, packets and time. The worker threads copy
// dropped packets into rings (native/router/capture.c) only while a capture runs; this drains
// them every 50 ms. Router.startDropCapture() makes one.
import { closeSync, openSync, writeSync } from 'node:fs';

import { InvalidOptionError, invalid } from '../errors.js';
import { ABI } from '../generated/abi.js';
import { pcapngHeader, pcapngPacket } from './pcapng.js';

export interface DropCaptureOptions {
  /** The pcapng file to write (created or truncated, mode 0600). */
  path: string;
  /** Bytes kept of each packet. Default 512, at most ABI.capture.snaplenMax. */
  snaplen?: number;
  /** Stop before the file grows past this many bytes. Default 64 MiB. */
  maxBytes?: number;
  /** Stop after this many packets. Default: no limit. */
  maxPackets?: number;
  /** Stop after this many seconds. Default 60. */
  seconds?: number;
}

export type DropCaptureEnd = 'stopped' | 'max-bytes' | 'max-packets' | 'time' | 'closed';

export interface DropCaptureSummary {
  path: string;
  /** Packets written to the file. */
  packets: number;
  /** The file's size. */
  bytes: number;
  /** Dropped packets the rings had no room for while the capture ran (not in the file). */
  lost: number;
  /** Why the capture ended. */
  end: DropCaptureEnd;
}

/** What a capture needs of the router's native side. */
export interface CaptureSource {
  captureStart(snaplen: number): void;
  captureStop(): void;
  captureDrain(): { records: Buffer; lost: number };
}

const KEYS = ['path', 'snaplen', 'maxBytes', 'maxPackets', 'seconds'];
const R = ABI.capture.record.fields;
const DRAIN_MS = 50;

function positive(value: unknown, path: string, max: number, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > max) invalid(path, `a whole number from 1 to ${max}`, value);
  return value;
}

function checkOptions(value: unknown): Required<DropCaptureOptions> {
  if (typeof value !== 'object' || value === null) invalid('options', 'an object { path, snaplen?, maxBytes?, maxPackets?, seconds? }', value);
  const o = value as Record<string, unknown>;
  for (const key of Object.keys(o)) if (!KEYS.includes(key)) invalid(`options.${key}`, `no such option (known: ${KEYS.join(', ')})`, o[key]);
  if (typeof o.path !== 'string' || o.path === '') invalid('options.path', 'the path of the pcapng file to write', o.path);
  return {
    path: o.path,
    snaplen: positive(o.snaplen, 'options.snaplen', ABI.capture.snaplenMax, 512),
    maxBytes: positive(o.maxBytes, 'options.maxBytes', 2 ** 40, 64 * 2 ** 20),
    maxPackets: positive(o.maxPackets, 'options.maxPackets', Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER),
    seconds: positive(o.seconds, 'options.seconds', 7 * 24 * 3600, 60),
  };
}

export class DropCapture {
  readonly path: string;
  /** Resolves once the capture has ended and the file is closed. */
  readonly done: Promise<DropCaptureSummary>;
  readonly #source: CaptureSource;
  readonly #options: Required<DropCaptureOptions>;
  readonly #describeOwner: (generation: number, owner: number) => string | undefined;
  readonly #fd: number;
  readonly #timer: NodeJS.Timeout;
  readonly #deadline: NodeJS.Timeout;
  readonly #lostAtStart: number;
  #resolve!: (s: DropCaptureSummary) => void;
  #packets = 0;
  #bytes = 0;
  #lost = 0;
  #ended = false;

  /** Starts capturing (Router.startDropCapture checks that no other capture runs). */
  constructor(source: CaptureSource, ifname: string, options: DropCaptureOptions, describeOwner: (generation: number, owner: number) => string | undefined) {
    this.#options = checkOptions(options);
    this.path = this.#options.path;
    this.#source = source;
    this.#describeOwner = describeOwner;
    // Records left from an earlier capture belong to it, not to this file.
    this.#lostAtStart = source.captureDrain().lost;
    const header = pcapngHeader('softunicast', ifname, this.#options.snaplen);
    if (header.length > this.#options.maxBytes) invalid('options.maxBytes', `at least ${header.length} bytes (the file's header)`, this.#options.maxBytes);
    this.#fd = openSync(this.path, 'w', 0o600);
    writeSync(this.#fd, header);
    this.#bytes = header.length;
    this.done = new Promise((resolve) => (this.#resolve = resolve));
    source.captureStart(this.#options.snaplen);
    this.#timer = setInterval(() => this.#drain(), DRAIN_MS).unref();
    this.#deadline = setTimeout(() => this.#end('time'), this.#options.seconds * 1000).unref();
  }

  get packets(): number {
    return this.#packets;
  }

  get active(): boolean {
    return !this.#ended;
  }

  /** Ends the capture now (what was captured so far is written first). */
  stop(end: DropCaptureEnd = 'stopped'): Promise<DropCaptureSummary> {
    this.#end(end);
    return this.done;
  }

  /** Writes what the rings hold; ends the capture when a limit is reached. */
  #drain(): void {
    if (this.#ended) return;
    const { records, lost } = this.#source.captureDrain();
    this.#lost = lost - this.#lostAtStart;
    for (let at = 0; at < records.length; at += records.readUInt32LE(at + R.record_len.offset)) {
      const limit = this.#write(records, at);
      if (limit !== undefined) return this.#finish(limit);
    }
  }

  /** Writes the record at `at`, or says which limit it would break. */
  #write(records: Buffer, at: number): DropCaptureEnd | undefined {
    if (this.#packets >= this.#options.maxPackets) return 'max-packets';
    const fate = ABI.routeCounters[records.readUInt16LE(at + R.fate.offset)];
    const owner = records.readUInt32LE(at + R.owner.offset);
    const generation = Number(records.readBigUInt64LE(at + R.generation.offset));
    const parts = [`${fate?.name ?? 'unknown'}: ${fate?.doc ?? ''}`];
    if (owner !== ABI.capture.ownerNone) parts.push(`owner ${this.#describeOwner(generation, owner) ?? `#${owner}`}`);
    parts.push(`queue ${records.readUInt16LE(at + R.queue.offset)}`, `generation ${generation}`);
    const capLen = records.readUInt32LE(at + R.cap_len.offset);
    const data = records.subarray(at + ABI.capture.record.size, at + ABI.capture.record.size + capLen);
    const block = pcapngPacket(records.readBigUInt64LE(at + R.time_ns.offset), data, records.readUInt32LE(at + R.orig_len.offset), parts.join('; '));
    if (this.#bytes + block.length > this.#options.maxBytes) return 'max-bytes';
    writeSync(this.#fd, block);
    this.#bytes += block.length;
    this.#packets++;
    return this.#packets >= this.#options.maxPackets ? 'max-packets' : undefined;
  }

  #end(end: DropCaptureEnd): void {
    // What the rings hold was dropped while we captured: written first, unless the router is
    // gone (its rings with it).
    if (end !== 'closed') this.#drain();
    this.#finish(end);
  }

  #finish(end: DropCaptureEnd): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#source.captureStop();
    clearInterval(this.#timer);
    clearTimeout(this.#deadline);
    closeSync(this.#fd);
    this.#resolve({ path: this.path, packets: this.#packets, bytes: this.#bytes, lost: this.#lost, end });
  }
}

/** The error for a second capture while one runs. */
export function captureRunning(path: string): never {
  throw new InvalidOptionError(`Expected no drop capture to be running but one writes ${path}: stop it first`);
}
