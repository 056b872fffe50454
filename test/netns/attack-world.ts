// What the attack tests (test/netns/attacks-*.test.ts) share: a raw-frame agent (agents/wire-agent.py),
// the router binary run as an operator runs it and read through its control socket, veth links,
// and the fates a router counted between two readings. Every namespace comes from the harness,
// which registers it before it exists: a failed step leaves nothing behind.
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { expect } from 'vitest';

import { ask } from '../../examples/soft-unicast-router/client.js';
import { mustExec, mustExecIn, spawnIn, waitFor, type SpawnedProcess } from '../../src/netns/index.js';

export const MAIN = fileURLToPath(new URL('../../dist/examples/soft-unicast-router/main.js', import.meta.url));
const WIRE_AGENT = fileURLToPath(new URL('./agents/wire-agent.py', import.meta.url));
export const TOOLS = ['ip', 'sysctl', 'python3'];

// ---- Raw frames and sockets in a namespace --------------------------------------------------

/** agents/wire-agent.py in one namespace: sends frames byte for byte, keeps what arrives. */
export class Wire {
  #next = 0;
  private constructor(readonly proc: SpawnedProcess) {}

  static async start(ns: string): Promise<Wire> {
    const proc = spawnIn(ns, 'python3', [WIRE_AGENT], { stdin: 'pipe' });
    proc.child.stdin!.on('error', () => undefined); // EPIPE after an early exit: waitForLine says why
    await proc.waitForLine(/"event": "ready"/, 20_000);
    return new Wire(proc);
  }

  async #run(cmd: string, args: Record<string, unknown>): Promise<Record<string, any>> {
    const id = `w${this.#next++}`;
    this.proc.child.stdin!.write(`${JSON.stringify({ ...args, cmd, id })}\n`);
    const answer = JSON.parse(await this.proc.waitForLine(`"id": "${id}"`, 20_000)) as Record<string, any>;
    if (answer.event === 'error') throw new Error(`wire-agent ${cmd}: ${answer.message}`);
    return answer;
  }

  /** Sends the frames on `ifname`, in order, exactly as given. */
  async send(ifname: string, frames: readonly Uint8Array[]): Promise<void> {
    await this.#run('send', { ifname, frames: frames.map((f) => Buffer.from(f).toString('hex')) });
  }

  /** Keeps every frame that arrives on `ifname` from now on, under `name`. */
  async sniff(name: string, ifname: string): Promise<void> {
    await this.#run('sniff', { name, ifname });
  }

  async frames(name: string): Promise<Buffer[]> {
    return ((await this.#run('frames', { name })).frames as string[]).map((h) => Buffer.from(h, 'hex'));
  }

  /** A UDP socket on address:port keeping every datagram, under `name`. */
  async listen(name: string, address: string, port: number): Promise<void> {
    await this.#run('listen', { name, address, port });
  }

  async datagrams(name: string): Promise<Buffer[]> {
    return ((await this.#run('datagrams', { name })).datagrams as string[]).map((h) => Buffer.from(h, 'hex'));
  }
}

/** A payload that names one probe: found again byte for byte wherever the packet ends up. */
export const tag = (name: string): Uint8Array => new Uint8Array(Buffer.from(`su-probe:${name};`));
/** The frames among `frames` that carry probe `name`'s payload. */
export const carrying = (frames: readonly Buffer[], name: string): Buffer[] => frames.filter((f) => f.includes(Buffer.from(tag(name))));

// ---- Links and settings ---------------------------------------------------------------------

/** A veth pair with end `ifA` in `nsA` and `ifB` in `nsB`, each made in its namespace, both up. */
export async function link(nsA: string, ifA: string, nsB: string, ifB: string): Promise<void> {
  await mustExec('ip', ['link', 'add', 'name', ifA, 'netns', nsA, 'type', 'veth', 'peer', 'name', ifB, 'netns', nsB]);
  await mustExecIn(nsA, 'ip', ['link', 'set', 'dev', ifA, 'up']);
  await mustExecIn(nsB, 'ip', ['link', 'set', 'dev', ifB, 'up']);
}

/** `ip addr add` of each address (IPv6 without duplicate address detection: usable at once). */
export async function addresses(ns: string, ifname: string, list: readonly string[]): Promise<void> {
  for (const a of list) await mustExecIn(ns, 'ip', ['addr', 'add', a, 'dev', ifname, ...(a.includes(':') ? ['nodad'] : [])]);
}

export { sysctlIn as sysctl, macOf } from '../../src/netns/index.js';

// ---- The router binary ----------------------------------------------------------------------

export type Fates = Record<string, number>;

/** Fates that background traffic (ARP, neighbour discovery, the kernel's own packets) moves. */
const BACKGROUND = new Set(['pass_unparsed', 'pass_unmanaged']);

/** soft-unicast-router on one server, unpinned (it leaves the interface when it exits). */
export class RouterRun {
  private constructor(
    readonly proc: SpawnedProcess,
    readonly socket: string,
  ) {}

  /** Starts it with `config` written to `configPath`, and waits until it is ready. */
  static async start(ns: string, o: { host: string; configPath: string; config: string; socket: string; lane?: 'auto' | 'afxdp'; args?: string[] }): Promise<RouterRun> {
    writeFileSync(o.configPath, o.config);
    const args = [MAIN, '--no-pin', '--config', o.configPath, '--host', o.host, '--socket', o.socket, '--stats-interval', '60', '--lane', o.lane ?? 'auto', ...(o.args ?? [])];
    const router = new RouterRun(spawnIn(ns, process.execPath, args), o.socket);
    await router.logged(/ ready in /);
    return router;
  }

  /** The first log line (stderr) matching `re`, once it appears; fails at once if the router exits first. */
  async logged(re: RegExp, timeoutMs = 30_000): Promise<string> {
    const find = () => this.proc.stderr.split('\n').find((l) => re.test(l));
    await waitFor(() => find() !== undefined || !this.proc.running, { what: `the router to log a line matching ${re}; its log:\n${this.proc.stderr}`, timeoutMs });
    const line = find();
    if (line === undefined) throw new Error(`the router exited before logging a line matching ${re}; its log:\n${this.proc.stderr}`);
    return line;
  }

  async request(req: Record<string, unknown>): Promise<Record<string, any>> {
    const [answer] = await ask(this.socket, [req]);
    if (!answer?.ok) throw new Error(`${JSON.stringify(req)}: ${JSON.stringify(answer)}`);
    return answer as Record<string, any>;
  }

  /** Every fate counted so far, both lanes summed. */
  async fates(): Promise<Fates> {
    return (await this.request({ cmd: 'stats' })).counters.fates as Fates;
  }

  /** Waits until the next hops of `owners` (every owner by default) are known: the kernel resolved their MAC addresses. */
  async resolved(owners?: readonly string[]): Promise<void> {
    let unresolved: Record<string, string> = {};
    try {
      await waitFor(async () => {
        unresolved = (await this.request({ cmd: 'stats' })).counters.unresolvedOwners as Record<string, string>;
        return Object.keys(unresolved).every((o) => owners !== undefined && !owners.includes(o));
      }, { what: 'the router\'s next hops to resolve', timeoutMs: 15_000 });
    } catch (error) {
      throw new Error(`${(error as Error).message}; unresolved: ${JSON.stringify(unresolved)}`);
    }
  }

  /** Writes `config` to `path` and reloads it (SIGHUP); resolves once generation `generation` is in use. */
  async reload(path: string, config: string, generation: number): Promise<void> {
    writeFileSync(path, config);
    this.proc.child.kill('SIGHUP');
    await this.logged(new RegExp(`reloaded \\(.*\\): generation ${generation} in use`));
  }
}

/** What changed from `before` to `after`, fates that moved only. */
export function delta(before: Fates, after: Fates): Fates {
  const out: Fates = {};
  for (const [k, v] of Object.entries(after)) if (v !== (before[k] ?? 0)) out[k] = v - (before[k] ?? 0);
  return out;
}

/**
 * Waits until `router` has counted, since `before`, at least `expected` of each fate named, then
 * expects exactly those counts and nothing else (background fates aside, unless named): the
 * packets of a step are all accounted for, each under the one name it should have.
 */
export async function expectFates(router: RouterRun, before: Fates, expected: Fates): Promise<Fates> {
  const moved = (after: Fates): Fates => {
    const d = delta(before, after);
    for (const k of Object.keys(d)) if (BACKGROUND.has(k) && !(k in expected)) delete d[k];
    return d;
  };
  let last: Fates = {};
  try {
    await waitFor(async () => {
      last = moved(await router.fates());
      return Object.entries(expected).every(([k, n]) => (last[k] ?? 0) >= n);
    }, { what: `the router to count ${JSON.stringify(expected)}`, timeoutMs: 10_000, intervalMs: 50 });
  } catch {
    // Shown as a difference below: what it counted instead.
  }
  expect(last).toEqual(expected);
  return last;
}
