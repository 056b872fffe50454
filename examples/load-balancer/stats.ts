// Stats of the load balancer: a JSON line on stdout per interval (the router's packet fates and
// packets per owner, the balancer's counters, each backend's health, drain state and rows), and
// the same as Prometheus text when the file's stats.prometheus asks for it. Used by main.ts.
import { createServer, type Server } from 'node:http';

import type { lb, RouterCounters } from 'softunicast';

export interface Snapshot {
  readonly time: string;
  readonly generation: number;
  readonly fates: Record<string, number>;
  readonly owners: Record<string, { packets: number; bytes: number }>;
  readonly balancer: lb.BalancerCounters;
  readonly services: lb.ServiceState[];
}

export function snapshot(router: RouterCounters, balancer: lb.Balancer): Snapshot {
  const owners: Snapshot['owners'] = {};
  // Every fate of an owner's packets together (forwarded in GUE or by L2, or dropped on the way).
  for (const [name, fates] of Object.entries(router.owners)) {
    let packets = 0;
    let bytes = 0;
    for (const c of Object.values(fates)) {
      packets += c?.packets ?? 0;
      bytes += c?.bytes ?? 0;
    }
    owners[name] = { packets, bytes };
  }
  const fates = Object.fromEntries(Object.entries(router.fates).filter(([, n]) => n > 0));
  return { time: new Date().toISOString(), generation: router.generation, fates, owners, balancer: balancer.counters(), services: balancer.status() };
}

const HEALTH = { up: 1, down: 0 } as const;
const DRAIN = { none: 0, draining: 1, drained: 2 } as const;

/** Prometheus text exposition format 0.0.4 of a snapshot. */
export function prometheusText(s: Snapshot): string {
  const lines: string[] = [];
  const metric = (name: string, type: 'counter' | 'gauge', help: string, rows: [string, number][]): void => {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [labels, value] of rows) lines.push(`${name}${labels} ${value}`);
  };
  const c = s.balancer;
  metric('lb_rebuilds_total', 'counter', 'Second-chance rebuilds of the rows.', [['', c.rebuilds]]);
  metric('lb_health_changes_total', 'counter', 'Backend health changes, by new state.', [['{to="up"}', c.healthUp], ['{to="down"}', c.healthDown]]);
  metric('lb_drain_changes_total', 'counter', 'Backend drain state changes.', [['', c.drainChanges]]);
  metric('lb_publish_failures_total', 'counter', 'Tables the router refused.', [['', c.publishFailures]]);
  const per = (f: (b: lb.BackendState) => number) => s.services.flatMap((svc) => svc.backends.map((b): [string, number] => [`{service="${svc.name}",backend="${b.owner}"}`, f(b)]));
  metric('lb_backend_up', 'gauge', 'Whether the backend passes its health checks (1) or not (0).', per((b) => HEALTH[b.health]));
  metric('lb_backend_drain', 'gauge', 'Drain state: 0 none, 1 draining, 2 drained.', per((b) => DRAIN[b.drain]));
  metric('lb_backend_primary_rows', 'gauge', 'Rows that send new flows to the backend.', per((b) => b.primaryRows));
  metric('lb_backend_secondary_rows', 'gauge', 'Rows that give the backend a second chance.', per((b) => b.secondaryRows));
  metric('lb_owner_packets_total', 'counter', 'Packets the fast path sent to each owner.', Object.entries(s.owners).map(([o, v]) => [`{owner="${o}"}`, v.packets]));
  metric('lb_table_generation', 'gauge', 'Generation of the table in use.', [['', s.generation]]);
  return `${lines.join('\n')}\n`;
}

/** Serves prometheusText(latest()) at /metrics on `address`:`port`. */
export function serveMetrics(address: string, port: number, latest: () => Snapshot): Promise<Server> {
  const server = createServer((req, res) => {
    if (req.url !== '/metrics') return void res.writeHead(404).end('not found: try /metrics\n');
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(prometheusText(latest()));
  });
  return new Promise((resolve, reject) => server.once('error', reject).listen(port, address, () => resolve(server)));
}
