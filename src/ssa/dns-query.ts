// One DNS question to one server: over UDP, and again over TCP (RFC 7766 framing) when the answer
// comes back truncated; or to a list of servers in turn. Used by the structured-addressing client
// (src/ssa/client.ts) for APL and TXT.
import * as dgram from 'node:dgram';
import * as net from 'node:net';
import { randomInt } from 'node:crypto';

import * as packet from 'dns-packet';

import { describe, InvalidOptionError, InvalidPacketError, SyscallError } from '../errors.js';

/** A DNS server to ask: an IP address and a port (53 unless given). */
export interface DnsServer {
  readonly host: string;
  readonly port?: number;
}

const TC = 0x0200;
const ETIMEDOUT = 110;

function serverOf(server: DnsServer): { host: string; port: number } {
  const port = server?.port ?? 53;
  if (typeof server !== 'object' || server === null || net.isIP(String(server.host)) === 0) {
    throw new InvalidOptionError(`Expected { host: an IP address, port? } for server but received ${describe(server)}`);
  }
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new InvalidOptionError(`Expected a port from 1 to 65535 for server.port but received ${describe(port)}`);
  return { host: server.host, port };
}

/** Runs `start` until it settles, or fails with ETIMEDOUT after `timeoutMs`; `stop` always runs. */
function withTimeout<T>(what: string, timeoutMs: number, start: (done: (error: Error | undefined, value?: T) => void) => void, stop: () => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => finish(new SyscallError(`No DNS answer ${what} within ${timeoutMs} ms`, ETIMEDOUT, 'dns query')), timeoutMs);
    let settled = false;
    const finish = (error: Error | undefined, value?: T): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      stop();
      if (error !== undefined) reject(error);
      else resolve(value as T);
    };
    start(finish);
  });
}

function viaUdp(query: Buffer, id: number, server: { host: string; port: number }, timeoutMs: number): Promise<Buffer> {
  const socket = dgram.createSocket(net.isIPv6(server.host) ? 'udp6' : 'udp4');
  return withTimeout<Buffer>(`from udp ${server.host}:${server.port}`, timeoutMs, (done) => {
    socket.on('error', (e) => done(new SyscallError(`DNS query to udp ${server.host}:${server.port} failed: ${e.message}`, undefined, 'sendto')));
    // Answers from elsewhere or to another id are not ours (RFC 5452): wait for the right one.
    socket.on('message', (message, peer) => {
      if (peer.port === server.port && message.length >= 2 && message.readUInt16BE(0) === id) done(undefined, message);
    });
    socket.send(query, server.port, server.host);
  }, () => socket.close());
}

function viaTcp(query: Buffer, server: { host: string; port: number }, timeoutMs: number): Promise<Buffer> {
  const socket = net.connect(server.port, server.host);
  return withTimeout<Buffer>(`from tcp ${server.host}:${server.port}`, timeoutMs, (done) => {
    let pending = Buffer.alloc(0);
    socket.on('error', (e) => done(new SyscallError(`DNS query to tcp ${server.host}:${server.port} failed: ${e.message}`, undefined, 'connect')));
    socket.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      if (pending.length >= 2 && pending.length >= 2 + pending.readUInt16BE(0)) done(undefined, pending.subarray(2, 2 + pending.readUInt16BE(0)));
    });
    const length = Buffer.alloc(2);
    length.writeUInt16BE(query.length);
    socket.write(Buffer.concat([length, query]));
  }, () => socket.destroy());
}

/** The decoded answer to one question (type 'APL', 'TXT', ...), over UDP and then TCP if truncated. */
export async function query(name: string, type: string, server: DnsServer, timeoutMs = 2000): Promise<packet.DecodedPacket> {
  if (typeof name !== 'string' || name.length === 0) throw new InvalidOptionError(`Expected a DNS name for name but received ${describe(name)}`);
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) throw new InvalidOptionError(`Expected a timeout above 0 ms for timeoutMs but received ${describe(timeoutMs)}`);
  const to = serverOf(server);
  const id = randomInt(0, 0x10000);
  const message = packet.encode({ id, type: 'query', flags: packet.RECURSION_DESIRED, questions: [{ name, type: type as packet.RecordType }] });
  let response = await viaUdp(message, id, to, timeoutMs);
  if ((response.readUInt16BE(2) & TC) !== 0) response = await viaTcp(message, to, timeoutMs);
  try {
    return packet.decode(response);
  } catch (error) {
    throw new InvalidPacketError(`Expected a DNS message from ${to.host}:${to.port} for ${name} ${type} but received ${response.length} bytes that do not decode (${(error as Error).message})`);
  }
}

/**
 * Response codes after which the next server may answer: the server failed or will not serve the
 * name (RFC 1035 4.1.1). NXDOMAIN and an empty answer are answers: another server of the zone would
 * say the same, so asking on would only hide them.
 */
const NEXT_SERVER = new Set(['SERVFAIL', 'REFUSED', 'NOTIMP', 'FORMERR']);

/**
 * The answer of the first server in `servers` that answers: one that times out, cannot be reached,
 * sends what does not decode or answers SERVFAIL, REFUSED, NOTIMP or FORMERR is passed over. If none
 * answers, a SyscallError names every server and what it did.
 */
export async function queryAny(name: string, type: string, servers: readonly DnsServer[], timeoutMs = 2000): Promise<packet.DecodedPacket> {
  if (!Array.isArray(servers) || servers.length === 0) throw new InvalidOptionError(`Expected a non-empty list of DNS servers for servers but received ${describe(servers)}`);
  servers.forEach(serverOf);
  const failures: string[] = [];
  let errno: number | undefined;
  for (const server of servers) {
    try {
      const response = await query(name, type, server, timeoutMs);
      // dns-packet names the response code (rcode) at run time; its type declarations leave it out.
      const rcode = (response as { rcode?: string }).rcode ?? 'NOERROR';
      if (!NEXT_SERVER.has(rcode)) return response;
      failures.push(`${server.host}:${server.port ?? 53} answered ${rcode}`);
    } catch (error) {
      if (!(error instanceof SyscallError) && !(error instanceof InvalidPacketError)) throw error;
      errno = error.errno ?? errno;
      failures.push(`${server.host}:${server.port ?? 53}: ${error.message}`);
    }
  }
  throw new SyscallError(`Expected an answer to ${name} ${type} from one of ${servers.length} DNS servers but received none (${failures.join('; ')})`, errno, 'dns query');
}
