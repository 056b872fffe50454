// src/netns/process.ts: long-running programs in a namespace (spawnIn): their stdout line by
// line, their stderr, and a stop that cannot hang. Used by the agents, the tests, the demo and the bench.
import { spawn, type ChildProcess } from 'node:child_process';

import { appendCapped, describeExit, formatCommand, netnsArgv, section } from './exec.js';
import { registerChild, unregisterChild } from './registry.js';
import { sleep } from './wait.js';

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
    registerChild(this);
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
        unregisterChild(this);
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
