// The processes of the pps bench, as bench/pps/run.ts talks to them: one command line in, one
// JSON line out (pps_gen, pps_dut, ts-dut), and the veth statistics (`ethtool -S`) of each end.
import { readdirSync, readFileSync } from 'node:fs';

import { exec, execIn, spawnIn, type SpawnedProcess } from '../../src/netns/index.js';

export type Json = Record<string, unknown>;

/** A line-protocol agent in a namespace: started, asked, stopped. */
export class Agent {
  private constructor(readonly proc: SpawnedProcess) {}

  /** Starts `command` in `ns` and waits for its {"ready":true} line. */
  static async start(ns: string, command: string, args: string[], readyMs = 15_000): Promise<{ agent: Agent; ready: Json }> {
    const proc = spawnIn(ns, command, args, { stdin: 'pipe' });
    proc.child.stdin!.on('error', () => undefined); // it may exit before reading a command
    const agent = new Agent(proc);
    const ready = JSON.parse(await proc.waitForLine(/^\{/, readyMs)) as Json;
    if (ready.ready !== true) throw new Error(`${proc.description} did not start: ${JSON.stringify(ready)}\n${proc.stderr}`);
    return { agent, ready };
  }

  /** Sends one command; resolves with the JSON line it answers. */
  async ask(command: string, timeoutMs = 30_000): Promise<Json> {
    this.proc.child.stdin!.write(`${command}\n`);
    const reply = JSON.parse(await this.proc.waitForLine(/^\{/, timeoutMs)) as Json;
    if (typeof reply.error === 'string') throw new Error(`${this.proc.description}: ${command.slice(0, 20)}: ${reply.error}`);
    return reply;
  }

  /** Asks it to quit (it closes its port or detaches its program), then makes sure it exited. */
  async stop(): Promise<void> {
    if (this.proc.running) this.proc.child.stdin!.write('quit\n');
    const exited = await Promise.race([this.proc.exited, new Promise((r) => setTimeout(r, 5_000, undefined))]);
    if (exited === undefined) await this.proc.stop();
  }
}

/** Every number in a nested counters object, flattened to "group.name" -> value. */
export function flatten(value: unknown, prefix = '', out = new Map<string, number>()): Map<string, number> {
  if (typeof value === 'number') out.set(prefix, value);
  else if (typeof value === 'object' && value !== null) {
    for (const [k, v] of Object.entries(value)) flatten(v, prefix === '' ? k : `${prefix}.${k}`, out);
  }
  return out;
}

/** after - before, key by key (keys missing before count from 0). */
export function delta(before: Map<string, number>, after: Map<string, number>): Map<string, number> {
  const out = new Map<string, number>();
  for (const [k, v] of after) out.set(k, v - (before.get(k) ?? 0));
  return out;
}

/**
 * Makes the NAPI of `ifname` (in `ns`) a kernel thread (`threaded`, which veth supports once an
 * XDP program is attached) and pins it to `cpu`: the work the kernel does for that end then
 * runs on the core of whoever owns the end, not on the core of whoever happened to send to it.
 * Returns the pinned threads. Kernel threads are global; /proc/PID/comm has their full name.
 */
export async function pinNapi(ns: string, ifname: string, cpu: number): Promise<number[]> {
  await execIn(ns, 'sh', ['-c', `echo 1 > /sys/class/net/${ifname}/threaded`], { throwOnError: true });
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let comm = '';
    try {
      comm = readFileSync(`/proc/${entry}/comm`, 'utf8').trim();
    } catch {
      continue; // gone meanwhile
    }
    if (comm.startsWith(`napi/${ifname}-`) && /^\d+$/.test(comm.slice(`napi/${ifname}-`.length))) pids.push(Number(entry));
  }
  for (const pid of pids) await exec('taskset', ['-p', '-c', String(cpu), String(pid)], { throwOnError: true });
  return pids;
}
