// Instructions per packet of the C core under callgrind, phase by phase (parse, lookup,
// encapsulation, whole route), IPv4 and IPv6, 10 and 1,000,000 slices; with --baseline REV also
// for REV's core_bench, built aside, in the same run. For bench/RESULTS.md (issue 13); alone:
// node dist/bench/core-count.js [--baseline REV] [--packets N]. Reports; never asserts.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { cpus, release } from 'node:os';
import { join } from 'node:path';

import { ADDR_SIZES, addrImagePath, FAMILIES, FLOW_ENCAPS, flowImagePath, imagePath, writeAddrImages, writeFlowImages, writeImages } from './images.js';
import { FLOW_BACKENDS } from './tables.js';
import { instructionsPerPacket } from './micro.js';
import { benchBuild, nativeBuild, root } from './paths.js';
import { markdownTable } from './report.js';

/** The phases of core_bench, each the core's own code on 64-byte frames (native/bench/core_bench.c):
 * route_* is su_core_route whole, GUE to a server or a data centre, or a local slice's drop;
 * route_flow the same for flows to a flow-hash service (issue 15), on the flow images. */
const PHASES = ['parse', 'lookup', 'encap', 'route_server', 'route_datacenter', 'route_local'];
const SIZES = [10, 1_000_000];

function sh(command: string, args: string[], cwd = root): string {
  const r = spawnSync(command, args, { cwd, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`${command} ${args.join(' ')} exited with ${String(r.status ?? r.signal)}:\n${r.stderr}`);
  return r.stdout.trim();
}

/** core_bench of commit `rev`, built from `git archive` in build/bench/baseline-<commit> with the
 * flags of the main build (Release), once per commit. */
function baselineBench(rev: string, log: (line: string) => void): string {
  const commit = sh('git', ['rev-parse', '--verify', `${rev}^{commit}`]);
  const dir = join(benchBuild, `baseline-${commit.slice(0, 12)}`);
  const binary = join(dir, 'build', 'core_bench');
  if (existsSync(binary)) return binary;
  log(`building core_bench of ${commit.slice(0, 12)} in ${dir} ...`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, 'src'), { recursive: true });
  sh('bash', ['-c', `git archive ${commit} | tar -x -C "$0"`, join(dir, 'src')]);
  sh('cmake', ['-S', join(dir, 'src', 'native'), '-B', join(dir, 'build'), '-G', 'Ninja', '-DCMAKE_BUILD_TYPE=Release']);
  sh('ninja', ['-C', join(dir, 'build'), 'core_bench']);
  return binary;
}

const argv = process.argv.slice(2);
const option = (name: string): string | undefined => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : undefined);
const log = (line: string): void => console.error(`[core-count] ${line}`);
const packets = Number(option('--packets') ?? 10_000);
const rev = option('--baseline');

log('writing table images (compileTable) ...');
writeImages(benchBuild);
writeFlowImages(benchBuild);
writeAddrImages(benchBuild);
const after = join(nativeBuild, 'core_bench');
const before = rev === undefined ? undefined : baselineBench(rev, log);
const rows: Record<string, string | number>[] = [];
for (const phase of PHASES) {
  for (const family of FAMILIES) {
    for (const slices of SIZES) {
      const image = imagePath(benchBuild, slices, family);
      log(`${phase} ${family} ${slices} ...`);
      const now = instructionsPerPacket(image, phase, 64, packets, after);
      const row: Record<string, string | number> = { phase, family, slices: slices.toLocaleString('en-US'), instructions: now.toFixed(0) };
      if (before !== undefined) {
        const then = instructionsPerPacket(image, phase, 64, packets, before);
        row.before = then.toFixed(0);
        row.change = `${now <= then ? '' : '+'}${(((now - then) / then) * 100).toFixed(0)}%`;
      }
      rows.push(row);
    }
  }
}
/** One row per flow image, beside the port-slice rows: `slices` names the service's backends. */
function count(phase: string, image: string, family: string, slices: string): void {
  log(`${phase} ${family} ${slices} ...`);
  const now = instructionsPerPacket(image, phase, 64, packets, after);
  const row: Record<string, string | number> = { phase, family, slices, instructions: now.toFixed(0) };
  if (before !== undefined) {
    try {
      const then = instructionsPerPacket(image, phase, 64, packets, before);
      row.before = then.toFixed(0);
      row.change = `${now <= then ? '' : '+'}${(((now - then) / then) * 100).toFixed(0)}%`;
    } catch {
      row.before = '-'; // a baseline without the phase or the image's encapsulation
      row.change = '-';
    }
  }
  rows.push(row);
}
for (const encap of FLOW_ENCAPS) {
  for (const family of FAMILIES) count('route_flow', flowImagePath(benchBuild, encap, family), family, `flow-hash, ${FLOW_BACKENDS.toLocaleString('en-US')} backends, ${encap}`);
}
for (const slices of ADDR_SIZES) {
  for (const filter of slices === ADDR_SIZES[0] ? [false, true] : [false]) {
    count('route_addr', addrImagePath(benchBuild, slices, filter), 'ipv6', `address-slice, ${slices.toLocaleString('en-US')} slices, filter ${filter ? 'on' : 'off'}`);
  }
}
console.log(`Machine: ${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, Linux ${release()}. ` +
  `Command: \`node dist/bench/core-count.js${argv.length > 0 ? ` ${argv.join(' ')}` : ''}\`. ` +
  `Instructions per packet: (Ir with ${packets.toLocaleString('en-US')} packets - Ir with 0) / ${packets.toLocaleString('en-US')}, 64-byte frames` +
  `${rev === undefined ? '' : `; before: ${rev} (${sh('git', ['rev-parse', '--short', `${rev}^{commit}`])}), after: this build`}.\n`);
console.log(markdownTable(rows, before === undefined ? ['phase', 'family', 'slices', 'instructions'] : ['phase', 'family', 'slices', 'before', 'instructions', 'change']));
