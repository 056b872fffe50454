// examples/netns/harness.ts: throw-away network namespaces, veth pairs and programs run inside them,
// always torn down again. Used by the netns tests (through test/netns/harness.ts, and checked by
// test/netns/harness.test.ts), the demo (examples/soft-unicast-demo) and the pps bench. It needs
// root, iproute2 and iputils-ping, and uses only Node built-ins, so that it runs without vitest.
//
// Typical use in a test file:
//
//   beforeEach(() => requireNetnsPrivileges()); // fails each test (never skips) without root
//   afterAll(teardownRun);            // kills leftover children, deletes everything this run made
//   it('...', async () => {
//     const pair = await createVethPair({ queues: 2 });
//     const srv = spawnIn(pair.b.ns, 'my-server', ['--listen', pair.b.ipv4]);
//     await srv.waitForLine(/ready/, 5_000);
//     expect(await ping(pair.a.ns, pair.b.ipv6)).toBe(true);
//     await pair.destroy();
//   });

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';

// ---------------------------------------------------------------------------------------------
// Run prefix and names
// ---------------------------------------------------------------------------------------------

/** Every run prefix has this shape: `su` + 6 hex digits (8 characters). */
export const RUN_PREFIX_RE = /^su[0-9a-f]{6}$/;

/** Linux interface names hold at most IFNAMSIZ - 1 = 15 characters. */
export const MAX_IFNAME_LENGTH = 15;

/** A fresh random run prefix. Runs (and test files, which vitest loads in isolation) never share one. */
export function newRunPrefix(): string {
  return `su${randomBytes(3).toString('hex')}`;
}

/**
 * The prefix of this run (this module instance: vitest isolates test files, so each file has its
 * own). Every namespace and interface the harness makes starts with it, which is what lets
 * `sweep(runPrefix)` remove exactly this run's objects and nothing of a concurrent run.
 */
export const runPrefix: string = newRunPrefix();

/** Throws unless `prefix` is a run prefix; stops `sweep('')` from deleting every namespace. */
export function assertRunPrefix(prefix: string): void {
  if (!RUN_PREFIX_RE.test(prefix)) {
    throw new Error(`not a run prefix: ${JSON.stringify(prefix)} (expected su + 6 hex digits, e.g. ${runPrefix})`);
  }
}

/**
 * `${prefix}-${suffix}`, checked to fit an interface name (namespaces use the same names, so one
 * rule covers both).
 */
export function runName(suffix: string, prefix: string = runPrefix): string {
  assertRunPrefix(prefix);
  if (!/^[A-Za-z0-9_]+$/.test(suffix)) throw new Error(`bad name suffix ${JSON.stringify(suffix)}`);
  const name = `${prefix}-${suffix}`;
  if (name.length > MAX_IFNAME_LENGTH) {
    throw new Error(`name ${name} is longer than ${MAX_IFNAME_LENGTH} characters (IFNAMSIZ)`);
  }
  return name;
}

/** True if `name` belongs to the run with this prefix. */
export function isRunName(name: string, prefix: string = runPrefix): boolean {
  return name.startsWith(prefix);
}

// ---------------------------------------------------------------------------------------------
// Running commands
// ---------------------------------------------------------------------------------------------

export interface ExecResult {
  stdout: string;
  stderr: string;
  /** Exit code, or null if a signal ended the process. */
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface ExecOptions {
  /** Kill the command (SIGKILL) and reject after this long. Default 10 000 ms. */
  timeoutMs?: number;
  /** Written to the command's stdin, which is then closed. */
  input?: string;
  env?: NodeJS.ProcessEnv;
  /** Reject on a nonzero exit or a signal (what mustExec / mustExecIn do). Default false. */
  throwOnError?: boolean;
  /** What the command was for; starts the error message ("creating namespace x: ..."). */
  what?: string;
}

/** A command that failed: its message names what was being done and quotes stdout and stderr. */
export class CommandError extends Error {
  constructor(
    message: string,
    readonly argv: readonly string[],
    readonly result: ExecResult | undefined,
  ) {
    super(message);
    this.name = 'CommandError';
  }
}

const DEFAULT_EXEC_TIMEOUT_MS = 10_000;
const MAX_CAPTURE = 64 * 1024;

function quoteArg(a: string): string {
  return /^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`;
}

/** argv as a shell-like string, for messages. */
export function formatCommand(argv: readonly string[]): string {
  return argv.map(quoteArg).join(' ');
}

function section(title: string, text: string): string {
  const t = text.trimEnd();
  return t === '' ? `\n--- ${title}: (empty)` : `\n--- ${title} ---\n${t}`;
}

function describeExit(r: { code: number | null; signal: NodeJS.Signals | null }): string {
  return r.signal !== null ? `was killed by ${r.signal}` : `exited with code ${String(r.code)}`;
}

/** Keeps the last `max` characters: the end of stderr is where the reason for a failure is. */
function appendCapped(buf: string, chunk: string, max = MAX_CAPTURE): string {
  const s = buf + chunk;
  return s.length > max ? s.slice(s.length - max) : s;
}

async function execArgv(argv: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
  const [cmd, ...args] = argv;
  if (cmd === undefined) throw new Error('execArgv: empty command');
  const timeoutMs = opts.timeoutMs ?? DEFAULT_EXEC_TIMEOUT_MS;
  const what = opts.what ?? `running ${formatCommand(argv)}`;
  const result = await new Promise<ExecResult>((resolve, reject) => {
    const child = spawn(cmd, args, {
      stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      env: opts.env ?? process.env,
    });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout?.setEncoding('utf8').on('data', (d: string) => (stdout = appendCapped(stdout, d)));
    child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr = appendCapped(stderr, d)));
    if (opts.input !== undefined && child.stdin) {
      child.stdin.on('error', () => {}); // the command may exit without reading it all (EPIPE)
      child.stdin.end(opts.input);
    }
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(new CommandError(`${what}: could not start \`${formatCommand(argv)}\`: ${err.message}`, argv, undefined));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const r: ExecResult = { stdout, stderr, code, signal };
      if (timedOut) {
        reject(
          new CommandError(
            `${what}: \`${formatCommand(argv)}\` timed out after ${timeoutMs} ms and was killed` +
              section('stderr', stderr) +
              section('stdout', stdout),
            argv,
            r,
          ),
        );
      } else {
        resolve(r);
      }
    });
  });
  if (opts.throwOnError === true && (result.code !== 0 || result.signal !== null)) {
    throw new CommandError(
      `${what}: \`${formatCommand(argv)}\` ${describeExit(result)}` +
        section('stderr', result.stderr) +
        section('stdout', result.stdout),
      argv,
      result,
    );
  }
  return result;
}

/**
 * Runs a short command in the test process's own network namespace. Resolves with its output
 * and exit status whatever the status; rejects only if it could not be started or timed out
 * (or, with `throwOnError`, on failure).
 */
export function exec(command: string, args: readonly string[] = [], opts: ExecOptions = {}): Promise<ExecResult> {
  return execArgv([command, ...args], opts);
}

/** Like `exec`, but rejects with stdout and stderr in the message unless the command exits 0. */
export function mustExec(command: string, args: readonly string[] = [], opts: ExecOptions = {}): Promise<ExecResult> {
  return execArgv([command, ...args], { ...opts, throwOnError: true });
}

// `ip netns exec` says one of these when the command never ran (iproute2 6.1: exit 255 for a
// missing namespace, exit 1 for a missing program). That is a harness problem, not the command's
// result, so execIn rejects instead of returning an exit code a test could take for the command's.
const NETNS_EXEC_FAILURE_RE = /^(exec of ".*" failed|Cannot open network namespace|setting the network namespace)/m;

function netnsArgv(ns: string, command: string, args: readonly string[]): string[] {
  return ['ip', 'netns', 'exec', ns, command, ...args];
}

/**
 * Runs a short command inside namespace `ns` (`ip netns exec NS command args`). Resolves with
 * { stdout, stderr, code, signal } whatever the exit code, unless `throwOnError` is set; rejects
 * if the command could not be run in the namespace at all, or on timeout.
 */
export async function execIn(
  ns: string,
  command: string,
  args: readonly string[] = [],
  opts: ExecOptions = {},
): Promise<ExecResult> {
  const argv = netnsArgv(ns, command, args);
  const what = opts.what ?? `running ${formatCommand([command, ...args])} in namespace ${ns}`;
  const r = await execArgv(argv, { ...opts, what });
  if (r.code !== 0 && NETNS_EXEC_FAILURE_RE.test(r.stderr)) {
    throw new CommandError(`${what}: could not run it in the namespace` + section('stderr', r.stderr), argv, r);
  }
  return r;
}

/** Like `execIn`, but rejects with stdout and stderr in the message unless the command exits 0. */
export function mustExecIn(
  ns: string,
  command: string,
  args: readonly string[] = [],
  opts: ExecOptions = {},
): Promise<ExecResult> {
  return execIn(ns, command, args, { ...opts, throwOnError: true });
}

/** `ip [-n NS] ARGS`, must succeed. */
function ip(ns: string | null, args: readonly string[], what: string): Promise<ExecResult> {
  return execArgv(['ip', ...(ns === null ? [] : ['-n', ns]), ...args], { what, throwOnError: true });
}

/** `ip [-n NS] -j ARGS`, parsed. iproute2 prints nothing at all for some empty lists. */
async function ipJson(ns: string | null, args: readonly string[], what: string): Promise<unknown> {
  const r = await ip(ns, ['-j', ...args], what);
  const text = r.stdout.trim();
  if (text === '') return [];
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new Error(`${what}: could not parse the JSON of \`ip -j ${args.join(' ')}\`: ${String(err)}` + section('stdout', text));
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function asArray(v: unknown, what: string): unknown[] {
  if (!Array.isArray(v)) throw new Error(`${what}: expected a JSON array from ip, got ${JSON.stringify(v)}`);
  return v as unknown[];
}

// ---------------------------------------------------------------------------------------------
// Cleanup registry
// ---------------------------------------------------------------------------------------------
//
// Objects are registered BEFORE the command that creates them runs, so that whatever fails
// (this process, the command, an assertion) there is a record of what may exist. teardownRun()
// and the exit hook work from this record; sweep(runPrefix) then catches anything missed, and
// sweepStale() catches the runs of processes that died without tearing down (their marker file
// in MARKER_DIR outlives them).

interface Registry {
  readonly prefix: string;
  readonly namespaces: Set<string>;
  readonly children: Set<SpawnedProcessImpl>;
}

const registry: Registry = { prefix: runPrefix, namespaces: new Set(), children: new Set() };

/** Where each live run leaves `<prefix>` = {"pid","startTime"}; /run is a tmpfs, gone at reboot like /run/netns. */
export const MARKER_DIR = '/run/softunicast-netns';

function markerPath(prefix: string): string {
  return `${MARKER_DIR}/${prefix}`;
}

/** Field 22 of /proc/PID/stat (start time in clock ticks): tells a live owner from a reused pid. */
function procStartTime(pid: number): string | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: count fields after the last ')'.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return rest[19];
  } catch {
    return undefined;
  }
}

let markerWritten = false;
function writeMarker(): void {
  if (markerWritten) return;
  markerWritten = true;
  // Best effort: without it only sweepStale() loses this run, the tests themselves still work.
  try {
    fs.mkdirSync(MARKER_DIR, { recursive: true });
    fs.writeFileSync(markerPath(runPrefix), JSON.stringify({ pid: process.pid, startTime: procStartTime(process.pid) }));
  } catch {
    /* ignore */
  }
}

function removeMarker(): void {
  try {
    fs.unlinkSync(markerPath(runPrefix));
  } catch {
    /* already gone */
  }
  markerWritten = false;
}

function registerNamespace(ns: string): void {
  writeMarker();
  registry.namespaces.add(ns);
}

/** What this run currently holds; for tests of the harness and for debugging leaks. */
export function registrySnapshot(): { prefix: string; namespaces: string[]; childPids: number[] } {
  return {
    prefix: runPrefix,
    namespaces: [...registry.namespaces].sort(),
    childPids: [...registry.children].flatMap((c) => (c.pid === undefined ? [] : [c.pid])),
  };
}

// Last resort when the process ends without teardownRun (a test crashed, the run was interrupted):
// synchronous, since nothing asynchronous runs in an 'exit' handler or a dying process. On
// 'exit', and on SIGTERM/SIGINT/SIGHUP: vitest stops its fork workers with SIGTERM (SIGKILL 500 ms
// later), and Node's default for those signals ends the process without an 'exit' event. The
// signal handlers clean up and then re-raise the signal, so the process still dies of it. One set
// of hooks per process, over every harness instance in it (vitest may evaluate this module once
// per test file in one worker). SIGKILL cannot be caught: sweepStale() covers that case.
const HOOK_KEY = Symbol.for('softunicast.test.netns.harness.registries');
type GlobalWithRegistries = typeof globalThis & { [HOOK_KEY]?: Set<Registry> };

function cleanupSync(registries: Set<Registry>): void {
  for (const reg of registries) {
    for (const c of reg.children) if (c.running) c.child.kill('SIGKILL');
    reg.children.clear();
    for (const ns of reg.namespaces) {
      const pids = spawnSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' }).stdout ?? '';
      for (const pid of parsePids(pids)) killQuietly(pid, 'SIGKILL');
      spawnSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
    }
    if (reg.namespaces.size > 0) {
      try {
        fs.unlinkSync(markerPath(reg.prefix));
      } catch {
        /* ignore */
      }
    }
    reg.namespaces.clear();
  }
}

{
  const g = globalThis as GlobalWithRegistries;
  let all = g[HOOK_KEY];
  if (all === undefined) {
    const created = new Set<Registry>();
    all = created;
    g[HOOK_KEY] = created;
    process.once('exit', () => cleanupSync(created));
    for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
      process.once(signal, () => {
        cleanupSync(created);
        process.kill(process.pid, signal); // our listener is gone: the default action ends us
      });
    }
  }
  all.add(registry);
}

function parsePids(text: string): number[] {
  return text
    .split(/\s+/)
    .filter((s) => /^\d+$/.test(s))
    .map(Number)
    .filter((pid) => pid !== process.pid);
}

function killQuietly(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    /* already gone */
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function namespaceExists(ns: string): Promise<boolean> {
  return (await listNamespaces()).includes(ns);
}

/** Names from `ip netns list`. */
export async function listNamespaces(): Promise<string[]> {
  const list = asArray(await ipJson(null, ['netns', 'list'], 'listing namespaces'), 'listing namespaces');
  return list.flatMap((e) => (isObject(e) && typeof e.name === 'string' ? [e.name] : []));
}

/**
 * Deletes namespace `ns` (idempotent). First stops what runs inside it: a process in a namespace
 * keeps the namespace, and the veth end in it, alive after `ip netns del` removes its name.
 */
async function deleteNamespace(ns: string): Promise<number[]> {
  const killed: number[] = [];
  await Promise.all([...registry.children].filter((c) => c.ns === ns).map((c) => c.stop()));
  if (await namespaceExists(ns)) {
    const r = await execArgv(['ip', 'netns', 'pids', ns], { what: `listing processes in namespace ${ns}` });
    for (const pid of parsePids(r.stdout)) {
      killQuietly(pid, 'SIGKILL');
      killed.push(pid);
    }
    const del = await execArgv(['ip', 'netns', 'del', ns], { what: `deleting namespace ${ns}` });
    // A concurrent delete (e.g. destroy() racing teardownRun()) is fine: gone is gone.
    if (del.code !== 0 && !/No such file or directory/.test(del.stderr)) {
      throw new CommandError(
        `deleting namespace ${ns}: \`ip netns del ${ns}\` ${describeExit(del)}` + section('stderr', del.stderr),
        ['ip', 'netns', 'del', ns],
        del,
      );
    }
  }
  registry.namespaces.delete(ns);
  return killed;
}

async function deleteNamespaces(names: readonly string[]): Promise<void> {
  const errors: unknown[] = [];
  for (const ns of names) {
    try {
      await deleteNamespace(ns);
    } catch (err) {
      errors.push(err);
    }
  }
  if (errors.length === 1) throw errors[0];
  if (errors.length > 1) throw new AggregateError(errors, `deleting namespaces ${names.join(', ')}: ${errorsText(errors)}`);
}

function errorsText(errors: readonly unknown[]): string {
  return errors.map((e) => (e instanceof Error ? e.message : String(e))).join('\n\n');
}

export interface SweepResult {
  namespaces: string[];
  interfaces: string[];
  killedPids: number[];
}

/**
 * Deletes every namespace whose name starts with `prefix` (killing the processes in it first),
 * and every interface with that prefix left in the root namespace (e.g. a veth whose move into a
 * namespace never happened). Objects of other prefixes are not touched.
 */
export async function sweep(prefix: string): Promise<SweepResult> {
  assertRunPrefix(prefix);
  const out: SweepResult = { namespaces: [], interfaces: [], killedPids: [] };
  const errors: unknown[] = [];
  for (const ns of await listNamespaces()) {
    if (!isRunName(ns, prefix)) continue;
    try {
      out.killedPids.push(...(await deleteNamespace(ns)));
      out.namespaces.push(ns);
    } catch (err) {
      errors.push(err);
    }
  }
  const links = asArray(await ipJson(null, ['link', 'show'], 'listing interfaces'), 'listing interfaces');
  for (const l of links) {
    if (!isObject(l) || typeof l.ifname !== 'string' || !isRunName(l.ifname, prefix)) continue;
    const r = await execArgv(['ip', 'link', 'del', 'dev', l.ifname], { what: `deleting interface ${l.ifname}` });
    if (r.code === 0) out.interfaces.push(l.ifname);
    // "Cannot find device": deleting its veth peer earlier in this loop took it along.
    else if (!/Cannot find device|does not exist/.test(r.stderr)) {
      errors.push(new CommandError(`sweep ${prefix}: deleting interface ${l.ifname} failed` + section('stderr', r.stderr), [], r));
    }
  }
  if (errors.length > 0) throw new AggregateError(errors, `sweep ${prefix}: ${errorsText(errors)}`);
  return out;
}

/**
 * Sweeps the prefixes of runs whose process has died (their marker in MARKER_DIR names a pid that
 * is gone or now another process). Never touches a live run, so concurrent test runs are safe.
 * Runs once by itself before the first pair of a run is made.
 */
export async function sweepStale(): Promise<string[]> {
  let entries: string[];
  try {
    entries = fs.readdirSync(MARKER_DIR);
  } catch {
    return [];
  }
  const swept: string[] = [];
  for (const prefix of entries) {
    if (!RUN_PREFIX_RE.test(prefix) || prefix === runPrefix) continue;
    let alive = true;
    try {
      const m = JSON.parse(fs.readFileSync(markerPath(prefix), 'utf8')) as unknown;
      const pid = isObject(m) && typeof m.pid === 'number' ? m.pid : undefined;
      const start = isObject(m) && typeof m.startTime === 'string' ? m.startTime : undefined;
      alive = pid !== undefined && procStartTime(pid) !== undefined && (start === undefined || procStartTime(pid) === start);
    } catch {
      alive = false; // unreadable or torn marker: its writer is not around to finish it
    }
    if (alive) continue;
    await sweep(prefix);
    try {
      fs.unlinkSync(markerPath(prefix));
    } catch {
      /* ignore */
    }
    swept.push(prefix);
  }
  return swept;
}

let staleSwept: Promise<string[]> | undefined;

/**
 * The afterAll helper: stops every child this run started that still runs, deletes every
 * namespace it registered, then sweeps its prefix for anything else. Idempotent. Rejects (after
 * trying everything) if something could not be removed, so a leak fails the suite visibly.
 */
export async function teardownRun(): Promise<void> {
  const errors: unknown[] = [];
  await Promise.all(
    [...registry.children].map((c) =>
      c.stop().catch((err: unknown) => {
        errors.push(err);
      }),
    ),
  );
  try {
    await deleteNamespaces([...registry.namespaces]);
  } catch (err) {
    errors.push(err);
  }
  try {
    await sweep(runPrefix);
  } catch (err) {
    errors.push(err);
  }
  if (errors.length > 0) throw new AggregateError(errors, `teardown of netns run ${runPrefix}: ${errorsText(errors)}`);
  removeMarker();
}

// ---------------------------------------------------------------------------------------------
// Prerequisites
// ---------------------------------------------------------------------------------------------

const TOOL_PACKAGES: Record<string, string> = {
  ip: 'iproute2',
  ss: 'iproute2',
  ping: 'iputils-ping',
  sysctl: 'procps',
  clang: 'clang',
  bpftool: 'bpftool',
};

function onPath(tool: string): boolean {
  for (const dir of (process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin').split(':')) {
    if (dir === '') continue;
    try {
      fs.accessSync(`${dir}/${tool}`, fs.constants.X_OK);
      return true;
    } catch {
      /* next */
    }
  }
  return false;
}

/**
 * Throws a clear error unless this process is root and has the tools. The netns suites do not
 * skip without root: they are always run as root, so missing privileges are a broken setup.
 */
export function requireNetnsPrivileges(tools: readonly string[] = ['ip', 'ping']): void {
  const uid = process.getuid?.();
  if (uid !== 0) {
    throw new Error(
      `the netns tests must run as root (they create network namespaces and veth devices), ` +
        `but this process runs as uid ${String(uid)}; run them as root, e.g. sudo npx vitest run test/netns`,
    );
  }
  const missing = tools.filter((t) => !onPath(t));
  if (missing.length > 0) {
    throw new Error(
      `the netns tests need ${missing.join(', ')} on PATH; install the Debian package(s) ` +
        missing.map((t) => TOOL_PACKAGES[t] ?? t).join(', '),
    );
  }
}

// ---------------------------------------------------------------------------------------------
// Veth pairs
// ---------------------------------------------------------------------------------------------

export interface VethEnd {
  /** Namespace holding this end. The interface has the same name as its namespace. */
  ns: string;
  ifname: string;
  /** MAC address as the kernel reports it, lower-case aa:bb:cc:dd:ee:ff. */
  mac: string;
  /** IPv4 address without prefix length (the prefix length is VethPair.ipv4PrefixLen). */
  ipv4: string;
  /** IPv6 address without prefix length (the prefix length is VethPair.ipv6PrefixLen). */
  ipv6: string;
  /** ifindex inside `ns`. */
  ifindex: number;
  mtu: number;
}

export interface VethPair {
  /** Per-run pair number; it picks the pair's subnets. */
  readonly index: number;
  readonly a: VethEnd;
  readonly b: VethEnd;
  readonly queues: number;
  readonly ipv4PrefixLen: 24;
  readonly ipv6PrefixLen: 64;
  readonly destroyed: boolean;
  /** Deletes both namespaces (and so both veth ends) after stopping what runs in them. Idempotent. */
  destroy(): Promise<void>;
}

/** The creation steps, in order, as passed to VethPairOptions.onStep. */
export type CreateStep = 'netns' | 'veth' | 'up' | 'addresses' | 'readback';

export interface VethPairOptions {
  /** RX and TX queues of each end (`numrxqueues N numtxqueues N`). Default 1. */
  queues?: number;
  /** MTU of both ends; default the kernel's (1500). The kernel enforces the range. */
  mtu?: number;
  /**
   * Called before each creation step; if it throws, creation stops as if that step had failed.
   * For tests of failure handling.
   */
  onStep?: (step: CreateStep) => void | Promise<void>;
}

// 198.18.0.0/15 is reserved for benchmarking (RFC 2544, RFC 6890): it is routed nowhere, so
// traffic to it can never reach a real host, nor clash with the machine's own (often private
// 10/8, 172.16/12 or 192.168/16) addresses. It holds 512 /24s: one per pair, so the pairs of a run
// never share a subnet even if a test routes between them. 2001:db8::/32 is the IPv6
// documentation prefix (RFC 3849), likewise never routed; each pair gets 2001:db8:N::/64.
const MAX_PAIRS = 512;
let nextPairIndex = 0;

function pairAddresses(index: number): { a4: string; b4: string; a6: string; b6: string } {
  const net4 = `198.${18 + (index >> 8)}.${index & 255}`;
  // Written the canonical way (RFC 5952) as the kernel prints it: 2001:db8::1, 2001:db8:1::1, ...
  const net6 = index === 0 ? '2001:db8:' : `2001:db8:${index.toString(16)}:`;
  return { a4: `${net4}.1`, b4: `${net4}.2`, a6: `${net6}:1`, b6: `${net6}:2` };
}

async function readLink(ns: string, ifname: string): Promise<Record<string, unknown>> {
  const what = `reading back ${ifname} in namespace ${ns}`;
  const list = asArray(await ipJson(ns, ['link', 'show', 'dev', ifname], what), what);
  const link = list[0];
  if (!isObject(link)) throw new Error(`${what}: ip printed no link`);
  return link;
}

/**
 * Makes namespaces `<prefix>-<N>a` and `<prefix>-<N>b` joined by a veth pair whose ends carry
 * the same names as their namespaces, brings the ends and both `lo` up, and gives them
 * 198.18.N.1/24 + 2001:db8:N::1/64 (a) and .2 / ::2 (b). No static neighbour entries: ARP and
 * ND run as usual. The namespaces are registered before they exist, and on any failure
 * everything made so far is deleted before the error is rethrown.
 */
export async function createVethPair(opts: VethPairOptions = {}): Promise<VethPair> {
  const queues = opts.queues ?? 1;
  if (!Number.isInteger(queues) || queues < 1) throw new Error(`createVethPair: queues must be an integer >= 1, got ${queues}`);
  if (opts.mtu !== undefined && (!Number.isInteger(opts.mtu) || opts.mtu < 1)) {
    throw new Error(`createVethPair: mtu must be a positive integer, got ${opts.mtu}`);
  }
  staleSwept ??= sweepStale().catch((err: unknown) => {
    staleSwept = undefined; // report it now, try again with the next pair
    throw err;
  });
  await staleSwept;

  const index = nextPairIndex++;
  if (index >= MAX_PAIRS) throw new Error(`createVethPair: this run already made ${MAX_PAIRS} pairs, all of 198.18.0.0/15`);
  const nsA = runName(`${index}a`);
  const nsB = runName(`${index}b`);
  const addr = pairAddresses(index);
  // Registered before anything exists: from here on, teardownRun() (or the exit hook) deletes
  // these even if this function never returns.
  registerNamespace(nsA);
  registerNamespace(nsB);

  let step: CreateStep = 'netns';
  const enter = async (s: CreateStep): Promise<void> => {
    step = s;
    await opts.onStep?.(s);
  };
  try {
    await enter('netns');
    await ip(null, ['netns', 'add', nsA], `creating namespace ${nsA}`);
    await ip(null, ['netns', 'add', nsB], `creating namespace ${nsB}`);

    await enter('veth');
    // Each end is created directly in its namespace ("netns" on both sides), so no veth is ever
    // left in the root namespace if something fails half-way.
    const endArgs = (ns: string): string[] => [
      'numrxqueues', String(queues), 'numtxqueues', String(queues),
      ...(opts.mtu === undefined ? [] : ['mtu', String(opts.mtu)]),
      'netns', ns,
    ];
    await ip(
      null,
      ['link', 'add', 'name', nsA, ...endArgs(nsA), 'type', 'veth', 'peer', 'name', nsB, ...endArgs(nsB)],
      `creating veth ${nsA} <-> ${nsB}`,
    );

    await enter('up');
    for (const ns of [nsA, nsB]) {
      // lo up too: programs that bind 127.0.0.1 or ::1 inside the namespace expect it.
      await ip(ns, ['link', 'set', 'dev', 'lo', 'up'], `bringing lo up in namespace ${ns}`);
      await ip(ns, ['link', 'set', 'dev', ns, 'up'], `bringing ${ns} up in namespace ${ns}`);
    }

    await enter('addresses');
    for (const [ns, a4, a6] of [
      [nsA, addr.a4, addr.a6],
      [nsB, addr.b4, addr.b6],
    ] as const) {
      await ip(ns, ['addr', 'add', `${a4}/24`, 'dev', ns], `adding ${a4}/24 to ${ns}`);
      // nodad: without it the address stays "tentative" for about a second of duplicate address
      // detection and cannot be used yet; in a fresh namespace nothing can own it twice.
      await ip(ns, ['-6', 'addr', 'add', `${a6}/64`, 'dev', ns, 'nodad'], `adding ${a6}/64 to ${ns}`);
    }

    await enter('readback');
    const readEnd = async (ns: string, a4: string, a6: string): Promise<VethEnd> => {
      // veth reports operstate UP once both ends are up; wait so the first packet is not lost.
      const link = await waitFor(
        async () => {
          const l = await readLink(ns, ns);
          return l.operstate === 'UP' ? l : undefined;
        },
        { what: `${ns} in namespace ${ns} to be operationally UP`, timeoutMs: 5_000, intervalMs: 20 },
      );
      const { ifindex, address, mtu } = link;
      if (typeof ifindex !== 'number' || typeof address !== 'string' || typeof mtu !== 'number') {
        throw new Error(`reading back ${ns}: unexpected ip -j link output ${JSON.stringify(link)}`);
      }
      return { ns, ifname: ns, mac: address.toLowerCase(), ipv4: a4, ipv6: a6, ifindex, mtu };
    };
    const a = await readEnd(nsA, addr.a4, addr.a6);
    const b = await readEnd(nsB, addr.b4, addr.b6);

    let destroyed = false;
    let destroying: Promise<void> | undefined;
    return {
      index,
      a,
      b,
      queues,
      ipv4PrefixLen: 24,
      ipv6PrefixLen: 64,
      get destroyed() {
        return destroyed;
      },
      destroy() {
        destroying ??= deleteNamespaces([nsA, nsB]).then(
          () => {
            destroyed = true;
          },
          (err: unknown) => {
            destroying = undefined; // let a later call (or teardownRun) try again
            throw err;
          },
        );
        return destroying;
      },
    };
  } catch (err) {
    try {
      await deleteNamespaces([nsA, nsB]);
    } catch (cleanupErr) {
      throw new AggregateError(
        [err, cleanupErr],
        `createVethPair failed at step "${step}" and cleaning up failed too: ${errorsText([err, cleanupErr])}`,
      );
    }
    if (err instanceof Error) err.message = `createVethPair (${nsA} <-> ${nsB}) failed at step "${step}": ${err.message}`;
    throw err;
  }
}

// ---------------------------------------------------------------------------------------------
// Bare namespaces, for topologies built by hand (examples/soft-unicast-demo/world.ts)
// ---------------------------------------------------------------------------------------------

/**
 * Makes namespace `<prefix>-<suffix>` with lo up and returns its name. It is registered before it
 * exists, so teardownRun() (or the exit hook) deletes it whatever happens next; links, bridges
 * and addresses made inside it go with it.
 */
export async function createNamespace(suffix: string): Promise<string> {
  staleSwept ??= sweepStale().catch((err: unknown) => {
    staleSwept = undefined;
    throw err;
  });
  await staleSwept;
  const ns = runName(suffix);
  registerNamespace(ns);
  await ip(null, ['netns', 'add', ns], `creating namespace ${ns}`);
  await ip(ns, ['link', 'set', 'dev', 'lo', 'up'], `bringing lo up in namespace ${ns}`);
  return ns;
}

/** Deletes namespaces made by createNamespace, stopping what runs in them first. Idempotent. */
export function destroyNamespaces(names: readonly string[]): Promise<void> {
  return deleteNamespaces(names);
}

// ---------------------------------------------------------------------------------------------
// Long-running programs in a namespace
// ---------------------------------------------------------------------------------------------

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Set when the process could not be started at all. */
  error?: Error;
}

export type LinePredicate = string | RegExp | ((line: string) => boolean);

export interface SpawnInOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** 'pipe' to write to child.stdin; default 'ignore'. */
  stdin?: 'ignore' | 'pipe';
}

export interface SpawnedProcess {
  readonly child: ChildProcess;
  readonly pid: number | undefined;
  readonly ns: string;
  /** "ip netns exec NS command args", for messages. */
  readonly description: string;
  /** Resolves (never rejects) once the process has exited and its output is read. */
  readonly exited: Promise<ExitInfo>;
  readonly running: boolean;
  /** Every stdout line so far (without the newline). */
  readonly stdoutLines: readonly string[];
  /** Collected stderr so far (the last 64 KiB). */
  readonly stderr: string;
  /**
   * Resolves with the first stdout line matching `predicate` (a string matches lines containing
   * it) that comes after the line returned by the previous waitForLine, so the same line is never
   * returned twice; lines printed before the call count. Rejects with the collected stderr if the
   * process ends first or `timeoutMs` (default 5000) passes.
   */
  waitForLine(predicate: LinePredicate, timeoutMs?: number): Promise<string>;
  /** All stdout lines from the first, as they arrive; ends when stdout closes. */
  lines(): AsyncIterableIterator<string>;
  /** Sends `signal` (default SIGTERM) unless the process has exited; resolves when it has. */
  kill(signal?: NodeJS.Signals): Promise<ExitInfo>;
  /** SIGTERM, then SIGKILL after `graceMs` (default 1000); resolves when it has exited. */
  stop(graceMs?: number): Promise<ExitInfo>;
}

function toMatcher(p: LinePredicate): (line: string) => boolean {
  if (typeof p === 'string') return (l) => l.includes(p);
  if (p instanceof RegExp) return (l) => {
    p.lastIndex = 0; // a /g or /y regexp keeps state between test() calls
    return p.test(l);
  };
  return p;
}

function describePredicate(p: LinePredicate): string {
  if (typeof p === 'string') return `containing ${JSON.stringify(p)}`;
  if (p instanceof RegExp) return `matching ${String(p)}`;
  return `accepted by ${p.name === '' ? 'the predicate' : p.name}`;
}

class SpawnedProcessImpl implements SpawnedProcess {
  readonly child: ChildProcess;
  readonly exited: Promise<ExitInfo>;
  readonly description: string;
  private readonly lineBuf: string[] = [];
  private partial = '';
  private stderrText = '';
  private cursor = 0;
  private stdoutEnded = false;
  private exit: ExitInfo | undefined;
  private readonly listeners = new Set<() => void>();

  constructor(
    readonly ns: string,
    command: string,
    args: readonly string[],
    opts: SpawnInOptions,
  ) {
    const argv = netnsArgv(ns, command, args);
    this.description = formatCommand(argv);
    // `ip netns exec` execs the command in place (no fork), so child.pid is the program itself
    // and signals reach it directly.
    this.child = spawn(argv[0] as string, argv.slice(1), {
      stdio: [opts.stdin ?? 'ignore', 'pipe', 'pipe'],
      env: opts.env ?? process.env,
      cwd: opts.cwd,
    });
    registry.children.add(this);
    this.child.stdout?.setEncoding('utf8').on('data', (d: string) => this.onStdout(d));
    this.child.stdout?.on('end', () => {
      if (this.partial !== '') this.pushLine(this.partial);
      this.partial = '';
      this.stdoutEnded = true;
      this.notify();
    });
    this.child.stderr?.setEncoding('utf8').on('data', (d: string) => (this.stderrText = appendCapped(this.stderrText, d)));
    this.exited = new Promise<ExitInfo>((resolve) => {
      const finish = (info: ExitInfo): void => {
        if (this.exit !== undefined) return;
        this.exit = info;
        registry.children.delete(this);
        resolve(info);
        this.notify();
      };
      this.child.on('error', (error) => {
        // Spawning `ip` failed: there will be no 'close' with an exit status worth waiting for.
        if (this.child.pid === undefined) finish({ code: null, signal: null, error });
      });
      // 'close' rather than 'exit': all stdout and stderr has been read by then.
      this.child.on('close', (code, signal) => finish({ code, signal }));
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get running(): boolean {
    return this.exit === undefined;
  }

  get stdoutLines(): readonly string[] {
    return this.lineBuf;
  }

  get stderr(): string {
    return this.stderrText;
  }

  private onStdout(d: string): void {
    const parts = (this.partial + d).split('\n');
    this.partial = parts.pop() ?? '';
    for (const p of parts) this.pushLine(p);
  }

  private pushLine(line: string): void {
    this.lineBuf.push(line.endsWith('\r') ? line.slice(0, -1) : line);
    this.notify();
  }

  private notify(): void {
    for (const l of [...this.listeners]) l();
  }

  private context(): string {
    const last = this.lineBuf.slice(-20).join('\n');
    return section('stderr', this.stderrText) + section('last stdout lines', last);
  }

  waitForLine(predicate: LinePredicate, timeoutMs = 5_000): Promise<string> {
    const match = toMatcher(predicate);
    const wanted = `a line ${describePredicate(predicate)}`;
    return new Promise<string>((resolve, reject) => {
      let i = this.cursor;
      let timer: NodeJS.Timeout | undefined;
      const done = (): void => {
        this.listeners.delete(check);
        if (timer !== undefined) clearTimeout(timer);
      };
      const check = (): void => {
        for (; i < this.lineBuf.length; i++) {
          const line = this.lineBuf[i] as string;
          if (match(line)) {
            this.cursor = Math.max(this.cursor, i + 1);
            done();
            resolve(line);
            return;
          }
        }
        if (this.exit !== undefined) {
          done();
          const how = this.exit.error ? `could not be started (${this.exit.error.message})` : describeExit(this.exit);
          reject(new Error(`${this.description} ${how} before printing ${wanted}` + this.context()));
        }
      };
      this.listeners.add(check);
      timer = setTimeout(() => {
        done();
        reject(
          new Error(
            `timed out after ${timeoutMs} ms waiting for ${this.description} to print ${wanted} ` +
              `(the process ${this.exit === undefined ? 'is still running' : describeExit(this.exit)})` +
              this.context(),
          ),
        );
      }, timeoutMs);
      check();
    });
  }

  lines(): AsyncIterableIterator<string> {
    let i = 0;
    const ended = (): boolean => this.stdoutEnded || this.exit !== undefined;
    const nextLine = async (): Promise<IteratorResult<string>> => {
      while (i >= this.lineBuf.length && !ended()) {
        await new Promise<void>((resolve) => {
          const l = (): void => {
            this.listeners.delete(l);
            resolve();
          };
          this.listeners.add(l);
        });
      }
      if (i < this.lineBuf.length) return { value: this.lineBuf[i++] as string, done: false };
      return { value: undefined, done: true };
    };
    const iterator: AsyncIterableIterator<string> = {
      [Symbol.asyncIterator]: () => iterator,
      next: nextLine,
    };
    return iterator;
  }

  kill(signal: NodeJS.Signals = 'SIGTERM'): Promise<ExitInfo> {
    if (this.exit === undefined) this.child.kill(signal);
    return this.exited;
  }

  async stop(graceMs = 1_000): Promise<ExitInfo> {
    if (this.exit !== undefined) return this.exit;
    this.child.kill('SIGTERM');
    const timer = sleep(graceMs).then(() => undefined);
    const first = await Promise.race([this.exited, timer]);
    if (first !== undefined) return first;
    this.child.kill('SIGKILL');
    const second = await Promise.race([this.exited, sleep(5_000).then(() => undefined)]);
    if (second === undefined) throw new Error(`${this.description} (pid ${String(this.pid)}) did not exit after SIGKILL`);
    return second;
  }
}

/**
 * Starts `command args` in namespace `ns` (`ip netns exec`), reading its stdout line by line and
 * collecting its stderr. The process is registered so that teardownRun() (and destroy() of its
 * namespace's pair) stops it if the test does not.
 */
export function spawnIn(ns: string, command: string, args: readonly string[] = [], opts: SpawnInOptions = {}): SpawnedProcess {
  return new SpawnedProcessImpl(ns, command, args, opts);
}

// ---------------------------------------------------------------------------------------------
// Utilities
// ---------------------------------------------------------------------------------------------

export interface PingOptions {
  /** Echo requests to send; default 3. Success is at least one reply. */
  count?: number;
  /** Default: 6 if the address contains ':', else 4. */
  family?: 4 | 6;
}

/** True if `address` answers ping from namespace `ns`. */
export async function ping(ns: string, address: string, opts: PingOptions = {}): Promise<boolean> {
  const count = opts.count ?? 3;
  const family = opts.family ?? (address.includes(':') ? 6 : 4);
  // -W 1: wait at most 1 s for each reply; -i 0.2: the shortest interval root may use without
  // flooding, so a 3-packet ping takes well under a second; -n: no reverse DNS (no network here).
  const r = await execIn(ns, 'ping', [`-${family}`, '-n', '-q', '-c', String(count), '-W', '1', '-i', '0.2', address], {
    timeoutMs: count * 1_200 + 5_000,
  });
  return r.code === 0;
}

/** An attached program's mode as iproute2 names it (XDP_ATTACHED_*): not src/xdp's XdpMode, which is what a port was granted. */
export type AttachedXdpMode = 'native' | 'generic' | 'offload';

export interface XdpAttachment {
  mode: AttachedXdpMode;
  id: number;
  name: string | undefined;
}

// XDP_ATTACHED_* from linux/if_link.h, as iproute2 prints them in the "mode" fields.
const XDP_MODES: Record<number, AttachedXdpMode> = { 1: 'native', 2: 'generic', 3: 'offload' };

/**
 * The XDP programs attached to `ifname` in `ns`, from `ip -j -d link show dev IF`. iproute2 6.1
 * prints, with one program attached:
 *   "xdp": { "mode": 1, "prog": { "id": 101, "name": "xdp_pass", ... },
 *            "attached": [ { "mode": 1, "prog": { "id": 101, ... } } ] }
 * and no "xdp" key at all when none is. Older iproute2 may print only "prog", and with programs
 * in several modes (mode 4, XDP_ATTACHED_MULTI) only "attached"; both are handled.
 */
export async function xdpAttachments(ns: string, ifname: string): Promise<XdpAttachment[]> {
  const link = await readLinkDetailed(ns, ifname);
  const xdp = link.xdp;
  if (!isObject(xdp)) return [];
  const entries: unknown[] = Array.isArray(xdp.attached) ? xdp.attached : [{ mode: xdp.mode, prog: xdp.prog }];
  const out: XdpAttachment[] = [];
  for (const e of entries) {
    if (!isObject(e) || !isObject(e.prog) || typeof e.prog.id !== 'number') continue;
    const mode = typeof e.mode === 'number' ? XDP_MODES[e.mode] : undefined;
    if (mode === undefined) continue;
    out.push({ mode, id: e.prog.id, name: typeof e.prog.name === 'string' ? e.prog.name : undefined });
  }
  return out;
}

/** `ethtool -S IFNAME` in `ns` as numbers ("rx_queue_0_xdp_packets" -> n): veth's per-queue
 * XDP counters, where a full ring between the two ends shows. */
export async function vethStats(ns: string, ifname: string): Promise<Map<string, number>> {
  const r = await execIn(ns, 'ethtool', ['-S', ifname], { throwOnError: true });
  const out = new Map<string, number>();
  for (const m of r.stdout.matchAll(/^\s*(\w+): (\d+)$/gm)) out.set(m[1]!, Number(m[2]));
  return out;
}

/** The packets `ifname` in `ns` dropped, from `ip -s -j link`: on veth a sender's TX drops are
 * packets its peer's ring had no room for. */
export async function linkDrops(ns: string, ifname: string): Promise<{ rx: number; tx: number }> {
  const r = await execIn(ns, 'ip', ['-s', '-j', 'link', 'show', 'dev', ifname], { throwOnError: true });
  const [link] = JSON.parse(r.stdout) as { stats64: { rx: { dropped: number }; tx: { dropped: number } } }[];
  return { rx: link!.stats64.rx.dropped, tx: link!.stats64.tx.dropped };
}

async function readLinkDetailed(ns: string, ifname: string): Promise<Record<string, unknown>> {
  const what = `reading XDP state of ${ifname} in namespace ${ns}`;
  const list = asArray(await ipJson(ns, ['-d', 'link', 'show', 'dev', ifname], what), what);
  const link = list[0];
  if (!isObject(link)) throw new Error(`${what}: ip printed no link`);
  return link;
}

/** Id of the XDP program attached to `ifname` in `ns` (in `mode`, if given), or undefined if none. */
export async function xdpProgramId(ns: string, ifname: string, mode?: AttachedXdpMode): Promise<number | undefined> {
  const all = await xdpAttachments(ns, ifname);
  return all.find((a) => mode === undefined || a.mode === mode)?.id;
}

export interface WaitForOptions {
  /** Names what is awaited, for the timeout message ("the server to listen on :53"). */
  what: string;
  /** Default 5000. */
  timeoutMs?: number;
  /** Default 50. */
  intervalMs?: number;
}

/**
 * Polls `predicate` until it returns a truthy value, and resolves with that value. A predicate
 * that throws counts as "not yet"; its last error is quoted if the time runs out.
 */
export async function waitFor<T>(
  predicate: () => T | Promise<T>,
  opts: WaitForOptions,
): Promise<Exclude<T, undefined | null | false | 0 | ''>> {
  const timeoutMs = opts.timeoutMs ?? 5_000;
  const intervalMs = opts.intervalMs ?? 50;
  const start = Date.now();
  const deadline = start + timeoutMs;
  let lastError: unknown;
  let tries = 0;
  for (;;) {
    tries++;
    const remaining = deadline - Date.now();
    try {
      // Race each call against the deadline, so a predicate that hangs cannot outlast it.
      let timer: NodeJS.Timeout | undefined;
      const expired = Symbol('expired');
      const v = await Promise.race([
        Promise.resolve().then(predicate),
        new Promise<typeof expired>((r) => (timer = setTimeout(() => r(expired), Math.max(remaining, 0)))),
      ]).finally(() => clearTimeout(timer));
      if (v !== expired && v) return v as Exclude<T, undefined | null | false | 0 | ''>;
    } catch (err) {
      lastError = err;
    }
    const left = deadline - Date.now();
    if (left <= 0) break;
    await sleep(Math.min(intervalMs, left));
  }
  const why = lastError === undefined ? '' : `; last error: ${lastError instanceof Error ? lastError.message : String(lastError)}`;
  throw new Error(`timed out after ${timeoutMs} ms (${tries} tries) waiting for ${opts.what}${why}`);
}
