// The golden packets (test/fixtures/golden.ts) through the XDP program under BPF_PROG_TEST_RUN
// (native/test/steer_run.c, valgrind): the local view, trusted peers and capture rules compiled
// from the same table as the fast path's, so both halves agree on who owns what. Needs root.
import { beforeAll, describe, expect, it } from 'vitest';

import { goldenCompiled, goldenPackets, type GoldenPacket, type XdpExpectation } from '../fixtures/golden.js';
import { hex } from '../fixtures/packets.js';
import { runUnderValgrind } from '../native-run.js';

const XDP_PASS = 2;
const arg = (bytes: Uint8Array): string => (bytes.length === 0 ? '-' : hex(bytes));

interface Answer {
  ok: boolean;
  retval?: number;
  out?: string;
  counters?: Record<string, number>;
}

describe('golden packets through the XDP program (BPF_PROG_TEST_RUN, valgrind)', () => {
  const compiled = goldenCompiled();
  const packets = goldenPackets().filter((p): p is GoldenPacket & { xdp: XdpExpectation } => p.xdp !== undefined);
  let answers: Answer[] = [];

  beforeAll(() => {
    const commands = [
      `view ${arg(compiled.host)} ${arg(compiled.localRules)} ${arg(compiled.trusted)}`,
      `capture ${arg(compiled.captureRules)}`,
      ...packets.map((p) => `run ${hex(p.input)}`),
    ];
    const result = runUnderValgrind('steer_run', ['build/native/bpf/steer.bpf.o'], `${commands.join('\n')}\n`);
    expect(result.status, result.output).toBe(0);
    answers = result.stdout
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Answer);
    // steer_run answers once for loading, then once per command.
    expect(answers.length, result.output).toBe(commands.length + 1);
    expect(answers[1], 'local view').toEqual({ ok: true });
    expect(answers[2], 'capture rules').toEqual({ ok: true });
  }, 300_000);

  packets.forEach((packet, i) => {
    it(`${packet.name}: ${packet.xdp.counter}`, () => {
      const answer = answers[i + 3];
      expect(answer?.ok, JSON.stringify(answer)).toBe(true);
      expect(answer?.retval).toBe(XDP_PASS);
      expect(answer?.counters).toEqual({ packets: 1, [packet.xdp.counter]: 1 });
      expect(answer?.out).toBe(hex(packet.xdp.output ?? packet.input));
    });
  });
});
