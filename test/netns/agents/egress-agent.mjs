// Runs inside a test namespace for test/netns/egress.test.ts, JSON lines in and out. Imports the
// built package (dist/), as a user would. Two roles, argv[2]:
//   echo:   TCP echo servers on ports 7 and 8 and a UDP echo on 7 (IPv4 and IPv6); each reply
//           says who the peer was: {"remote", "port", "data"}.
//   client: connectFromSlice / udpFromSlice on command, from stdin:
//           {"cmd":"tcp"|"udp", "id", "source", "from", "to", "host", "port", "timeoutMs"?, "send"?}
//           {"cmd":"close", "id", "target": id of the socket}, {"cmd":"workerPending", ...tcp's};
//           every answer carries the command's id. Exits by itself once stdin ends and
//           every socket is closed, which shows that nothing of the addon holds the loop.
import * as dgram from 'node:dgram';
import * as net from 'node:net';
import { createInterface } from 'node:readline';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';

import { IPv4, IPv6 } from 'ip-num';

import { connectFromSlice, udpFromSlice } from '../../../dist/src/index.js';

const say = (event) => process.stdout.write(`${JSON.stringify(event)}\n`);
const address = (text) => (text.includes(':') ? IPv6.fromString(text) : IPv4.fromString(text));
const errorOf = (e) => ({ name: e.name, code: e.code, errno: e.errno, syscall: e.syscall, message: e.message });

function options(c) {
  const o = { source: address(c.source), ports: { from: c.from, to: c.to }, host: address(c.host), port: c.port };
  if (c.timeoutMs !== undefined) o.timeoutMs = c.timeoutMs;
  return o;
}

// ---- echo ----------------------------------------------------------------------------------

async function echo() {
  const listen = (server, port, host) =>
    new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen({ port, host, ipv6Only: host === '::' }, resolve);
    });
  for (const port of [7, 8]) {
    for (const host of ['0.0.0.0', '::']) {
      const server = net.createServer((socket) => {
        createInterface({ input: socket }).on('line', (data) => {
          socket.write(`${JSON.stringify({ remote: socket.remoteAddress, port: socket.remotePort, data })}\n`);
        });
        socket.on('error', () => undefined);
      });
      await listen(server, port, host);
    }
  }
  for (const [type, host] of [['udp4', '0.0.0.0'], ['udp6', '::']]) {
    const udp = dgram.createSocket({ type, ipv6Only: type === 'udp6' });
    udp.on('message', (msg, rinfo) => {
      const reply = JSON.stringify({ remote: rinfo.address, port: rinfo.port, data: msg.toString() });
      udp.send(reply, rinfo.port, rinfo.address);
    });
    await new Promise((resolve) => udp.bind(7, host, resolve));
  }
  say({ event: 'ready' });
}

// ---- client --------------------------------------------------------------------------------

const sockets = new Map();

async function tcp(c) {
  const socket = await connectFromSlice(options(c));
  sockets.set(c.id, socket);
  socket.on('error', (e) => say({ event: 'socket-error', id: c.id, error: errorOf(e) }));
  const out = {
    local: { address: socket.localAddress, port: socket.localPort },
    remote: { address: socket.remoteAddress, port: socket.remotePort },
  };
  if (c.send !== undefined) {
    const lines = createInterface({ input: socket });
    const reply = new Promise((resolve) => lines.once('line', resolve));
    socket.write(`${c.send}\n`);
    out.reply = JSON.parse(await reply);
  }
  return out;
}

async function udp(c) {
  const socket = await udpFromSlice(options(c));
  sockets.set(c.id, socket);
  const out = { local: socket.address(), remote: socket.remoteAddress() };
  if (c.send !== undefined) {
    const reply = new Promise((resolve) => socket.once('message', resolve));
    socket.send(c.send); // no address: the socket is connected
    out.reply = JSON.parse((await reply).toString());
  }
  return out;
}

function close(id) {
  const socket = sockets.get(id);
  sockets.delete(id);
  if (socket instanceof net.Socket) socket.destroy();
  else socket?.close();
}

// A worker with connects still pending is terminated: the addon's poller must stop cleanly
// (an open handle left behind aborts the process when the worker's loop closes).
async function workerPending(c) {
  const worker = new Worker(new URL(import.meta.url), { argv: ['worker'], workerData: c });
  await new Promise((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  const exitCode = await worker.terminate();
  return { exitCode };
}

async function client() {
  const handlers = { tcp, udp, workerPending };
  const lines = createInterface({ input: process.stdin });
  lines.on('line', async (line) => {
    const c = JSON.parse(line);
    if (c.cmd === 'close') {
      close(c.target);
      say({ event: 'close', id: c.id });
      return;
    }
    try {
      say({ event: c.cmd, id: c.id, ...(await handlers[c.cmd](c)) });
    } catch (e) {
      say({ event: c.cmd, id: c.id, error: errorOf(e) });
    }
  });
  lines.on('close', () => {
    for (const id of [...sockets.keys()]) close(id);
  });
  say({ event: 'ready' });
}

if (!isMainThread) {
  // workerPending's worker: two connects that cannot finish (no timeout), then report.
  for (let i = 0; i < 2; i++) connectFromSlice(options(workerData)).catch(() => undefined);
  parentPort.postMessage('pending');
} else if (process.argv[2] === 'echo') {
  await echo();
} else {
  await client();
}
