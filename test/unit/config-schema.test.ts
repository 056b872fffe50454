// The published JSON Schema and the validator agree: the same keys for every object, both accept
// the example and the fixtures, and both refuse every broken document the schema can describe.
import { readFileSync } from 'node:fs';

import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { parse as yamlData } from 'yaml';

import { CONFIG_KEYS } from '../../src/config/keys.js';
import { loadConfig } from '../../src/config/source.js';
import { validateConfig } from '../../src/config/validate.js';
import { BAD_CASES, base, broken, thrown } from './config-fixture.js';

interface SchemaNode {
  properties?: Record<string, unknown>;
  $defs?: Record<string, SchemaNode>;
}

const schemaPath = new URL('../../schema/softunicast-config.schema.json', import.meta.url);
const examplePath = new URL('../../examples/soft-unicast-router/example.yaml', import.meta.url);
const schema = JSON.parse(readFileSync(schemaPath, 'utf8')) as SchemaNode;

// strictRequired would refuse 'anyOf: [{ required: [ipv4] }, ...]' beside the properties that
// define ipv4; every other strict check stays on.
const ajv = new Ajv2020({ strict: true, strictRequired: false, allErrors: true, allowUnionTypes: true });
const check = ajv.compile(schema);

describe('the JSON Schema', () => {
  it('names, for every object, exactly the keys the validator knows', () => {
    const fromSchema: Record<string, string[]> = { config: Object.keys(schema.properties ?? {}) };
    for (const [name, def] of Object.entries(schema.$defs ?? {})) if (def.properties !== undefined) fromSchema[name] = Object.keys(def.properties);
    const fromValidator = Object.fromEntries(Object.entries(CONFIG_KEYS).map(([k, v]) => [k, [...v]]));
    expect(Object.keys(fromSchema).sort()).toEqual(Object.keys(fromValidator).sort());
    for (const kind of Object.keys(fromValidator)) expect([kind, ...fromSchema[kind]!.sort()]).toEqual([kind, ...fromValidator[kind]!.sort()]);
  });

  it('accepts what the validator accepts: the example, the fixture, every notation', async () => {
    const example = yamlData(readFileSync(examplePath, 'utf8')) as unknown;
    await loadConfig(examplePath.pathname);
    const notations = {
      version: 1,
      $schema: './softunicast-config.schema.json',
      datacenters: { solo: { servers: { s1: { ipv6: '2001:db8::1', interface: { name: 'eth0', queues: [0, 1], rings: { rx: 4096 }, bind: 'copy' } } } } },
      egress: [
        { prefix: '2001:db8:100::/64', slices: [{ ports: 53, owner: 's1' }, { ports: '80', owner: 's1' }, { ports: { from: 1000, to: 1999 }, owner: 's1', protocols: ['udp'] }] },
        { address: '192.0.2.9', tags: { n: 1, b: true }, slices: { size: 32768, reserveLowest: false, owners: [null, 's1'] } },
      ],
      stats: { prometheus: 9100 },
    };
    for (const doc of [example, base(), notations]) {
      expect(() => validateConfig(doc)).not.toThrow();
      expect(check(doc), JSON.stringify(check.errors)).toBe(true);
    }
  });

  it.each(BAD_CASES.filter((c) => c.schema).map((c) => [c.name, c] as const))('refuses, like the validator, %s', (_, c) => {
    const doc = broken(c);
    expect(thrown(() => validateConfig(doc)).problems.map((p) => p.code)).toEqual([new c.error('').code]);
    expect(check(doc)).toBe(false);
  });

  it('leaves to the validator only what a schema cannot say (references, overlaps, families, host bits)', () => {
    const left = BAD_CASES.filter((c) => !c.schema);
    // Each of these is a valid shape: the schema accepts it, the validator does not.
    for (const c of left) expect([c.name, check(broken(c))]).toEqual([c.name, true]);
  });
});
