// How long a big slice table takes from SliceTable to a table the fast path can use: assign
// (validation), compile (the image), and the native check + index build (SliceView). The
// router's swap itself is one pointer store. Run: node dist/bench/table-publish.js [slices per
// address] — prints a table; asserts nothing (house rule: benchmarks report, tests assert).
import { cpus, release } from 'node:os';

import { IPv4 } from 'ip-num';

import { native } from '../src/native.js';
import { compileTable } from '../src/slices/compile.js';
import { SliceTable } from '../src/slices/table.js';

const perAddress = Number(process.argv[2] ?? 16);
const addresses = 65536; // a /16
const portsPerSlice = 65536 / perAddress;

function timed<T>(fn: () => T): [T, number] {
  const start = performance.now();
  const value = fn();
  return [value, performance.now() - start];
}

const base = IPv4.fromString('100.64.0.0').getValue();
const owners = 32;
const table = new SliceTable().defineOwner('self', { kind: 'local' });
for (let i = 1; i < owners; i++) table.defineOwner(`s${i}`, { kind: 'server', address: IPv4.fromString(`10.1.0.${i + 1}`) });

function* slices() {
  for (let a = 0; a < addresses; a++) {
    const destination = new IPv4(base + BigInt(a));
    for (let s = 0; s < perAddress; s++) {
      yield { destination, ports: { from: s * portsPerSlice, to: (s + 1) * portsPerSlice - 1 }, owner: s === 0 ? 'self' : `s${(a + s) % (owners - 1) + 1}` };
    }
  }
}

const input = [...slices()]; // built outside the timing: ip-num objects are not the table's cost
const [, assignMs] = timed(() => table.assignMany(input));
const host = { mac: '02:00:00:00:00:01', mtu: 1500, ipv4: IPv4.fromString('10.1.0.1') };
const nextHops = new Map(Array.from({ length: owners - 1 }, (_, i) => [`s${i + 1}`, '02:00:00:00:00:02'] as [string, string]));
// 'self' owns the first slice of every address: the local rules fold into one /16 rule.
const [compiled, compileMs] = timed(() => compileTable(table, host, { generation: 1, nextHops }));
const [view, buildMs] = timed(() => new (native().SliceView)(compiled.image));
view.release();

console.log(`machine: ${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, Linux ${release()}, Node ${process.version}`);
console.table([
  { step: 'assignMany (validate)', slices: table.size, ms: Math.round(assignMs) },
  { step: 'compileTable (image)', bytes: compiled.image.length, ms: Math.round(compileMs) },
  { step: 'SliceView (native check + index)', keys: compiled.stats.keys, ms: Math.round(buildMs) },
  { step: 'publish = compile + native', ms: Math.round(compileMs + buildMs) },
]);
