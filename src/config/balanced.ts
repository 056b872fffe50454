// The file's services as lb.Balancer takes them on one host (examples/load-balancer): the
// services of the host's data centre, each backend an owner of the host's table (tableFor) and
// probed at its server's own address.
import type { BalancedService } from '../lb/balancer.js';
import { perspectiveOf } from './perspective.js';
import type { Config } from './types.js';

/** The services tableFor(config, host) adds, as lb.Balancer.load() takes them. */
export function balancedServicesFor(config: Config, host: string): BalancedService[] {
  const p = perspectiveOf(config, host);
  return config.services
    .filter((s) => config.servers.get(s.backends[0]!.server)!.datacenter === p.server.datacenter)
    .map((s) => ({
      name: s.name,
      address: s.address,
      protocol: s.protocol,
      port: s.port,
      moves: s.moves,
      health: { ...s.health },
      backends: s.backends.map((b) => {
        const server = config.servers.get(b.server)!;
        return { owner: p.ownerOf.get(b.server)!, address: (server.ipv4 ?? server.ipv6)!.toString(), weight: b.weight, drain: b.drain };
      }),
    }));
}
