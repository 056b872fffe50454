// The AF_XDP core end to end (`npm run demo`): a UDP echo service written in TypeScript on the
// ring API, in a namespace of its own; an ordinary UDP client in another namespace checks every
// echo byte for byte, while ping to the same host keeps working. Tears everything down.
//
// The soft-unicast demo (slices, GUE, several data centres) replaces this once the fast path
// lands; this one shows the layer it stands on.
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';

import { IPv4 } from 'ip-num';

import { XdpPort, type RxBatch } from '../../src/index.js';

const SERVER_IP = '198.18.200.1';
const CLIENT_IP = '198.18.200.2';
const ECHO_PORT = 7000;
const DATAGRAMS = 2000;
const self = fileURLToPath(import.meta.url);

function run(...argv: string[]): string {
  return execFileSync(argv[0]!, argv.slice(1), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** The UDP checksum over the IPv4 pseudo-header (RFC 768); 0 is sent as 0xffff. */
function udpChecksum(frame: Uint8Array, ip: number, udp: number, length: number): number {
  let sum = 17 + length;
  for (let i = ip + 12; i < ip + 20; i += 2) sum += (frame[i]! << 8) | frame[i + 1]!;
  for (let i = udp; i < udp + length; i += 2) sum += i === udp + 6 ? 0 : (frame[i]! << 8) | (i + 1 < udp + length ? frame[i + 1]! : 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff || 0xffff;
}

/** Turns a received UDP/IPv4 frame around in place. Swapping both addresses and both ports keeps
 * the IPv4 checksum valid, but the UDP checksum is recomputed: a packet a local socket sent
 * through a veth reaches XDP with CHECKSUM_PARTIAL, its checksum field holding only the
 * pseudo-header sum that the (virtual) NIC would have completed. */
function turnAround(frame: Uint8Array): boolean {
  if (frame.length < 42 || frame[12] !== 0x08 || frame[13] !== 0x00 || frame[23] !== 17) return false;
  const ihl = (frame[14]! & 0x0f) * 4;
  const udp = 14 + ihl;
  const length = (frame[udp + 4]! << 8) | frame[udp + 5]!;
  if (length < 8 || udp + length > frame.length) return false;
  const swap = (a: number, b: number, n: number) => {
    for (let i = 0; i < n; i++) [frame[a + i], frame[b + i]] = [frame[b + i]!, frame[a + i]!];
  };
  swap(0, 6, 6); // Ethernet destination <-> source
  swap(26, 30, 4); // IPv4 source <-> destination
  swap(udp, udp + 2, 2); // UDP source port <-> destination port
  const sum = udpChecksum(frame, 14, udp, length);
  frame[udp + 6] = sum >> 8;
  frame[udp + 7] = sum & 0xff;
  return true;
}

async function server(ifname: string): Promise<void> {
  const port = await XdpPort.open({
    interface: ifname,
    capture: [{ destination: IPv4.fromString(SERVER_IP), protocols: ['udp'], ports: ECHO_PORT }],
  });
  port.queues[0]!.onBatch((batch: RxBatch) => {
    for (let i = 0; i < batch.length; i++) if (turnAround(batch.packet(i))) batch.transmit(i);
  });
  console.log(JSON.stringify({ ready: true, mode: port.mode }));
  process.stdin.resume();
  process.stdin.on('end', () => {
    console.log(JSON.stringify({ counters: port.counters() }));
    port.close();
    process.exit(0);
  });
}

async function client(): Promise<void> {
  const { createSocket } = await import('node:dgram');
  const socket = createSocket('udp4');
  const outstanding = new Map<number, Buffer>();
  let next = 0;
  let verified = 0;
  let corrupt = 0;
  // A window of datagrams in flight: the client's own socket buffer is the limit to respect
  // here, not the echo service (UDP drops what a receiver cannot buffer).
  const WINDOW = 64;
  const sendMore = () => {
    while (next < DATAGRAMS && outstanding.size < WINDOW) {
      const payload = Buffer.concat([Buffer.alloc(4), randomBytes(16 + (next % 200))]);
      payload.writeUInt32BE(next, 0);
      outstanding.set(next++, payload);
      socket.send(payload, ECHO_PORT, SERVER_IP);
    }
  };
  const done = new Promise<void>((resolve) => {
    socket.on('message', (message) => {
      const seq = message.readUInt32BE(0);
      if (outstanding.get(seq)?.equals(message)) verified++;
      else corrupt++;
      outstanding.delete(seq);
      sendMore();
      if (next === DATAGRAMS && outstanding.size === 0) resolve();
    });
  });
  await new Promise<void>((resolve) => socket.bind(0, resolve));
  sendMore();
  await Promise.race([done, new Promise((r) => setTimeout(r, 10_000))]);
  console.log(JSON.stringify({ sent: next, verified, corrupt, missing: DATAGRAMS - verified - corrupt }));
  socket.close();
}

function inNamespace(ns: string, role: string, arg = ''): ReturnType<typeof spawn> {
  return spawn('ip', ['netns', 'exec', ns, process.execPath, self, role, arg], { stdio: ['pipe', 'pipe', 'inherit'] });
}

function firstJsonLine(child: ReturnType<typeof spawn>): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    let buffered = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const newline = buffered.indexOf('\n');
      if (newline >= 0) resolve(JSON.parse(buffered.slice(0, newline)) as Record<string, unknown>);
    });
    child.on('exit', (code) => reject(new Error(`${String(child.spawnargs.join(' '))} exited with ${code}`)));
  });
}

async function main(): Promise<number> {
  const id = randomBytes(3).toString('hex');
  const [nsServer, nsClient] = [`sudemo${id}-s`, `sudemo${id}-c`];
  const cleanup = () => {
    for (const ns of [nsServer, nsClient]) {
      try {
        run('ip', 'netns', 'del', ns);
      } catch {
        // not created
      }
    }
  };
  process.on('SIGINT', () => {
    cleanup();
    process.exit(130);
  });
  try {
    console.log(`topology: ${nsClient} (${CLIENT_IP}) <-veth-> ${nsServer} (${SERVER_IP}, UDP ${ECHO_PORT} on AF_XDP)`);
    run('ip', 'netns', 'add', nsServer);
    run('ip', 'netns', 'add', nsClient);
    run('ip', 'link', 'add', 'eth0', 'netns', nsServer, 'type', 'veth', 'peer', 'eth0', 'netns', nsClient);
    for (const [ns, ip] of [[nsServer, SERVER_IP], [nsClient, CLIENT_IP]] as const) {
      run('ip', '-n', ns, 'addr', 'add', `${ip}/24`, 'dev', 'eth0');
      run('ip', '-n', ns, 'link', 'set', 'eth0', 'up');
      run('ip', '-n', ns, 'link', 'set', 'lo', 'up');
    }

    const echo = inNamespace(nsServer, 'server', 'eth0');
    const ready = await firstJsonLine(echo);
    console.log(`echo service on AF_XDP: ${JSON.stringify(ready.mode)}`);

    const result = await firstJsonLine(inNamespace(nsClient, 'client'));
    const pingOk = (() => {
      try {
        run('ip', 'netns', 'exec', nsClient, 'ping', '-c', '2', '-W', '1', '-i', '0.2', SERVER_IP);
        return true;
      } catch {
        return false;
      }
    })();
    echo.stdin!.end();
    const final = await new Promise<Record<string, unknown>>((resolve) => {
      let text = '';
      echo.stdout!.on('data', (c: Buffer) => (text += c.toString()));
      echo.on('exit', () => resolve(JSON.parse(text.trim().split('\n').pop() ?? '{}') as Record<string, unknown>));
    });

    const ok = result.verified === DATAGRAMS && result.corrupt === 0 && pingOk;
    console.table({
      'UDP echo over AF_XDP': { ...result },
      'ping (kernel stack)': { sent: 2, verified: pingOk ? 2 : 0, corrupt: 0, missing: pingOk ? 0 : 2 },
    });
    console.log('counters:', JSON.stringify(final.counters, null, 1));
    console.log(ok ? 'OK: every echo verified byte for byte, ping unaffected' : 'FAILED');
    return ok ? 0 : 1;
  } finally {
    cleanup();
  }
}

const [role, arg] = process.argv.slice(2);
if (role === 'server') await server(arg!);
else if (role === 'client') await client();
else process.exitCode = await main();
