// The pps bench's configurations (issue 13: the two bare bounces, the router in either lane, the
// TypeScript ring path; the knob sweep; issue 16's address-slice services), the files they run on,
// and the command line that starts each device under test. Used by bench/pps/run.ts.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import type { VethPair } from '../../src/netns/index.js';
import { hex } from '../../test/fixtures/packets.js';
import { nativeBuild, root } from '../paths.js';
import { ADDR_PPS_SIZES, addrFrame, addrHeads, addrImageName, compileAddrPpsTable, PORT_SLICES, type AddrTable } from './addr.js';
import { bounceCaptureRules, compilePpsTable, ppsFrame, type Family, type Verdict } from './table.js';

/** Slices of each family in the table the devices under test run on. */
export const PPS_SLICES = 10_000;
export const GEN_CPU = 0;
export const DUT_CPU = 1;

/** xdp-bounce and xsk-bounce are the baselines: every other row is a ratio to both. */
export type Kind = 'xdp-bounce' | 'express' | 'afxdp' | 'xsk-bounce' | 'ts-job' | 'ts-bounce';
export interface Knobs {
  batch?: number;
  ring?: number;
  wakeup?: 0 | 1;
  busy?: 0 | 1;
  /** XDP_MAX_TX_SKB_BUDGET (copy-mode transmit budget per sendto); C devices only. */
  budget?: number;
}
export interface Scenario {
  /** 'addr': the address-slice frames of addr.ts, many destinations (the device runs an address
   * table); 'addr-ports': the same shape to the port-slice table beside them. */
  verdict: Verdict | 'addr' | 'addr-ports';
  family: Family;
  frame: 64 | 1514;
}
export interface Config {
  /** Row label, e.g. "express" or "xsk-bounce wakeup=0". */
  name: string;
  kind: Kind;
  knobs: Knobs;
  scenarios: Scenario[];
  /** The router runs this address-slice table instead of the port-slice one (addr.ts). */
  addr?: AddrTable;
}

const s = (verdict: Scenario['verdict'], family: Family, frame: 64 | 1514): Scenario => ({ verdict, family, frame });
/** What a bounce is sent: it swaps MACs whatever the frame holds. */
const BOUNCE = [s('server', 4, 64), s('server', 4, 1514)];
/** Same-DC and cross-DC, IPv4 and IPv6, 64 B; IPv4 at 1500 B too (the rows issue 5 measured);
 * a flow-hash service's row with a hop, IPv4 and IPv6, 64 B (issue 15), beside the same-DC rows. */
const ROUTER = [
  s('server', 4, 64), s('datacenter', 4, 64), s('server', 6, 64), s('datacenter', 6, 64),
  s('server', 4, 1514), s('datacenter', 4, 1514), s('flow', 4, 64), s('flow', 6, 64),
];

/** Issue 13's configurations, in the order a round measures them (reversed every other round). */
export function mainConfigs(): Config[] {
  return [
    { name: 'xdp-bounce', kind: 'xdp-bounce', knobs: {}, scenarios: BOUNCE },
    { name: 'express', kind: 'express', knobs: {}, scenarios: ROUTER },
    { name: 'afxdp', kind: 'afxdp', knobs: {}, scenarios: ROUTER },
    { name: 'xsk-bounce', kind: 'xsk-bounce', knobs: {}, scenarios: BOUNCE },
    { name: 'ts-job', kind: 'ts-job', knobs: {}, scenarios: [s('server', 4, 64)] },
    { name: 'ts-bounce', kind: 'ts-bounce', knobs: {}, scenarios: [s('server', 4, 64)] },
  ];
}

/** One knob changed at a time, each on the AF_XDP bounce and the AF_XDP router (cross-DC, 64 B). */
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
      { name: `xsk-bounce ${label}`, kind: 'xsk-bounce' as const, knobs, scenarios: [s('server', 4, 64)] },
      { name: `afxdp ${label}`, kind: 'afxdp' as const, knobs, scenarios: [s('datacenter', 4, 64)] },
    ];
  });
}

/** Issue 16: the address-slice service at each size, filter off and on, in either lane; 64 B IPv6
 * frames from 65,536 sources, each to the slice its source derives (addr.ts). Named "addr LANE
 * SLICES[ filter]", so that `--only addr` picks them all. */
export function addrConfigs(): Config[] {
  return (['express', 'afxdp'] as const).flatMap((kind) => [
    ...ADDR_PPS_SIZES.flatMap((slices) =>
      [false, true].map((filter) => ({
        name: `addr ${kind} ${slices}${filter ? ' filter' : ''}`,
        kind,
        knobs: {},
        scenarios: [s('addr', 6, 64)],
        addr: { slices, filter },
      })),
    ),
    // The port-slice comparison: as many slices, frames of the same shape (addr.ts).
    { name: `addr ${kind} ports ${PORT_SLICES}`, kind, knobs: {}, scenarios: [s('addr-ports', 6, 64)], addr: { slices: PORT_SLICES, filter: false, ports: true } },
  ]);
}

export interface Files {
  image: string;
  capture: string;
  /** The address rows' images by addrImageName, and the reflector's heads files (addr.ts): to the
   * address service and to the port-slice table; empty when no such row runs. */
  addrImages: Map<string, string>;
  addrHeads: string;
  portHeads: string;
}

/** Writes the port-slice image, the bounce's capture rules and the images and heads of `addr`. */
export function writeTableFiles(pair: VethPair, dir: string, addr: readonly AddrTable[] = []): Files {
  mkdirSync(dir, { recursive: true });
  // The router forwards everything back to the generator's end, where the sink counts it.
  const compiled = compilePpsTable(PPS_SLICES, pair.b.mac, pair.a.mac);
  const files: Files = { image: join(dir, 'table.img'), capture: join(dir, 'capture.rules'), addrImages: new Map(), addrHeads: '', portHeads: '' };
  writeFileSync(files.image, compiled.image);
  writeFileSync(files.capture, bounceCaptureRules());
  for (const t of addr) {
    const path = join(dir, addrImageName(t));
    if (!files.addrImages.has(addrImageName(t))) writeFileSync(path, compileAddrPpsTable(t, pair.b.mac, pair.a.mac).image);
    files.addrImages.set(addrImageName(t), path);
  }
  if (addr.some((t) => !t.ports)) {
    files.addrHeads = join(dir, 'addr-heads.bin');
    writeFileSync(files.addrHeads, addrHeads(pair.a.mac, pair.b.mac));
  }
  if (addr.some((t) => t.ports)) {
    files.portHeads = join(dir, 'ports6-heads.bin');
    writeFileSync(files.portHeads, addrHeads(pair.a.mac, pair.b.mac, undefined, true));
  }
  return files;
}

/** The frame of scenario `sc`, from the generator's end to the device under test, as hex, and
 * (address rows) the heads file the reflector picks each pass's frame from. */
export function frameArgs(pair: VethPair, files: Files, sc: Scenario): { hex: string; heads?: string } {
  if (sc.verdict === 'addr') return { hex: hex(addrFrame(0, pair.a.mac, pair.b.mac)), heads: files.addrHeads };
  if (sc.verdict === 'addr-ports') return { hex: hex(addrFrame(0, pair.a.mac, pair.b.mac, true)), heads: files.portHeads };
  return { hex: hex(ppsFrame({ family: sc.family, verdict: sc.verdict, bytes: sc.frame, srcMac: pair.a.mac, dstMac: pair.b.mac })) };
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
  const bpf = (name: string): string => join(nativeBuild, 'bpf', `${name}.bpf.o`);
  const cpu = `cpu=${DUT_CPU}`;
  const xsk = [`steer=${bpf('steer')}`, cpu, ...knobArgs, ...(k.budget === undefined ? [] : [`budget=${k.budget}`])];
  switch (c.kind) {
    case 'xdp-bounce':
      return [dut, ['xdp-bounce', pair.b.ifname, `prog=${bpf('pps_xdp_bounce')}`, cpu]];
    case 'express':
    case 'afxdp': {
      const image = c.addr === undefined ? files.image : files.addrImages.get(addrImageName(c.addr));
      if (image === undefined) throw new Error(`Expected an image written for ${c.name} but received none (writeTableFiles without its table)`);
      return [dut, ['router', pair.b.ifname, `image=${image}`, `lane=${c.kind}`, ...xsk]];
    }
    case 'xsk-bounce':
      return [dut, ['xsk-bounce', pair.b.ifname, `capture=${files.capture}`, ...xsk]];
    case 'ts-job':
    case 'ts-bounce':
      return [
        'taskset',
        ['-c', String(DUT_CPU), process.execPath, join(root, 'dist', 'bench', 'pps', 'ts-dut.js'), pair.b.ifname,
          c.kind === 'ts-job' ? 'job' : 'bounce', String(PPS_SLICES), pair.b.mac, pair.a.mac, ...knobArgs],
      ];
  }
}
