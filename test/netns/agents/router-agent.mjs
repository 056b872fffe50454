// Runs a softunicast Router on a server of test/netns/soft-unicast.test.ts, driven by JSON lines
// on stdin and answering in JSON lines on stdout. Imports the built package (dist/), as a user would.
// argv[2]: { interface, host: { ipv4, ipv6, guePort, trustedPeers: [cidr] }, table: TableSpec }
//   where TableSpec (test/netns/topology.ts) = { owners: { name: spec with addresses as text },
//   slices: [{ destination, protocols, ports, owner }] }.
// Commands: {"cmd":"publish","table":TableSpec} | {"cmd":"move","moves":[{destination,protocols,ports,owner}]}
//           | {"cmd":"churn",...} (see commands.churn) | {"cmd":"counters"} | {"cmd":"close"},
//           each with an "id" that its answer
//           {"event": cmd, "id", ...} (or {"event":"error", "id", ...}) repeats.
import { createInterface } from 'node:readline';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

import { IPv4, IPv4CidrRange, IPv6, IPv6CidrRange } from 'ip-num';

import { Router, SliceTable } from '../../../dist/src/index.js';

const config = JSON.parse(process.argv[2] ?? '{}');
// bigint (the generation) is not JSON: as a decimal string.
const say = (event) => process.stdout.write(`${JSON.stringify(event, (_, v) => (typeof v === 'bigint' ? v.toString() : v))}\n`);
const errorOf = (e) => ({ name: e.name, code: e.code, errno: e.errno, syscall: e.syscall, message: e.message });

const address = (text) => (text.includes(':') ? IPv6.fromString(text) : IPv4.fromString(text));
function destination(text) {
  if (!text.includes('/')) return address(text);
  return text.includes(':') ? IPv6CidrRange.fromCidr(text) : IPv4CidrRange.fromCidr(text);
}

function buildTable(spec) {
  const table = new SliceTable();
  for (const [name, owner] of Object.entries(spec.owners)) {
    const o = { ...owner };
    if (o.address !== undefined) o.address = address(o.address);
    if (o.endpoint !== undefined) o.endpoint = address(o.endpoint);
    table.defineOwner(name, o);
  }
  for (const s of spec.slices) table.assign({ ...s, destination: destination(s.destination) });
  return table;
}

// churn measures memory after a full collection; agents start without --expose-gc.
setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc');

let router;
try {
  router = await Router.open({
    port: { interface: config.interface, queues: 'all', attach: 'driver' },
    host: {
      ipv4: address(config.host.ipv4),
      ...(config.host.ipv6 !== undefined && { ipv6: address(config.host.ipv6) }),
      guePort: config.host.guePort,
      trustedPeers: config.host.trustedPeers.map(destination),
    },
    table: buildTable(config.table),
  });
} catch (error) {
  say({ event: 'error', ...errorOf(error) });
  process.exit(3);
}
say({ event: 'ready', pid: process.pid, counters: router.counters() });

const commands = {
  async publish({ table }) {
    return await router.publish(buildTable(table));
  },
  // SliceTable.move on a copy of the table in use, then publish: how an operator moves a slice.
  async move({ moves }) {
    const table = router.table;
    for (const m of moves) table.move({ destination: destination(m.destination), protocols: m.protocols, ports: m.ports }, m.owner);
    return await router.publish(table);
  },
  // Publishes `count` tables, in turn from `tables` (TableSpecs), except that every `bigEvery`-th
  // is the first of them plus `bigSlices` more slices (16 per address from 100.64.0.0, owner
  // `bigOwner`): the updates-under-load test. Answers with the RSS after a collection at each
  // count of `sampleAt` and the number of tables not yet freed at the end.
  async churn({ tables, count, bigEvery, bigSlices, bigOwner, sampleAt }) {
    const built = tables.map(buildTable);
    const big = buildTable(tables[0]);
    const base = IPv4.fromString('100.64.0.0').getValue();
    const extra = [];
    for (let n = 0; n < bigSlices; n++) {
      extra.push({ destination: new IPv4(base + BigInt(n >> 4)), ports: { from: (n & 15) * 4096, to: (n & 15) * 4096 + 4095 }, owner: bigOwner });
    }
    big.assignMany(extra);
    const rss = {};
    const settle = () => new Promise((r) => setTimeout(r, 200));
    for (let i = 1; i <= count; i++) {
      await router.publish(i % bigEvery === 0 ? big : built[i % built.length]);
      if (sampleAt.includes(i)) {
        await settle(); // the router frees retired tables 50 ms after a publish
        collectGarbage();
        rss[i] = process.memoryUsage().rss;
      }
    }
    await settle();
    return { rss, retiredTables: router.counters().retiredTables, generation: router.counters().generation };
  },
  async counters() {
    return { counters: router.counters() };
  },
  async close() {
    router.close();
    return { closed: true };
  },
};

for await (const line of createInterface({ input: process.stdin })) {
  const command = JSON.parse(line);
  try {
    say({ event: command.cmd, id: command.id, ...(await commands[command.cmd](command)) });
  } catch (error) {
    say({ event: 'error', id: command.id, cmd: command.cmd, ...errorOf(error) });
  }
}
router.close();
