// 1,000,000 slices in etcd (bench/config-load.ts's deployment: 31 servers, each address cut into
// 31 slices of 2048 ports): the initial load into etcd, a router's first table from it, one move
// (the compare-and-swap alone, and until a watching router holds the new table), next to the same
// file read from disk in the same run. Its own etcd on loopback. Alone:
// node dist/bench/etcd.js [--slices N] [--rounds R]; npm run bench includes it. Reports; asserts nothing.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { IPv4 } from 'ip-num';

import { EtcdSource, EtcdTableStore, FileSource, type SourceUpdate } from '../src/index.js';
import { EtcdServer } from '../test/fixtures/etcd-server.js';
import { markdownTable, median } from './report.js';

const SERVERS = 31;
const SLICE = 2048;
const PREFIX = '/softunicast/bench';
/** Moves per round. */
const MOVES = 5;

const argv = process.argv.slice(2);
const option = (name: string, fallback: number): number => (argv.includes(name) ? Number(argv[argv.indexOf(name) + 1]) : fallback);

const addressOf = (a: number) => `100.${64 + (a >> 16)}.${(a >> 8) & 255}.${a & 255}`;

/** The deployment as JSON: `n` slices, explicit, every address split among the 31 servers. */
function deployment(n: number): string {
  const names = Array.from({ length: SERVERS }, (_, i) => `s${i}`);
  const servers = Object.fromEntries(names.map((s, i) => [s, { ipv4: `10.0.0.${i + 1}`, interface: 'eth0' }]));
  const ports = (i: number) => `${SLICE * (i + 1)}-${SLICE * (i + 2) - 1}`;
  const egress = Array.from({ length: Math.ceil(n / SERVERS) }, (_, a) => ({ address: addressOf(a), slices: names.map((owner, i) => ({ ports: ports(i), owner })) }));
  return JSON.stringify({ version: 1, datacenters: { a: { servers } }, egress });
}

const time = async <T>(fn: () => Promise<T>): Promise<[T, number]> => {
  const t = performance.now();
  const r = await fn();
  return [r, performance.now() - t];
};

/** One round, in a fresh process: load into a fresh prefix, read as a router, move one slice, see it arrive. */
async function round(url: string, file: string, r: number): Promise<Record<string, number>> {
  const prefix = `${PREFIX}/${r}`;
  const store = new EtcdTableStore({ endpoints: url, prefix, timeoutMs: 60_000 });
  const source = new EtcdSource({ endpoints: url, prefix, host: 's0', timeoutMs: 60_000 });
  try {
    const [loaded, loadMs] = await time(() => store.load(file));
    const [first, readMs] = await time(() => source.load());
    // One slice moved back and forth: MOVES times with nothing else in this process (the
    // transaction alone), then MOVES times until the watching source hands over a table with the
    // slice at its new owner (its validation of the whole deployment runs in this process).
    const slice = { destination: addressOf(12345), ports: `${SLICE}-${2 * SLICE - 1}` };
    const owners = (i: number) => (i % 2 === 0 ? ['s0', 's1'] : ['s1', 's0']) as [string, string];
    const cas: number[] = [];
    for (let i = 0; i < MOVES; i++) {
      const [from, to] = owners(i);
      cas.push((await time(() => store.move(slice, to, { from })))[1]);
    }
    let waiting: { owner: string; resolve: (at: number) => void } | undefined;
    source.subscribe({
      update: async (u: SourceUpdate) => {
        if (u.kind === 'table' && waiting !== undefined && u.table.options.table.lookup(IPv4.fromString(addressOf(12345)), 'tcp', SLICE) === waiting.owner) waiting.resolve(performance.now());
      },
    });
    source.watch();
    const seen: number[] = [];
    for (let i = MOVES; i < 2 * MOVES; i++) {
      const [from, to] = owners(i);
      const arrived = new Promise<number>((resolve) => (waiting = { owner: to, resolve }));
      const start = performance.now();
      await store.move(slice, to, { from });
      seen.push((await arrived) - start);
    }
    const casMs = median(cas);
    const seenMs = median(seen);
    const [, fileMs] = await time(() => new FileSource({ path: file, host: 's0' }).load());
    if (first.options.table.size !== loaded.slices) throw new Error(`the router read ${first.options.table.size} slices of ${loaded.slices}`);
    return { slices: loaded.slices, keys: loaded.keys, loadMs, readMs, casMs, seenMs, fileMs };
  } finally {
    await source.close();
    store.close();
  }
}

async function main(): Promise<void> {
  const n = option('--slices', 1_000_000);
  const rounds = option('--rounds', 3);
  const dir = mkdtempSync(join(tmpdir(), 'su-bench-etcd-'));
  const file = join(dir, 'deploy.json');
  writeFileSync(file, deployment(n));
  // Every round adds a prefix of the deployment's size: room for them all beside etcd's default 2 GiB.
  const etcd = await EtcdServer.start({ quotaBytes: 8 * 1024 ** 3 });
  try {
    const samples: Record<string, number>[] = [];
    for (let r = 0; r < rounds; r++) {
      const child = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--child', etcd.url, file, String(r)], { encoding: 'utf8' });
      if (child.status !== 0) throw new Error(`round ${r} failed: ${child.stderr}`);
      samples.push(JSON.parse(child.stdout) as Record<string, number>);
    }
    const m = (k: string) => median(samples.map((s) => s[k]!));
    const ms = (k: string) => `${m(k).toFixed(0)} ms`;
    console.log(`Medians of ${rounds} rounds, each in a fresh process and into a fresh prefix of one etcd 3.4 on loopback (its own data directory in ${tmpdir()}); ` +
      `${SERVERS} servers, each address cut into ${SERVERS} slices of ${SLICE} ports, one etcd key per address (${m("keys").toLocaleString('en-US')} keys), ` +
      `file ${(statSync(file).size / 1e6).toFixed(0)} MB of JSON. The router is s0's view.\n`);
    console.log(markdownTable([
      { step: 'read the file from disk, validate, build the table (baseline, FileSource.load)', slices: m('slices').toLocaleString('en-US'), time: ms('fileMs') },
      { step: 'load the file into etcd (slices load: validate, write in transactions of 128 keys, 4 in flight)', slices: m('slices').toLocaleString('en-US'), time: ms('loadMs') },
      { step: "a router's first table from etcd (EtcdSource.load: paged snapshot, validate, build)", slices: m('slices').toLocaleString('en-US'), time: ms('readMs') },
      { step: `one move: the compare-and-swap transaction (slices move; median of ${MOVES} per round)`, slices: '1', time: ms('casMs') },
      { step: 'one move: until a watching router holds the new table (before its publish)', slices: '1', time: ms('seenMs') },
    ], ['step', 'slices', 'time']));
  } finally {
    await etcd.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (argv[0] === '--child') process.stdout.write(JSON.stringify(await round(argv[1]!, argv[2]!, Number(argv[3]))));
else await main();
