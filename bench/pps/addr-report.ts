// The pps bench's address-slice table (issue 16, markdown): each lane's address service at each size,
// its source filter off and on, and the port-slice table beside them, as ratios to the lane's 1,024-slice
// address table without the filter and to the same size without the filter, each within one round.
// Used by bench/pps/run.ts and bench/run.ts.
import { markdownTable, median, mpps, percent } from '../report.js';
import { ADDR_BASELINE } from './addr.js';
import { summarize } from './report.js';
import type { PpsResult, PpsRow } from './results.js';

/** Per-round ratios of `row` to `base`, and differences of the device's CPU time per packet: each
 * config is measured once a round, so sample i of every row is round i's. */
function perRound(row: PpsRow, base: PpsRow | undefined): { ratio: number; ns: number } {
  if (base === undefined) return { ratio: NaN, ns: NaN };
  const n = Math.min(row.samples.length, base.samples.length);
  const idx = [...Array(n).keys()];
  return {
    ratio: median(idx.map((i) => row.samples[i]!.forwarded / base.samples[i]!.forwarded)),
    ns: median(idx.map((i) => row.samples[i]!.dutNs - base.samples[i]!.dutNs)),
  };
}

const signed = (ns: number): string => (Number.isFinite(ns) ? `${ns >= 0 ? '+' : ''}${ns.toFixed(0)}` : '');

/** The address rows: forwarded, its spread, the ratios and the CPU time per packet of the device. */
export function addrTable(result: PpsResult): string {
  const rows = result.addrRows;
  const find = (kind: string, slices: number, filter: boolean): PpsRow | undefined =>
    rows.find((r) => r.config.kind === kind && r.config.addr?.slices === slices && r.config.addr.filter === filter && !r.config.addr.ports);
  const lines = rows.map((r) => {
    const t = r.config.addr!;
    const s = summarize(r);
    const base = perRound(r, find(r.config.kind, ADDR_BASELINE.slices, ADDR_BASELINE.filter));
    const unfiltered = t.filter ? perRound(r, find(r.config.kind, t.slices, false)) : undefined;
    const f = r.samples.map((x) => x.forwarded / 1e6);
    return {
      lane: r.config.kind === 'express' ? 'express (XDP_TX)' : 'afxdp (AF_XDP workers)',
      table: t.ports ? 'port-slice, IPv6' : 'address-slice',
      slices: t.slices.toLocaleString('en-US'),
      'source filter': t.ports ? '' : t.filter ? 'on' : 'off',
      forwarded: mpps(s.forwarded),
      'forwarded, min-max': f.length > 1 ? `${Math.min(...f).toFixed(2)}-${Math.max(...f).toFixed(2)}` : '',
      'vs 1,024 slices, no filter': percent(base.ratio),
      'filter on / off (same size)': unfiltered ? percent(unfiltered.ratio) : '',
      // The loop runs at its slower end's rate: the reflector's figure says when that is not the device.
      'CPU ns/packet: device / reflector': Number.isFinite(s.dutNs) ? `${s.dutNs.toFixed(0)} / ${s.reflectorNs.toFixed(0)}` : '',
      'ns vs 1,024, no filter': signed(base.ns),
      'ns, filter on - off': unfiltered ? signed(unfiltered.ns) : '',
      'drops by reason (per s)': s.drops.length === 0 ? 'none' : s.drops.map(([n, v]) => `${n} ${v < 1000 ? v.toFixed(0) : mpps(v)}`).join(', '),
    };
  });
  return lines.length === 0 ? '(no address-slice rows measured)' : markdownTable(lines, Object.keys(lines[0]!));
}
