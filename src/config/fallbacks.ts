// The `fallback` of servers and data centres, checked once every name of the file is known: what a
// fallback may name so that it means an owner in every router's view (view.ts maps it there).
// Used by validate.ts.
import type { Owners } from './egress.js';
import type { Problems } from './problems.js';
import type { DatacenterConfig, ServerConfig } from './types.js';

/**
 * A server's fallback is another server (of any data centre) or a data centre other than its
 * own: its own data centre is no owner in the tables where the server is one. A data centre's
 * fallback is a server of another data centre: routers of the other data centres send its
 * slices to that server's data centre, whose routers send them to the server. Names of parts
 * that failed validation are not called unknown (their problem is reported already).
 */
export function checkFallbacks(
  p: Problems,
  datacenters: ReadonlyMap<string, DatacenterConfig>,
  servers: ReadonlyMap<string, ServerConfig>,
  owners: Owners,
  declaredDatacenters: readonly string[],
): void {
  const known = (name: string) => servers.has(name) || datacenters.has(name);
  const unsure = (name: string) => !owners.complete || owners.failed.has(name) || (declaredDatacenters.includes(name) && !datacenters.has(name));
  const names = () => {
    const all = [...servers.keys(), ...datacenters.keys()];
    return `${all.slice(0, 10).join(', ')}${all.length > 10 ? ', ...' : ''}`;
  };
  for (const s of servers.values()) {
    const f = s.fallback;
    if (f === undefined) continue;
    const at = ['datacenters', s.datacenter, 'servers', s.name, 'fallback'];
    if (f === s.name) p.expected(at, `another server or data centre than ${s.name} itself`, f);
    else if (f === s.datacenter) p.expected(at, `a server, or a data centre other than its own (${s.datacenter} is no owner in its own routers' tables)`, f);
    else if (!known(f) && !unsure(f)) p.expected(at, `the name of a server or data centre of the file (${names()})`, f);
  }
  for (const dc of datacenters.values()) {
    const f = dc.fallback;
    if (f === undefined) continue;
    const at = ['datacenters', dc.name, 'fallback'];
    const server = servers.get(f);
    if (server !== undefined && server.datacenter !== dc.name) continue;
    if (server !== undefined) p.expected(at, `a server of another data centre than ${dc.name} (its own servers go down with it)`, f);
    else if (datacenters.has(f) || f === dc.name) p.expected(at, `a server of another data centre (a data centre is no owner in its own routers' tables: name the server there that takes ${dc.name}'s slices)`, f);
    else if (!unsure(f)) p.expected(at, `the name of a server of another data centre (${names()})`, f);
  }
}
