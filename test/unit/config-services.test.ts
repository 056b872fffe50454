// The file's `services` section (src/config/services.ts): defaults filled in, every problem with
// its path and line, the JSON Schema agreeing on a good document, and tableFor adding each service
// to the tables of its data centre's routers.
import { readFileSync } from 'node:fs';

import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';

import { balancedServicesFor } from '../../src/config/balanced.js';
import { routerOptionsFor, tableFor } from '../../src/config/perspective.js';
import { parseConfig } from '../../src/config/source.js';
import { validateConfig } from '../../src/config/validate.js';
import { InvalidConfigError } from '../../src/errors.js';
import { base, thrown, type Doc } from './config-fixture.js';

const schema = JSON.parse(readFileSync(new URL('../../schema/softunicast-config.schema.json', import.meta.url), 'utf8')) as object;
const check = new Ajv2020({ strict: true, strictRequired: false, allErrors: true, allowUnionTypes: true }).compile(schema);

function withServices(services: unknown): Doc {
  return { ...base(), services };
}

function problems(doc: Doc): string[] {
  try {
    validateConfig(doc);
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidConfigError);
    return error.problems.map((p) => p.message);
  }
  throw new Error('expected the configuration to be refused');
}

describe('services', () => {
  it('fills in defaults: tcp, 65537 rows, stateless, a TCP check on the service port, weight 1, no drain', () => {
    const config = validateConfig(withServices([{ address: '192.0.2.80', port: 80, backends: ['a2', { server: 'a3', weight: 2, drain: true }] }]));
    expect(config.services).toEqual([
      {
        name: 'tcp-192.0.2.80-80', address: expect.anything(), protocol: 'tcp', port: 80, rows: 65537, moves: 'stateless',
        backends: [{ server: 'a2', weight: 1, drain: false }, { server: 'a3', weight: 2, drain: true }],
        health: { check: { kind: 'tcp' }, port: 80, intervalMs: 2000, timeoutMs: 1000, rise: 2, fall: 3, drainDeadlineMs: 60000 },
      },
    ]);
    expect(config.services[0]!.address.toString()).toBe('192.0.2.80');
  });

  it('reads an HTTP check and is accepted by the JSON Schema', () => {
    const doc = withServices([
      { name: 'web', address: '2001:db8:80::1', protocol: 'tcp', port: 443, rows: 251, moves: 'fewest', backends: ['a1', 'a2'], health: { check: 'http', path: '/healthz', status: 204, port: 8080, intervalMs: 500, timeoutMs: 200, rise: 1, fall: 2, drainDeadlineMs: 0 } },
    ]);
    expect(check(doc)).toBe(true);
    expect(validateConfig(doc).services[0]!.health).toEqual({ check: { kind: 'http', path: '/healthz', status: 204 }, port: 8080, intervalMs: 500, timeoutMs: 200, rise: 1, fall: 2, drainDeadlineMs: 0 });
  });

  it('refuses bad values, each with its path and what was expected', () => {
    expect(problems(withServices({}))).toEqual(['Expected a list of services for services but received an object']);
    expect(problems(withServices([{ address: '192.0.2.80', port: 0, protocol: 'sctp', backends: ['a2', 'zz', 'a2'], rows: 100, vip: 1 }]))).toEqual([
      'Expected no such key (known here: name, address, protocol, port, rows, moves, backends, health) for services[0].vip but received 1',
      "Expected 'tcp' or 'udp' for services[0].protocol but received 'sctp'",
      'Expected an integer from 1 to 65535 for services[0].port but received 0',
      'Expected a prime number of rows up to 16777216 for services[0].rows but received 100',
      "Expected the name of a server of the file (a1, a2, a3, b1, b2) for services[0].backends[1] but received 'zz'",
      "Expected a server that services[0].backends[0] does not name for services[0].backends[2] but received 'a2'",
    ]);
    expect(problems(withServices([{ address: '192.0.2.80', port: 80, backends: ['a2', 'b2'], health: { check: 'tcp', path: '/' } }]))).toEqual([
      "Expected backends of one data centre (routers reach them as servers of their own), not of A and B for services[0].backends but received an array of 2",
      "Expected no such key with check 'tcp' (it is for check 'http') for services[0].health.path but received '/'",
    ]);
    expect(problems(withServices([
      { address: '192.0.2.80', port: 80, backends: ['a2'] },
      { address: '192.0.2.80', port: 80, backends: ['a1'] },
      { address: '192.0.2.81', port: 80, backends: ['a1'], rows: 251 },
    ]))).toEqual([
      "Expected a service unlike services[0] (another address, protocol, port and name) for services[1] but received 'tcp 192.0.2.80:80'",
      'Expected the rows of the other services (65537: one Maglev size per table) for services[2].rows but received 251',
    ]);
  });

  it('gives each problem its line and column in a YAML file', () => {
    const yaml = [
      'version: 1',
      'datacenters:',
      '  A:',
      '    servers:',
      '      a1: { ipv4: 10.1.0.1 }',
      'egress:',
      '  - { address: 192.0.2.1, slices: [{ ports: 2048-4095, owner: a1 }] }',
      'services:',
      '  - address: 192.0.2.80',
      '    port: 80',
      '    backends: [a1, { server: a1x, weight: 2 }]',
      '',
    ].join('\n');
    const error = thrown(() => parseConfig(yaml, 'yaml', 'lb.yaml'));
    expect(error.problems.map((p) => [p.path, p.line, p.column])).toEqual([['services[0].backends[1].server', 11, 30]]);
  });

  it('adds each service to the tables of its data centre, backends that drain left out', () => {
    const config = validateConfig(withServices([{ address: '192.0.2.80', port: 80, rows: 251, backends: ['a2', { server: 'a3', drain: true }, 'a1'] }]));
    const a = tableFor(config, 'a1').services();
    expect(a.map((s) => [s.port, s.backends.map((b) => b.name)])).toEqual([[80, ['a1', 'a2']]]);
    expect(tableFor(config, 'b1').services()).toEqual([]);
  });

  it("gives every router of the file one flow hash seed: the file's, or one derived from its services", () => {
    const doc = withServices([{ address: '192.0.2.80', port: 80, backends: ['a2', 'a3'] }]);
    const derived = validateConfig(doc);
    expect(derived.flowHashSeed).toEqual(expect.any(Number));
    expect(routerOptionsFor(derived, 'a1').host.flowHashSeed).toBe(derived.flowHashSeed);
    expect(routerOptionsFor(derived, 'b1').host.flowHashSeed).toBe(derived.flowHashSeed);
    expect(validateConfig({ ...doc, flowHashSeed: 7 }).flowHashSeed).toBe(7);
    expect(validateConfig(base()).flowHashSeed).toBeUndefined();
    expect(routerOptionsFor(validateConfig(base()), 'a1').host.flowHashSeed).toBeUndefined();
    expect(problems({ ...doc, flowHashSeed: -1 })).toEqual(['Expected an integer from 0 to 4294967295 for flowHashSeed but received -1']);
  });

  it('gives lb.Balancer the services of the host\'s data centre, each backend probed at its server\'s address', () => {
    const config = validateConfig(withServices([{ address: '192.0.2.80', port: 80, backends: ['a2', { server: 'a3', weight: 3, drain: true }] }]));
    expect(balancedServicesFor(config, 'a1').map((s) => ({ ...s, address: s.address.toString() }))).toEqual([{
      name: 'tcp-192.0.2.80-80', address: '192.0.2.80', protocol: 'tcp', port: 80, moves: 'stateless',
      health: { check: { kind: 'tcp' }, port: 80, intervalMs: 2000, timeoutMs: 1000, rise: 2, fall: 3, drainDeadlineMs: 60000 },
      backends: [{ owner: 'a2', address: '10.1.0.2', weight: 1, drain: false }, { owner: 'a3', address: '10.1.0.3', weight: 3, drain: true }],
    }]);
    expect(balancedServicesFor(config, 'b2')).toEqual([]);
  });
});
