// Every problem of a file at once: several in YAML and in JSON with their lines and columns, the
// message's form and its cap, long values cut short, and no cascade from a part that failed.
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';

import { parseConfig } from '../../src/config/source.js';
import { validateConfig } from '../../src/config/validate.js';
import type { ConfigProblem } from '../../src/errors.js';
import { base, thrown, type Doc } from './config-fixture.js';

/** 1-based line and column where `needle` starts in `text` (its `nth` occurrence, from 0). */
function at(text: string, needle: string, nth = 0): { line: number; column: number } {
  let offset = -1;
  for (let i = 0; i <= nth; i++) offset = text.indexOf(needle, offset + 1);
  if (offset < 0) throw new Error(`${needle} not in the text`);
  const before = text.slice(0, offset).split('\n');
  return { line: before.length, column: before.at(-1)!.length + 1 };
}

const brief = (p: ConfigProblem) => ({ path: p.path, line: p.line, column: p.column, code: p.code });

/** base() with five independent problems and two servers that fail (whose slices must not cascade). */
function broken(): Doc {
  const doc = base();
  doc.version = 2;
  doc.datacenters.A.servers.a2.ipv4 = '10.1.0.300';
  doc.datacenters.A.servers.a3.colour = 'red';
  doc.egress[1].slices.push({ ports: 70000, owner: 'a1' }, { ports: 9000, owner: 'zz' }, { ports: 4000, owner: 'b1' });
  doc.stats.intervalSeconds = 0;
  return doc;
}

describe('several problems at once', () => {
  const expected = (text: string, ports: string, zz: string, red: string, slice: { line: number; column: number }) => [
    { path: 'version', ...at(text, '2'), code: 'ERR_INVALID_OPTION' },
    { path: 'datacenters.A.servers.a2.ipv4', ...at(text, '10.1.0.300'), code: 'ERR_INVALID_OPTION' },
    { path: 'datacenters.A.servers.a3.colour', ...at(text, red), code: 'ERR_INVALID_OPTION' },
    { path: 'egress[1].slices[2].ports', ...at(text, ports), code: 'ERR_INVALID_OPTION' },
    { path: 'egress[1].slices[3].owner', ...at(text, zz), code: 'ERR_INVALID_OPTION' },
    { path: 'egress[1].slices[4]', ...slice, code: 'ERR_SLICE_OVERLAP' },
    { path: 'stats.intervalSeconds', ...at(text, 'intervalSeconds', 0), code: 'ERR_INVALID_OPTION' },
  ];

  it('in YAML: each with its line and column, in file order; none about the slices of a2 and a3', () => {
    const text = stringify(broken());
    const e = thrown(() => parseConfig(text, 'yaml', 'd.yaml'));
    const rows = expected(text, '70000', 'zz', 'red', at(text, 'ports: 4000'));
    rows[6] = { ...rows[6]!, ...(({ line, column }) => ({ line, column: column + 'intervalSeconds: '.length }))(at(text, 'intervalSeconds')) };
    expect(e.problems.map(brief)).toEqual(rows);
    expect(e.message.split('\n')).toEqual([
      'The configuration d.yaml has 7 problems:',
      ...e.problems.map((p) => `d.yaml:${p.line}:${p.column}: ${p.message}`),
    ]);
  });

  it('in JSON alike', () => {
    const text = JSON.stringify(broken(), null, 2);
    const e = thrown(() => parseConfig(text, 'json', 'd.json'));
    // A slice that overlaps is pointed at as a whole: its opening brace.
    const brace = at(text, '"ports": 4000');
    const rows = expected(text, '70000', '"zz"', '"red"', { line: brace.line - 1, column: brace.column - 2 });
    rows[0] = { ...rows[0]!, ...at(text, '2,') };
    rows[1] = { ...rows[1]!, ...at(text, '"10.1.0.300"') };
    rows[6] = { ...rows[6]!, ...(({ line, column }) => ({ line, column: column + '"intervalSeconds": '.length }))(at(text, '"intervalSeconds"')) };
    expect(e.problems.map(brief)).toEqual(rows);
    expect(e.problems.map((p) => p.message)).toEqual([
      'Expected version 1 (the only format so far) for version but received 2',
      "Expected an IPv4 address such as '192.0.2.1' for datacenters.A.servers.a2.ipv4 but received '10.1.0.300'",
      "Expected no such key (known here: ipv4, ipv6, encap, mac, guePort, fallback, interface) for datacenters.A.servers.a3.colour but received 'red'",
      'Expected a port from 0 to 65535 for egress[1].slices[2].ports but received 70000',
      "Expected the name of a server of the configuration (a1, a2, a3, b1, b2) for egress[1].slices[3].owner but received 'zz'",
      "Slice 2001:db8:100::1 tcp port 4000 of owner 'b1' (egress[1].slices[4]) overlaps slice 2001:db8:100::1 tcp ports 2048-4095 of owner 'a1' " +
        '(egress[1].slices[0]); slices of different owners must not cover the same packets',
      'Expected a number of seconds above 0, at most 3600 for stats.intervalSeconds but received 0',
    ]);
  });

  it('from validateConfig without a text: the same problems, no lines', () => {
    const e = thrown(() => validateConfig(broken()));
    expect(e.problems).toHaveLength(7);
    expect(e.problems.every((p) => p.line === undefined && p.column === undefined && p.severity === 'error')).toBe(true);
    expect(e.message.split('\n')[1]).toBe('Expected version 1 (the only format so far) for version but received 2');
  });
});

describe('the message', () => {
  function manyBadPorts(n: number): Doc {
    const doc = base();
    for (let i = 0; i < n; i++) doc.egress[1].slices.push({ ports: `x${i}`, owner: 'a1' });
    return doc;
  }

  it('lists at most 50 problems, then how many more; the error keeps them all', () => {
    const e = thrown(() => validateConfig(manyBadPorts(120)));
    expect(e.problems).toHaveLength(120);
    const lines = e.message.split('\n');
    expect(lines).toHaveLength(52);
    expect(lines[0]).toBe('The configuration has 120 problems:');
    expect(lines[50]).toBe("Expected a port, a range such as '2048-4095', or { from, to } for egress[1].slices[51].ports but received 'x49'");
    expect(lines[51]).toBe('... and 70 more');
  });

  it('keeps 10,000 problems and counts the rest', () => {
    const e = thrown(() => validateConfig(manyBadPorts(10_005)));
    expect([e.problems.length, e.omitted]).toEqual([10_000, 5]);
    expect(e.message.split('\n')[0]).toBe('The configuration has 10005 problems:');
    expect(e.message.split('\n').at(-1)).toBe('... and 9955 more');
  });

  it('cuts a long value to 80 characters and gives its length; a long key in a path too', () => {
    const doc = base();
    doc.egress[1].slices[0].ports = '7'.repeat(5000);
    doc.datacenters.A.servers[`${'n'.repeat(300)} x`] = { ipv4: '10.1.0.77' };
    const text = JSON.stringify(doc);
    const e = thrown(() => parseConfig(text, 'json', 'd.json'));
    expect(e.problems.map((p) => p.message)).toEqual([
      `Expected a server name of letters, digits, '.', '_' and '-' that starts with a letter or digit for datacenters.A.servers['${'n'.repeat(39)}…'] but received '${'n'.repeat(79)}…' (302 characters)`,
      `Expected a port, a range such as '2048-4095', or { from, to } for egress[1].slices[0].ports but received '${'7'.repeat(79)}…' (5000 characters)`,
    ]);
    // The file is one line of 5,000+ characters: no message repeats it.
    expect(Math.max(...e.message.split('\n').map((l) => l.length))).toBeLessThan(300);
  });

  it('keeps a value with a line break on one line', () => {
    const doc = base();
    doc.egress[1].slices[0].owner = 'a1\nb1';
    expect(thrown(() => validateConfig(doc)).message.split('\n')).toEqual([
      'The configuration has 1 problem:',
      "Expected the name of a server of the configuration (a1, a2, a3, b1, b2) for egress[1].slices[0].owner but received 'a1\\nb1'",
    ]);
  });
});

describe('no cascade', () => {
  it('a data centre that is not an object leaves the names of slices unchecked', () => {
    const doc = base();
    doc.datacenters.A = 'fra';
    const e = thrown(() => validateConfig(doc));
    expect(e.problems.map((p) => p.path)).toEqual(['datacenters.A']);
  });

  it('a bad shared address still has its slices checked, but no overlap or conflict', () => {
    const doc = base();
    doc.egress[1].address = '2001:db8:100::g';
    doc.egress[1].slices.push({ ports: 4000, owner: 'b1' }, { ports: -1, owner: 'a1' });
    const e = thrown(() => validateConfig(doc));
    expect(e.problems.map((p) => p.path)).toEqual(['egress[1].address', 'egress[1].slices[3].ports']);
  });

  it('a bad trust list is not also reported as not covering the senders', () => {
    const doc = base();
    doc.gue = { trustedPeers: ['10.0.0.0/8', 'nonsense'] };
    expect(thrown(() => validateConfig(doc)).problems.map((p) => p.path)).toEqual(['gue.trustedPeers[1]']);
  });

  it('a server that fails leaves out only what depends on it', () => {
    const doc = base();
    doc.datacenters.B.servers.b2.encap = 'vxlan';
    // b2 would be unreachable from nobody, and its slice stays out of the overlap check.
    doc.egress[0].slices = { owners: ['a1', 'a2', 'a3', 'b1', 'b2', 'nobody'] };
    expect(thrown(() => validateConfig(doc)).problems.map((p) => p.path)).toEqual(['datacenters.B.servers.b2.encap', 'egress[0].slices.owners[5]']);
  });
});

describe('YAML aliases', () => {
  it('are read, but may not make the data more than ten times the text', () => {
    let text = 'version: 1\nl0: &l0 [x, x, x, x, x, x, x, x, x, x]\n';
    for (let i = 1; i < 9; i++) text += `l${i}: &l${i} [${Array(10).fill(`*l${i - 1}`).join(', ')}]\n`;
    const e = thrown(() => parseConfig(text, 'yaml', 'laughs.yaml'));
    expect(e.problems.map((p) => p.message)).toEqual([`Expected valid YAML but received aliases that expand to more than ${10 * text.length + 1000} nodes (ten per character of the file)`]);
  });
});
