// Load + validate + compile time (loadConfig, routerOptionsFor, compileTable: a router's start and
// reload) and peak RSS for 100,000 and 1,000,000 slices, explicit and by rule, YAML and JSON;
// medians of 3 fresh processes. Alone: node dist/bench/config-load.js [--library path/to/dist/src/index.js
// --sizes 100000] to measure another build; npm run bench includes it. Reports; asserts nothing.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

import jsyaml from 'js-yaml';

import { CORE } from '../src/config/read.js';
import * as library from '../src/index.js';
import { markdownTable, median } from './report.js';

const SERVERS = 31;
const SLICE = 2048;
const RUNS = 3;

type Kind = 'explicit YAML' | 'explicit JSON' | 'by rule (YAML)' | 'by rule (JSON)';

/** The i-th shared address: 100.64.0.0 upwards. */
const addressOf = (a: number) => `100.${64 + (a >> 16)}.${(a >> 8) & 255}.${a & 255}`;

/** A file with `n` slices: 31 servers, each address cut into 31 slices of 2048 ports. */
function generate(n: number, kind: Kind): string {
  const names = Array.from({ length: SERVERS }, (_, i) => `s${i}`);
  const servers = Object.fromEntries(names.map((s, i) => [s, { ipv4: `10.0.0.${i + 1}`, interface: 'eth0' }]));
  const addresses = Math.ceil(n / SERVERS);
  const ports = (i: number) => `${SLICE * (i + 1)}-${SLICE * (i + 2) - 1}`;
  if (kind === 'explicit JSON' || kind === 'by rule (JSON)') {
    const slices = (): unknown => (kind === 'by rule (JSON)' ? { size: SLICE, owners: names } : names.map((owner, i) => ({ ports: ports(i), owner })));
    const egress = Array.from({ length: addresses }, (_, a) => ({ address: addressOf(a), slices: slices() }));
    return JSON.stringify({ version: 1, datacenters: { a: { servers } }, egress }, null, 1);
  }
  const lines = ['version: 1', 'datacenters:', '  a:', '    servers:'];
  for (const [name, s] of Object.entries(servers)) lines.push(`      ${name}: { ipv4: ${s.ipv4}, interface: eth0 }`);
  lines.push('egress:');
  for (let a = 0; a < addresses; a++) {
    if (kind === 'by rule (YAML)') {
      lines.push(`  - address: ${addressOf(a)}`, `    slices: { size: ${SLICE}, owners: [${names.join(', ')}] }`);
    } else {
      lines.push(`  - address: ${addressOf(a)}`, '    slices:');
      names.forEach((owner, i) => lines.push(`      - { ports: ${ports(i)}, owner: ${owner} }`));
    }
  }
  return `${lines.join('\n')}\n`;
}

interface Sample {
  /** Reading and parsing the text alone (JSON.parse or js-yaml): the floor under loadConfig. */
  parseMs: number;
  /** loadConfig + routerOptionsFor + compileTable. */
  totalMs: number;
  slices: number;
  maxRssMb: number;
}

/** One measurement, in this (fresh) process: first the whole path, then the parse alone. */
async function child(file: string, other: string | undefined): Promise<void> {
  const { compileTable, loadConfig, routerOptionsFor } = other === undefined ? library : ((await import(other)) as typeof library);
  const start = performance.now();
  const config = await loadConfig(file);
  const options = routerOptionsFor(config, 's0');
  const { stats } = compileTable(options.table, { ...options.host, mac: '02:00:00:00:00:01', mtu: 1500 }, { generation: 1 });
  const totalMs = performance.now() - start;
  // maxRSS is the peak so far: read before the parse below adds its own garbage.
  const maxRssMb = process.resourceUsage().maxRSS / 1024;
  const t = performance.now();
  const text = readFileSync(file, 'utf8');
  if (file.endsWith('.json')) JSON.parse(text);
  else jsyaml.load(text, { schema: CORE });
  const sample: Sample = { parseMs: performance.now() - t, totalMs, slices: stats.slices, maxRssMb };
  process.stdout.write(JSON.stringify(sample));
}

const argv = process.argv.slice(2);
const option = (name: string): string | undefined => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : undefined);

function measure(file: string): Sample[] {
  const self = fileURLToPath(import.meta.url);
  const other = option('--library');
  return Array.from({ length: RUNS }, () => {
    const r = spawnSync(process.execPath, [self, '--child', file, ...(other !== undefined ? [other] : [])], { encoding: 'utf8', maxBuffer: 1 << 20 });
    if (r.status !== 0) throw new Error(`measuring ${file} failed: ${r.stderr}`);
    return JSON.parse(r.stdout) as Sample;
  });
}

function main(): void {
  const dir = mkdtempSync(join(tmpdir(), 'softunicast-config-load-'));
  const rows: Record<string, string | number>[] = [];
  try {
    const sizes = option('--sizes')?.split(',').map(Number) ?? [100_000, 1_000_000];
    for (const n of sizes) {
      for (const kind of ['explicit YAML', 'explicit JSON', 'by rule (YAML)', 'by rule (JSON)'] as const) {
        const file = join(dir, `c-${n}-${kind.replace(/\W+/g, '-')}.${kind.includes('JSON') ? 'json' : 'yaml'}`);
        writeFileSync(file, generate(n, kind));
        const samples = measure(file);
        const ms = median(samples.map((s) => s.totalMs));
        const mb = median(samples.map((s) => s.maxRssMb));
        const target = n === 100_000 ? ms < 2000 && mb < 300 : ms < 15_000;
        rows.push({
          slices: samples[0]!.slices.toLocaleString('en-US'),
          file: kind,
          MB: (statSync(file).size / 1e6).toFixed(1),
          'parse only, ms': median(samples.map((s) => s.parseMs)).toFixed(0),
          'load + validate + compile, ms': ms.toFixed(0),
          'peak RSS, MB': mb.toFixed(0),
          target: `${n === 100_000 ? '< 2 s, < 300 MB' : '< 15 s'}: ${target ? 'met' : 'missed'}`,
        });
        rmSync(file);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  console.log(`Medians of ${RUNS} runs, each in a fresh process (Node ${process.version}); peak RSS is the process's maxRSS after compiling. ` +
    '"parse only": reading the text and JSON.parse / js-yaml alone, the floor under the rest. ' +
    `${SERVERS} servers, each address cut into ${SERVERS} slices of ${SLICE} ports; the router's view of s0.` +
    `${option('--library') !== undefined ? ` Library: ${option('--library')}.` : ''}\n`);
  console.log(markdownTable(rows, Object.keys(rows[0]!)));
}

if (argv[0] === '--child') await child(argv[1]!, argv[2] === undefined ? undefined : pathToFileURL(resolve(argv[2])).href);
else main();
