// Plain-text tables for the demo's output: a header, a rule, and columns padded to fit (numbers
// right-aligned). main.ts prints the flows and the routers' counters with it.

export type Cell = string | number;

/** The rows under `headers`, columns separated by ' | ', numbers right-aligned. */
export function renderTable(headers: readonly string[], rows: readonly (readonly Cell[])[]): string {
  const text = rows.map((r) => r.map(String));
  const widths = headers.map((h, i) => Math.max(h.length, ...text.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[], numeric: readonly boolean[]): string =>
    cells.map((c, i) => (numeric[i] === true ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join(' | ').trimEnd();
  return [
    line(headers, []),
    widths.map((w) => '-'.repeat(w)).join('-+-'),
    ...rows.map((r, j) => line(text[j]!, r.map((c) => typeof c === 'number'))),
  ].join('\n');
}
