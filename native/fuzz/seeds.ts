// Seeds for the fuzzers (native/fuzz/run.sh): the golden table image that fuzz_route routes under
// (SU_FUZZ_TABLE), every golden packet as a route seed (first byte 255: the worker's full
// headroom), and table images of several shapes as view seeds. Everything comes from the golden
// fixtures and compileTable, so the fuzzers start from inputs the fast path really meets.
//   node dist/native/fuzz/seeds.js OUT_DIR
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { IPv4 } from 'ip-num';

import { compileTable } from '../../src/slices/compile.js';
import { SliceTable } from '../../src/slices/table.js';
import { goldenCompiled, goldenPackets } from '../../test/fixtures/golden.js';

const out = process.argv[2];
if (out === undefined) {
  console.error('usage: node dist/native/fuzz/seeds.js OUT_DIR');
  process.exit(2);
}
const routeSeeds = join(out, 'seeds-route');
const viewSeeds = join(out, 'seeds-view');
mkdirSync(routeSeeds, { recursive: true });
mkdirSync(viewSeeds, { recursive: true });

const golden = goldenCompiled();
writeFileSync(join(out, 'golden.img'), golden.image);
goldenPackets().forEach((p, i) => writeFileSync(join(routeSeeds, `golden-${String(i).padStart(3, '0')}`), Buffer.concat([Buffer.from([255]), p.input])));

// Images: the golden one, an empty table, and one with many slices on many addresses.
const host = { mac: '02:00:00:00:00:01', mtu: 1500, ipv4: IPv4.fromString('10.0.0.1'), guePort: 6080, flowHashSeed: 7 };
const empty = compileTable(new SliceTable(), host, { generation: 1n });
const many = new SliceTable()
  .defineOwner('self', { kind: 'local' })
  .defineOwner('peer', { kind: 'server', address: IPv4.fromString('10.0.0.2') })
  .defineOwner('dc', { kind: 'datacenter', endpoint: IPv4.fromString('10.9.0.1'), encap: 'gue1' });
const base = IPv4.fromString('100.64.0.0').getValue();
many.assignMany(Array.from({ length: 512 }, (_, n) => ({
  destination: new IPv4(base + BigInt(n >> 3)),
  ports: { from: (n & 7) * 8192, to: (n & 7) * 8192 + 8191 },
  // The first slice of each address is ours, so that the local rules fold into a few prefixes.
  owner: (n & 7) === 0 ? 'self' : n & 1 ? 'peer' : 'dc',
})));
const manyCompiled = compileTable(many, host, { generation: 2n, nextHops: new Map([['peer', '02:00:00:00:00:02'], ['dc', '02:00:00:00:00:03']]) });
for (const [name, image] of [['golden', golden.image], ['empty', empty.image], ['many', manyCompiled.image]] as const) writeFileSync(join(viewSeeds, name), image);
console.log(`seeds: ${goldenPackets().length} frames, 3 table images in ${out}`);
