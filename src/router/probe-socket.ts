// The sockets of peer health probes (peer-health.ts): one UDP socket per address family, bound
// to this host's unicast address (the outer source of the GUE it sends, so the peer trusts it
// and its data plane answers there) on a port the kernel picks. Used by Router.
import { createSocket, type Socket } from 'node:dgram';

import type { IPv4, IPv6 } from 'ip-num';

import { isIPv4 } from '../ip.js';
import type { ProbeReplyHandler, ProbeTarget, ProbeTransport } from './peer-health.js';

interface Bound {
  address: string;
  socket: Socket;
}

/**
 * A ProbeTransport on UDP sockets. `host()` gives this host's addresses now (a publish may change
 * them): a socket follows its family's address, and a family without one cannot send. Replies
 * come in on the same sockets; they are not GUE for this host (they go to the socket's port,
 * not the GUE port), so the XDP program passes them to the kernel like any unmanaged packet.
 */
export function udpProbes(host: () => { ipv4?: IPv4; ipv6?: IPv6 }, onReply: ProbeReplyHandler): ProbeTransport {
  const sockets: { 4?: Bound; 6?: Bound } = {};
  let closed = false;

  const socketFor = (family: 4 | 6): Socket | Error => {
    const h = host();
    const address = (family === 4 ? h.ipv4 : h.ipv6)?.toString();
    const bound = sockets[family];
    if (bound !== undefined && bound.address === address) return bound.socket;
    bound?.socket.close();
    delete sockets[family];
    if (address === undefined) return new Error(`this host has no IPv${family} address to send from`);
    const socket = createSocket({ type: family === 4 ? 'udp4' : 'udp6' });
    // A bind that fails (the address is not this host's) shows in every send's error.
    socket.on('error', () => undefined);
    socket.on('message', (message, from) => onReply({ address: from.address, port: from.port }, message));
    socket.bind({ address, port: 0, exclusive: true });
    socket.unref();
    sockets[family] = { address, socket };
    return socket;
  };

  return {
    send(target: ProbeTarget, message: Uint8Array, done: (error?: Error) => void): void {
      if (closed) return;
      const socket = socketFor(isIPv4(target.address) ? 4 : 6);
      if (socket instanceof Error) return done(socket);
      socket.send(message, target.port, target.address.toString(), (error) => done(error ?? undefined));
    },
    close(): void {
      closed = true;
      for (const family of [4, 6] as const) sockets[family]?.socket.close();
    },
  };
}
