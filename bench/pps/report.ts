// The pps bench's tables (markdown): the configurations of issue 5 and the knob sweep, each
// figure a median over rounds, each ratio against the bare bounce of the same round.
// Used by bench/pps/run.ts and bench/run.ts.
import { markdownTable, median, mpps, percent } from '../report.js';
import type { PpsResult, PpsRow } from './run.js';

/** Medians of a row's samples, for the tables. */
export function summarize(row: PpsRow): { offered: number; forwarded: number; gue: number; toKernel: number; ratio: number; drops: [string, number][] } {
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
    ratio: median(row.ratios),
    drops,
  };
}

const LABELS: Record<string, string> = {
  bounce: '(1) AF_XDP bounce, C handler swaps MACs',
  kernel: '(2) in-kernel XDP: lookup + GUE + XDP_TX',
  'ts-job': '(3) TypeScript ring API: lookup + GUE in JS',
  'ts-bounce': '(3b) TypeScript ring API: MAC swap only',
  router: '(4) C fast path (Router)',
};

const VERDICTS: Record<string, string> = {
  server: 'same-DC GUE',
  datacenter: 'cross-DC GUE',
  local: 'local (XDP_PASS)',
};

function line(row: PpsRow, label: string): Record<string, string> {
  const s = summarize(row);
  const bounceRow = row.config.kind === 'bounce' || row.config.kind === 'ts-bounce';
  return {
    configuration: label,
    packet: `${row.scenario.frame === 64 ? 64 : 1500} B`,
    job: bounceRow ? 'MAC swap' : VERDICTS[row.scenario.verdict]!,
    offered: mpps(s.offered),
    forwarded: mpps(s.forwarded),
    'to kernel': s.toKernel > 0 ? mpps(s.toKernel) : '',
    'vs (1)': row.scenario.verdict === 'local' ? '' : percent(s.ratio),
    'forwarded, min-max': range(row),
    // Everything offered was handled: the generator, not the device, set the rate.
    'drops by reason (per s)':
      s.drops.length === 0 && s.forwarded + s.toKernel >= 0.97 * s.offered
        ? 'none (generator-bound)'
        : s.drops.map(([n, v]) => `${n} ${mpps(v)}`).join(', '),
  };
}

const COLUMNS = ['configuration', 'packet', 'job', 'offered', 'forwarded', 'forwarded, min-max', 'to kernel', 'vs (1)', 'drops by reason (per s)'];

/** The spread over rounds, so that a reader sees how far one run's figure may swing. */
function range(row: PpsRow): string {
  const f = row.samples.map((s) => s.forwarded / 1e6);
  return f.length > 1 ? `${Math.min(...f).toFixed(2)}-${Math.max(...f).toFixed(2)}` : '';
}

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
