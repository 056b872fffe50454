// The policy DNS responder with 100,000 hostnames in namespace b, asked by real `dig` from namespace
// a over UDP and TCP, IPv4 and IPv6; its pool shrunk /20 -> /24 -> /32 while dig runs. Run as root.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { Agent, createVethPair, execIn, requireNetnsPrivileges, teardownRun, type VethPair } from '../../src/netns/index.js';

const AGENT = fileURLToPath(new URL('./agents/dns-agent.mjs', import.meta.url));
const NAMES = 100_000;
/** The agent's stable policy reads this clock: one bucket for the whole run. */
const CLOCK = 1_700_000_000_000;

let pair: VethPair;
let agent: Agent;
let port: number;
let scratch: string;

beforeAll(async () => {
  requireNetnsPrivileges(['ip', 'dig']);
  scratch = mkdtempSync(join(tmpdir(), 'dns-policy-'));
  pair = await createVethPair();
  const started = await Agent.ready('dns', pair.b.ns, AGENT, { hosts: [pair.b.ipv4, pair.b.ipv6], names: NAMES, clock: CLOCK });
  agent = started.agent;
  port = started.first.port as number;
});
afterAll(async () => {
  rmSync(scratch, { recursive: true, force: true });
  await teardownRun();
});
beforeEach(() => requireNetnsPrivileges(['ip', 'dig']));

async function dig(server: string, ...args: string[]): Promise<string> {
  const { stdout } = await execIn(pair.a.ns, 'dig', [`@${server}`, '-p', String(port), '+time=5', '+tries=1', ...args]);
  return stdout;
}

function inV4(text: string, cidr: string): boolean {
  const n = (t: string): number => t.split('.').reduce((s, o) => s * 256 + Number(o), 0);
  const [base, length] = cidr.split('/') as [string, string];
  const size = 2 ** (32 - Number(length));
  return /^\d+\.\d+\.\d+\.\d+$/.test(text) && Math.floor(n(text) / size) === Math.floor(n(base) / size);
}

describe('policy DNS with 100,000 hostnames, asked by dig from another namespace', () => {
  it('answers a listed name A from its /20 and AAAA from its /44, over IPv4 and IPv6, UDP and TCP', async () => {
    for (const server of [pair.b.ipv4, pair.b.ipv6]) {
      for (const tcp of [[], ['+tcp']]) {
        expect(inV4((await dig(server, '+short', ...tcp, 'h99999.pro.agility.test', 'A')).trim(), '198.18.0.0/20')).toBe(true);
        expect((await dig(server, '+short', ...tcp, 'h99999.pro.agility.test', 'AAAA')).trim()).toMatch(/^2001:db8:10[0-f]:/);
      }
    }
    const full = await dig(pair.b.ipv4, '+noall', '+comments', '+answer', 'H1.PRO.agility.test', 'A');
    expect(full).toMatch(/status: NOERROR/);
    expect(full).toMatch(/flags: qr aa rd;/);
    expect(full).toMatch(/^H1\.PRO\.agility\.test\.\s+30\s+IN\s+A\s+198\.18\./m);
  });

  it('NXDOMAIN for a name not in the list, NODATA for its parent and for other types', async () => {
    expect(await dig(pair.b.ipv4, 'h100001.pro.agility.test', 'A')).toMatch(/status: NXDOMAIN/);
    expect(await dig(pair.b.ipv4, 'h2.pro.agility.test', 'A')).toMatch(/status: NXDOMAIN/);
    const parent = await dig(pair.b.ipv4, 'pro.agility.test', 'A');
    expect(parent).toMatch(/status: NOERROR.*\n.*ANSWER: 0, AUTHORITY: 1/);
    expect(await dig(pair.b.ipv4, 'h1.pro.agility.test', 'MX')).toMatch(/ANSWER: 0, AUTHORITY: 1/);
  });

  it('the stable policy gives a name the same address in one bucket, over UDP and TCP, IPv4 and IPv6', async () => {
    const answers = new Set<string>();
    for (const server of [pair.b.ipv4, pair.b.ipv6]) {
      for (const tcp of [[], ['+tcp']]) answers.add((await dig(server, '+short', ...tcp, 'h4.free.agility.test', 'A')).trim());
    }
    expect(answers.size).toBe(1);
    expect(inV4([...answers][0]!, '198.51.100.0/24')).toBe(true);
  });

  it('a bad pool is refused with its typed error, and the old pool keeps answering', async () => {
    const answer = await agent.run('pool', { ipv4: '198.18.0.1/20' });
    expect(answer.error).toMatchObject({ code: 'ERR_INVALID_OPTION', message: expect.stringContaining("received '198.18.0.1/20'") });
    expect(inV4((await dig(pair.b.ipv4, '+short', 'h1.pro.agility.test', 'A')).trim(), '198.18.0.0/20')).toBe(true);
  });

  it('shrinking the pool /20 -> /24 -> /32 while three dig batches run fails no query', async () => {
    const PER_DIG = 2000;
    const batch = join(scratch, 'batch');
    writeFileSync(batch, Array.from({ length: PER_DIG }, (_, i) => `h${(i * 2 + 1) % NAMES}.pro.agility.test A`).join('\n'));
    const before = await udpCount();
    // Each batch's output goes to a file: 2,000 answers are more than a captured stdout keeps.
    const outputs = [0, 1, 2].map((i) => join(scratch, `out${i}`));
    // A source port of its own for each dig: with random ports, concurrent digs were seen to take
    // each other's answers ("ID mismatch", then a timeout): one port shared by two processes.
    const command = `dig @${pair.b.ipv4} -p ${port} +time=5 +tries=1 +noall +comments +answer -f ${batch}`;
    const runs = outputs.map((file, i) => execIn(pair.a.ns, 'sh', ['-c', `${command} -b ${pair.a.ipv4}#${40_001 + i} > ${file}`]));
    const reloadedAt: number[] = [];
    for (const [threshold, pool] of [[1000, '198.18.0.0/24'], [3000, '198.18.0.7/32']] as const) {
      while ((await udpCount()) - before < threshold) await new Promise((r) => setTimeout(r, 5));
      await agent.must('pool', { ipv4: pool });
      reloadedAt.push((await udpCount()) - before);
    }
    await Promise.all(runs);
    const out = outputs.map((file) => readFileSync(file, 'utf8')).join('\n');
    const statuses = out.match(/status: \w+/g) ?? [];
    const addresses = [...out.matchAll(/\sIN\s+A\s+(\S+)$/gm)].map((m) => m[1]!);
    const { counters } = (await agent.must('counters')) as unknown as { counters: Record<string, number>[] };
    expect(counters.map((c) => [c.failed, c.dropped, c.errors])).toEqual([[0, 0, 0], [0, 0, 0]]);
    expect(statuses.length, out.split('\n').filter((l) => l.startsWith(';; ') && !/Got answer|flags:|WARNING|PSEUDO|SECTION|HEADER/.test(l)).join('\n')).toBe(3 * PER_DIG);
    expect(statuses.filter((s) => s !== 'status: NOERROR')).toEqual([]);
    expect(addresses.length).toBe(3 * PER_DIG);
    expect(addresses.filter((a) => !inV4(a, '198.18.0.0/20'))).toEqual([]);
    // The swaps happened while the batches ran, and each pool answered.
    expect(reloadedAt.every((n) => n < 3 * PER_DIG)).toBe(true);
    expect(addresses.some((a) => !inV4(a, '198.18.0.0/24'))).toBe(true);
    expect(addresses.some((a) => inV4(a, '198.18.0.0/24') && a !== '198.18.0.7')).toBe(true);
    expect(addresses.at(-1)).toBe('198.18.0.7');
    expect((await dig(pair.b.ipv6, '+short', '+tcp', 'h5.pro.agility.test', 'A')).trim()).toBe('198.18.0.7');
  });
});

async function udpCount(): Promise<number> {
  const { counters } = (await agent.must('counters')) as unknown as { counters: { udp: number }[] };
  return counters.reduce((sum, c) => sum + c.udp, 0);
}
