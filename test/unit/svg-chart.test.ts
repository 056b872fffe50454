// bench/svg-chart.ts: the SVG it writes is well-formed XML, and points, ticks, labels and legend land
// where the scales say; checked by parsing the output (a small tokenizer: no XML dependency).
import { describe, expect, it } from 'vitest';

import { lineChart, MARGIN, tickLabel, type LineChartOptions } from '../../bench/svg-chart.js';
import { InvalidOptionError } from '../../src/errors.js';

interface Element {
  name: string;
  attrs: Record<string, string>;
  text: string;
}

/** Elements in document order; throws unless every tag is closed in order and entities are the five of XML. */
function parse(svg: string): Element[] {
  const elements: Element[] = [];
  const open: Element[] = [];
  const TOKEN = /<(\/?)([a-zA-Z][\w-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>|([^<]+)/gy;
  let at = 0;
  for (let m = TOKEN.exec(svg); m !== null; m = TOKEN.exec(svg)) {
    at = TOKEN.lastIndex;
    const [, closing, name, attrText, selfClosing, text] = m;
    if (text !== undefined) {
      if (/&(?!(amp|lt|gt|quot|apos);)/.test(text)) throw new Error(`bare & in ${JSON.stringify(text)}`);
      if (open.length > 0) open.at(-1)!.text += text.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&amp;/g, '&');
      else if (text.trim() !== '') throw new Error(`text outside the root: ${text}`);
      continue;
    }
    if (closing === '/') {
      if (open.pop()?.name !== name) throw new Error(`</${name}> closes nothing open`);
      continue;
    }
    const attrs: Record<string, string> = {};
    for (const a of attrText!.matchAll(/([\w:-]+)="([^"]*)"/g)) attrs[a[1]!] = a[2]!.replace(/&quot;/g, '"').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
    const element = { name: name!, attrs, text: '' };
    elements.push(element);
    if (selfClosing !== '/') open.push(element);
  }
  if (at !== svg.length || open.length > 0) throw new Error(`malformed at ${at}: ${svg.slice(at, at + 40)}`);
  return elements;
}

const points = (e: Element): number[][] => e.attrs.points!.split(' ').map((p) => p.split(',').map(Number));

const options: LineChartOptions = {
  title: 'Load <per> address & more',
  width: 600,
  height: 400,
  x: { label: 'address rank', log: true },
  y: { label: 'queries', log: true },
  series: [
    { name: 'static /20', points: [[1, 10_000], [10, 1000], [100, 100], [1000, 10]] },
    { name: 'random "/24"', points: [[1, 500], [256, 400]], dashed: true, color: 'black' },
  ],
};

describe('lineChart', () => {
  const elements = parse(lineChart(options));
  const byClass = (c: string): Element[] => elements.filter((e) => e.attrs.class === c);

  it('writes one svg root of the given size, the title and axis labels escaped back to their text', () => {
    expect(elements[0]).toMatchObject({ name: 'svg', attrs: { width: '600', height: '400', xmlns: 'http://www.w3.org/2000/svg' } });
    expect(byClass('title')[0]!.text).toBe('Load <per> address & more');
    expect(byClass('x-label')[0]!.text).toBe('address rank');
    expect(byClass('y-label')[0]!.text).toBe('queries');
    expect(byClass('legend').map((e) => e.text)).toEqual(['static /20', 'random "/24"']);
  });

  it('puts the points of a log-log series on a straight line, one decade apart evenly, inside the frame', () => {
    const [line] = byClass('series');
    const p = points(line!);
    const dx = p.slice(1).map((q, i) => q[0]! - p[i]![0]!);
    const dy = p.slice(1).map((q, i) => q[1]! - p[i]![1]!);
    expect(new Set(dx.map((d) => d.toFixed(1))).size).toBe(1);
    expect(new Set(dy.map((d) => d.toFixed(1))).size).toBe(1);
    expect(dx[0]).toBeGreaterThan(0);
    expect(dy[0]).toBeGreaterThan(0); // larger values higher up: smaller SVG y
    const frame = byClass('frame')[0]!.attrs;
    for (const [x, y] of [...p, ...points(byClass('series')[1]!)]) {
      expect(x).toBeGreaterThanOrEqual(Number(frame.x));
      expect(x).toBeLessThanOrEqual(Number(frame.x) + Number(frame.width));
      expect(y).toBeGreaterThanOrEqual(Number(frame.y));
      expect(y).toBeLessThanOrEqual(Number(frame.y) + Number(frame.height));
    }
  });

  it('labels decades on log axes, and applies colour and dashes', () => {
    expect(byClass('x-tick').map((e) => e.text)).toEqual(['1', '10', '100', '1k']);
    expect(byClass('y-tick').map((e) => e.text)).toEqual(['10', '100', '1k', '10k']);
    expect(byClass('series')[1]!.attrs).toMatchObject({ stroke: 'black', 'stroke-dasharray': '6 4', 'data-name': 'random "/24"' });
  });

  it('maps a linear axis from its bounds to the frame edges', () => {
    const svg = parse(lineChart({ width: 500, height: 300, x: { label: 'x', min: 0, max: 10 }, y: { label: 'y', min: 0, max: 100 }, series: [{ name: 's', points: [[0, 0], [5, 50], [10, 100]] }] }));
    const p = points(svg.find((e) => e.attrs.class === 'series')!);
    expect(p).toEqual([
      [MARGIN.left, 300 - MARGIN.bottom],
      [MARGIN.left + (500 - MARGIN.left - MARGIN.right) / 2, MARGIN.top + (300 - MARGIN.top - MARGIN.bottom) / 2],
      [500 - MARGIN.right, MARGIN.top],
    ]);
    expect(svg.filter((e) => e.attrs.class === 'x-tick').map((e) => e.text)).toEqual(['0', '2', '4', '6', '8', '10']);
  });

  it('refuses what it cannot draw, naming the value', () => {
    const one = (pts: unknown): LineChartOptions => ({ ...options, series: [{ name: 's', points: pts as [number, number][] }] });
    expect(() => lineChart(one([[0, 1]]))).toThrow(new InvalidOptionError('Expected positive values only for x (log scale) but received 0'));
    expect(() => lineChart(one([[1, Number.NaN]]))).toThrow(/\[x, y\] of finite numbers for series\[0\]\.points\[0\] but received an array of 2/);
    expect(() => lineChart(one([]))).toThrow(/non-empty array of \[x, y\] for series\[0\]\.points/);
    expect(() => lineChart({ ...options, series: [] })).toThrow(/non-empty array of series for series/);
  });

  it('writes tick labels short', () => {
    expect([1, 0.5, 2500, 1000, 10_000_000, 3e9].map(tickLabel)).toEqual(['1', '0.5', '2500', '1k', '10M', '3G']);
  });
});
