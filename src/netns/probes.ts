// src/netns/probes.ts: what a namespace's links show and reach: ping, the XDP programs attached,
// veth's queue counters and drops. Used by the netns tests and the pps bench.
import { execIn } from './exec.js';
import { isObject, readLink } from './iproute.js';

export interface PingOptions {
  /** Echo requests to send; default 3. Success is at least one reply. */
  count?: number;
  /** Default: 6 if the address contains ':', else 4. */
  family?: 4 | 6;
}

/** True if `address` answers ping from namespace `ns`. */
export async function ping(ns: string, address: string, opts: PingOptions = {}): Promise<boolean> {
  const count = opts.count ?? 3;
  const family = opts.family ?? (address.includes(':') ? 6 : 4);
  // -W 1: wait at most 1 s for each reply; -i 0.2: the shortest interval root may use without
  // flooding, so a 3-packet ping takes well under a second; -n: no reverse DNS (no network here).
  const r = await execIn(ns, 'ping', [`-${family}`, '-n', '-q', '-c', String(count), '-W', '1', '-i', '0.2', address], {
    timeoutMs: count * 1_200 + 5_000,
  });
  return r.code === 0;
}

/** How a program is attached, in the kernel's terms (XDP_ATTACHED_DRV, _SKB, _HW). Not the
 * library's XdpMode (src/xdp/port.ts), which describes what an XdpPort was granted. */
export type XdpAttachedMode = 'native' | 'generic' | 'offload';

export interface XdpAttachment {
  mode: XdpAttachedMode;
  id: number;
  name: string | undefined;
}

// XDP_ATTACHED_* from linux/if_link.h, as iproute2 prints them in the "mode" fields.
const XDP_MODES: Record<number, XdpAttachedMode> = { 1: 'native', 2: 'generic', 3: 'offload' };

/**
 * The XDP programs attached to `ifname` in `ns`, from `ip -j -d link show dev IF`. iproute2 6.1
 * prints, with one program attached:
 *   "xdp": { "mode": 1, "prog": { "id": 101, "name": "xdp_pass", ... },
 *            "attached": [ { "mode": 1, "prog": { "id": 101, ... } } ] }
 * and no "xdp" key at all when none is. Older iproute2 may print only "prog", and with programs
 * in several modes (mode 4, XDP_ATTACHED_MULTI) only "attached"; both are handled.
 */
export async function xdpAttachments(ns: string, ifname: string): Promise<XdpAttachment[]> {
  const link = await readLink(ns, ifname, `reading XDP state of ${ifname} in namespace ${ns}`, true);
  const xdp = link.xdp;
  if (!isObject(xdp)) return [];
  const entries: unknown[] = Array.isArray(xdp.attached) ? xdp.attached : [{ mode: xdp.mode, prog: xdp.prog }];
  const out: XdpAttachment[] = [];
  for (const e of entries) {
    if (!isObject(e) || !isObject(e.prog) || typeof e.prog.id !== 'number') continue;
    const mode = typeof e.mode === 'number' ? XDP_MODES[e.mode] : undefined;
    if (mode === undefined) continue;
    out.push({ mode, id: e.prog.id, name: typeof e.prog.name === 'string' ? e.prog.name : undefined });
  }
  return out;
}

/** `ethtool -S IFNAME` in `ns` as numbers ("rx_queue_0_xdp_packets" -> n): veth's per-queue
 * XDP counters, where a full ring between the two ends shows. */
export async function vethStats(ns: string, ifname: string): Promise<Map<string, number>> {
  const r = await execIn(ns, 'ethtool', ['-S', ifname], { throwOnError: true });
  const out = new Map<string, number>();
  for (const m of r.stdout.matchAll(/^\s*(\w+): (\d+)$/gm)) out.set(m[1]!, Number(m[2]));
  return out;
}

/** The packets `ifname` in `ns` dropped, from `ip -s -j link`: on veth a sender's TX drops are
 * packets its peer's ring had no room for. */
export async function linkDrops(ns: string, ifname: string): Promise<{ rx: number; tx: number }> {
  const r = await execIn(ns, 'ip', ['-s', '-j', 'link', 'show', 'dev', ifname], { throwOnError: true });
  const [link] = JSON.parse(r.stdout) as { stats64: { rx: { dropped: number }; tx: { dropped: number } } }[];
  return { rx: link!.stats64.rx.dropped, tx: link!.stats64.tx.dropped };
}

/** Id of the XDP program attached to `ifname` in `ns` (in `mode`, if given), or undefined if none. */
export async function xdpProgramId(ns: string, ifname: string, mode?: XdpAttachedMode): Promise<number | undefined> {
  const all = await xdpAttachments(ns, ifname);
  return all.find((a) => mode === undefined || a.mode === mode)?.id;
}
