// UDP traffic with sequence numbers for test/netns/router-binary.test.ts and
// updates-under-load.test.ts, driven by JSON lines on stdin, answering in JSON lines on stdout
// ({"event": cmd, "id", ...}).
//   sink ADDRESS PORT...  (on the router's server) counts the datagrams that reach each port.
//   peer                  (on the other server) sends datagrams to the shared address, and
//                         counts those the router sends back to it in GUE (UDP port 6080), by
//                         the inner packet's destination port.
// Every datagram carries a 32-bit sequence number per destination port, so counts are distinct
// datagrams and a gap is a lost one. The peer also keeps the time each GUE datagram arrived
// (performance.timeOrigin + now(): the wall clock in ms, comparable across processes), so that
// neighbours.test.ts can tell when traffic resumed after a change.
import { createSocket } from 'node:dgram';
import { createInterface } from 'node:readline';

const role = process.argv[2];
const say = (event) => process.stdout.write(`${JSON.stringify(event)}\n`);
const GUE_PORT = 6080;
const PAYLOAD = 32;

/** Distinct sequence numbers seen per port. */
class Seen {
  ports = new Map();

  add(port, seq) {
    let s = this.ports.get(port);
    if (s === undefined) this.ports.set(port, (s = new Set()));
    s.add(seq);
  }

  report() {
    const out = {};
    for (const [port, s] of this.ports) out[port] = s.size;
    return out;
  }
}

const seen = new Seen();
const commands = {};

function udp(address, port) {
  return new Promise((resolve, reject) => {
    // A large buffer: the test counts losses of the router, not of a slow reader.
    const socket = createSocket({ type: 'udp4', recvBufferSize: 8 << 20 });
    socket.once('error', reject);
    socket.bind(port, address, () => resolve(socket));
  });
}

/** The destination port and sequence number of a GUE packet's inner IPv4/UDP datagram, or undefined. */
function innerOf(msg) {
  let at = 0;
  const variant = msg[0] >> 6;
  if (variant === 0) at = 4 + (msg[0] & 0x1f) * 4; // draft-ietf-intarea-gue-09 3.1: Hlen words after the first
  else if (variant !== 1) return undefined;
  if (msg.length < at + 28 || msg[at] >> 4 !== 4 || msg[at + 9] !== 17) return undefined;
  const udpAt = at + (msg[at] & 15) * 4;
  if (msg.length < udpAt + 8 + 4) return undefined;
  return { port: msg.readUInt16BE(udpAt + 2), seq: msg.readUInt32BE(udpAt + 8) };
}

if (role === 'sink') {
  const [address, ...ports] = process.argv.slice(3);
  for (const p of ports.map(Number)) {
    const socket = await udp(address, p);
    socket.on('message', (msg) => {
      if (msg.length >= 4) seen.add(p, msg.readUInt32BE(0));
    });
  }
  commands.report = () => ({ received: seen.report() });
} else if (role === 'peer') {
  const gue = await udp('0.0.0.0', GUE_PORT);
  /** Arrival times (ms, ascending) of GUE datagrams, per inner destination port. */
  const arrivals = new Map();
  gue.on('message', (msg) => {
    const inner = innerOf(msg);
    if (inner === undefined) return;
    seen.add(inner.port, inner.seq);
    let times = arrivals.get(inner.port);
    if (times === undefined) arrivals.set(inner.port, (times = []));
    times.push(performance.timeOrigin + performance.now());
  });
  // The first arrival at or after `at` (ms, same clock) for `port`, or null; and how many
  // datagrams arrived from then on.
  commands.firstAfter = ({ port, at }) => {
    const times = arrivals.get(port) ?? [];
    const i = times.findIndex((t) => t >= at);
    return { first: i < 0 ? null : times[i], count: i < 0 ? 0 : times.length - i };
  };
  // The longest time between two arrivals for `port` among those from `from` to `to` (ms, same
  // clock): { start, end } of the quiet stretch, or nulls with fewer than two arrivals.
  commands.longestGap = ({ port, from, to }) => {
    const times = (arrivals.get(port) ?? []).filter((t) => t >= from && t <= to);
    let best = { start: null, end: null };
    for (let i = 1; i < times.length; i++) {
      if (best.start === null || times[i] - times[i - 1] > best.end - best.start) best = { start: times[i - 1], end: times[i] };
    }
    return best;
  };
  const sender = createSocket('udp4');
  const sent = new Map();
  let timer;
  // Every intervalMs, `burst` datagrams (default 1) of `size` bytes (default 32; above the
  // path MTU the kernel sends them in fragments) to each port: a steady stream per slice.
  commands.start = ({ target, ports, intervalMs, burst = 1, size = PAYLOAD }) => {
    clearInterval(timer);
    for (const p of ports) if (!sent.has(p)) sent.set(p, 0);
    timer = setInterval(() => {
      for (let b = 0; b < burst; b++) {
        for (const p of ports) {
          const buf = Buffer.alloc(size);
          const seq = sent.get(p);
          buf.writeUInt32BE(seq, 0);
          sent.set(p, seq + 1);
          sender.send(buf, p, target);
        }
      }
    }, intervalMs);
    return {};
  };
  commands.stop = () => {
    clearInterval(timer);
    return { sent: Object.fromEntries(sent) };
  };
  commands.report = () => ({ sent: Object.fromEntries(sent), gue: seen.report() });
} else {
  throw new Error(`unknown role ${role}`);
}

say({ event: 'ready', pid: process.pid });
for await (const line of createInterface({ input: process.stdin })) {
  const command = JSON.parse(line);
  try {
    say({ event: command.cmd, id: command.id, ...(await commands[command.cmd](command)) });
  } catch (error) {
    say({ event: 'error', id: command.id, message: error.message });
  }
}
process.exit(0);
