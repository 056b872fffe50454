// The demo's configuration file (examples/soft-unicast-demo/deployment.ts) as validation sees it:
// GUE is trusted from exactly the servers' addresses, so neither the Internet host nor a shared
// address can put packets into a router; the generous ranges it once trusted are refused. No root.
import { IPv4, IPv6 } from 'ip-num';
import { describe, expect, it } from 'vitest';

import { deploymentYaml } from '../../examples/soft-unicast-demo/deployment.js';
import {
  DATACENTRES, INET4, INET6, SHARED4, SHARED6, serverAddresses, TRUSTED_PEERS, type ServerNode, type World,
} from '../../examples/soft-unicast-demo/world.js';
import { InvalidConfigError, parseConfig } from '../../src/index.js';
import type { TrustedPeer } from '../../src/config/types.js';

/** The world's servers as buildWorld() names and addresses them; no namespace is made. */
function plannedWorld(): World {
  const servers: ServerNode[] = (['A', 'B'] as const).flatMap((dc) =>
    DATACENTRES[dc].servers.map((name, i) => ({ name, dc, ns: name, ifname: 'eth0', ...serverAddresses(dc, i), mac: `02:00:00:00:00:0${i + 1}` })),
  );
  return { servers, server: (name: string) => servers.find((s) => s.name === name)! } as unknown as World;
}

/** Whether trusted peer `peer` (an address or a prefix) covers `address`. */
function covers(peer: TrustedPeer, address: string): boolean {
  const [net, len] = 'toCidrString' in peer ? peer.toCidrString().split('/') : [peer.toString(), undefined];
  const v6 = net!.includes(':');
  if (v6 !== address.includes(':')) return false;
  const value = (a: string) => (v6 ? IPv6.fromString(a) : IPv4.fromString(a)).getValue();
  const hostBits = BigInt((v6 ? 128 : 32) - Number(len ?? (v6 ? 128 : 32)));
  return value(net!) >> hostBits === value(address) >> hostBits;
}

describe('the demo\'s deployment', () => {
  const text = deploymentYaml(plannedWorld());

  it('trusts GUE from exactly its servers\' addresses, with nothing to warn of', () => {
    const config = parseConfig(text, 'yaml', 'demo.yaml');
    expect(config.warnings).toEqual([]);
    // ip-num writes IPv6 in full; compared as values.
    const value = (a: string) => (a.includes(':') ? IPv6.fromString(a) : IPv4.fromString(a)).getValue().toString();
    expect(config.gue.trustedPeers.map((p) => value(p.toString())).sort()).toEqual(TRUSTED_PEERS.map(value).sort());
    expect(TRUSTED_PEERS).toHaveLength(2 * (DATACENTRES.A.servers.length + DATACENTRES.B.servers.length));
  });

  it('trusts neither the Internet host nor a shared address', () => {
    const peers = parseConfig(text, 'yaml', 'demo.yaml').gue.trustedPeers;
    for (const address of [INET4, INET6, SHARED4, SHARED6]) {
      expect({ address, trustedBy: peers.filter((p) => covers(p, address)).map(String) }).toEqual({ address, trustedBy: [] });
    }
  });

  it('would be refused with the ranges it once trusted (2001:db8::/32 covers the shared address)', () => {
    const generous = text.replace(/trustedPeers: \[[^\]]*\]/, "trustedPeers: ['10.0.0.0/8', '2001:db8::/32']");
    expect(generous).not.toBe(text);
    let error: unknown;
    try {
      parseConfig(generous, 'yaml', 'demo.yaml');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(InvalidConfigError);
    expect((error as InvalidConfigError).message).toContain('overlaps trusted peer prefix 2001:db8::/32');
  });
});
