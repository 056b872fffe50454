// The file's `addressServices` section (src/config/address-services.ts): what it reads, every problem
// with its path (and line in a YAML file), the JSON Schema agreeing, and tableFor adding the services.
import { readFileSync } from 'node:fs';

import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';

import { tableFor } from '../../src/config/perspective.js';
import { parseConfig } from '../../src/config/source.js';
import { validateConfig } from '../../src/config/validate.js';
import { InvalidConfigError } from '../../src/errors.js';
import { base, thrown, type Doc } from './config-fixture.js';

const schema = JSON.parse(readFileSync(new URL('../../schema/softunicast-config.schema.json', import.meta.url), 'utf8')) as object;
const check = new Ajv2020({ strict: true, strictRequired: false, allErrors: true, allowUnionTypes: true }).compile(schema);

const KEY = '5a5a0123456789abcdeffedcba987654';
const RULE = `v=ssa1 rule=source-derived source-bits=64 fn=flowhash-1 key=${KEY}`;

/** 2001:db8:5::/64 in a /65 of a2 and two /66 of b1 and a3 (the second moving from a2). */
function service(): Doc {
  return {
    prefix: '2001:db8:5::/64',
    slices: [
      { prefix: '2001:db8:5::/65', owner: 'a2' },
      { prefix: '2001:db8:5:0:8000::/66', owner: 'b1' },
      { prefix: '2001:db8:5:0:c000::/66', owner: 'a3', secondary: 'a2' },
    ],
  };
}

const withServices = (addressServices: unknown): Doc => ({ ...base(), addressServices });

function refused(doc: Doc): InvalidConfigError {
  try {
    validateConfig(doc);
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidConfigError);
    return error as InvalidConfigError;
  }
  throw new Error('expected the configuration to be refused');
}

const problems = (doc: Doc): string[] => refused(doc).problems.map((p) => `${p.path}: ${p.message}`);

describe('addressServices', () => {
  it('reads slices, secondaries and a filter (nonConforming drop unless set); the JSON Schema accepts them', () => {
    const doc = withServices([{ ...service(), name: 'web', filter: { rule: RULE } }, { prefix: '2001:db8:6::/64', slices: [{ prefix: '2001:db8:6::/64', owner: 'a1' }], filter: { rule: RULE, nonConforming: { owner: 'a3' } } }]);
    expect(check(doc), JSON.stringify(check.errors)).toBe(true);
    const config = validateConfig(doc);
    expect(config.addressServices).toEqual([
      {
        name: 'web', prefix: '2001:db8:5::/64',
        slices: [{ prefix: '2001:db8:5::/65', owner: 'a2' }, { prefix: '2001:db8:5:0:8000::/66', owner: 'b1' }, { prefix: '2001:db8:5:0:c000::/66', owner: 'a3', secondary: 'a2' }],
        filter: { rule: { rule: 'source-derived', sourceBits: 64, fn: 'flowhash-1', key: KEY }, nonConforming: 'drop' },
      },
      {
        name: '2001:db8:6::/64', prefix: '2001:db8:6::/64', slices: [{ prefix: '2001:db8:6::/64', owner: 'a1' }],
        filter: { rule: { rule: 'source-derived', sourceBits: 64, fn: 'flowhash-1', key: KEY }, nonConforming: { owner: 'a3' } },
      },
    ]);
  });

  it('adds every service to every router, each server as the owner it is there', () => {
    const config = validateConfig(withServices([{ ...service(), filter: { rule: RULE, nonConforming: { owner: 'b2' } } }]));
    const owners = (host: string) => tableFor(config, host).addressServices().map((s) => [s.slices.map((x) => `${x.owner}/${x.secondary}`), s.filter?.nonConforming]);
    expect(owners('a1')).toEqual([[['a2/a2', 'B/B', 'a3/a2'], { owner: 'B' }]]);
    expect(owners('a2')).toEqual([[['a2/a2', 'B/B', 'a3/a2'], { owner: 'B' }]]);
    // From B, a2 and a3 are both data centre A: the move is none there.
    expect(owners('b1')).toEqual([[['A/A', 'b1/b1', 'A/A'], { owner: 'b2' }]]);
  });

  it('refuses bad values, each with its path and what was expected', () => {
    expect(problems(withServices({}))).toEqual(['addressServices: Expected a list of address services for addressServices but received an object']);
    expect(problems(withServices([{ prefix: '2001:db8:5::/96', slices: [], colour: 1, name: '-x' }]))).toEqual([
      'addressServices[0].colour: Expected no such key (known here: name, prefix, slices, filter) for addressServices[0].colour but received 1',
      "addressServices[0].name: Expected a name of letters, digits, '.', '_' and '-' that starts with a letter or digit for addressServices[0].name but received '-x'",
      "addressServices[0].prefix: Expected an IPv6 prefix of /1 to /64 (the fast path's address services) for addressServices[0].prefix but received '2001:db8:5::/96'",
      'addressServices[0].slices: Expected a non-empty list of address slices { prefix, owner, secondary? } for addressServices[0].slices but received an array of 0',
    ]);
    expect(problems(withServices([{ prefix: '2001:db8:5::1/64', slices: [{ prefix: '10.0.0.0/8', owner: 'zz' }, { prefix: '2001:db8:5::/65', owner: 'a1', secondary: 'a1', ports: 1 }, 'x'] }]))).toEqual([
      "addressServices[0].prefix: Expected a prefix without host bits set (2001:db8:5::/64) for addressServices[0].prefix but received '2001:db8:5::1/64'",
      "addressServices[0].slices[0].prefix: Expected an IPv6 prefix like '2001:db8::/78' for addressServices[0].slices[0].prefix but received '10.0.0.0/8'",
      "addressServices[0].slices[0].owner: Expected the name of a server of the configuration (a1, a2, a3, b1, b2) for addressServices[0].slices[0].owner but received 'zz'",
      'addressServices[0].slices[1].ports: Expected no such key (known here: prefix, owner, secondary) for addressServices[0].slices[1].ports but received 1',
      "addressServices[0].slices[1].secondary: Expected a server other than the slice's owner (the old owner while the slice moves to a1), or no secondary for addressServices[0].slices[1].secondary but received 'a1'",
      "addressServices[0].slices[2]: Expected an address slice { prefix, owner, secondary? } for addressServices[0].slices[2] but received 'x'",
    ]);
  });

  it("refuses slices that do not cover the prefix exactly by the library's checks, naming the slice", () => {
    const overlap = service();
    overlap.slices[2].prefix = '2001:db8:5:0:8000::/65';
    expect(problems(withServices([overlap]))).toEqual([
      'addressServices[0].slices[2]: Expected slices that do not overlap but received 2001:db8:5:0:8000::/66 -> b1 and 2001:db8:5:0:8000::/65 -> a3 (moving from a2 until 0)',
    ]);
    const gap = service();
    gap.slices.pop();
    expect(problems(withServices([gap]))).toEqual([
      'addressServices[0].slices: Expected a slice covering 2001:db8:5:0:c000::/66 (the uncovered range 2001:db8:5:0:c000:: to 2001:db8:5:0:ffff:ffff:ffff:ffff) but received no slice there',
    ]);
    const outside = service();
    outside.slices[1].prefix = '2001:db8:4::/66';
    expect(problems(withServices([outside]))[0]).toBe(
      'addressServices[0].slices[1]: Expected a slice inside the published prefixes (2001:db8:5::/64) but received 2001:db8:4::/66 -> b1',
    );
    expect(refused(withServices([overlap])).problems.map((p) => p.code)).toEqual(['ERR_SLICE_OVERLAP']);
  });

  it("reports the fast path's limits as the file's problems: rows a service, services a table", () => {
    const fine = service();
    fine.slices[0] = { prefix: '2001:db8:5::/85', owner: 'a2' };
    expect(problems(withServices([fine]))).toEqual([
      "addressServices[0].slices[0].prefix: Expected a slice no finer than /84 (2^20 rows a service: the lookup indexes the finest slice length directly) for addressServices[0].slices[0].prefix but received '2001:db8:5::/85'",
    ]);
    const one = (i: number) => ({ prefix: `2001:db8:${i}::/64`, slices: [{ prefix: `2001:db8:${i}::/64`, owner: 'a1' }] });
    expect(problems(withServices([1, 2, 3, 4, 5].map(one)))).toEqual([
      'addressServices: Expected at most 4 address services (the fast path\'s limit a table) for addressServices but received an array of 5',
    ]);
    expect(problems(withServices([{ ...one(1), name: 'x' }, { ...one(1), prefix: '2001:db8:1::/63', slices: [{ prefix: '2001:db8:1::/63', owner: 'a1' }] }, { ...one(2), name: 'x' }]))).toEqual([
      "addressServices[1].prefix: Expected a prefix apart from the other address services' (it overlaps 2001:db8:1::/64 of addressServices[0]) for addressServices[1].prefix but received '2001:db8:1::/63'",
      "addressServices[2].name: Expected a name that addressServices[0] does not have for addressServices[2].name but received 'x'",
    ]);
  });

  it('refuses a filter that is not a source-derived rule, or a low-priority owner that is no server', () => {
    expect(problems(withServices([{ ...service(), filter: { rule: 'v=ssa1 rule=random' } }]))).toEqual([
      "addressServices[0].filter.rule: Expected a source-derived rule (the fast path checks each packet's destination against its source) for addressServices[0].filter.rule but received 'v=ssa1 rule=random'",
    ]);
    expect(problems(withServices([{ ...service(), filter: { rule: `v=ssa1 rule=source-derived source-bits=64 fn=flowhash-1 key=${KEY.toUpperCase()}`, nonConforming: { owner: 'zz' } } }]))).toEqual([
      "addressServices[0].filter.rule: Expected key= as 32 lower-case hex digits (128 bits) for rule=source-derived but received 'v=ssa1 rule=source-derived source-bits=64 fn=flowhash-1 key=5A5A0123456789ABCDE…' (92 characters)",
      "addressServices[0].filter.nonConforming.owner: Expected the name of a server of the configuration (a1, a2, a3, b1, b2) for addressServices[0].filter.nonConforming.owner but received 'zz'",
    ]);
    expect(problems(withServices([{ ...service(), filter: { nonConforming: 'pass' } }]))).toEqual([
      "addressServices[0].filter.rule: Expected client rule text for the client rule but received undefined",
      "addressServices[0].filter.nonConforming: Expected 'drop' or { owner } (a low-priority owner) for addressServices[0].filter.nonConforming but received 'pass'",
    ]);
  });

  it('gives each problem its line and column in a YAML file', () => {
    const yaml = [
      'version: 1',
      'datacenters:',
      '  A:',
      '    servers:',
      '      a1: { ipv4: 10.1.0.1 }',
      'addressServices:',
      '  - prefix: 2001:db8:5::/64',
      '    slices:',
      '      - { prefix: 2001:db8:5::/65, owner: a1 }',
      '      - { prefix: 2001:db8:5::/65, owner: a1x }',
      '',
    ].join('\n');
    const error = thrown(() => parseConfig(yaml, 'yaml', 'ssa.yaml'));
    expect(error.problems.map((p) => [p.path, p.line, p.column])).toEqual([['addressServices[0].slices[1].owner', 10, 43]]);
  });
});
