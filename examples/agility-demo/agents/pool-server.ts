// The agility demo's server namespace: ONE HTTP server on port 80 and ONE UDP echo on port 7, each
// bound to a single address, serving whole pools through sk_lookup (SocketSteering). JSON lines:
//   steer { ipv4, ipv6 }  replaces every rule at once: tcp 80 and udp 7 for both pools, to the two sockets
//   load                  the steering's per-address counts (tcp and udp), most first
//   counters              the sk_lookup program's counters
// HTTP answers "<Host header> <local address>": the client checks it reached the address it resolved.
import * as dgram from 'node:dgram';
import * as http from 'node:http';

import { IPv4CidrRange, IPv6CidrRange } from 'ip-num';

import { SocketSteering } from '../../../src/index.js';
import { failStart, serve } from './lines.js';

export const HTTP_PORT = 80;
export const ECHO_PORT = 7;

function listenHttp(): Promise<http.Server> {
  const server = http.createServer((req, res) => res.end(`${req.headers.host ?? ''} ${req.socket.localAddress ?? ''}`));
  // Clients close every connection; no idle keep-alive sockets to wait for on exit.
  server.keepAliveTimeout = 1;
  // A v4-mapped address keeps the IPv6 socket dual-stack: one socket takes both pools.
  return new Promise((resolve, reject) => server.once('error', reject).listen({ host: '::ffff:127.0.0.1', port: HTTP_PORT }, () => resolve(server)));
}

function bindEcho(): Promise<dgram.Socket> {
  const socket = dgram.createSocket({ type: 'udp6', ipv6Only: false });
  socket.on('message', (msg, rinfo) => socket.send(msg, rinfo.port, rinfo.address));
  // Bound to '::': a reply leaves from the address the kernel picks by route, not the pool
  // address asked; the clients' sockets are unconnected and take it (docs/socket-steering.md).
  return new Promise((resolve, reject) => socket.once('error', reject).bind(ECHO_PORT, '::', () => resolve(socket)));
}

let web: http.Server;
let echo: dgram.Socket;
let steering: SocketSteering;
try {
  [web, echo] = await Promise.all([listenHttp(), bindEcho()]);
  steering = await SocketSteering.attach();
} catch (e) {
  failStart(e);
}

serve({
  steer: (c) => {
    const v4 = IPv4CidrRange.fromCidr(c.ipv4 as string);
    const v6 = IPv6CidrRange.fromCidr(c.ipv6 as string);
    steering.replaceRules([
      { rule: { protocol: 'tcp', prefix: v4, ports: HTTP_PORT }, target: web },
      { rule: { protocol: 'tcp', prefix: v6, ports: HTTP_PORT }, target: web },
      { rule: { protocol: 'udp', prefix: v4, ports: ECHO_PORT }, target: echo },
      { rule: { protocol: 'udp', prefix: v6, ports: ECHO_PORT }, target: echo },
    ]);
    return { rules: steering.rules().map((r) => r.rule) };
  },
  load: () => ({ load: steering.load().map((l) => ({ address: l.address.toString(), family: l.address.toString().includes(':') ? 6 : 4, protocol: l.protocol, count: l.count })) }),
  counters: () => ({ counters: steering.counters() }),
}, { httpPort: HTTP_PORT, echoPort: ECHO_PORT });
