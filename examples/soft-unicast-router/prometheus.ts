// The router's Prometheus endpoint: Router.counters() as Prometheus text (exposition format
// 0.0.4) with HELP from the counter docs of abi.h, served at /metrics on a loopback address.
import { createServer, type Server } from 'node:http';

import { ABI } from '../../src/generated/abi.js';
import type { RouterCounters } from '../../src/index.js';
import { listenText } from './check.js';
import { isLoopback, type Listen } from './cli.js';

export const CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

// Exposition format: HELP text escapes backslash and newline; label values also the quote.
const help = (text: string) => text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
const label = (text: string) => help(text).replace(/"/g, '\\"');

class Lines {
  readonly out: string[] = [];

  family(name: string, type: 'counter' | 'gauge', doc: string): void {
    this.out.push(`# HELP ${name} ${help(doc)}`, `# TYPE ${name} ${type}`);
  }

  sample(name: string, labels: Record<string, string | number>, value: number | bigint): void {
    const l = Object.entries(labels).map(([k, v]) => `${k}="${label(String(v))}"`).join(',');
    this.out.push(`${name}${l === '' ? '' : `{${l}}`} ${String(value)}`);
  }

  /** A comment line: scrapers ignore it, people reading /metrics learn what a label value counts. */
  comment(text: string): void {
    this.out.push(`# ${text.replace(/\n/g, ' ')}`);
  }
}

/**
 * Every counter of a router: fast-path fates and XDP program counters as one family each (one
 * label value a counter, its doc in a comment above it), queue counters and the kernel's socket
 * statistics as a family per counter with a `queue` label (HELP from its doc), and gauges for the
 * table generation, retired tables and unresolved owners.
 */
export function renderMetrics(c: RouterCounters): string {
  const m = new Lines();
  m.family('softunicast_table_generation', 'gauge', 'Generation of the slice table the fast path is using');
  m.sample('softunicast_table_generation', {}, c.generation);

  m.family('softunicast_route_packets_total', 'counter', 'Packets of the AF_XDP fast path by fate, summed over queues (SU_ROUTE_COUNTERS, abi.h)');
  for (const { name, doc } of ABI.routeCounters) {
    m.comment(`fate="${name}": ${doc}`);
    m.sample('softunicast_route_packets_total', { fate: name }, c.fates[name as keyof RouterCounters['fates']]);
  }

  m.family('softunicast_xdp_packets_total', 'counter', 'Packets the XDP program handled, by counter, summed over CPUs (SU_STEER_COUNTERS, abi.h)');
  for (const { name, doc } of ABI.steerCounters) {
    m.comment(`counter="${name}": ${doc}`);
    m.sample('softunicast_xdp_packets_total', { counter: name }, c.program[name as keyof RouterCounters['program']]);
  }

  for (const { name, doc } of ABI.queueCounters) {
    const metric = `softunicast_queue_${name}_total`;
    m.family(metric, 'counter', `Per RX queue: ${doc}`);
    for (const q of c.queues) m.sample(metric, { queue: q.queue }, q[name as keyof typeof q] as number);
  }
  for (const { name, doc } of ABI.kernelXdpStats) {
    const metric = `softunicast_socket_${name}_total`;
    m.family(metric, 'counter', `Per RX queue, the kernel's XDP_STATISTICS of its AF_XDP socket: ${doc}`);
    for (const q of c.queues) m.sample(metric, { queue: q.queue }, q.kernel[name as keyof typeof q.kernel]);
  }

  m.family('softunicast_retired_tables', 'gauge', 'Replaced tables still waiting for a worker to finish a batch that may read them');
  m.sample('softunicast_retired_tables', {}, c.retiredTables);
  m.family('softunicast_unresolved_owner', 'gauge', 'Owners the fast path cannot send to yet (no next-hop MAC address); the reason is in the log');
  for (const owner of Object.keys(c.unresolvedOwners)) m.sample('softunicast_unresolved_owner', { owner }, 1);
  return `${m.out.join('\n')}\n`;
}

/**
 * Serves renderMetrics(counters()) at http://listen/metrics. `counters` returns undefined while
 * the router is not (or no longer) open: the endpoint answers 503 then. Refuses a non-loopback
 * address (the endpoint has no authentication). Resolves once listening.
 */
export async function serveMetrics(listen: Listen, counters: () => RouterCounters | undefined): Promise<Server> {
  if (!isLoopback(listen.address)) {
    throw new Error(`Expected a loopback address for the Prometheus endpoint but received ${listenText(listen.address, listen.port)}`);
  }
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('Not found: the metrics are at /metrics\n');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { 'content-type': 'text/plain', allow: 'GET, HEAD' }).end('Only GET and HEAD\n');
      return;
    }
    let body: string;
    try {
      const c = counters();
      if (c === undefined) {
        res.writeHead(503, { 'content-type': 'text/plain' }).end('The router is not running\n');
        return;
      }
      body = renderMetrics(c);
    } catch (error) {
      res.writeHead(500, { 'content-type': 'text/plain' }).end(`${(error as Error).message}\n`);
      return;
    }
    res.writeHead(200, { 'content-type': CONTENT_TYPE, 'content-length': Buffer.byteLength(body) });
    res.end(req.method === 'HEAD' ? undefined : body);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error) => reject(new Error(`Could not serve Prometheus text at ${listenText(listen.address, listen.port)}: ${error.message}`)));
    server.listen({ host: listen.address, port: listen.port, exclusive: true }, () => {
      server.removeAllListeners('error');
      resolve();
    });
  });
  // A scraper's keep-alive connection must not hold the process open at exit.
  server.unref();
  return server;
}
