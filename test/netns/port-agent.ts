// Drives test/netns/agents/port-agent.mjs (an XdpPort in a namespace) from a test: start it,
// send it commands, wait for its answers.
import { fileURLToPath } from 'node:url';

import { spawnIn, type SpawnedProcess, type VethPair } from '../../src/netns/index.js';

export const AGENT = fileURLToPath(new URL('./agents/port-agent.mjs', import.meta.url));
export const RAW_SENDER = fileURLToPath(new URL('./agents/raw-sender.py', import.meta.url));
/** The UDP port on a's IPv4 address that captureConfig() captures. */
export const CAPTURED_PORT = 9000;
/** The TCP port captureConfig() echoes on. */
export const TCP_PORT = 8080;

export interface AgentConfig {
  open: Record<string, unknown>;
  record?: string;
  tcpEcho?: number;
  udpWatch?: number;
  noHandler?: boolean;
  closeInHandler?: boolean;
  replyInHandler?: boolean;
}

export interface AgentEvent {
  event: string;
  [key: string]: unknown;
}

export class PortAgent {
  private constructor(readonly proc: SpawnedProcess) {}

  /** Starts the agent; resolves with its first event: 'ready', or 'error' with the open failure. */
  static async start(ns: string, config: AgentConfig, wrap: string[] = []): Promise<{ agent: PortAgent; first: AgentEvent }> {
    const [command, ...args] = [...wrap, 'node', AGENT, JSON.stringify(config)];
    const proc = spawnIn(ns, command!, args, { stdin: 'pipe' });
    // A command written to an agent that has just exited fails in waitForLine, with its stderr;
    // the pipe's own EPIPE adds nothing.
    proc.child.stdin!.on('error', () => undefined);
    const agent = new PortAgent(proc);
    const first = JSON.parse(await proc.waitForLine(/"event":"(ready|error)"/, 20_000)) as AgentEvent;
    return { agent, first };
  }

  async command(cmd: string, extra: Record<string, unknown> = {}, timeoutMs = 20_000): Promise<AgentEvent> {
    this.proc.child.stdin!.write(`${JSON.stringify({ cmd, ...extra })}\n`);
    const line = await this.proc.waitForLine(new RegExp(`"event":"(${cmd}|error)"`), timeoutMs);
    const event = JSON.parse(line) as AgentEvent;
    if (event.event === 'error') throw new Error(`agent ${cmd} failed: ${String(event.message)}`);
    return event;
  }

  /** Opening must have failed: returns the error event, and the agent has exited. */
  static async openError(ns: string, config: AgentConfig, wrap: string[] = []): Promise<AgentEvent> {
    const { agent, first } = await PortAgent.start(ns, config, wrap);
    if (first.event !== 'error') {
      await agent.proc.stop();
      throw new Error(`expected XdpPort.open to fail, but it opened: ${JSON.stringify(first)}`);
    }
    await agent.proc.exited;
    return first;
  }
}

/** An agent on a that captures UDP to CAPTURED_PORT, watches that port with a kernel socket
 * and echoes TCP on TCP_PORT (8080). */
export function captureConfig(pair: VethPair, extra: Record<string, unknown> = {}) {
  return {
    open: {
      interface: pair.a.ifname,
      capture: [{ destination: pair.a.ipv4, protocols: ['udp'], ports: CAPTURED_PORT }],
    },
    udpWatch: CAPTURED_PORT,
    tcpEcho: TCP_PORT,
    ...extra,
  };
}

/** Starts raw-sender.py in b: `count` numbered UDP frames to a's captured port, at most
 * `window` ahead of the counts written to its stdin. */
export function startRawSender(pair: VethPair, count: number, window: number, file: string) {
  const sender = spawnIn(
    pair.b.ns,
    'python3',
    [RAW_SENDER, pair.b.ifname, pair.a.mac, pair.b.mac, pair.b.ipv4, pair.a.ipv4, String(CAPTURED_PORT), String(count), String(window), file],
    { stdin: 'pipe' },
  );
  // Counts forwarded after the sender finished hit a closed pipe (EPIPE): it needs no more.
  sender.child.stdin!.on('error', () => undefined);
  return sender;
}
