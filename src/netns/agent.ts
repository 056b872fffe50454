// Agent: a node program in a network namespace driven by JSON lines (a command with an id on
// stdin, an answer repeating the id on stdout). Used by the demo and the netns tests.
import { spawnIn, type SpawnedProcess } from './process.js';

export interface AgentAnswer {
  event: string;
  id?: string;
  error?: { name: string; code?: string; message: string };
  [key: string]: unknown;
}

/**
 * A node script in a namespace that takes JSON-line commands with an id on stdin and answers each
 * with a JSON line repeating the id (slice-client, router-agent.mjs, ...). Its first line is
 * {"event":"ready", ...} or {"event":"error", ...}.
 */
export class Agent {
  private next = 0;
  private constructor(
    readonly name: string,
    readonly proc: SpawnedProcess,
  ) {}

  /** Starts `script` in `ns` with `config` as its one argument (JSON), and resolves with the agent
   * and its first line ('ready' or 'error'). */
  static async start(name: string, ns: string, script: string, config?: unknown): Promise<{ agent: Agent; first: AgentAnswer }> {
    return await Agent.startWithArgs(name, ns, script, config === undefined ? [] : [JSON.stringify(config)]);
  }

  /** Like start(), for scripts that take plain command-line arguments. */
  static async startWithArgs(name: string, ns: string, script: string, args: readonly string[]): Promise<{ agent: Agent; first: AgentAnswer }> {
    // This very node: `node` on PATH may be another version, or missing under sudo.
    const proc = spawnIn(ns, process.execPath, [script, ...args], { stdin: 'pipe' });
    // EPIPE after an early exit adds nothing: waitForLine reports the exit with stderr.
    proc.child.stdin!.on('error', () => undefined);
    const first = JSON.parse(await proc.waitForLine(/"event":"(ready|error)"/, 30_000)) as AgentAnswer;
    return { agent: new Agent(name, proc), first };
  }

  /** Starts it and insists on 'ready'. */
  static async ready(name: string, ns: string, script: string, config?: unknown): Promise<{ agent: Agent; first: AgentAnswer }> {
    return await Agent.insistReady(name, script, await Agent.start(name, ns, script, config));
  }

  /** startWithArgs(), insisting on 'ready'. */
  static async readyWithArgs(name: string, ns: string, script: string, args: readonly string[]): Promise<{ agent: Agent; first: AgentAnswer }> {
    return await Agent.insistReady(name, script, await Agent.startWithArgs(name, ns, script, args));
  }

  private static async insistReady(name: string, script: string, started: { agent: Agent; first: AgentAnswer }): Promise<{ agent: Agent; first: AgentAnswer }> {
    if (started.first.event !== 'ready') {
      await started.agent.proc.stop();
      throw new Error(`${name}: ${script} failed to start: ${JSON.stringify(started.first)}\n${started.agent.proc.stderr}`);
    }
    return started;
  }

  /** Sends a command and resolves with its answer (which may carry `error`). */
  async run(cmd: string, args: Record<string, unknown> = {}, timeoutMs = 30_000): Promise<AgentAnswer> {
    const id = `${this.name}-${this.next++}`;
    this.proc.child.stdin!.write(`${JSON.stringify({ ...args, cmd, id })}\n`);
    return JSON.parse(await this.proc.waitForLine(`"id":"${id}"`, timeoutMs)) as AgentAnswer;
  }

  /** Like run(), but rejects with the agent's error. */
  async must(cmd: string, args: Record<string, unknown> = {}, timeoutMs = 30_000): Promise<AgentAnswer> {
    const answer = await this.run(cmd, args, timeoutMs);
    if (answer.event === 'error' || answer.error !== undefined) {
      throw new Error(`${this.name}: ${cmd} failed: ${JSON.stringify(answer.error ?? answer)}`);
    }
    return answer;
  }
}
