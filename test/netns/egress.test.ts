// connectFromSlice / udpFromSlice in namespaces: namespace a holds the shared address on lo and
// opens connections from its slice; namespace b (routing the shared address back to a) runs echo
// servers that report the source they saw. Run by vitest as root.
import { constants } from 'node:os';
import { fileURLToPath } from 'node:url';

import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import {
  createVethPair, mustExecIn, requireNetnsPrivileges, spawnIn, teardownRun, type SpawnedProcess, type VethPair,
} from '../../src/netns/index.js';

const AGENT = fileURLToPath(new URL('./agents/egress-agent.mjs', import.meta.url));
const SHARED4 = '192.0.2.1';
const SHARED6 = '2001:db8:ffff::1';
const { EADDRINUSE, EADDRNOTAVAIL, ECONNREFUSED, ETIMEDOUT } = constants.errno;

interface Endpoint {
  address: string;
  port: number;
}
interface Reply {
  remote: string;
  port: number;
  data: string;
}
interface Result {
  event: string;
  id: string;
  local?: Endpoint;
  remote?: Endpoint;
  reply?: Reply;
  exitCode?: number;
  error?: { name: string; code: string; errno?: number; syscall?: string; message: string };
}

/** Drives the agent's client role in namespace a, one command at a time. */
class Client {
  private next = 0;
  constructor(readonly proc: SpawnedProcess) {}

  static async start(ns: string): Promise<Client> {
    const proc = spawnIn(ns, 'node', [AGENT, 'client'], { stdin: 'pipe' });
    proc.child.stdin!.on('error', () => undefined); // EPIPE after an early exit: waitForLine says why
    await proc.waitForLine(/"event":"ready"/, 20_000);
    return new Client(proc);
  }

  async run(cmd: string, args: Record<string, unknown> = {}): Promise<Result> {
    const id = `c${this.next++}`;
    this.proc.child.stdin!.write(`${JSON.stringify({ ...args, cmd, id })}\n`);
    return JSON.parse(await this.proc.waitForLine(`"id":"${id}"`, 20_000)) as Result;
  }
}

let pair: VethPair;
let client: Client;
let blackhole: string;

beforeAll(async () => {
  requireNetnsPrivileges(['ip', 'sysctl']);
  pair = await createVethPair();
  const { a, b } = pair;
  // a: the shared address, as every host that sends from it has it (DESIGN.md), and a namespace
  // port range that holds the slices below (the kernel ignores a socket's range outside it).
  await mustExecIn(a.ns, 'ip', ['addr', 'add', `${SHARED4}/32`, 'dev', 'lo']);
  await mustExecIn(a.ns, 'ip', ['-6', 'addr', 'add', `${SHARED6}/128`, 'dev', 'lo', 'nodad']);
  await mustExecIn(a.ns, 'sysctl', ['-qw', 'net.ipv4.ip_local_port_range=1024 65535']);
  // A destination that never answers: its frames carry a MAC nobody has, and b drops them.
  blackhole = a.ipv4.replace(/\.1$/, '.99');
  await mustExecIn(a.ns, 'ip', ['neigh', 'add', blackhole, 'lladdr', '02:00:00:00:00:99', 'dev', a.ifname, 'nud', 'permanent']);
  // b: replies to the shared address go back to a.
  await mustExecIn(b.ns, 'ip', ['route', 'add', `${SHARED4}/32`, 'via', a.ipv4]);
  await mustExecIn(b.ns, 'ip', ['-6', 'route', 'add', `${SHARED6}/128`, 'via', a.ipv6]);

  const echo = spawnIn(b.ns, 'node', [AGENT, 'echo']);
  await echo.waitForLine(/"event":"ready"/, 20_000);
  client = await Client.start(a.ns);
});
afterAll(teardownRun);
beforeEach(() => requireNetnsPrivileges(['ip', 'sysctl']));

const v4 = () => ({ source: SHARED4, host: pair.b.ipv4 });
const v6 = () => ({ source: SHARED6, host: pair.b.ipv6 });

describe.each([
  ['IPv4', v4, SHARED4],
  ['IPv6', v6, SHARED6],
])('egress from a slice over %s', (family, addresses, shared) => {
  // Distinct slices per test: a closed TCP connection leaves its 4-tuple in TIME_WAIT.
  const base = family === 'IPv4' ? 10_000 : 20_000;

  it('connects TCP from the shared address and a port of the slice; bytes round-trip', async () => {
    const slice = { from: base, to: base + 2047 };
    const r = await client.run('tcp', { ...addresses(), ...slice, port: 7, send: `hello over ${family}` });
    expect(r.error).toBeUndefined();
    expect(r.local!.address).toBe(shared);
    expect(r.local!.port).toBeGreaterThanOrEqual(slice.from);
    expect(r.local!.port).toBeLessThanOrEqual(slice.to);
    expect(r.remote).toEqual({ address: addresses().host, port: 7 });
    // The peer saw the shared address and the same port, and echoed the bytes.
    expect(r.reply).toEqual({ remote: shared, port: r.local!.port, data: `hello over ${family}` });
    await client.run('close', { target: r.id });
  });

  it('opens a connected UDP socket from the slice; send() without an address round-trips', async () => {
    const slice = { from: base + 3000, to: base + 3999 };
    const r = await client.run('udp', { ...addresses(), ...slice, port: 7, send: `datagram over ${family}` });
    expect(r.error).toBeUndefined();
    expect(r.local!.address).toBe(shared);
    expect(r.local!.port).toBeGreaterThanOrEqual(slice.from);
    expect(r.local!.port).toBeLessThanOrEqual(slice.to);
    expect(r.reply).toEqual({ remote: shared, port: r.local!.port, data: `datagram over ${family}` });
    await client.run('close', { target: r.id });
  });

  it('rejects the third TCP connection to one destination from a 2-port slice with SliceExhaustedError', async () => {
    const slice = { from: base + 5000, to: base + 5001 };
    const first = await client.run('tcp', { ...addresses(), ...slice, port: 7 });
    const second = await client.run('tcp', { ...addresses(), ...slice, port: 7 });
    expect([first.local!.port, second.local!.port].sort()).toEqual([slice.from, slice.to]);

    const third = await client.run('tcp', { ...addresses(), ...slice, port: 7 });
    const to = family === 'IPv4' ? `${pair.b.ipv4}:7` : `[${pair.b.ipv6}]:7`;
    expect(third.error).toEqual({
      name: 'SliceExhaustedError',
      code: 'ERR_SLICE_EXHAUSTED',
      errno: EADDRNOTAVAIL,
      syscall: 'connect',
      message: `every port of ${shared} ports ${slice.from}-${slice.to} is in use towards ${to}`,
    });

    // Only the 4-tuple must be unique: the same ports still reach another destination port.
    const other = await client.run('tcp', { ...addresses(), ...slice, port: 8, send: 'other port' });
    expect(other.error).toBeUndefined();
    expect([slice.from, slice.to]).toContain(other.local!.port);
    expect(other.reply).toEqual({ remote: shared, port: other.local!.port, data: 'other port' });
    for (const r of [first, second, other]) await client.run('close', { target: r.id });
  });

  it('rejects a third UDP socket from a 2-port slice: UDP ports are exclusive', async () => {
    const slice = { from: base + 6000, to: base + 6001 };
    const first = await client.run('udp', { ...addresses(), ...slice, port: 7 });
    const second = await client.run('udp', { ...addresses(), ...slice, port: 7 });
    expect([first.local!.port, second.local!.port].sort()).toEqual([slice.from, slice.to]);
    const third = await client.run('udp', { ...addresses(), ...slice, port: 7 });
    expect(third.error).toMatchObject({ name: 'SliceExhaustedError', code: 'ERR_SLICE_EXHAUSTED', errno: EADDRINUSE, syscall: 'bind' });
    expect(third.error!.message).toContain(`every port of ${shared} ports ${slice.from}-${slice.to} is in use by UDP sockets`);

    // A port freed is a port to use again.
    await client.run('close', { target: first.id });
    const again = await client.run('udp', { ...addresses(), ...slice, port: 7, send: 'again' });
    expect(again.local!.port).toBe(first.local!.port);
    expect(again.reply).toEqual({ remote: shared, port: first.local!.port, data: 'again' });
    for (const r of [second, again]) await client.run('close', { target: r.id });
  });

  it('rejects a refused connection with SyscallError ECONNREFUSED', async () => {
    const r = await client.run('tcp', { ...addresses(), from: base + 7000, to: base + 7099, port: 9 });
    expect(r.error).toMatchObject({ name: 'SyscallError', code: 'ERR_SYSCALL', errno: ECONNREFUSED, syscall: 'connect' });
    expect(r.error!.message).toMatch(new RegExp(`^Could not connect TCP from ${shared} ports ${base + 7000}-${base + 7099} to .*: Connection refused$`));
  });
});

describe('egress errors', () => {
  it('rejects a handshake that does not finish within timeoutMs with ETIMEDOUT', async () => {
    const r = await client.run('tcp', { source: SHARED4, host: blackhole, from: 30_000, to: 30_099, port: 80, timeoutMs: 200 });
    expect(r.error).toEqual({
      name: 'SyscallError',
      code: 'ERR_SYSCALL',
      errno: ETIMEDOUT,
      syscall: 'connect',
      message: `Connecting TCP from ${SHARED4} ports 30000-30099 to ${blackhole}:80 timed out after 200 ms`,
    });
  });

  it('names a source address this host does not have', async () => {
    const r = await client.run('tcp', { source: '192.0.2.77', host: pair.b.ipv4, from: 30_100, to: 30_199, port: 7 });
    expect(r.error).toMatchObject({ name: 'SyscallError', code: 'ERR_SYSCALL', errno: EADDRNOTAVAIL, syscall: 'bind' });
    expect(r.error!.message).toMatch(/^Could not bind to 192\.0\.2\.77: it is not an address of this host/);
  });

  it('refuses a slice outside net.ipv4.ip_local_port_range instead of using ports of another slice', async () => {
    const r = await client.run('tcp', { source: SHARED4, host: pair.b.ipv4, from: 100, to: 199, port: 7 });
    expect(r.error).toMatchObject({ name: 'InvalidOptionError', code: 'ERR_INVALID_OPTION' });
    expect(r.error!.message).toMatch(
      /^Expected a port range that overlaps net\.ipv4\.ip_local_port_range \(1024-65535 in this network namespace\) for ports but received 100-199/,
    );
  });

  it('names what the namespace range leaves of a slice that sticks out of it', async () => {
    // 1000-1025 against 1024-65535: the kernel uses 1024-1025.
    const first = await client.run('tcp', { source: SHARED4, host: pair.b.ipv4, from: 1000, to: 1025, port: 8 });
    const second = await client.run('tcp', { source: SHARED4, host: pair.b.ipv4, from: 1000, to: 1025, port: 8 });
    expect([first.local!.port, second.local!.port].sort()).toEqual([1024, 1025]);
    const third = await client.run('tcp', { source: SHARED4, host: pair.b.ipv4, from: 1000, to: 1025, port: 8 });
    expect(third.error!.message).toBe(
      `every port of ${SHARED4} ports 1000-1025 (net.ipv4.ip_local_port_range 1024-65535 leaves 1024-1025 of them) is in use towards ${pair.b.ipv4}:8`,
    );
    for (const r of [first, second]) await client.run('close', { target: r.id });
  });

  it('lets a worker with connections still pending be terminated', async () => {
    const r = await client.run('workerPending', { source: SHARED4, host: blackhole, from: 30_200, to: 30_299, port: 80 });
    expect(r).toMatchObject({ event: 'workerPending', exitCode: 1 });
  });

  it('holds nothing open once every socket is closed: the client exits by itself', async () => {
    client.proc.child.stdin!.end();
    expect(await client.proc.exited).toMatchObject({ code: 0, signal: null });
  });
});
