// The router binary's metrics registry (prom-client): every counter of a snapshot under its
// abi.h name, per-owner packets and bytes, reloads, slices per owner and process metrics; the
// text is parsed back as a Prometheus server would read it.
import { IPv4 } from 'ip-num';
import { describe, expect, it } from 'vitest';

import { RouterMetrics } from '../../examples/soft-unicast-router/metrics.js';
import { ABI } from '../../src/generated/abi.js';
import { SliceTable, type RouterCounters } from '../../src/index.js';
import { counters } from './router-fixtures.js';

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/**
 * Exposition format 0.0.4, strictly: HELP then TYPE before a family's samples, each family once,
 * samples of the family announced last (histograms' and summaries' suffixes included).
 */
function parse(text: string): { samples: Sample[]; types: Map<string, string>; help: Map<string, string> } {
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  const help = new Map<string, string>();
  let family = '';
  expect(text.endsWith('\n')).toBe(true);
  for (const line of text.slice(0, -1).split('\n')) {
    if (line === '') continue;
    const h = /^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$/.exec(line);
    if (h !== null) {
      expect(help.has(h[1]!), `${h[1]} announced twice`).toBe(false);
      help.set(h[1]!, h[2]!);
      family = h[1]!;
      continue;
    }
    const t = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$/.exec(line);
    if (t !== null) {
      expect(t[1]).toBe(family);
      types.set(t[1]!, t[2]!);
      continue;
    }
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    expect(m, `a sample line: ${line}`).not.toBeNull();
    const name = m![1]!;
    expect(name === family || name.startsWith(`${family}_`), `${name} belongs to ${family}`).toBe(true);
    const labels: Record<string, string> = {};
    for (const l of (m![2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    samples.push({ name, labels, value: Number(m![3]) });
  }
  return { samples, types, help };
}

const value = (samples: Sample[], name: string, labels: Record<string, string> = {}) =>
  samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v) && Object.keys(s.labels).length === Object.keys(labels).length)?.value;

function snapshot(): RouterCounters {
  const c = counters({
    generation: 7,
    fates: { forward_server_gue: 12, drop_no_owner: 3 },
    program: { packets: 99, pass_local: 40 },
    queues: [{ queue: 0, rx_packets: 5, rx_ring_full: 2 }, { queue: 3, rx_packets: 6 }],
    unresolvedOwners: { 'fra-2': 'no route to 192.0.2.12' },
  });
  c.owners = { fra2: { forward_server_gue: { packets: 12, bytes: 1800 }, drop_too_big: { packets: 1, bytes: 1500 } }, ams: { encap_datacenter: { packets: 4, bytes: 400 } } };
  return c;
}

describe('the metrics registry', () => {
  it('has every counter of abi.h under its one name, per queue where it is per queue', async () => {
    const { samples, types } = parse(await new RouterMetrics(snapshot).registry.metrics());
    expect(value(samples, 'softunicast_table_generation')).toBe(7);
    for (const { name } of ABI.routeCounters) {
      expect(value(samples, 'softunicast_route_packets_total', { fate: name, lane: 'xdp' })).toBe(snapshot().xdp[name]);
      expect(value(samples, 'softunicast_route_packets_total', { fate: name, lane: 'worker' })).toBe(snapshot().queues.reduce((sum, q) => sum + q.fates[name], 0));
    }
    for (const { name } of ABI.steerCounters) expect(value(samples, 'softunicast_xdp_packets_total', { counter: name })).toBe(snapshot().program[name]);
    for (const { name } of ABI.queueCounters) {
      expect(types.get(`softunicast_queue_${name}_total`)).toBe('counter');
      for (const q of snapshot().queues) expect(value(samples, `softunicast_queue_${name}_total`, { queue: String(q.queue) })).toBe(q[name]);
    }
    for (const { name } of ABI.kernelXdpStats) expect(value(samples, `softunicast_socket_${name}_total`, { queue: '3' })).toBe(0);
    expect(value(samples, 'softunicast_socket_rx_ring_full_total', { queue: '0' })).toBe(2);
    expect(value(samples, 'softunicast_unresolved_owner', { owner: 'fra-2' })).toBe(1);
    expect(value(samples, 'softunicast_retired_tables')).toBe(0);
  });

  it('counts packets and bytes per owner and fate', async () => {
    const { samples, types } = parse(await new RouterMetrics(snapshot).registry.metrics());
    expect(types.get('softunicast_owner_packets_total')).toBe('counter');
    expect(value(samples, 'softunicast_owner_packets_total', { owner: 'fra2', fate: 'forward_server_gue' })).toBe(12);
    expect(value(samples, 'softunicast_owner_bytes_total', { owner: 'fra2', fate: 'forward_server_gue' })).toBe(1800);
    expect(value(samples, 'softunicast_owner_bytes_total', { owner: 'fra2', fate: 'drop_too_big' })).toBe(1500);
    expect(value(samples, 'softunicast_owner_packets_total', { owner: 'ams', fate: 'encap_datacenter' })).toBe(4);
  });

  it('counts reloads by result, with the time of the last and the slices per owner', async () => {
    const metrics = new RouterMetrics(snapshot);
    const table = new SliceTable()
      .defineOwner('a', { kind: 'local' })
      .defineOwner('b', { kind: 'server', address: IPv4.fromString('10.0.0.2') })
      .defineOwner('idle', { kind: 'server', address: IPv4.fromString('10.0.0.3') })
      .assign({ destination: IPv4.fromString('192.0.2.1'), ports: { from: 1, to: 2 }, owner: 'a' })
      .assign({ destination: IPv4.fromString('192.0.2.1'), ports: { from: 3, to: 4 }, owner: 'b' })
      .assign({ destination: IPv4.fromString('192.0.2.2'), ports: { from: 3, to: 4 }, owner: 'b' });
    let { samples } = parse(await metrics.registry.metrics());
    for (const result of ['applied', 'unchanged', 'refused']) expect(value(samples, 'softunicast_reloads_total', { result })).toBe(0);
    const before = Date.now() / 1000;
    metrics.reloaded('applied', table);
    metrics.reloaded('refused');
    metrics.reloaded('refused');
    ({ samples } = parse(await metrics.registry.metrics()));
    expect(value(samples, 'softunicast_reloads_total', { result: 'applied' })).toBe(1);
    expect(value(samples, 'softunicast_reloads_total', { result: 'refused' })).toBe(2);
    expect(value(samples, 'softunicast_last_reload_timestamp_seconds')).toBeGreaterThanOrEqual(Math.floor(before));
    expect(value(samples, 'softunicast_slices', { owner: 'a' })).toBe(1);
    expect(value(samples, 'softunicast_slices', { owner: 'b' })).toBe(2);
    expect(value(samples, 'softunicast_slices', { owner: 'idle' })).toBe(0);
  });

  it('has the process metrics of prom-client, and only those while no router runs', async () => {
    const { samples } = parse(await new RouterMetrics(() => undefined).registry.metrics());
    expect(value(samples, 'process_resident_memory_bytes')).toBeGreaterThan(0);
    expect(samples.some((s) => s.name.startsWith('nodejs_'))).toBe(true);
    expect(samples.filter((s) => s.name === 'softunicast_route_packets_total')).toEqual([]);
    expect(value(samples, 'softunicast_table_generation')).toBe(0); // no table yet
  });
});
