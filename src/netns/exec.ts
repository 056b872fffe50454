// src/netns/exec.ts: short commands run in the caller's namespace or in another one (exec, execIn
// and their must- forms), and the CommandError they throw. Used by every part of the kit.
import { spawn } from 'node:child_process';

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

/** A titled block of a command's output, for error messages; says so when it is empty. */
export function section(title: string, text: string): string {
  const t = text.trimEnd();
  return t === '' ? `\n--- ${title}: (empty)` : `\n--- ${title} ---\n${t}`;
}

/** "exited with code N" or "was killed by SIG", for messages. */
export function describeExit(r: { code: number | null; signal: NodeJS.Signals | null }): string {
  return r.signal !== null ? `was killed by ${r.signal}` : `exited with code ${String(r.code)}`;
}

/** Keeps the last `max` characters: the end of stderr is where the reason for a failure is. */
export function appendCapped(buf: string, chunk: string, max = MAX_CAPTURE): string {
  const s = buf + chunk;
  return s.length > max ? s.slice(s.length - max) : s;
}

/** Runs argv (no shell) and collects its output; the other exec functions build on it. */
export async function execArgv(argv: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
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

/** The argv that runs `command args` inside namespace `ns`. */
export function netnsArgv(ns: string, command: string, args: readonly string[]): string[] {
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
