// The soft-unicast world of test/netns/soft-unicast*.test.ts: the world itself is the demo's
// (examples/soft-unicast-demo/world.ts, re-exported here); this file adds what only the test needs:
// the views each server's Router gets through agents/router-agent.mjs, and packet captures.
//
// Each server's view (tableFor): itself 'local'; its neighbours 'server' owners (A: GUE variant
// 0; B: L2 rewrite for IPv4 slices, GUE variant 1 for IPv6 ones); the other data centre one
// 'datacenter' owner per family, whose endpoint is that centre's entry server (GUE variant 1).
// (The demo's configuration file says the same with one owner per server; see its main.ts.)
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { spawnIn, waitFor, type SpawnedProcess } from '../../src/netns/index.js';
import {
  DATACENTRES, GUE_PORT, OTHER, sharedOf, TRUSTED_PEERS, type DcName, type Family, type PortRange, type World,
} from '../../examples/soft-unicast-demo/world.js';

export * from '../../examples/soft-unicast-demo/world.js';
export { Agent, type AgentAnswer } from '../../src/netns/index.js';

/** How a data centre's entry server reaches its neighbours, per family of the slice. */
const VIEW_ENCAP: Record<DcName, Record<Family, 'gue0' | 'gue1' | 'l2'>> = {
  A: { v4: 'gue0', v6: 'gue0' },
  B: { v4: 'l2', v6: 'gue1' },
};

export const ROUTER_AGENT = fileURLToPath(new URL('./agents/router-agent.mjs', import.meta.url));

// ---- Slices and the Routers' views ------------------------------------------------------------

/** Which server owns which port range of the shared addresses (the same for both families). */
export type Assignment = readonly { server: string; ports: PortRange }[];

/** The JSON form of a SliceTable that test/netns/agents/router-agent.mjs builds a table from. */
export interface TableSpec {
  owners: Record<string, Record<string, unknown>>;
  slices: { destination: string; protocols: ('tcp' | 'udp')[]; ports: PortRange; owner: string }[];
}

/** The JSON form of RouterOptions (minus the port) for router-agent.mjs. */
export interface RouterHostSpec {
  ipv4: string;
  ipv6: string;
  guePort: number;
  trustedPeers: string[];
}

/**
 * The name `viewer` gives the owner of `server`'s slices of the shared address of `family`:
 * 'local' for itself, `<server>.<family>` for a neighbour (reached at its address of that family),
 * `dc<X>.<family>` for the other data centre (reached at its entry server's address of that
 * family: GUE variant 1 over IPv4 for IPv4 slices, over IPv6 for IPv6 ones).
 */
export function ownerName(world: World, viewer: string, server: string, family: Family): string {
  const v = world.server(viewer);
  const s = world.server(server);
  if (v === s) return 'local';
  return s.dc === v.dc ? `${s.name}.${family}` : `dc${s.dc}.${family}`;
}

/** The owners `viewer` defines: itself, its neighbours, the other data centre, per family. */
function ownersOf(world: World, viewer: string): TableSpec['owners'] {
  const v = world.server(viewer);
  const owners: TableSpec['owners'] = { local: { kind: 'local' } };
  for (const family of ['v4', 'v6'] as const) {
    for (const s of world.servers) {
      if (s === v || s.dc !== v.dc) continue;
      const encap = VIEW_ENCAP[v.dc][family];
      owners[`${s.name}.${family}`] =
        encap === 'l2'
          ? { kind: 'server', address: family === 'v4' ? s.ipv4 : s.ipv6, encap, mac: s.mac }
          : { kind: 'server', address: family === 'v4' ? s.ipv4 : s.ipv6, encap };
    }
    const other = OTHER[v.dc];
    const entry = world.server(DATACENTRES[other].entry);
    owners[`dc${other}.${family}`] = { kind: 'datacenter', endpoint: family === 'v4' ? entry.ipv4 : entry.ipv6, encap: 'gue1' };
  }
  return owners;
}

/** `viewer`'s SliceTable for `assignment`: every slice of both shared addresses, TCP and UDP. */
export function tableFor(world: World, viewer: string, assignment: Assignment): TableSpec {
  const slices: TableSpec['slices'] = [];
  for (const family of ['v4', 'v6'] as const) {
    for (const { server, ports } of assignment) {
      slices.push({ destination: sharedOf(family), protocols: ['tcp', 'udp'], ports, owner: ownerName(world, viewer, server, family) });
    }
  }
  return { owners: ownersOf(world, viewer), slices };
}

export function hostFor(world: World, viewer: string): RouterHostSpec {
  const s = world.server(viewer);
  return { ipv4: s.ipv4, ipv6: s.ipv6, guePort: GUE_PORT, trustedPeers: [...TRUSTED_PEERS] };
}

// ---- Packet captures ----------------------------------------------------------------------------

/**
 * How long to wait after the traffic before stopping a capture: dumpcap reads the kernel's buffer
 * every 250 ms, and on a stop discards what it has not read (measured here: a packet sent 200 ms
 * before SIGINT was missing from 9 of 10 files, one sent 300 ms before from none).
 */
export const CAPTURE_SETTLE_MS = 1_000;

export interface Capture {
  readonly file: string;
  readonly proc: SpawnedProcess;
  /**
   * Stops the capture (SIGINT: tshark finishes the file) and resolves once it is written. What
   * dumpcap has not read from the kernel yet is lost: it reads every 250 ms (CAP_READ_TIMEOUT),
   * so wait CAPTURE_SETTLE_MS after the last packet of interest before stopping.
   */
  stop(): Promise<void>;
}

/**
 * Starts `tshark -i ifname -w file` in `ns` (classic pcap, only packets matching the BPF filter
 * `filter`) and resolves once it captures. Started before the traffic it is to see.
 */
export async function startCapture(ns: string, ifname: string, file: string, filter: string): Promise<Capture> {
  // -F pcap: classic pcap, which readPcap() below parses; -B 32: a 32 MiB kernel buffer, so
  // that a burst does not outrun dumpcap.
  const proc = spawnIn(ns, 'tshark', ['-n', '-i', ifname, '-F', 'pcap', '-B', '32', '-f', filter, '-w', file]);
  // Not "Capturing on ...": tshark prints that before dumpcap even opened the interface (a
  // packet sent right after it is missed every time here). It logs the file name once dumpcap
  // reports it, and dumpcap does that after binding its packet socket.
  await waitFor(() => proc.stderr.includes('File: ') || !proc.running, { what: `tshark to capture on ${ifname} in ${ns}`, timeoutMs: 20_000 });
  if (!proc.running) throw new Error(`tshark on ${ifname} in ${ns} ended before capturing:\n${proc.stderr}`);
  return {
    file,
    proc,
    async stop() {
      const exit = await proc.kill('SIGINT');
      if (exit.code !== 0) throw new Error(`tshark on ${ifname} in ${ns} exited with ${String(exit.code ?? exit.signal)}:\n${proc.stderr}`);
      // tshark reports "N packets dropped" when the kernel buffer overflowed: the comparison
      // would then miss packets for a reason that is not ours.
      if (/\b[1-9]\d* (?:packets? )?dropped/.test(proc.stderr)) throw new Error(`tshark on ${ifname} in ${ns} lost packets:\n${proc.stderr}`);
    },
  };
}

/** The Ethernet frames of a classic pcap file (link type 1), in capture order. */
export function readPcap(file: string): Buffer[] {
  const data = readFileSync(file);
  const magic = data.readUInt32LE(0);
  // a1b2c3d4 (microseconds) or a1b23c4d (nanoseconds), written in the writer's byte order.
  const little = magic === 0xa1b2c3d4 || magic === 0xa1b23c4d;
  if (!little && data.readUInt32BE(0) !== 0xa1b2c3d4 && data.readUInt32BE(0) !== 0xa1b23c4d) throw new Error(`${file} is not a classic pcap file`);
  const u32 = (at: number): number => (little ? data.readUInt32LE(at) : data.readUInt32BE(at));
  if (u32(20) !== 1) throw new Error(`${file} has link type ${u32(20)}, not Ethernet (1)`);
  const frames: Buffer[] = [];
  for (let at = 24; at + 16 <= data.length; ) {
    const caplen = u32(at + 8);
    const len = u32(at + 12);
    if (caplen !== len) throw new Error(`${file}: a frame was cut to ${caplen} of ${len} bytes`);
    frames.push(data.subarray(at + 16, at + 16 + caplen));
    at += 16 + caplen;
  }
  return frames;
}

/** The IP packet of an untagged Ethernet frame (without any padding after it), or undefined. */
export function ipPacketOf(frame: Buffer): Buffer | undefined {
  const type = frame.readUInt16BE(12);
  const ip = frame.subarray(14);
  if (type === 0x0800 && ip.length >= 20) return ip.subarray(0, ip.readUInt16BE(2));
  if (type === 0x86dd && ip.length >= 40) return ip.subarray(0, 40 + ip.readUInt16BE(4));
  return undefined;
}
