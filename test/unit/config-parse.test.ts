// parseConfig and loadConfig: JSON and YAML give the same Config; syntax errors and bad values
// name the line and column; files are picked by extension and read errors keep their errno.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';
import { parse as yamlData, stringify } from 'yaml';

import { loadConfig, parseConfig } from '../../src/config/source.js';
import { describeTable, rowJson } from '../../src/config/describe.js';
import { InvalidConfigError, InvalidOptionError, SyscallError, type SoftunicastError } from '../../src/errors.js';
import { base, thrown } from './config-fixture.js';

function error(fn: () => unknown): SoftunicastError {
  try {
    fn();
  } catch (e) {
    return e as SoftunicastError;
  }
  throw new Error('expected an error');
}

async function rejection(p: Promise<unknown>): Promise<SoftunicastError> {
  try {
    await p;
  } catch (e) {
    return e as SoftunicastError;
  }
  throw new Error('expected a rejection');
}

const YAML = `# two data centres
version: 1
datacenters:
  A:
    endpoint: { ipv4: 10.1.0.1 }
    servers:
      a1: { ipv4: 10.1.0.1, interface: eth0 }
      a2: { ipv4: 10.1.0.2 }
  B:
    endpoint: { ipv4: 10.2.0.1 }
    servers:
      b1: { ipv4: 10.2.0.1 }
egress:
  - address: 192.0.2.1
    tags: { country: de }
    slices: { owners: [a1, a2, b1] }
  - address: 2001:db8:100::1
    slices:
      - { ports: 2048-4095, owner: a1 }
      - ports: { from: 4096, to: 6143 }
        owner: b1
`;

describe('parseConfig', () => {
  it('reads YAML and the same document in JSON to equal configurations', () => {
    const fromYaml = parseConfig(YAML, 'yaml');
    const fromJson = parseConfig(JSON.stringify(yamlData(YAML)), 'json');
    expect({ ...fromJson }).toEqual({ ...fromYaml });
    for (const host of ['a1', 'a2', 'b1']) expect(describeTable(fromJson, host).map(rowJson)).toEqual(describeTable(fromYaml, host).map(rowJson));
  });

  it('reads the fixture written as YAML and as JSON alike', () => {
    const doc = base();
    const a = parseConfig(stringify(doc), 'yaml', 'a.yaml');
    const b = parseConfig(JSON.stringify(doc, null, 2), 'json', 'a.json');
    expect({ ...a, source: undefined }).toEqual({ ...b, source: undefined });
  });

  it('keeps YAML 1.2 meanings: no, on and 010 are not booleans or octal', () => {
    const c = parseConfig(YAML.replace('country: de', 'country: no, flag: on, code: 010'), 'yaml');
    expect(c.egress[0]!.tags).toEqual({ country: 'no', flag: 'on', code: '10' });
  });

  it('accepts a byte-order mark, anchors and aliases', () => {
    const text = `\uFEFF${YAML.replace('slices: { owners: [a1, a2, b1] }', 'slices: &rule { owners: [a1, a2, b1] }')}  - address: 192.0.2.2\n    slices: *rule\n`;
    const c = parseConfig(text, 'yaml');
    expect(c.egress[2]!.slices).toEqual(c.egress[0]!.slices);
  });

  it.each([
    ['a bad indentation', 'version: 1\n  datacenters: {}\n', 1, 10, 'Nested mappings are not allowed in compact mappings'],
    ['an unclosed flow sequence', 'version: 1\negress: [1, 2\n', 3, 1, 'Flow sequence in block collection must be sufficiently indented and end with a ]'],
    ['a key given twice', 'version: 1\nversion: 1\n', 2, 1, 'Map keys must be unique'],
    ['an unknown tag', 'version: !!thing 1\n', 1, 10, 'Unresolved tag: tag:yaml.org,2002:thing'],
    ['two documents', 'version: 1\n---\nversion: 1\n', 2, 1, 'Source contains multiple documents; please use YAML.parseAllDocuments()'],
  ])('reports YAML with %s at its line and column, as the one problem', (_, text, line, column, what) => {
    const e = thrown(() => parseConfig(text, 'yaml', 'router.yaml'));
    const message = `Expected valid YAML but received a syntax error: ${what}`;
    expect(e.problems).toEqual([{ path: '', line, column, code: 'ERR_INVALID_OPTION', message, severity: 'error' }]);
    expect(e.message).toBe(`The configuration router.yaml has 1 problem:\nrouter.yaml:${line}:${column}: ${message}`);
  });

  it.each([
    ['a trailing comma', '{\n  "version": 1,\n}', 'router.json:3:1: Expected valid JSON but received a syntax error: Expected double-quoted property name'],
    ['a missing comma', '{\n  "version": 1\n  "egress": []\n}', "router.json:3:3: Expected valid JSON but received a syntax error: Expected ',' or '}' after property value"],
    ['an end too soon', '{\n  "version": ', 'router.json:2:14: Expected valid JSON but received a syntax error: Unexpected end of JSON input'],
    // V8 gives no position for an unexpected token; the message still says which.
    ['a missing value', '{ "version": }', "Expected valid JSON but received a syntax error: Unexpected token '}'"],
    ['a key given twice', '{\n  "version": 1,\n  "version": 1\n}', "router.json:3:3: Expected valid JSON (each key once in an object) but received the key 'version' twice"],
    ['text after the value', '{ "version": 1 }\n]', 'router.json:2:1: Expected valid JSON but received a syntax error: Unexpected non-whitespace character after the JSON value'],
    ['a key given twice deep inside', '{ "version": 1, "egress": [{ "tags": { "a": 1, "b": 2, "a": 3 } }] }', "router.json:1:56: Expected valid JSON (each key once in an object) but received the key 'a' twice"],
  ])('reports JSON with %s at its line and column, as the one problem', (_, text, line) => {
    const e = thrown(() => parseConfig(text, 'json', 'router.json'));
    expect(e.problems).toHaveLength(1);
    expect(e.problems[0]!.code).toBe('ERR_INVALID_OPTION');
    expect(e.message).toBe(`The configuration router.json has 1 problem:\n${line}`);
  });

  it('names the line and column of a bad value, in the file or in the text', () => {
    const text = YAML.replace('a2: { ipv4: 10.1.0.2 }', 'a2: { ipv4: 10.1.0.256 }');
    const message = "Expected an IPv4 address such as '192.0.2.1' for datacenters.A.servers.a2.ipv4 but received '10.1.0.256'";
    const e = thrown(() => parseConfig(text, 'yaml', 'router.yaml'));
    expect(e.problems).toEqual([{ path: 'datacenters.A.servers.a2.ipv4', line: 8, column: 19, code: 'ERR_INVALID_OPTION', message, severity: 'error' }]);
    expect(e.message).toBe(`The configuration router.yaml has 1 problem:\nrouter.yaml:8:19: ${message}`);
    expect(thrown(() => parseConfig(text, 'yaml')).message).toBe(`The configuration has 1 problem:\nline 8, column 19: ${message}`);
    const doc = base();
    doc.egress[1].slices[1].ports = '70000';
    const jsonText = JSON.stringify(doc, null, 2);
    const json = thrown(() => parseConfig(jsonText, 'json', 'router.json'));
    const line = jsonText.split('\n').findIndex((l) => l.includes('"70000"')) + 1;
    expect(json.problems.map((p) => [p.path, p.line, p.column])).toEqual([['egress[1].slices[1].ports', line, 20]]);
  });

  it('points a missing key at the object that lacks it, an unknown key at its value', () => {
    const missing = YAML.replace("    endpoint: { ipv4: 10.2.0.1 }\n", '');
    expect(thrown(() => parseConfig(missing, 'yaml', 'r.yaml')).message).toBe(
      'The configuration r.yaml has 1 problem:\n' +
        'r.yaml:10:5: Expected an endpoint { ipv4?, ipv6? } other data centres send GUE to (there is more than one data centre) for datacenters.B.endpoint but received undefined',
    );
    const unknown = YAML.replace('version: 1', 'version: 1\ncolour: red');
    expect(thrown(() => parseConfig(unknown, 'yaml', 'r.yaml')).message).toBe(
      "The configuration r.yaml has 1 problem:\nr.yaml:3:9: Expected no such key (known here: $schema, version, gue, datacenters, egress, stats, health, services, flowHashSeed, addressServices) for colour but received 'red'",
    );
  });

  it('names both slices of an overlap by their paths and where the later one is', () => {
    const text = `${YAML}      - { ports: 4000, owner: a2 }\n`;
    const e = thrown(() => parseConfig(text, 'yaml', 'r.yaml'));
    expect(e.problems.map((p) => [p.code, p.path, p.line, p.column, p.message])).toEqual([[
      'ERR_SLICE_OVERLAP', 'egress[1].slices[2]', 22, 9,
      "Slice 2001:db8:100::1 tcp+udp port 4000 of owner 'a2' (egress[1].slices[2]) overlaps slice 2001:db8:100::1 tcp+udp ports 2048-4095 of owner 'a1' " +
        '(egress[1].slices[0]); slices of different owners must not cover the same packets',
    ]]);
  });

  it('reports an empty file as a missing configuration', () => {
    expect(thrown(() => parseConfig('', 'yaml', 'r.yaml')).problems.map((p) => [p.path, p.line, p.message])).toEqual([
      ['', 1, 'Expected a configuration object { version, gue, datacenters, egress, stats, health, services, flowHashSeed, addressServices } for the top level but received null'],
    ]);
  });

  it('checks its own arguments', () => {
    expect(error(() => parseConfig(YAML, 'toml' as 'yaml')).message).toBe("Expected 'json' or 'yaml' for format but received 'toml'");
    expect(error(() => parseConfig(Buffer.from(YAML) as unknown as string, 'yaml')).message).toBe(
      'Expected the text of a configuration file for text but received an instance of Buffer',
    );
  });
});

describe('loadConfig', () => {
  const dir = mkdtempSync(join(tmpdir(), 'softunicast-config-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('picks the format by extension and names the file in messages', async () => {
    const doc: unknown = yamlData(YAML);
    writeFileSync(join(dir, 'r.yml'), YAML);
    writeFileSync(join(dir, 'r.JSON'), JSON.stringify(doc));
    writeFileSync(join(dir, 'bad.yaml'), YAML.replace('interface: eth0', 'interface: 7'));
    const a = await loadConfig(join(dir, 'r.yml'));
    const b = await loadConfig(join(dir, 'r.JSON'));
    expect(a.source).toBe(join(dir, 'r.yml'));
    expect({ ...a, source: undefined }).toEqual({ ...b, source: undefined });
    const e = await rejection(loadConfig(join(dir, 'bad.yaml')));
    expect(e).toBeInstanceOf(InvalidConfigError);
    expect(e.message).toBe(
      `The configuration ${join(dir, 'bad.yaml')} has 1 problem:\n` +
        `${join(dir, 'bad.yaml')}:7:40: Expected an interface name, or { name, queues?, ... } for datacenters.A.servers.a1.interface but received 7`,
    );
  });

  it('refuses other extensions and reports a missing file with its errno', async () => {
    const toml = await rejection(loadConfig(join(dir, 'r.toml')));
    expect(toml).toBeInstanceOf(InvalidOptionError);
    expect(toml.message).toBe(`Expected a file name ending in .json, .yaml or .yml for path but received '${join(dir, 'r.toml')}'`);
    const missing = await rejection(loadConfig(join(dir, 'none.yaml')));
    expect(missing).toBeInstanceOf(SyscallError);
    expect(missing.code).toBe('ERR_SYSCALL');
    expect(missing.errno).toBe(2);
    expect(missing.syscall).toBe('open');
    expect(missing.message).toMatch(/^Could not read the configuration file .*none\.yaml: ENOENT: no such file or directory/);
  });
});
