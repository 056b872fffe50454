// The pps bench's tables (markdown): issue 13's configurations and the knob sweep, each figure a
// median over rounds, each ratio against the bare XDP_TX bounce and the bare AF_XDP bounce of the
// same round. Used by bench/pps/run.ts and bench/run.ts.
import { markdownTable, median, mpps, percent } from '../report.js';
import type { PpsResult, PpsRow } from './results.js';

export interface Summary {
  offered: number;
  forwarded: number;
  gue: number;
  toKernel: number;
  vsXdp: number;
  vsXsk: number;
  busy: [number, number];
  /** CPU time per packet of the device under test and of the reflector, ns. */
  dutNs: number;
  reflectorNs: number;
  drops: [string, number][];
}

/** Medians of a row's samples, for the tables. */
export function summarize(row: PpsRow): Summary {
  const names = new Set(row.samples.flatMap((s) => [...s.drops.keys()]));
  const drops = [...names]
    .map((n) => [n, median(row.samples.map((s) => s.drops.get(n) ?? 0))] as [string, number])
    .filter(([, v]) => v > 0)
    .sort((x, y) => y[1] - x[1]);
  return {
    offered: median(row.samples.map((s) => s.offered)),
    forwarded: median(row.samples.map((s) => s.forwarded)),
    gue: median(row.samples.map((s) => s.gue)),
    toKernel: median(row.samples.map((s) => s.toKernel)),
    vsXdp: median(row.vsXdp),
    vsXsk: median(row.vsXsk),
    busy: [median(row.samples.map((x) => x.busy[0])), median(row.samples.map((x) => x.busy[1]))],
    dutNs: median(row.samples.map((x) => x.dutNs)),
    reflectorNs: median(row.samples.map((x) => x.reflectorNs)),
    drops,
  };
}

const LABELS: Record<string, string> = {
  'xdp-bounce': 'bare XDP_TX bounce (swaps MACs)',
  express: 'router, express lane (steer.bpf.o, XDP_TX)',
  afxdp: 'router, lane afxdp (AF_XDP workers)',
  'xsk-bounce': 'bare AF_XDP bounce (C handler swaps MACs)',
  'ts-job': 'TypeScript ring API: lookup + GUE in JS',
  'ts-bounce': 'TypeScript ring API: MAC swap only',
};

const VERDICTS: Record<string, string> = {
  server: 'same-DC GUE',
  datacenter: 'cross-DC GUE',
  flow: "flow-hash, 'glb' GUE + 1 hop",
};

/** The row's job as the tables name it: "cross-DC GUE, IPv6". */
export function jobOf(row: PpsRow): string {
  const k = row.config.kind;
  if (k === 'xdp-bounce' || k === 'xsk-bounce' || k === 'ts-bounce') return 'MAC swap';
  return `${VERDICTS[row.scenario.verdict]!}, IPv${row.scenario.family}`;
}

/** The spread over rounds, so that a reader sees how far one run's figure may swing. */
function range(row: PpsRow): string {
  const f = row.samples.map((s) => s.forwarded / 1e6);
  return f.length > 1 ? `${Math.min(...f).toFixed(2)}-${Math.max(...f).toFixed(2)}` : '';
}

function line(row: PpsRow, label: string): Record<string, string> {
  const s = summarize(row);
  return {
    configuration: label,
    packet: `${row.scenario.frame === 64 ? 64 : 1500} B`,
    job: jobOf(row),
    offered: mpps(s.offered),
    forwarded: mpps(s.forwarded),
    'forwarded, min-max': range(row),
    'vs XDP_TX bounce': percent(s.vsXdp),
    'vs AF_XDP bounce': percent(s.vsXsk),
    'CPU ns/packet: device / reflector': Number.isFinite(s.dutNs) ? `${s.dutNs.toFixed(0)} / ${s.reflectorNs.toFixed(0)}` : '',
    'busy: reflector / device core': `${percent(s.busy[0])} / ${percent(s.busy[1])}`,
    // A closed loop never overloads a ring for long: what drops is noted, per second.
    'drops by reason (per s)': s.drops.length === 0 ? 'none' : s.drops.map(([n, v]) => `${n} ${v < 1000 ? v.toFixed(0) : mpps(v)}`).join(', '),
  };
}

const COLUMNS = [
  'configuration', 'packet', 'job', 'offered', 'forwarded', 'forwarded, min-max', 'vs XDP_TX bounce', 'vs AF_XDP bounce',
  'CPU ns/packet: device / reflector', 'busy: reflector / device core', 'drops by reason (per s)',
];

export function mainTable(result: PpsResult): string {
  return markdownTable(
    result.rows.map((r) => line(r, LABELS[r.config.name] ?? r.config.name)),
    COLUMNS,
  );
}

export function knobTable(result: PpsResult): string {
  return markdownTable(
    result.knobRows.map((r) => line(r, r.config.name)),
    COLUMNS,
  );
}

/** The C router's ratios to the bare AF_XDP bounce before issue 13 (bench/RESULTS.md, the issue 5
 * run: medians of 5 rounds, IPv4), by verdict and frame. */
const BEFORE: Record<string, number> = { 'server/64': 0.67, 'server/1514': 0.76, 'datacenter/64': 0.82, 'datacenter/1514': 0.91 };

/** Issue 13's pps targets, measured. */
export function ppsTargets(result: PpsResult): Record<string, string>[] {
  // Issue 13's targets are the port-slice rows': the flow-hash rows (issue 15) are reported beside them.
  const rows = (kind: string): PpsRow[] => result.rows.filter((r) => r.config.kind === kind && r.scenario.verdict !== 'flow');
  const short = (r: PpsRow): string => `${jobOf(r)} ${r.scenario.frame === 64 ? 64 : 1500} B`;
  const express = rows('express');
  const worst = Math.min(...express.map((r) => summarize(r).vsXdp));
  // What each would forward on a core of its own: the bounce's CPU per packet over the row's.
  const bounceNs = (frame: number): number => summarize(rows('xdp-bounce').find((r) => r.scenario.frame === frame)!).dutNs;
  const costs = express.map((r) => `${short(r)} ${percent(bounceNs(r.scenario.frame) / summarize(r).dutNs)}`);
  const bounce = rows('xdp-bounce').map((r) => {
    const s = summarize(r);
    const bound = s.reflectorNs > s.dutNs ? 'the reflector is the slower end' : 'the device is the slower end';
    return `XDP_TX bounce ${r.scenario.frame === 64 ? 64 : 1500} B: ${mpps(s.forwarded)} (${bound}: ${s.reflectorNs.toFixed(0)} / ${s.dutNs.toFixed(0)} ns per packet)`;
  });
  const afxdp = rows('afxdp');
  const compared = afxdp.filter((r) => r.scenario.family === 4).map((r) => {
    const now = summarize(r).vsXsk;
    const before = BEFORE[`${r.scenario.verdict}/${r.scenario.frame}`]!;
    // Rounds of one configuration swing by ~30% here: only a drop of more than 5 points counts.
    return { text: `${short(r)} ${percent(now)} (before ${percent(before)})`, slower: now < before - 0.05 };
  });
  return [
    {
      target: 'express lane >= 90% of the bare XDP_TX bounce',
      measured: `forwarded: ${express.map((r) => `${short(r)} ${percent(summarize(r).vsXdp)}`).join(', ')}; ${bounce.join(', ')}; ` +
        `by CPU per packet of the device (bounce / express): ${costs.join(', ')}`,
      met: worst >= 0.9 ? 'yes' : `no (worst ${percent(worst)})`,
    },
    {
      target: 'AF_XDP router no slower than before (ratio to the bare AF_XDP bounce)',
      measured: compared.map((c) => c.text).join(', '),
      met: compared.some((c) => c.slower) ? `no: lower by more than 5 points in ${compared.filter((c) => c.slower).length} of ${compared.length}` : 'yes (within 5 points or above)',
    },
    {
      target: 'TypeScript ring path reported beside C',
      measured: rows('ts-job').map((r) => `${percent(summarize(r).vsXsk)} of the AF_XDP bounce`).join(', '),
      met: 'reported',
    },
  ];
}
