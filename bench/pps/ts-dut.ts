// The pps bench's device under test through the TypeScript ring API (configuration 3 of
// bench/pps/run.ts): XdpPort, onBatch, RxBatch.transmit, as a user of the library writes it.
//   node dist/bench/pps/ts-dut.js IFNAME job|bounce SLICES HOST_MAC NEXT_HOP_MAC [key=value...]
// `job` does the fast path's work in JavaScript (parse, slice lookup, GUE variant 0 over IPv4);
// `bounce` only swaps MACs (the cost of a JS batch alone). Keys: batch= ring= wakeup= busy=.
// stdin: `stats` prints every counter as one JSON line; `quit` closes. Reports; never asserts.
import { createInterface } from 'node:readline';

import { IPv4CidrRange, type IPv4 } from 'ip-num';

import { ABI } from '../../src/generated/abi.js';
import { XdpPort } from '../../src/xdp/port.js';
import type { RxBatch } from '../../src/xdp/batch.js';
import { benchHost, benchTable } from '../tables.js';

const [ifname, mode, slicesArg, hostMacText, nextHopText, ...rest] = process.argv.slice(2);
if (ifname === undefined || (mode !== 'job' && mode !== 'bounce') || nextHopText === undefined) {
  console.error('usage: ts-dut IFNAME job|bounce SLICES HOST_MAC NEXT_HOP_MAC [batch= ring= wakeup= busy=]');
  process.exit(2);
}
const knobs = new Map(rest.map((kv) => kv.split('=') as [string, string]));
const knob = (key: string, fallback: number): number => Number(knobs.get(key) ?? fallback);

const mac = (text: string): Uint8Array => Uint8Array.from(text.split(':').map((h) => parseInt(h, 16)));
const hostMac = mac(hostMacText!);
const nextHop = mac(nextHopText);
const hostIp = Number(benchHost(hostMacText!).ipv4!.getValue());
const SLICE_SHIFT = 12; // the bench tables' 4096-port slices (bench/tables.ts)

// The lookup: one Map entry per (address, protocol, 4096-port slice), right for the bench
// tables' aligned slices only. Owner: the GUE endpoint as a 32-bit number, or 0 for this host.
const slices = new Map<number, number>();
const table = benchTable(Number(slicesArg));
const owners = table.owners();
for (const s of table.slices()) {
  const spec = owners.get(s.owner)!;
  const endpoint = spec.kind === 'local' ? 0 : Number((spec.kind === 'server' ? spec.address : spec.endpoint).getValue());
  const addr = Number((s.destination as IPv4).getValue());
  for (const protocol of s.protocols) {
    for (let slice = s.ports.from >>> SLICE_SHIFT; slice <= s.ports.to >>> SLICE_SHIFT; slice++) {
      slices.set(addr * 64 + (protocol === 'tcp' ? 32 : 0) + slice, endpoint);
    }
  }
}

const fates = { forwarded: 0, not_ipv4: 0, no_owner: 0, local: 0 };

function put32(b: Uint8Array, at: number, v: number): void {
  b[at] = v >>> 24;
  b[at + 1] = (v >>> 16) & 0xff;
  b[at + 2] = (v >>> 8) & 0xff;
  b[at + 3] = v & 0xff;
}

function job(batch: RxBatch): void {
  for (let i = 0; i < batch.length; i++) {
    const p = batch.packet(i);
    if (p[12] !== 0x08 || p[13] !== 0x00 || p[14] !== 0x45) {
      fates.not_ipv4++;
      continue;
    }
    const ipLen = (p[16]! << 8) | p[17]!;
    const proto = p[23]!;
    const src = ((p[26]! << 24) | (p[27]! << 16) | (p[28]! << 8) | p[29]!) >>> 0;
    const dst = ((p[30]! << 24) | (p[31]! << 16) | (p[32]! << 8) | p[33]!) >>> 0;
    const sport = (p[34]! << 8) | p[35]!;
    const dport = (p[36]! << 8) | p[37]!;
    const endpoint = slices.get(dst * 64 + (proto === 6 ? 32 : 0) + (dport >>> SLICE_SHIFT));
    if (endpoint === undefined) {
      fates.no_owner++;
      continue;
    }
    if (endpoint === 0) {
      fates.local++;
      continue;
    }
    // The ring API moves no packet start, so the datagram moves 32 bytes up to make room.
    const f = new Uint8Array(p.buffer, p.byteOffset, batch.capacity(i));
    f.copyWithin(46, 14, 14 + ipLen);
    f.set(nextHop, 0);
    f.set(hostMac, 6);
    f[12] = 0x08;
    f[13] = 0x00;
    f[14] = 0x45;
    f[15] = 0;
    const total = 32 + ipLen;
    f[16] = total >>> 8;
    f[17] = total & 0xff;
    f[18] = f[19] = 0;
    f[20] = 0x40; // DF
    f[21] = 0;
    f[22] = 64;
    f[23] = 17;
    f[24] = f[25] = 0;
    put32(f, 26, hostIp);
    put32(f, 30, endpoint);
    let sum = 0;
    for (let at = 14; at < 34; at += 2) sum += (f[at]! << 8) | f[at + 1]!;
    sum = (sum & 0xffff) + (sum >>> 16);
    sum = ~((sum & 0xffff) + (sum >>> 16)) & 0xffff;
    f[24] = sum >>> 8;
    f[25] = sum & 0xff;
    // Flow entropy in the source port (draft-ietf-intarea-gue-09 5.11.2).
    const hash = Math.imul(Math.imul(src ^ 0x5eed, 0x9e3779b1) ^ dst ^ ((sport << 16) | dport), 0x85ebca6b) >>> 0;
    const gueSport = 49152 + ((hash >>> 16) & 0x3fff);
    f[34] = gueSport >>> 8;
    f[35] = gueSport & 0xff;
    f[36] = 6080 >>> 8;
    f[37] = 6080 & 0xff;
    const udpLen = 12 + ipLen;
    f[38] = udpLen >>> 8;
    f[39] = udpLen & 0xff;
    f[40] = f[41] = 0;
    f[42] = 0;
    f[43] = 4; // GUE variant 0, Proto IPv4
    f[44] = f[45] = 0;
    batch.transmit(i, 46 + ipLen);
    fates.forwarded++;
  }
}

function bounce(batch: RxBatch): void {
  for (let i = 0; i < batch.length; i++) {
    const p = batch.packet(i);
    const dst = p.slice(0, 6);
    p.copyWithin(0, 6, 12);
    p.set(dst, 6);
    batch.transmit(i);
  }
}

const ring = knob('ring', 2048);
const port = await XdpPort.open({
  interface: ifname,
  capture: [{ destination: IPv4CidrRange.fromCidr('100.64.0.0/10') }],
  batchSize: knob('batch', 64),
  rings: { rx: ring, tx: ring, fill: ring, completion: ring },
  frameCount: Math.max(4096, 2 * ring),
  bind: 'copy',
  needWakeup: knob('wakeup', 1) !== 0,
  busyPoll: knob('busy', 0) !== 0,
});
port.queues[0]!.onBatch(mode === 'job' ? job : bounce);
console.log(JSON.stringify({ ready: true }));

for await (const line of createInterface({ input: process.stdin })) {
  if (line.startsWith('stats')) {
    // Named as abi.h names them, as the C device prints them.
    const c = port.counters();
    const q = c.queues[0]!;
    const snake = (list: readonly { name: string }[], values: object) =>
      Object.fromEntries(list.map(({ name }) => [name, (values as Record<string, unknown>)[name]]));
    console.log(JSON.stringify({
      queue: snake(ABI.queueCounters, q),
      kernel: snake(ABI.kernelXdpStats, q.kernel),
      steer: snake(ABI.steerCounters, c.program),
      js: fates,
    }));
  } else if (line.startsWith('quit')) {
    break;
  } else {
    console.log(JSON.stringify({ error: 'unknown command' }));
  }
}
port.close();
