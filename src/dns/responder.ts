// A small authoritative DNS server over UDP and TCP on one port (node:dgram, node:net): answers
// from zones that can be swapped live. Used by the structured addressing and agility work (docs/structured-addressing.md).
import * as dgram from 'node:dgram';
import * as net from 'node:net';

import { bare, RCODE, respond, type Transport } from './answer.js';
import type { PolicyContext } from './policy.js';
import { Xoshiro128 } from './select.js';
import { zoneOf, type DnsZoneOptions, type Zone } from './zone.js';
import { describe, InvalidOptionError, SyscallError } from '../errors.js';

export interface DnsResponderOptions {
  readonly zones: readonly DnsZoneOptions[];
  /** Address to listen on (default '127.0.0.1'). */
  readonly host?: string;
  /** Port for UDP and TCP (default 0: one ephemeral port, the same for both). */
  readonly port?: number;
  /** Milliseconds since the epoch, for the time buckets of `stable` policies (default Date.now). */
  readonly clock?: () => number;
  /** 16 bytes that seed the generator of `random` policies (default: from the system CSPRNG); for replays. */
  readonly seed?: Uint8Array;
}

/** Queries answered, by transport; what a test or a metrics exporter reads. */
export interface DnsResponderCounters {
  udp: number;
  tcp: number;
  truncated: number;
  dropped: number;
  /** Queries answered SERVFAIL because building the answer threw. */
  failed: number;
  /** Socket errors after listening (a failed send); the server keeps serving. */
  errors: number;
}

/** A TCP client that sends nothing for this long is disconnected (RFC 7766 section 6.2.3 suggests seconds). */
const TCP_IDLE_MS = 10_000;
/** Attempts to find an ephemeral port free for both UDP and TCP. */
const PORT_ATTEMPTS = 20;

function zonesOf(zones: readonly DnsZoneOptions[]): Zone[] {
  if (!Array.isArray(zones) || zones.length === 0) throw new InvalidOptionError(`Expected a non-empty array of zones for zones but received ${describe(zones)}`);
  return zones.map((z, i) => zoneOf(z, `zones[${i}]`));
}

export class DnsResponder {
  readonly host: string;
  readonly port: number;
  readonly counters: DnsResponderCounters = { udp: 0, tcp: 0, truncated: 0, dropped: 0, failed: 0, errors: 0 };
  private zones: Zone[];
  private readonly context: PolicyContext;
  private readonly udp: dgram.Socket;
  private readonly tcp: net.Server;
  private readonly connections = new Set<net.Socket>();

  private constructor(host: string, port: number, zones: Zone[], context: PolicyContext, udp: dgram.Socket, tcp: net.Server) {
    this.host = host;
    this.context = context;
    this.port = port;
    this.zones = zones;
    this.udp = udp;
    this.tcp = tcp;
    // The listeners that caught bind and listen failures are spent; later errors are counted.
    udp.removeAllListeners('error').on('error', () => this.counters.errors++);
    tcp.removeAllListeners('error').on('error', () => this.counters.errors++);
    udp.on('message', (message, peer) => this.onDatagram(message, peer));
    tcp.on('connection', (socket) => this.onConnection(socket));
  }

  /** Checks the zones, then listens on UDP and TCP; the promise settles when both listen. */
  static async start(options: DnsResponderOptions): Promise<DnsResponder> {
    const zones = zonesOf(options.zones);
    const context = contextOf(options);
    const host = options.host ?? '127.0.0.1';
    const wanted = options.port ?? 0;
    if (!Number.isInteger(wanted) || wanted < 0 || wanted > 65535) throw new InvalidOptionError(`Expected a port from 0 to 65535 for port but received ${describe(wanted)}`);
    for (let attempt = 0; ; attempt++) {
      const udp = dgram.createSocket(net.isIPv6(host) ? 'udp6' : 'udp4');
      await listen((done) => { udp.once('error', done); udp.bind(wanted, host, () => done()); }, `bind udp ${host}:${wanted}`);
      const port = udp.address().port;
      const tcp = net.createServer();
      try {
        await listen((done) => { tcp.once('error', done); tcp.listen(port, host, () => done()); }, `listen tcp ${host}:${port}`);
        return new DnsResponder(host, port, zones, context, udp, tcp);
      } catch (error) {
        udp.close();
        // An ephemeral UDP port whose TCP twin is taken: try another one.
        if (wanted !== 0 || attempt + 1 >= PORT_ATTEMPTS) throw error;
      }
    }
  }

  /**
   * Replaces every zone at once, policies and pools included: checked first (a bad zone throws and
   * leaves the old ones serving), then swapped with one assignment. A query is answered within one
   * synchronous call, so it sees the old zones or the new ones, never a mix.
   */
  setZones(zones: readonly DnsZoneOptions[]): void {
    this.zones = zonesOf(zones);
  }

  /** Stops listening and closes open TCP connections. */
  async close(): Promise<void> {
    for (const socket of this.connections) socket.destroy();
    await Promise.all([
      new Promise<void>((resolve) => this.udp.close(() => resolve())),
      new Promise<void>((resolve) => this.tcp.close(() => resolve())),
    ]);
  }

  private answer(message: Buffer, transport: Transport): Buffer | undefined {
    let response: Buffer | undefined;
    try {
      response = respond(message, this.zones, transport, this.context);
    } catch {
      // A query the encoder cannot echo (a bug of ours or of dns-packet) must not stop the server.
      this.counters.failed++;
      response = bare(message, RCODE.SERVFAIL);
    }
    if (response === undefined) this.counters.dropped++;
    else {
      this.counters[transport]++;
      if ((response.readUInt16BE(2) & 0x0200) !== 0) this.counters.truncated++;
    }
    return response;
  }

  private onDatagram(message: Buffer, peer: dgram.RemoteInfo): void {
    const response = this.answer(message, 'udp');
    if (response !== undefined) this.udp.send(response, peer.port, peer.address);
  }

  /** RFC 7766: each message is preceded by its two-byte length; a connection may carry many queries. */
  private onConnection(socket: net.Socket): void {
    this.connections.add(socket);
    socket.setTimeout(TCP_IDLE_MS, () => socket.destroy());
    socket.on('close', () => this.connections.delete(socket));
    socket.on('error', () => socket.destroy());
    let pending = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 2 && pending.length >= 2 + pending.readUInt16BE(0)) {
        const message = pending.subarray(2, 2 + pending.readUInt16BE(0));
        pending = pending.subarray(2 + message.length);
        const response = this.answer(message, 'tcp');
        if (response === undefined) continue;
        const length = Buffer.alloc(2);
        length.writeUInt16BE(response.length);
        socket.write(Buffer.concat([length, response]));
      }
    });
  }
}

function contextOf(options: DnsResponderOptions): PolicyContext {
  const clock = options.clock ?? Date.now;
  if (typeof clock !== 'function') throw new InvalidOptionError(`Expected a function returning milliseconds for clock but received ${describe(clock)}`);
  return { now: clock, rng: new Xoshiro128(options.seed) };
}

async function listen(start: (done: (error?: Error) => void) => void, what: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    start((error?: Error) => {
      if (error === undefined) resolve();
      else {
        const e = error as NodeJS.ErrnoException;
        reject(new SyscallError(`Could not ${what}: ${e.message}`, typeof e.errno === 'number' ? Math.abs(e.errno) : undefined, e.syscall));
      }
    });
  });
}
