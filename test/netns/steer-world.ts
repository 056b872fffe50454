// Two namespaces for socket steering: `server` routes the pools 10.20.0.0/20 and fd00:20::/44 to
// itself as local (ip route add local ... dev lo) and runs the steer agent; `client` reaches the
// pools over a veth. Used by test/netns/sk-lookup.test.ts and bench/sk-lookup.ts.
import { fileURLToPath } from 'node:url';

import { Agent, createVethPair, mustExecIn, type AgentAnswer, type VethPair } from '../../src/netns/index.js';

export const POOL4 = '10.20.0.0/20';
export const POOL6 = 'fd00:20::/44';
const SCRIPT = fileURLToPath(new URL('./agents/steer-agent.mjs', import.meta.url));

/** An agent whose failures come back as answers with `error` (typed: name, code, message). */
export class SteerAgent {
  constructor(readonly agent: Agent) {}

  async run(cmd: string, args: Record<string, unknown> = {}): Promise<AgentAnswer> {
    return await this.agent.run(cmd, args, 60_000);
  }

  /** run(), rejecting with the agent's error. */
  async must(cmd: string, args: Record<string, unknown> = {}): Promise<AgentAnswer> {
    const answer = await this.run(cmd, args);
    if (answer.error !== undefined) throw new Error(`${cmd}: ${JSON.stringify(answer.error)}`);
    return answer;
  }
}

export interface SteerWorld {
  pair: VethPair;
  server: SteerAgent;
  client: SteerAgent;
}

/** The pair (registered for teardown by the kit before it exists), the routes and both agents. */
export async function steerWorld(): Promise<SteerWorld> {
  const pair = await createVethPair();
  const [c, s] = [pair.a, pair.b];
  await mustExecIn(s.ns, 'ip', ['route', 'add', 'local', POOL4, 'dev', 'lo']);
  await mustExecIn(s.ns, 'ip', ['-6', 'route', 'add', 'local', POOL6, 'dev', 'lo']);
  await mustExecIn(c.ns, 'ip', ['route', 'add', POOL4, 'via', s.ipv4]);
  await mustExecIn(c.ns, 'ip', ['-6', 'route', 'add', POOL6, 'via', s.ipv6]);
  const server = new SteerAgent((await Agent.readyWithArgs('steer-server', s.ns, SCRIPT, ['server'])).agent);
  const client = new SteerAgent((await Agent.readyWithArgs('steer-client', c.ns, SCRIPT, ['client'])).agent);
  return { pair, server, client };
}
