// The socket behind a Node server: a net.Server's or a dgram.Socket's file descriptor, protocol
// and family, refused unless it is listening (TCP) or bound (UDP). Used by steering.ts.
import * as dgram from 'node:dgram';
import * as net from 'node:net';

import { failRule, refuseRule, type CheckedRule } from './rules.js';

/** What a rule can steer to: a listening net.Server or a bound dgram.Socket. */
export type SteerTarget = net.Server | dgram.Socket;

export interface SocketInfo {
  fd: number;
  protocol: 'tcp' | 'udp';
  family: 4 | 6;
  /** The bound address as Node reports it. */
  address: string;
}

/** libuv's handle of a dgram socket sits behind a symbol of Node's internals ('state symbol'). */
function dgramHandle(socket: dgram.Socket): { fd?: number } | undefined {
  const sym = Object.getOwnPropertySymbols(socket).find((s) => s.description === 'state symbol');
  const state = sym === undefined ? undefined : (socket as unknown as Record<symbol, { handle?: { fd?: number } }>)[sym];
  return state?.handle;
}

function familyOf(family: string | number): 4 | 6 {
  return family === 'IPv6' || family === 6 ? 6 : 4;
}

/** The socket of `target`; `path` names it in messages. */
export function socketOf(target: unknown, path: string): SocketInfo {
  if (target instanceof net.Server) {
    const address = target.listening ? target.address() : null;
    const fd = (target as unknown as { _handle?: { fd?: number } })._handle?.fd;
    if (address === null || typeof address === 'string' || typeof fd !== 'number' || fd < 0) {
      refuseRule(path, 'a net.Server listening on a TCP address', target.listening ? 'a server on a pipe' : 'a server that is not listening');
    }
    return { fd, protocol: 'tcp', family: familyOf(address.family), address: address.address };
  }
  if (target instanceof dgram.Socket) {
    let family: 4 | 6;
    let address: string;
    try {
      ({ address } = target.address());
      family = familyOf(target.address().family);
    } catch {
      return refuseRule(path, 'a bound dgram.Socket', 'a socket that is not bound (or closed)');
    }
    const fd = dgramHandle(target)?.fd;
    if (typeof fd !== 'number' || fd < 0) refuseRule(path, 'a dgram.Socket with a file descriptor', 'a socket without one');
    return { fd, protocol: 'udp', family, address };
  }
  return failRule(path, 'a listening net.Server or a bound dgram.Socket', target);
}

/** Refuses a socket that cannot take the rule's packets: wrong protocol, or IPv6 into IPv4. */
export function checkFits(rule: CheckedRule, info: SocketInfo, path: string): void {
  if (rule.protocol !== info.protocol) {
    refuseRule(path, `a ${rule.protocol === 'tcp' ? 'net.Server' : 'dgram.Socket'} for a ${rule.protocol} rule`, `a ${info.protocol} socket`);
  }
  // An IPv6 socket (not ipv6Only) takes IPv4 too; an IPv4 socket never takes IPv6.
  if (rule.family === 6 && info.family === 4) refuseRule(path, 'an IPv6 socket for an IPv6 prefix', 'an IPv4 socket');
  // The kernel makes an IPv6 socket bound to one IPv6 address IPv6-only (inet6_bind), and
  // sk_lookup refuses to hand it IPv4 (bpf_sk_lookup_assign: -EAFNOSUPPORT). Bound to '::' or
  // to a v4-mapped address (::ffff:127.0.0.1) it takes both.
  if (rule.family === 4 && info.family === 6 && info.address !== '::' && !info.address.toLowerCase().startsWith('::ffff:')) {
    refuseRule(path, "a socket that takes IPv4 (IPv4, or IPv6 bound to '::' or a v4-mapped address such as ::ffff:127.0.0.1)", `an IPv6-only socket bound to ${info.address}`);
  }
}
