// The traffic agent of the router tests (agents/router-binary-agent.mjs: sends and counts
// datagrams in a namespace) as the kit's JSON-lines Agent, with an error answer thrown. Used by
// router-binary, router-restart, fragment-flood, peer-health and etcd-routers tests.
import { fileURLToPath } from 'node:url';

import { Agent, type SpawnedProcess } from '../../src/netns/index.js';

const SCRIPT = fileURLToPath(new URL('./agents/router-binary-agent.mjs', import.meta.url));

export class TrafficAgent {
  private constructor(private readonly agent: Agent) {}

  get proc(): SpawnedProcess {
    return this.agent.proc;
  }

  /** Starts the agent in `ns` with its role and arguments, and waits for it to be ready. */
  static async start(ns: string, args: string[]): Promise<TrafficAgent> {
    const { agent } = await Agent.readyWithArgs(`traffic-${args[0] ?? ''}`, ns, SCRIPT, args);
    return new TrafficAgent(agent);
  }

  /** Sends a command; rejects with the agent's message when it answers with an error. */
  async run(cmd: string, args: Record<string, unknown> = {}): Promise<Record<string, any>> {
    const answer = await this.agent.run(cmd, args, 20_000);
    if (answer.event === 'error') throw new Error(`${cmd}: ${String(answer.message)}`);
    return answer as Record<string, any>;
  }
}
