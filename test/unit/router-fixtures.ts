// Shared by the router binary's unit tests: a small deployment file, a scratch directory, and
// counter snapshots with every counter 0 but those given.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { ABI } from '../../src/generated/abi.js';
import type { RouterCounters } from '../../src/index.js';

/** A small deployment: one data centre, the router on srv, and peer. */
export const SMALL = `version: 1
datacenters:
  dc1:
    servers:
      srv: { ipv4: 10.7.0.1, interface: { name: eth0, attach: generic } }
      peer: { ipv4: 10.7.0.2 }
egress:
  - address: 192.0.2.1
    protocols: [udp]
    tags: { country: de }
    slices:
      - { ports: 10000-10999, owner: srv }
      - { ports: 20000-20999, owner: peer }
stats: { intervalSeconds: 2, prometheus: '[::1]:9500' }
`;


/** A scratch directory for this process's test files (removed with the OS's temp files). */
export const dir = mkdtempSync(join(tmpdir(), 'su-router-unit-'));

export function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

/** A counter snapshot with every counter 0 but those given. */
export function counters(values: {
  generation?: number; fates?: Partial<RouterCounters['fates']>; program?: Partial<RouterCounters['program']>;
  queues?: { queue: number; rx_packets?: number; rx_ring_full?: number }[]; unresolvedOwners?: Record<string, string>;
  health?: RouterCounters['health'];
}): RouterCounters {
  const zeros = (list: readonly { name: string }[]) => Object.fromEntries(list.map((c) => [c.name, 0]));
  const fates = { ...zeros(ABI.routeCounters), ...values.fates } as RouterCounters['fates'];
  return {
    generation: values.generation ?? 1,
    lane: 'auto',
    fates,
    xdp: fates,
    program: { ...zeros(ABI.steerCounters), ...values.program } as RouterCounters['program'],
    queues: (values.queues ?? [{ queue: 0 }]).map((q) => ({
      ...(zeros(ABI.queueCounters) as Omit<RouterCounters['queues'][number], 'queue' | 'kernel' | 'fates'>),
      rx_packets: q.rx_packets ?? 0,
      queue: q.queue,
      kernel: { ...zeros(ABI.kernelXdpStats), rx_ring_full: q.rx_ring_full ?? 0 } as RouterCounters['queues'][number]['kernel'],
      fates,
    })),
    owners: {},
    unresolvedOwners: values.unresolvedOwners ?? {},
    health: values.health ?? {},
    retiredTables: 0,
  };
}

