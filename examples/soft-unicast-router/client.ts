// The commands for a running router (owner, explain, stats, capture-drops, health): one request per
// command (per frame for explain) over its control socket (control.ts), answers printed as text
// or JSON. Used by main.ts.
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';

import type { Answer } from './control.js';
import type { ControlCli } from './cli.js';
import { readCaptureFrames } from './pcap-read.js';

type Ok = Extract<Answer, { ok: true }>;

/** Sends `requests` in order on one connection and returns their answers. */
export async function ask(socket: string, requests: readonly Record<string, unknown>[]): Promise<Answer[]> {
  return await new Promise<Answer[]>((resolve, reject) => {
    const answers: Answer[] = [];
    let buffered = '';
    const s = connect(socket);
    s.setEncoding('utf8');
    s.once('error', (e: NodeJS.ErrnoException) => {
      const hint = e.code === 'ENOENT' || e.code === 'ECONNREFUSED' ? ' (is the router running, and with this --socket or --host?)' : '';
      reject(new Error(`Could not talk to the router on ${socket}: ${e.message}${hint}`));
    });
    s.on('data', (chunk: string) => {
      buffered += chunk;
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        answers.push(JSON.parse(buffered.slice(0, nl)) as Answer);
        buffered = buffered.slice(nl + 1);
      }
      if (answers.length === requests.length) {
        s.end();
        resolve(answers);
      }
    });
    s.once('connect', () => {
      for (const r of requests) s.write(`${JSON.stringify(r)}\n`);
    });
  });
}

function requestsOf(cli: ControlCli): Record<string, unknown>[] {
  const c = cli.command;
  if (c.cmd !== 'explain') return [c];
  const frames = 'pcap' in c ? readCaptureFrames(readFileSync(c.pcap), c.pcap).map((f) => Buffer.from(f).toString('hex')) : c.frames;
  return frames.map((frame) => ({ cmd: 'explain', frame }));
}

function ownerText(a: Ok): string {
  if (a.owner === null) return `no slice covers it (generation ${String(a.generation)})`;
  const o = a.owner as Record<string, unknown>;
  const s = a.slice as { destination: string; protocols: string[]; ports: { from: number; to: number } };
  const where = o.kind === 'local' ? 'this host' : o.kind === 'server' ? `server at ${String(o.address)}` : `data centre at ${String(o.endpoint)}`;
  const lines = [
    `owner ${String(o.name)} (${String(o.kind)}: ${where}), slice ${s.destination} ${s.protocols.join(',')} ${s.ports.from}-${s.ports.to}, generation ${String(a.generation)}`,
  ];
  if (a.unresolved !== null) lines.push(`  unresolved: ${String(a.unresolved)}`);
  const counters = Object.entries(a.counters as Record<string, { packets: number; bytes: number }>);
  for (const [fate, v] of counters) lines.push(`  ${fate}: ${v.packets} packets, ${v.bytes} bytes`);
  if (counters.length === 0) lines.push('  no packets for this owner yet');
  return lines.join('\n');
}

function healthText(a: Ok): string {
  if (a.health === undefined) return `owner ${String(a.owner)} set ${String(a.setting)}`;
  const rows = Object.entries(a.health as Record<string, { up: boolean; probes: number; replies: number; since: string; source: string; slicesTo: string }>);
  if (rows.length === 0) return 'no owner is probed (none has a fallback; health.probeAll probes all)';
  return rows
    .map(([owner, h]) => {
      const where = h.slicesTo === owner ? '' : `, its slices go to ${h.slicesTo}`;
      return `${owner}: ${h.up ? 'up' : 'down'} since ${h.since} (${h.source}; ${h.replies} of ${h.probes} probes answered${where})`;
    })
    .join('\n');
}

function text(cli: ControlCli, answers: Ok[]): string {
  const c = cli.command;
  if (c.cmd === 'owner') return ownerText(answers[0]!);
  if (c.cmd === 'explain') {
    // pass_* and decap_local hand the frame to the kernel; the rest send it on.
    const verb = (fate: unknown) => (/^(pass_|decap_)/.test(String(fate)) ? 'passes to the kernel' : 'sends');
    return answers.map((a, i) => `frame ${i + 1}: ${String(a.stage)}: ${String(a.fate)} (${String(a.doc)})${a.output === null ? '' : `\n  ${verb(a.fate)} ${String(a.output)}`}`).join('\n');
  }
  if (c.cmd === 'stats') return JSON.stringify(answers[0]!.counters, null, 2);
  if (c.cmd === 'health') return healthText(answers[0]!);
  const a = answers[0]!;
  if (c.action === 'start') return `capturing dropped packets into ${String(a.path)}`;
  if (c.action === 'stop') return a.stopping === undefined ? 'no drop capture was running' : `stopping the drop capture into ${String(a.stopping)}`;
  const r = a.running as { path: string; packets: number } | null;
  return r === null ? 'no drop capture is running' : `capturing into ${r.path}: ${r.packets} packets so far`;
}

/** Runs a command; returns the exit status (1 when the router refused it). */
export async function runCommand(cli: ControlCli, out: (line: string) => void, err: (line: string) => void): Promise<number> {
  const answers = await ask(cli.socket, requestsOf(cli));
  const failed = answers.find((a): a is Extract<Answer, { ok: false }> => !a.ok);
  if (cli.json) out(JSON.stringify(answers.length === 1 ? answers[0] : answers, null, 2));
  if (failed !== undefined) {
    if (!cli.json) err(`${failed.error.code}: ${failed.error.message}`);
    return 1;
  }
  if (!cli.json) out(text(cli, answers as Ok[]));
  return 0;
}
