// Runs an XdpPort inside a test namespace for test/netns/*.test.ts, driven by JSON lines on stdin
// and reporting JSON lines on stdout. Imports the built package (dist/), as a user would.
// argv[2]: { open: XdpPortOptions with capture destinations as CIDR strings, record?: path,
//            tcpEcho?: port, udpWatch?: port, noHandler?: true,
//            closeInHandler?: true, replyInHandler?: true }
import { createWriteStream } from 'node:fs';
import { createServer } from 'node:net';
import { createSocket } from 'node:dgram';
import { createInterface } from 'node:readline';

import { IPv4, IPv4CidrRange, IPv6, IPv6CidrRange } from 'ip-num';

import { XdpPort } from '../../../dist/src/index.js';

const config = JSON.parse(process.argv[2] ?? '{}');
const say = (event) => process.stdout.write(`${JSON.stringify(event)}\n`);

function destination(text) {
  const v6 = text.includes(':');
  if (text.includes('/')) return v6 ? IPv6CidrRange.fromCidr(text) : IPv4CidrRange.fromCidr(text);
  return v6 ? IPv6.fromString(text) : IPv4.fromString(text);
}

const openOptions = { ...config.open };
if (openOptions.capture) openOptions.capture = openOptions.capture.map((r) => ({ ...r, destination: destination(r.destination) }));

let port;
try {
  port = await XdpPort.open(openOptions);
} catch (error) {
  say({ event: 'error', name: error.name, code: error.code, errno: error.errno, syscall: error.syscall, message: error.message });
  process.exit(3);
}

// Received frames go to `record` as u16 length + bytes, the format raw-sender.py writes.
let received = 0;
const record = config.record ? createWriteStream(config.record) : undefined;
// Replies the handler could not queue yet. allocate() finds no frame until the worker has
// stocked its reserve, which it starts doing on the first call: under load every batch can be
// handled before the worker runs, so what is short is retried on a later tick, as the API asks
// (src/xdp/queue.ts), instead of being dropped and leaving tx_packets at 0 for good.
const pendingReplies = [];
let retryTimer;
function sendReplies() {
  if (port.closed || pendingReplies.length === 0) return;
  const sentNow = port.queues[0].send(pendingReplies);
  pendingReplies.splice(0, sentNow);
  if (pendingReplies.length > 0 && retryTimer === undefined) {
    retryTimer = setTimeout(() => {
      retryTimer = undefined;
      sendReplies();
    }, 1);
  }
}
const onBatch = (batch) => {
  for (let i = 0; i < batch.length; i++) {
    const packet = batch.packet(i);
    if (record) {
      const entry = Buffer.alloc(2 + packet.length);
      entry.writeUInt16LE(packet.length, 0);
      entry.set(packet, 2);
      record.write(entry);
    }
  }
  if (config.replyInHandler) {
    // allocate() and send() from inside a handler must leave the batch being handled intact.
    const replies = [];
    for (let i = 0; i < batch.length; i++) {
      const copy = Buffer.from(batch.packet(i));
      replies.push(Buffer.concat([copy.subarray(6, 12), copy.subarray(0, 6), copy.subarray(12)]));
    }
    pendingReplies.push(...replies);
    sendReplies();
  }
  received += batch.length;
  say({ event: 'received', count: received });
  if (config.closeInHandler && !port.closed) {
    port.close();
    say({ event: 'closed-in-handler' });
  }
};
if (!config.noHandler) for (const queue of port.queues) queue.onBatch(onBatch);

let kernelUdp = 0;
if (config.udpWatch) {
  // The kernel's own socket on the captured port: it must see nothing that was captured.
  const udp = createSocket('udp4');
  udp.on('message', () => kernelUdp++);
  await new Promise((resolve) => udp.bind(config.udpWatch, resolve));
}
if (config.tcpEcho) {
  const server = createServer((socket) => socket.pipe(socket));
  await new Promise((resolve) => server.listen(config.tcpEcho, '::', resolve));
}

say({ event: 'ready', pid: process.pid, mode: port.mode, queues: port.queues.map((q) => q.id) });

const held = [];
let hoarding;
const commands = {
  async send({ packets }) {
    const frames = packets.map((hex) => Buffer.from(hex, 'hex'));
    let sent = 0;
    // send() queues what free frames allow; the worker restocks its reserve between ticks.
    for (let tries = 0; sent < frames.length && tries < 1000; tries++) {
      sent += port.queues[0].send(frames.slice(sent));
      if (sent < frames.length) await new Promise((r) => setTimeout(r, 2));
    }
    return { sent };
  },
  async counters() {
    return { counters: port.counters(), kernelUdp };
  },
  // A caller that takes every free frame it can, every millisecond, and keeps them: the UMEM
  // runs dry and the fill ring empties (xsk-exhaustion.test.ts).
  async hoard() {
    hoarding = setInterval(() => {
      for (const queue of port.queues) {
        for (let tx = queue.allocate(64); tx.length > 0; tx = queue.allocate(64)) held.push(tx);
      }
    }, 1);
    return {};
  },
  // Gives every hoarded frame back unsent (length 0 recycles a frame).
  async release() {
    clearInterval(hoarding);
    let frames = 0;
    for (const tx of held) {
      frames += tx.length;
      tx.send();
    }
    held.length = 0;
    return { released: frames };
  },
  async held() {
    return { frames: held.reduce((n, tx) => n + tx.length, 0) };
  },
  async close() {
    if (record) await new Promise((r) => record.end(r));
    port.close();
    return { closed: true };
  },
  async exit() {
    process.exit(0);
  },
};

for await (const line of createInterface({ input: process.stdin })) {
  const command = JSON.parse(line);
  try {
    say({ event: command.cmd, ...(await commands[command.cmd](command)) });
  } catch (error) {
    say({ event: 'error', name: error.name, code: error.code, message: error.message });
  }
}
