// A script for native/test/steer_run.c (the real XDP program under BPF_PROG_TEST_RUN, valgrind):
// commands are collected first, run in one process, and each answer found by the index its
// command was given. Used by the tests of test/bpf; needs root to load BPF.
import { hex } from '../fixtures/packets.js';
import { runUnderValgrind } from '../native-run.js';

/** XDP actions (include/uapi/linux/bpf.h, enum xdp_action). */
export const XDP = { ABORTED: 0, DROP: 1, PASS: 2, TX: 3, REDIRECT: 4 } as const;

/** BPF_PROG_TEST_RUN takes frames from an Ethernet header up to a page minus the XDP headroom
 * (256) and the skb_shared_info tail (320 on x86-64): larger or smaller ones it refuses. */
export const TEST_RUN_FRAME_MIN = 14;
export const TEST_RUN_FRAME_MAX = 4096 - 256 - 320;

export interface Answer {
  ok: boolean;
  code?: string;
  message?: string;
  generation?: number;
  retval?: number;
  /** The frame after the program, hex. */
  out?: string;
  /** Route counters (fates) that moved, by name. */
  fates?: Record<string, number>;
  /** Steer counters that moved, by name. */
  steer?: Record<string, number>;
  /** The user-space core under the same table (su_core_route_as_xdp), once a table is published. */
  core?: { fate: string; out: string | null };
}

const arg = (bytes: Uint8Array): string => (bytes.length === 0 ? '-' : hex(bytes));

export class SteerScript {
  readonly #lines: string[] = [];
  #answers: Answer[] | undefined;
  #output = '';

  /** Each returns the index of its answer (0 is the driver's "ready"). */
  table(image: Uint8Array): number {
    return this.#add(`table ${arg(image)}`);
  }

  mode(mode: 'express' | 'afxdp'): number {
    return this.#add(`mode ${mode}`);
  }

  capture(rules: Uint8Array): number {
    return this.#add(`capture ${arg(rules)}`);
  }

  run(frame: Uint8Array): number {
    return this.#add(`run ${arg(frame)}`);
  }

  /** Runs the script; throws with valgrind's and the driver's output when it did not end cleanly. */
  execute(): void {
    const result = runUnderValgrind('steer_run', ['build/native/bpf/steer.bpf.o'], `${this.#lines.join('\n')}\n`);
    this.#output = result.output;
    if (result.status !== 0) throw new Error(`steer_run exited with ${String(result.status)}:\n${result.output}`);
    const answers = result.stdout
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Answer);
    if (answers.length !== this.#lines.length + 1) throw new Error(`steer_run answered ${answers.length} of ${this.#lines.length + 1}:\n${result.output}`);
    this.#answers = answers;
  }

  answer(index: number): Answer {
    if (this.#answers === undefined) throw new Error('SteerScript: execute() first');
    return this.#answers[index]!;
  }

  get output(): string {
    return this.#output;
  }

  #add(line: string): number {
    this.#lines.push(line);
    return this.#lines.length;
  }
}
