// Formatting shared by the benchmarks: medians, Mpps figures and markdown tables (printed to the
// terminal and pasted into bench/RESULTS.md as they are).

export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Packets per second as "1.23 M" / "0.045 M": millions, three significant digits. */
export function mpps(pps: number): string {
  if (!Number.isFinite(pps)) return '';
  return `${pps >= 1e6 ? (pps / 1e6).toFixed(2) : (pps / 1e6).toFixed(3)} M`;
}

export function percent(ratio: number): string {
  return Number.isFinite(ratio) ? `${(ratio * 100).toFixed(0)}%` : '';
}

/** A markdown table of `rows` with these columns, in this order. */
export function markdownTable(rows: readonly Record<string, string | number>[], columns: readonly string[]): string {
  const cell = (v: string | number | undefined): string => (v === undefined ? '' : String(v).replaceAll('|', '\\|'));
  const lines = [`| ${columns.join(' | ')} |`, `|${columns.map(() => '---').join('|')}|`];
  for (const r of rows) lines.push(`| ${columns.map((c) => cell(r[c])).join(' | ')} |`);
  return lines.join('\n');
}
