// The pps bench's configurations (issue 5's four, and the knob sweep), the files and frames they
// run on, and the command line that starts each device under test. Used by bench/pps/run.ts.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { IPv4 } from 'ip-num';

import type { VethPair } from '../../examples/netns/harness.js';
import { udp4Frame } from '../../examples/netns/frames.js';
import { nativeBuild, root } from '../paths.js';
import { benchHost, benchTable, compileBenchTable, FIRST_ADDRESS, kindOfSlice, PORTS_PER_SLICE } from '../tables.js';

/** Slices of the table the devices under test run on. */
export const PPS_SLICES = 10_000;
export const GEN_CPU = 0;
export const DUT_CPU = 1;

export type Verdict = 'server' | 'datacenter' | 'local';
export type Kind = 'bounce' | 'kernel' | 'ts-job' | 'ts-bounce' | 'router';
export interface Knobs {
  batch?: number;
  ring?: number;
  wakeup?: 0 | 1;
  busy?: 0 | 1;
  /** XDP_MAX_TX_SKB_BUDGET (copy-mode transmit budget per sendto); C devices only. */
  budget?: number;
}
export interface Scenario {
  verdict: Verdict;
  frame: 64 | 1514;
}
export interface Config {
  /** Row label, e.g. "router" or "bounce wakeup=0". */
  name: string;
  kind: Kind;
  knobs: Knobs;
  scenarios: Scenario[];
}

const S64: Scenario = { verdict: 'server', frame: 64 };
const S1514: Scenario = { verdict: 'server', frame: 1514 };

/** The configurations of issue 5, in the order a round measures them. */
export function mainConfigs(): Config[] {
  return [
    { name: 'bounce', kind: 'bounce', knobs: {}, scenarios: [S64, S1514] },
    { name: 'kernel', kind: 'kernel', knobs: {}, scenarios: [S64, S1514] },
    { name: 'ts-job', kind: 'ts-job', knobs: {}, scenarios: [S64, S1514] },
    { name: 'ts-bounce', kind: 'ts-bounce', knobs: {}, scenarios: [S64] },
    {
      name: 'router',
      kind: 'router',
      knobs: {},
      scenarios: [
        { verdict: 'local', frame: 64 },
        S64,
        S1514,
        { verdict: 'datacenter', frame: 64 },
        { verdict: 'datacenter', frame: 1514 },
      ],
    },
  ];
}

/** One knob changed at a time, each measured on the bounce and on the router (cross-DC, 64 B). */
export function knobConfigs(full: boolean): Config[] {
  const variants: Knobs[] = full
    ? [
        { wakeup: 0 }, { busy: 1 }, { busy: 1, wakeup: 0 }, { batch: 16 }, { batch: 32 }, { batch: 128 }, { batch: 256 },
        { ring: 256 }, { ring: 512 }, { ring: 4096 }, { budget: 64 }, { budget: 256 }, { budget: 2048 },
      ]
    : [{ wakeup: 0 }, { busy: 1 }, { batch: 256 }, { ring: 512 }, { budget: 256 }];
  return variants.flatMap((knobs) => {
    const label = Object.entries(knobs).map(([k, v]) => `${k}=${v}`).join(' ');
    return [
      { name: `bounce ${label}`, kind: 'bounce' as const, knobs, scenarios: [S64] },
      { name: `router ${label}`, kind: 'router' as const, knobs, scenarios: [{ verdict: 'datacenter' as const, frame: 64 as const }] },
    ];
  });
}

export interface Files {
  image: string;
}

export function writeTableFiles(pair: VethPair, dir: string): Files {
  mkdirSync(dir, { recursive: true });
  // The router forwards everything back to the generator's end, where the sink counts it.
  const compiled = compileBenchTable(benchTable(PPS_SLICES), benchHost(pair.b.mac), pair.a.mac);
  const files: Files = {
    image: join(dir, 'table.img'),
  };
  writeFileSync(files.image, compiled.image);
  return files;
}

/** A UDP frame of `frame` bytes to a slice of `verdict` in the bench table, as hex. */
export function frameHex(pair: VethPair, s: Scenario): string {
  const slice = [...Array(16).keys()].find((i) => kindOfSlice(i) === s.verdict)!;
  return udp4Frame({
    srcMac: pair.a.mac,
    dstMac: pair.b.mac,
    srcIp: '203.0.113.10',
    dstIp: new IPv4(IPv4.fromString(FIRST_ADDRESS).getValue() + 3n).toString(),
    srcPort: 40000,
    dstPort: slice * PORTS_PER_SLICE + 7,
    payload: new Uint8Array(s.frame - 42),
  }).toString('hex');
}

export function dutCommand(pair: VethPair, files: Files, c: Config): [string, string[]] {
  const k = c.knobs;
  const knobArgs = [
    ...(k.batch === undefined ? [] : [`batch=${k.batch}`]),
    ...(k.ring === undefined ? [] : [`ring=${k.ring}`, `frames=${Math.max(4096, 2 * k.ring)}`]),
    ...(k.wakeup === undefined ? [] : [`wakeup=${k.wakeup}`]),
    ...(k.busy === undefined ? [] : [`busy=${k.busy}`]),
  ];
  const dut = join(nativeBuild, 'pps_dut');
  const steer = `steer=${join(nativeBuild, 'bpf', 'steer.bpf.o')}`;
  const cpu = `cpu=${DUT_CPU}`;
  const budget = k.budget === undefined ? [] : [`budget=${k.budget}`];
  switch (c.kind) {
    case 'bounce':
      return [dut, ['bounce', pair.b.ifname, steer, `image=${files.image}`, cpu, ...knobArgs, ...budget]]; // WIP(core13)
    case 'router':
      return [dut, ['router', pair.b.ifname, steer, ...Object.entries(files).map(([key, path]) => `${key}=${path}`), cpu, ...knobArgs, ...budget]];
    case 'kernel':
      return [dut, ['kernel', pair.b.ifname, `fwd=${join(nativeBuild, 'bpf', 'pps_fwd.bpf.o')}`, `image=${files.image}`, cpu]];
    case 'ts-job':
    case 'ts-bounce':
      return [
        'taskset',
        ['-c', String(DUT_CPU), process.execPath, join(root, 'dist', 'bench', 'pps', 'ts-dut.js'), pair.b.ifname,
          c.kind === 'ts-job' ? 'job' : 'bounce', String(PPS_SLICES), pair.b.mac, pair.a.mac, ...knobArgs],
      ];
  }
}
