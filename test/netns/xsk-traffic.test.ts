// An XdpPort on one end of a veth pair, traffic from the other end (its own namespace): packets
// captured arrive at the socket byte for byte, packets sent from TypeScript arrive at the peer,
// everything else keeps working, and nothing of ours outlives close() or kill -9.
import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import {
  udp4Frame, createVethPair, execIn, ping, requireNetnsPrivileges, spawnIn, teardownRun, waitFor, xdpProgramId,
  type VethPair,
} from '../../src/netns/index.js';
import { CAPTURED_PORT, captureConfig, PortAgent, startRawSender, TCP_PORT } from './port-agent.js';

const PACKETS = 100_000;

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'su-traffic-'));
});
afterAll(async () => {
  await teardownRun();
  rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => requireNetnsPrivileges(['ip', 'ping', 'python3']));

/** Splits a file of u16-length-prefixed frames. */
function frames(path: string): Buffer[] {
  const data = readFileSync(path);
  const out: Buffer[] = [];
  for (let at = 0; at < data.length; ) {
    const len = data.readUInt16LE(at);
    out.push(data.subarray(at + 2, at + 2 + len));
    at += 2 + len;
  }
  return out;
}

async function tcpEcho(ns: string, address: string, text: string): Promise<string> {
  // bash's /dev/tcp: an ordinary kernel TCP client, IPv4 or IPv6.
  const script = `exec 3<>/dev/tcp/${address}/${TCP_PORT}; echo ${text} >&3; read -t 5 line <&3; echo "$line"`;
  const { stdout } = await execIn(ns, 'bash', ['-c', script], { timeoutMs: 10_000 });
  return stdout.trim();
}

describe('XdpPort on a veth pair', () => {
  /** Sends `count` raw frames from b to a's captured port, paced by what the agent has received;
   * returns the frames sent and received (in arrival order) and the agent's counters. */
  async function sendCaptured(pair: VethPair, open: Record<string, unknown>, count: number) {
    const tag = Math.random().toString(16).slice(2, 8);
    const sentFile = join(dir, `sent-${tag}.bin`);
    const recvFile = join(dir, `received-${tag}.bin`);
    const config = captureConfig(pair, { record: recvFile });
    const { agent, first } = await PortAgent.start(pair.a.ns, { ...config, open: { ...config.open, ...open } });
    expect(first).toMatchObject({ event: 'ready', mode: { bind: 'copy', attach: 'driver' } });

    const sender = startRawSender(pair, count, 1024, sentFile);
    // Flow control, so that the test measures delivery and not overload: the sender stays at
    // most a window ahead of what the sockets have handed to TypeScript.
    let received = 0;
    createInterface({ input: agent.proc.child.stdout! }).on('line', (line) => {
      const match = /"event":"received","count":(\d+)/.exec(line);
      if (!match) return;
      received = Number(match[1]);
      if (sender.running) sender.child.stdin!.write(`${received}\n`);
    });
    await sender.waitForLine(`sent ${count}`, 120_000);
    await waitFor(() => received === count, { what: `${count} packets at the sockets (have ${received})`, timeoutMs: 30_000 });
    const { counters, kernelUdp } = await agent.command('counters');
    await agent.command('close');
    return { sent: frames(sentFile), got: frames(recvFile), counters, kernelUdp };
  }

  it(`receives ${PACKETS} captured UDP packets byte for byte, none reaching the kernel socket`, async () => {
    const pair = await createVethPair();
    const { sent, got, counters, kernelUdp } = await sendCaptured(pair, {}, PACKETS);
    expect(counters).toMatchObject({ program: { redirected: PACKETS }, queues: [{ rx_packets: PACKETS }] });
    expect(kernelUdp).toBe(0);
    expect(got.length).toBe(PACKETS);
    const firstDifference = sent.findIndex((frame, i) => !frame.equals(got[i]!));
    expect(firstDifference, `frame ${firstDifference} differs`).toBe(-1);
    await pair.destroy();
  });

  it('receives byte for byte with need_wakeup off and busy-polling workers', async () => {
    const pair = await createVethPair();
    const count = 20_000;
    const { sent, got, counters } = await sendCaptured(pair, { needWakeup: false, busyPoll: true }, count);
    expect(counters.queues[0]).toMatchObject({ rx_packets: count, wakeups: 0 });
    expect(got.length).toBe(count);
    expect(sent.every((frame, i) => frame.equals(got[i]!))).toBe(true);
    await pair.destroy();
  });

  it('receives on every queue of a multi-queue interface, one shared UMEM', async () => {
    const pair = await createVethPair({ queues: 2 });
    const count = 20_000;
    const { sent, got, counters } = await sendCaptured(pair, { queues: 'all' }, count);
    const perQueue = counters.queues.map((q: { rx_packets: number }) => q.rx_packets);
    expect(counters.queues.map((q: { queue: number }) => q.queue)).toEqual([0, 1]);
    expect(perQueue[0] + perQueue[1]).toBe(count);
    // The peer spreads flows over its TX queues, hence over our RX queues: both see traffic.
    expect(Math.min(...perQueue)).toBeGreaterThan(0);
    // Queues interleave: compare as sets, keyed by the sequence number in the payload.
    const bySeq = (list: Buffer[]) => new Map(list.map((f) => [f.readUInt32BE(42), f.toString('hex')]));
    expect(bySeq(got)).toEqual(bySeq(sent));
    await pair.destroy();
  });

  it('drops and counts captured packets while no batch handler is set', async () => {
    const pair = await createVethPair();
    const { agent } = await PortAgent.start(pair.a.ns, { ...captureConfig(pair), noHandler: true });
    const sender = startRawSender(pair, 100, 1000, join(dir, 'unhandled.bin'));
    await sender.waitForLine('sent 100');
    await waitFor(async () => (await agent.command('counters')).counters.queues[0].rx_dropped_no_handler === 100, {
      what: '100 packets counted as rx_dropped_no_handler',
    });
    const { counters, kernelUdp } = await agent.command('counters');
    expect(counters.queues[0]).toMatchObject({ rx_packets: 100, batches: 0 });
    expect(kernelUdp).toBe(0);
    await agent.command('close');
    await pair.destroy();
  });

  it('transmits packets built in TypeScript to the peer, byte for byte', async () => {
    const pair = await createVethPair();
    const { agent, first } = await PortAgent.start(pair.a.ns, captureConfig(pair));
    expect(first.event).toBe('ready');
    const listener = spawnIn(pair.b.ns, 'node', [
      '-e',
      `const s = require('node:dgram').createSocket('udp4');
       s.on('message', (m, r) => console.log(r.address + ' ' + r.port + ' ' + m.toString('hex')));
       s.bind(9100, () => console.log('listening'));`,
    ]);
    await listener.waitForLine('listening');

    const payloads = Array.from({ length: 500 }, (_, i) => Buffer.from(`packet ${i} `.repeat(1 + (i % 20))));
    const packets = payloads.map((payload, i) =>
      udp4Frame({
        srcMac: pair.a.mac, dstMac: pair.b.mac, srcIp: pair.a.ipv4, dstIp: pair.b.ipv4,
        srcPort: 30000 + i, dstPort: 9100, payload,
      }).toString('hex'),
    );
    // In chunks that the peer's socket buffer holds: the kernel drops what an ordinary UDP
    // socket cannot buffer (UdpRcvbufErrors), which is not what this test is about.
    for (let at = 0; at < packets.length; at += 50) {
      const { sent } = await agent.command('send', { packets: packets.slice(at, at + 50) });
      expect(sent).toBe(Math.min(50, packets.length - at));
      await waitFor(() => listener.stdoutLines.length > Math.min(at + 50, packets.length), {
        what: `datagrams up to ${at + 50} at the peer (have ${listener.stdoutLines.length - 1})`,
        timeoutMs: 10_000,
      });
    }
    const lines = listener.stdoutLines.slice(1);
    expect(lines).toEqual(payloads.map((p, i) => `${pair.a.ipv4} ${30000 + i} ${p.toString('hex')}`));
    const { counters } = await agent.command('counters');
    expect(counters.queues[0]).toMatchObject({ tx_packets: payloads.length, tx_dropped_kicks: 0 });

    // Over the MTU: the device drops it, and the kick that sent it says so.
    const jumbo = udp4Frame({
      srcMac: pair.a.mac, dstMac: pair.b.mac, srcIp: pair.a.ipv4, dstIp: pair.b.ipv4,
      srcPort: 30000, dstPort: 9100, payload: Buffer.alloc(2000),
    }).toString('hex');
    expect((await agent.command('send', { packets: [jumbo] })).sent).toBe(1);
    await waitFor(async () => (await agent.command('counters')).counters.queues[0].tx_dropped_kicks === 1, {
      what: 'the oversized frame counted as tx_dropped_kicks',
    });
    expect(listener.stdoutLines.length).toBe(payloads.length + 1);
    await agent.command('close');
    await pair.destroy();
  });

  it('keeps ping and TCP working while the socket is open', async () => {
    const pair = await createVethPair();
    const { agent, first } = await PortAgent.start(pair.a.ns, captureConfig(pair));
    expect(first.event).toBe('ready');
    expect(await xdpProgramId(pair.a.ns, pair.a.ifname)).toBeDefined();

    expect(await ping(pair.b.ns, pair.a.ipv4, { count: 3 })).toBe(true);
    expect(await ping(pair.b.ns, pair.a.ipv6, { count: 3, family: 6 })).toBe(true);
    expect(await tcpEcho(pair.b.ns, pair.a.ipv4, 'over-ipv4')).toBe('over-ipv4');
    expect(await tcpEcho(pair.b.ns, pair.a.ipv6, 'over-ipv6')).toBe('over-ipv6');

    const { counters } = await agent.command('counters');
    // Everything above matched no capture rule: passed to the kernel, none redirected.
    expect(counters.program.redirected).toBe(0);
    expect(counters.program.pass_unmatched).toBeGreaterThan(0);
    await agent.command('close');
    await pair.destroy();
  });

  it('leaves the interface working and reopenable after close()', async () => {
    const pair = await createVethPair();
    const { agent } = await PortAgent.start(pair.a.ns, captureConfig(pair));
    await agent.command('close');
    expect(await xdpProgramId(pair.a.ns, pair.a.ifname)).toBeUndefined();
    expect(await ping(pair.b.ns, pair.a.ipv4, { count: 2 })).toBe(true);
    await agent.command('exit').catch(() => undefined);

    const again = await PortAgent.start(pair.a.ns, captureConfig(pair));
    expect(again.first.event).toBe('ready');
    await again.agent.command('close');
    await pair.destroy();
  });

  it('detaches when the process exits without close()', async () => {
    const pair = await createVethPair();
    const { agent, first } = await PortAgent.start(pair.a.ns, captureConfig(pair));
    expect(first.event).toBe('ready');
    agent.proc.child.stdin!.write(`${JSON.stringify({ cmd: 'exit' })}\n`);
    expect(await agent.proc.exited).toMatchObject({ code: 0 });
    expect(await xdpProgramId(pair.a.ns, pair.a.ifname)).toBeUndefined();
    expect(await ping(pair.b.ns, pair.a.ipv4, { count: 1 })).toBe(true);
    await pair.destroy();
  });

  it('lets a batch handler allocate and send without disturbing its batch', async () => {
    const pair = await createVethPair();
    const recvFile = join(dir, 'reply-received.bin');
    const sentFile = join(dir, 'reply-sent.bin');
    const { agent } = await PortAgent.start(pair.a.ns, { ...captureConfig(pair), record: recvFile, replyInHandler: true });
    const sender = startRawSender(pair, 200, 1000, sentFile);
    await sender.waitForLine('sent 200');
    await agent.proc.waitForLine('"count":200');
    // A deadline, not a measure: on a loaded machine the agent's event loop may take seconds to
    // run the handler's sends (the fresh-clone run under a load of ~10 took over 5 s once).
    // Every reply, not just one: the agent retries what allocate() could not take yet (its first
    // call never finds a frame), so a handler that ran before the worker restocked loses none.
    await waitFor(async () => (await agent.command('counters')).counters.queues[0].tx_packets === 200, { what: 'all 200 replies sent', timeoutMs: 30_000 });
    await agent.command('close');
    expect(agent.proc.stderr).toBe('');
    const sent = frames(sentFile);
    const got = frames(recvFile);
    expect(got.length).toBe(200);
    expect(got.every((frame, i) => frame.equals(sent[i]!))).toBe(true);
    await pair.destroy();
  });

  it('lets a batch handler close the port', async () => {
    const pair = await createVethPair();
    const { agent } = await PortAgent.start(pair.a.ns, { ...captureConfig(pair), closeInHandler: true });
    const sender = startRawSender(pair, 200, 1000, join(dir, 'close-in-handler.bin'));
    await sender.waitForLine('sent 200');
    await agent.proc.waitForLine('closed-in-handler');
    expect(await xdpProgramId(pair.a.ns, pair.a.ifname)).toBeUndefined();
    // Still alive and answering: nothing was thrown after the close.
    const error = await agent.command('counters').catch((e: Error) => e);
    expect(String(error)).toMatch(/The port on '.*' is closed/);
    expect(agent.proc.running).toBe(true);
    expect(agent.proc.stderr).toBe('');
    await pair.destroy();
  });

  it('leaves the interface working and reopenable after kill -9 of the owning process', async () => {
    const pair = await createVethPair();
    const { agent, first } = await PortAgent.start(pair.a.ns, captureConfig(pair));
    expect(first.event).toBe('ready');
    await agent.proc.kill('SIGKILL');

    // The program hung on a BPF link owned by the dead process: the kernel detaches it.
    await waitFor(async () => (await xdpProgramId(pair.a.ns, pair.a.ifname)) === undefined, {
      what: 'the XDP program to go with its process',
      timeoutMs: 10_000,
    });
    expect(await ping(pair.b.ns, pair.a.ipv4, { count: 2 })).toBe(true);
    const again = await PortAgent.start(pair.a.ns, captureConfig(pair));
    expect(again.first.event).toBe('ready');
    expect(await tcpEcho(pair.b.ns, pair.a.ipv4, 'after-kill')).toBe('after-kill');
    await again.agent.command('close');
    await pair.destroy();
  });
});
