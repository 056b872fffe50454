// Socket steering with sk_lookup on the real kernel: one HTTP server bound to one address serves a whole
// /20 and /44 to clients in another namespace over TCP, a UDP echo the same, rule precedence,
// atomic replacement under load, a socket closed under a rule, typed errors. Run by vitest as root.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { InvalidOptionError, SocketSteering } from '../../src/index.js';
import { requireNetnsPrivileges, runName, teardownRun, waitFor } from '../../src/netns/index.js';
import { steerWorld, type SteerWorld } from './steer-world.js';

let w: SteerWorld;

afterAll(teardownRun);
beforeEach(() => requireNetnsPrivileges());

// One address only, and one socket for both families: an IPv6 socket bound to a v4-mapped address
// stays dual-stack, while one bound to ::1 is IPv6-only (the kernel sets it on bind).
const MAPPED = '::ffff:127.0.0.1';
const tcp = (prefix: string, ports: unknown, target: string) => ({ protocol: 'tcp', prefix, ports, target });
const udp = (prefix: string, ports: unknown, target: string) => ({ protocol: 'udp', prefix, ports, target });
const counters = async () => (await w.server.must('counters')).counters as Record<string, number>;
const answers = async (host: string, port = 80, count = 1) => (await w.client.must('http', { host, port, count })).answers as string[];

beforeAll(async () => {
  requireNetnsPrivileges();
  w = await steerWorld();
  await w.server.must('listen', { name: 'web', kind: 'http', host: MAPPED, port: 80 });
  await w.server.must('listen', { name: 'echo', kind: 'udp', host: '::', port: 7007 });
  await w.server.must('attach');
});

describe('sk_lookup steering', () => {
  it('serves a whole /20 and /44 from one HTTP server bound to one address, and counts per address', async () => {
    await w.server.must('replace', { rules: [tcp('10.20.0.0/20', 80, 'web'), tcp('fd00:20::/44', 80, 'web')] });
    const before = await counters();
    const hosts = ['10.20.0.1', '10.20.7.7', '10.20.15.254', 'fd00:20::1', 'fd00:20:f:ffff::5'];
    for (const host of hosts) {
      const got = await answers(host, 80, 3);
      // The server sees the address the client asked for: the pool address, not ::1.
      expect(got).toEqual(Array(3).fill(`web ${host.includes(':') ? host : `::ffff:${host}`}`));
    }
    const after = await counters();
    expect(after.skl_steered - before.skl_steered).toBeGreaterThanOrEqual(15);
    const load = (await w.server.must('load')).load as { address: string; protocol: string; count: number }[];
    for (const host of hosts) expect(load).toContainEqual({ address: host, protocol: 'tcp', count: 3 });
  });

  it('serves a UDP echo for the same pools', async () => {
    await w.server.must('replace', {
      rules: [tcp('10.20.0.0/20', 80, 'web'), udp('10.20.0.0/20', 53, 'echo'), udp('fd00:20::/44', 53, 'echo')],
    });
    expect((await w.client.must('udp', { host: '10.20.3.4', port: 53, count: 2 })).answers).toEqual(['echo ping0', 'echo ping1']);
    expect((await w.client.must('udp', { host: 'fd00:20:9::9', port: 53 })).answers).toEqual(['echo ping0']);
    const load = (await w.server.must('load')).load as { address: string; protocol: string; count: number }[];
    expect(load).toContainEqual({ address: '10.20.3.4', protocol: 'udp', count: 2 });
  });

  it('picks the most specific prefix, then the narrowest port range, for IPv4 and IPv6', async () => {
    for (const [name, port] of [['wide', 8001], ['mid', 8002], ['narrow', 8003], ['host', 8004]] as const) {
      await w.server.must('listen', { name, kind: 'http', host: MAPPED, port });
    }
    await w.server.must('replace', {
      rules: [
        tcp('10.20.0.0/20', { from: 1, to: 65535 }, 'wide'), tcp('10.20.4.0/24', { from: 1, to: 1000 }, 'mid'),
        tcp('10.20.4.0/24', 80, 'narrow'), tcp('10.20.4.7', { from: 1, to: 65535 }, 'host'),
        tcp('fd00:20::/44', { from: 1, to: 65535 }, 'wide'), tcp('fd00:20:4::/48', 80, 'narrow'),
      ],
    });
    const first = async (host: string, port: number) => (await answers(host, port))[0]!.split(' ')[0];
    expect(await first('10.20.1.1', 80)).toBe('wide');
    expect(await first('10.20.4.1', 80)).toBe('narrow');
    expect(await first('10.20.4.1', 443)).toBe('mid');
    // The /24 has no range for 8080: the /20's rule applies, not the kernel's lookup.
    expect(await first('10.20.4.1', 8080)).toBe('wide');
    expect(await first('10.20.4.7', 80)).toBe('host');
    expect(await first('fd00:20:4::1', 80)).toBe('narrow');
    expect(await first('fd00:20:4::1', 81)).toBe('wide');
    expect(await first('fd00:20:5::1', 80)).toBe('wide');
  });

  it('replaces rules under load, shrinking /20 to /24 to /32 and swapping servers, with no failed request', async () => {
    await w.server.must('listen', { name: 'web2', kind: 'http', host: MAPPED, port: 8080 });
    const sets = [
      [tcp('10.20.0.0/20', 80, 'web'), tcp('fd00:20::/44', 80, 'web')],
      [tcp('10.20.0.0/24', 80, 'web2'), tcp('fd00:20::/64', 80, 'web2')],
      [tcp('10.20.0.1', 80, 'web'), tcp('fd00:20::1', 80, 'web2')],
      [tcp('10.20.0.0/20', 80, 'web2'), tcp('fd00:20::/44', 80, 'web')],
    ];
    await w.server.must('replace', { rules: sets[0] });
    await w.client.must('loop-start', { hosts: ['10.20.0.1', 'fd00:20::1'], port: 80 });
    for (let round = 0; round < 12; round++) {
      const { ok } = await w.client.must('loop-progress');
      await w.server.must('replace', { rules: sets[round % sets.length] });
      // Requests completed on every set: wait for progress, not for time.
      await waitFor(async () => ((await w.client.must('loop-progress')).ok as number) >= (ok as number) + 20, { timeoutMs: 30_000, what: 'requests under the new rules' });
    }
    const result = await w.client.must('loop-stop');
    expect(result.errors).toEqual([]);
    expect(result.failed).toBe(0);
    expect(result.ok).toBeGreaterThan(12 * 20);
  });

  it('falls back to the kernel lookup, counted, when a rule\'s socket closes; the rule stays listed', async () => {
    await w.server.must('listen', { name: 'doomed', kind: 'http', host: MAPPED, port: 8090 });
    await w.server.must('listen', { name: 'any', kind: 'http', host: '0.0.0.0', port: 8091 });
    await w.server.must('replace', { rules: [tcp('10.20.9.0/24', 8091, 'doomed')] });
    expect(await answers('10.20.9.9', 8091)).toEqual(['doomed ::ffff:10.20.9.9']);
    await w.server.must('close-target', { name: 'doomed' });
    const before = await counters();
    // The kernel's own lookup finds the server bound to 0.0.0.0:8091.
    expect(await answers('10.20.9.9', 8091)).toEqual(['any 10.20.9.9']);
    const after = await counters();
    expect(after.skl_no_socket - before.skl_no_socket).toBeGreaterThanOrEqual(1);
    expect(after.skl_steered - before.skl_steered).toBe(0);
    expect((await w.server.must('rules')).rules).toEqual([{ rule: 'tcp 10.20.9.0/24 8091-8091', socketOpen: false }]);
  });

  it('refuses bad rules with typed errors naming the value', async () => {
    await w.server.must('listen', { name: 'closed', kind: 'http', host: MAPPED, port: 8095 });
    await w.server.must('listen', { name: 'only6', kind: 'http', host: '::1', port: 8096 });
    await w.server.must('close-target', { name: 'closed' });
    const refuse = async (cmd: string, rule: unknown, target: string) => (await w.server.run(cmd, { rule, target })).error;
    expect(await refuse('add', tcp('10.20.0.0/20', 80, ''), 'closed')).toEqual({
      name: 'InvalidRuleError', code: 'ERR_INVALID_RULE', message: 'Expected a net.Server listening on a TCP address for server but received a server that is not listening',
    });
    expect(await refuse('add-raw', { protocol: 'tcp', prefix: '10.20.0.0/20', ports: 80 }, 'web')).toMatchObject({
      code: 'ERR_INVALID_RULE', message: expect.stringContaining("for rule.prefix but received '10.20.0.0/20'"),
    });
    expect(await refuse('add', udp('10.20.0.0/20', 53, ''), 'web')).toMatchObject({ code: 'ERR_INVALID_RULE', message: expect.stringContaining('dgram.Socket for a udp rule') });
    expect(await refuse('add', tcp('10.20.0.0/20', 80, ''), 'only6')).toMatchObject({ code: 'ERR_INVALID_RULE', message: expect.stringContaining('IPv6-only') });
    expect((await w.server.run('replace', { rules: [tcp('10.20.0.0/20', 80, 'web'), tcp('10.20.0.0/20', 80, 'web')] })).error).toEqual({
      name: 'InvalidRuleError', code: 'ERR_INVALID_RULE', message: 'Expected each rule once for rules[1].rule but received tcp 10.20.0.0/20 80-80 again',
    });
    // The rule of the closed socket is still there: replaceRules points it elsewhere, addRule refuses it twice.
    expect(await refuse('add', tcp('10.20.9.0/24', 8091, ''), 'web')).toEqual({
      name: 'InvalidRuleError', code: 'ERR_INVALID_RULE',
      message: 'Expected a rule not present yet (replaceRules changes one) for rule but received tcp 10.20.9.0/24 8091-8091, present',
    });
  });

  it('detaches: the namespace\'s lookups are the kernel\'s own again', async () => {
    await w.server.must('replace', { rules: [tcp('10.20.0.0/20', 8091, 'web')] });
    expect(await answers('10.20.2.2', 8091)).toEqual(['web ::ffff:10.20.2.2']);
    await w.server.must('detach');
    expect(await answers('10.20.2.2', 8091)).toEqual(['any 10.20.2.2']);
  });

  it('steers without the per-address count when asked, and says so when load() is called', async () => {
    await w.server.must('attach', { perAddressLoad: false });
    await w.server.must('replace', { rules: [tcp('10.20.0.0/20', 8091, 'web')] });
    expect(await answers('10.20.2.3', 8091)).toEqual(['web ::ffff:10.20.2.3']);
    expect((await counters()).skl_steered).toBe(1);
    expect((await w.server.run('load')).error).toEqual({
      name: 'InvalidOptionError', code: 'ERR_INVALID_OPTION', message: 'Expected perAddressLoad: true at attach() for load() but received perAddressLoad: false (nothing is counted per address)',
    });
    await w.server.must('detach');
  });

  it('refuses a namespace that does not exist, naming it', async () => {
    const name = runName('absent');
    const attempt = SocketSteering.attach({ netns: name });
    await expect(attempt).rejects.toThrow(InvalidOptionError);
    await expect(attempt).rejects.toThrow(`Expected a network namespace file for netns but could not open '/run/netns/${name}': No such file or directory`);
  });
});
