// A small self-contained SVG line chart: series of (x, y) points, labelled axes, linear or log
// scales, a legend. Used by bench/agility-load.ts (per-address load) and by any bench that plots.
import { describe, InvalidOptionError } from '../src/errors.js';

export type Point = readonly [x: number, y: number];

export interface ChartSeries {
  readonly name: string;
  readonly points: readonly Point[];
  /** Any SVG colour; by default one of a fixed palette, in series order. */
  readonly color?: string;
  readonly dashed?: boolean;
}

export interface ChartAxis {
  readonly label: string;
  /** Logarithmic (base 10) scale: every value on this axis must be positive. */
  readonly log?: boolean;
  /** Bounds of the axis; by default the data's, widened to whole decades (log) or nice steps (linear). */
  readonly min?: number;
  readonly max?: number;
}

export interface LineChartOptions {
  readonly title?: string;
  /** Pixels (default 720 x 440). */
  readonly width?: number;
  readonly height?: number;
  readonly x: ChartAxis;
  readonly y: ChartAxis;
  readonly series: readonly ChartSeries[];
}

/** The drawing area inside the margins, in pixels; exported so that a test can check where points land. */
export const MARGIN = { left: 80, right: 20, top: 40, bottom: 60 } as const;
const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f'];

interface Scale {
  readonly min: number;
  readonly max: number;
  readonly ticks: readonly number[];
  /** Fraction of the axis length, 0 at min and 1 at max. */
  at(value: number): number;
}

function bad(path: string, expected: string, received: unknown): never {
  throw new InvalidOptionError(`Expected ${expected} for ${path} but received ${describe(received)}`);
}

/** 1, 2 or 5 times a power of ten: the step that gives about `count` ticks. */
function niceStep(span: number, count: number): number {
  const raw = span / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const m = raw / power;
  return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * power;
}

function scaleOf(axis: ChartAxis, values: readonly number[], path: string): Scale {
  if (typeof axis?.label !== 'string') bad(`${path}.label`, 'a string', axis?.label);
  if (axis.log === true) {
    const bad0 = values.find((v) => v <= 0);
    if (bad0 !== undefined) bad(`${path} (log scale)`, 'positive values only', bad0);
    const lo = Math.log10(axis.min ?? 10 ** Math.floor(Math.log10(Math.min(...values))));
    const hi = Math.log10(axis.max ?? 10 ** Math.ceil(Math.log10(Math.max(...values))));
    const span = hi > lo ? hi - lo : 1;
    const ticks: number[] = [];
    for (let e = Math.ceil(lo); e <= Math.floor(hi) + 1e-9; e++) ticks.push(10 ** e);
    return { min: 10 ** lo, max: 10 ** (lo + span), ticks, at: (v) => (Math.log10(v) - lo) / span };
  }
  const dataMin = Math.min(...values);
  const dataMax = Math.max(...values);
  const step0 = niceStep(dataMax > dataMin ? dataMax - dataMin : Math.abs(dataMax) || 1, 5);
  const min = axis.min ?? Math.floor(dataMin / step0) * step0;
  const max = axis.max ?? Math.max(Math.ceil(dataMax / step0) * step0, min + step0);
  if (!(max > min)) bad(`${path}.max`, `a bound above min (${min})`, max);
  const step = niceStep(max - min, 5);
  const ticks: number[] = [];
  for (let t = Math.ceil(min / step) * step; t <= max + step * 1e-9; t += step) ticks.push(Number(t.toPrecision(12)));
  return { min, max, ticks, at: (v) => (v - min) / (max - min) };
}

/** Text as SVG character data or an attribute value. */
function escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** A tick label: 1k, 10M, 0.5, 2500. */
export function tickLabel(value: number): string {
  const abs = Math.abs(value);
  for (const [unit, size] of [['G', 1e9], ['M', 1e6], ['k', 1e3]] as const) {
    if (abs >= size && Number.isInteger(value / size)) return `${value / size}${unit}`;
  }
  return String(Number(value.toPrecision(6)));
}

function checkSeries(series: readonly ChartSeries[]): void {
  if (!Array.isArray(series) || series.length === 0) bad('series', 'a non-empty array of series', series);
  series.forEach((s, i) => {
    if (typeof s?.name !== 'string') bad(`series[${i}].name`, 'a string', s?.name);
    if (!Array.isArray(s.points) || s.points.length === 0) bad(`series[${i}].points`, 'a non-empty array of [x, y]', s.points);
    (s.points as readonly unknown[]).forEach((p, k) => {
      if (!Array.isArray(p) || p.length !== 2 || !p.every((v) => typeof v === 'number' && Number.isFinite(v))) bad(`series[${i}].points[${k}]`, '[x, y] of finite numbers', p);
    });
  });
}

/** The chart as a standalone SVG document (no scripts, no external references). */
export function lineChart(options: LineChartOptions): string {
  checkSeries(options.series);
  const width = options.width ?? 720;
  const height = options.height ?? 440;
  const xs = scaleOf(options.x, options.series.flatMap((s) => s.points.map((p) => p[0])), 'x');
  const ys = scaleOf(options.y, options.series.flatMap((s) => s.points.map((p) => p[1])), 'y');
  const plotW = width - MARGIN.left - MARGIN.right;
  const plotH = height - MARGIN.top - MARGIN.bottom;
  const px = (v: number): string => (MARGIN.left + xs.at(v) * plotW).toFixed(2);
  const py = (v: number): string => (MARGIN.top + (1 - ys.at(v)) * plotH).toFixed(2);
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
  ];
  if (options.title !== undefined) out.push(`<text class="title" x="${width / 2}" y="22" text-anchor="middle" font-size="15">${escape(options.title)}</text>`);
  out.push(`<g class="grid" stroke="#ddd">`);
  for (const t of xs.ticks) out.push(`<line x1="${px(t)}" x2="${px(t)}" y1="${MARGIN.top}" y2="${MARGIN.top + plotH}"/>`);
  for (const t of ys.ticks) out.push(`<line x1="${MARGIN.left}" x2="${MARGIN.left + plotW}" y1="${py(t)}" y2="${py(t)}"/>`);
  out.push('</g>', `<rect class="frame" x="${MARGIN.left}" y="${MARGIN.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#333"/>`);
  for (const t of xs.ticks) out.push(`<text class="x-tick" x="${px(t)}" y="${MARGIN.top + plotH + 16}" text-anchor="middle">${tickLabel(t)}</text>`);
  for (const t of ys.ticks) out.push(`<text class="y-tick" x="${MARGIN.left - 6}" y="${Number(py(t)) + 4}" text-anchor="end">${tickLabel(t)}</text>`);
  out.push(`<text class="x-label" x="${MARGIN.left + plotW / 2}" y="${height - 16}" text-anchor="middle">${escape(options.x.label)}</text>`);
  out.push(`<text class="y-label" x="18" y="${MARGIN.top + plotH / 2}" text-anchor="middle" transform="rotate(-90 18 ${MARGIN.top + plotH / 2})">${escape(options.y.label)}</text>`);
  options.series.forEach((s, i) => {
    const color = escape(s.color ?? PALETTE[i % PALETTE.length]!);
    const points = s.points.map((p) => `${px(p[0])},${py(p[1])}`).join(' ');
    out.push(`<polyline class="series" data-name="${escape(s.name)}" fill="none" stroke="${color}" stroke-width="1.5"${s.dashed === true ? ' stroke-dasharray="6 4"' : ''} points="${points}"/>`);
    const ly = MARGIN.top + 14 + i * 16;
    out.push(`<line x1="${width - MARGIN.right - 190}" x2="${width - MARGIN.right - 166}" y1="${ly - 4}" y2="${ly - 4}" stroke="${color}" stroke-width="2"/>`);
    out.push(`<text class="legend" x="${width - MARGIN.right - 160}" y="${ly}">${escape(s.name)}</text>`);
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
