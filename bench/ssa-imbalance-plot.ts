// The plot of issue 16's imbalance table: most over least loaded endpoint for 10 to 1,000 endpoints,
// a /64 as 1,024 /74 slices against 16,384 /78 slices (data from bench/ssa-imbalance.ts), as SVG.
// node dist/bench/ssa-imbalance-plot.js [FILE] (default docs/ssa-imbalance.svg). Reports only.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

import { imbalanceSeries } from './ssa-imbalance.js';
import { lineChart, type Point } from './svg-chart.js';

const file = process.argv[2] ?? 'docs/ssa-imbalance.svg';
const series = imbalanceSeries();
const svg = lineChart({
  title: 'A /64 dealt to N endpoints: most / least loaded endpoint',
  x: { label: 'endpoints', min: 0, max: 1000 },
  y: { label: 'most / least address space', min: 1, max: 2.2 },
  series: series.map((s, i) => ({ name: s.label, points: s.points.map((p): Point => [p.endpoints, p.ratio]), color: i === 0 ? '#d62728' : '#1f77b4' })),
});
mkdirSync(dirname(file), { recursive: true });
writeFileSync(file, svg);
for (const s of series) console.log(`${s.label}: ${s.points.length} points, worst ${Math.max(...s.points.map((p) => p.ratio)).toFixed(4)}`);
console.log(`plot: ${file}`);
