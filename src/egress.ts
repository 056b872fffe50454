// Connections whose source is the shared address and a port from this host's slice of it, so that
// the replies (steered by destination port) come back to this host. Public API via src/index.ts.
import * as dgram from 'node:dgram';
import { closeSync } from 'node:fs';
import * as net from 'node:net';
import { constants } from 'node:os';

import type { IPv4, IPv6 } from 'ip-num';

import { InvalidOptionError, SyscallError, invalid } from './errors.js';
import { isAddress, isIPv4 } from './ip.js';
import { native } from './native.js';
import type { PortRange } from './fields.js';

export interface EgressOptions {
  /** The shared address. It must be configured on this host (a dummy or loopback interface). */
  source: IPv4 | IPv6;
  /**
   * This host's slice of the source's ports, inclusive. It must overlap the network namespace's
   * net.ipv4.ip_local_port_range: the kernel only narrows that range, and ignores a socket's own
   * range that lies wholly outside it.
   */
  ports: PortRange;
  /** The remote address, of the same family as `source`. */
  host: IPv4 | IPv6;
  /** The remote port. */
  port: number;
  /**
   * TCP only: give up a handshake after this many milliseconds (a SyscallError with errno
   * ETIMEDOUT). Default: the kernel's own limit (net.ipv4.tcp_syn_retries, about two minutes).
   */
  timeoutMs?: number;
}

/** What the addon's egressConnect takes (native/addon/egress.cc): validated, addresses as text. */
export interface EgressSpec {
  protocol: 'tcp' | 'udp';
  source: string;
  host: string;
  port: number;
  from: number;
  to: number;
  /** 0: none. */
  timeoutMs: number;
}

interface EgressBinding {
  /** Resolves with the fd of a connected TCP socket, or a bound UDP one; the caller owns it. */
  egressConnect(spec: EgressSpec): Promise<number>;
}

const OPTION_KEYS = ['source', 'ports', 'host', 'port', 'timeoutMs'];
const MAX_TIMEOUT_MS = 2 ** 31 - 1;

/** An address as people write it: ip-num prints IPv6 uncompressed, the URL parser per RFC 5952. */
export function addressText(address: IPv4 | IPv6): string {
  if (isIPv4(address)) return address.toString();
  return new URL(`http://[${address.toString()}]/`).hostname.slice(1, -1);
}

function isInteger(value: unknown, min: number, max: number): value is number {
  return Number.isInteger(value) && (value as number) >= min && (value as number) <= max;
}

function address(value: unknown, path: string): IPv4 | IPv6 {
  if (!isAddress(value)) invalid(path, 'an ip-num IPv4 or IPv6', value);
  return value;
}

function isUnicast(a: IPv4 | IPv6): boolean {
  const v = a.getValue();
  // Not the unspecified address (binding it means "any"), not multicast (224/4, ff00::/8).
  return isIPv4(a) ? v !== 0n && v >> 28n !== 14n : v !== 0n && v >> 120n !== 0xffn;
}

/** Validates EgressOptions into the addon's spec; throws InvalidOptionError naming the option. */
export function egressSpec(protocol: 'tcp' | 'udp', options: unknown): EgressSpec {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) invalid('options', 'an object', options);
  const o = options as Record<string, unknown>;
  for (const key of Object.keys(o)) {
    if (!OPTION_KEYS.includes(key)) invalid(`options.${key}`, `no such option (known: ${OPTION_KEYS.join(', ')})`, o[key]);
  }

  const source = address(o.source, 'options.source');
  if (!isUnicast(source)) {
    invalid('options.source', 'a unicast address (the shared address itself)', addressText(source));
  }
  const host = address(o.host, 'options.host');
  const family = isIPv4(source) ? 'IPv4' : 'IPv6';
  if (isIPv4(host) !== isIPv4(source)) {
    throw new InvalidOptionError(
      `Expected an ${family} address (the family of options.source ${addressText(source)}) for options.host ` +
        `but received ${family === 'IPv4' ? 'IPv6' : 'IPv4'} ${addressText(host)}`,
    );
  }

  const ports = o.ports;
  if (typeof ports !== 'object' || ports === null || Array.isArray(ports)) invalid('options.ports', 'a port range { from, to }', ports);
  const { from, to } = ports as Partial<PortRange>;
  if (!isInteger(from, 0, 65535)) invalid('options.ports.from', 'a port from 0 to 65535', from);
  if (!isInteger(to, 0, 65535)) invalid('options.ports.to', 'a port from 0 to 65535', to);
  if (from > to) invalid('options.ports', 'a range whose from is not above its to', `${from}-${to}`);
  // Port 0 is never a source port; a slice of only port 0 has nothing to offer.
  if (to === 0) invalid('options.ports', 'a range that holds a port from 1 to 65535', `${from}-${to}`);

  if (!isInteger(o.port, 1, 65535)) invalid('options.port', 'a port from 1 to 65535', o.port);
  let timeoutMs = 0;
  if (o.timeoutMs !== undefined) {
    if (!isInteger(o.timeoutMs, 1, MAX_TIMEOUT_MS)) invalid('options.timeoutMs', `an integer from 1 to ${MAX_TIMEOUT_MS}`, o.timeoutMs);
    timeoutMs = o.timeoutMs;
  }
  return { protocol, source: addressText(source), host: addressText(host), port: o.port, from, to, timeoutMs };
}

function egressConnect(spec: EgressSpec): Promise<number> {
  // The Binding type in src/native.ts does not list this addon export; egress.cc defines it.
  return (native() as unknown as EgressBinding).egressConnect(spec);
}

/** Runs `wrap(fd)`; if it throws, the fd is nobody's: close it before rethrowing. */
function adopt<T>(fd: number, wrap: (fd: number) => T): T {
  try {
    return wrap(fd);
  } catch (error) {
    closeSync(fd);
    throw error;
  }
}

/**
 * Opens a TCP connection from `source` and a port of `ports` that the kernel picks (any port
 * of the slice serves many destinations: only the 4-tuple must be unique), to `host`:`port`.
 * Resolves with an ordinary connected net.Socket. Rejects with SliceExhaustedError when every
 * port of the slice is in use towards that destination, InvalidOptionError for bad options (or
 * a slice outside net.ipv4.ip_local_port_range), and SyscallError (errno, syscall) otherwise:
 * ECONNREFUSED, ETIMEDOUT, a source that is not configured here (EADDRNOTAVAIL from bind), a
 * kernel older than 6.3 (ENOPROTOOPT).
 */
export async function connectFromSlice(options: EgressOptions): Promise<net.Socket> {
  const spec = egressSpec('tcp', options);
  const fd = await egressConnect(spec);
  return adopt(fd, () => new net.Socket({ fd, readable: true, writable: true }));
}

/**
 * Opens a UDP socket bound to `source` and a port of `ports`, connected to `host`:`port`, so
 * that `socket.send(message)` needs no address. UDP ports are exclusive whatever the
 * destination, so a slice holds at most `to - from + 1` such sockets at once; then this
 * rejects with SliceExhaustedError. Other errors as for connectFromSlice.
 */
export async function udpFromSlice(options: EgressOptions): Promise<dgram.Socket> {
  const spec = egressSpec('udp', options);
  const fd = await egressConnect(spec);
  const socket = adopt(fd, () => {
    const s = dgram.createSocket(spec.source.includes(':') ? 'udp6' : 'udp4');
    // bind({ fd }) wraps the socket as it is (address and port ignored); from here the
    // dgram.Socket owns the fd and closes it.
    s.bind({ fd });
    return s;
  });
  // Connected through dgram, so that it knows (send() without an address): the addon leaves
  // the socket bound only, since libuv takes an fd that is connected already for one, and
  // dgram's connect() then fails with EISCONN. Connecting keeps the bound port.
  await new Promise<void>((resolve, reject) => {
    socket.connect(spec.port, spec.host, (error?: Error) => {
      if (error === undefined || error === null) return resolve();
      const local = socket.address().port;
      socket.close();
      const code = (error as NodeJS.ErrnoException).code;
      const errno = code === undefined ? undefined : (constants.errno as Record<string, number>)[code];
      const to = spec.host.includes(':') ? `[${spec.host}]:${spec.port}` : `${spec.host}:${spec.port}`;
      reject(new SyscallError(`Could not connect UDP from ${spec.source} port ${local} to ${to}: ${error.message}`, errno, 'connect'));
    });
  });
  return socket;
}
