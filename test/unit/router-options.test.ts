// Router.open refuses bad options and bad tables before it touches any interface: these run
// without root, against interfaces that exist everywhere (lo) or nowhere.
import { IPv4, IPv6 } from 'ip-num';
import { describe, expect, it } from 'vitest';

import { InterfaceNotFoundError, InvalidOptionError, OwnerUnreachableError, Router, SliceTable, UnknownOwnerError } from '../../src/index.js';

function table(): SliceTable {
  return new SliceTable()
    .defineOwner('me', { kind: 'local' })
    .defineOwner('dc', { kind: 'datacenter', endpoint: IPv6.fromString('2001:db8:b::1') })
    .assign({ destination: IPv4.fromString('192.0.2.1'), ports: { from: 2048, to: 4095 }, owner: 'me' })
    .assign({ destination: IPv4.fromString('192.0.2.1'), ports: { from: 4096, to: 6143 }, owner: 'dc' });
}

const host = { ipv4: IPv4.fromString('10.1.0.1'), ipv6: IPv6.fromString('2001:db8:a::1') };

describe('Router.open validation', () => {
  it('refuses options that are not an object', async () => {
    await expect(Router.open(null as never)).rejects.toThrow(new InvalidOptionError('Expected an object for options but received null'));
  });

  it('refuses unknown keys, naming the known ones', async () => {
    await expect(Router.open({ port: { interface: 'lo' }, host, table: table(), tabel: 1 } as never)).rejects.toThrow(
      "Expected no such option (known: port, host, table, neighbourRefreshMs, lane, health) for options.tabel but received 1",
    );
    await expect(Router.open({ port: { interface: 'lo' }, host: { ...host, ip: 1 }, table: table() } as never)).rejects.toThrow(
      'Expected no such option (known: ipv4, ipv6, guePort, trustedPeers, flowHashSeed) for options.host.ip but received 1',
    );
  });

  it('refuses capture rules: the table decides what is captured', async () => {
    await expect(Router.open({ port: { interface: 'lo', capture: [] }, host, table: table() } as never)).rejects.toThrow(
      'Expected no capture rules (the router derives them from the table) for options.port.capture but received an array of 0',
    );
  });

  it('refuses a lane it does not know', async () => {
    await expect(Router.open({ port: { interface: 'lo' }, host, table: table(), lane: 'xdp' } as never)).rejects.toThrow(
      "Expected 'auto' or 'afxdp' for options.lane but received 'xdp'",
    );
  });

  it('refuses peer health settings it cannot use, naming the setting', async () => {
    const open = (health: unknown) => Router.open({ port: { interface: 'lo' }, host, table: table(), health } as never);
    await expect(open([])).rejects.toThrow('Expected an object { intervalMs?, downAfter?, upAfter?, probeAll? } for options.health but received an array of 0');
    await expect(open({ intervalMs: 5 })).rejects.toThrow('Expected a whole number of milliseconds from 10 to 3600000 for options.health.intervalMs but received 5');
    await expect(open({ downAfter: 0 })).rejects.toThrow('Expected a whole number of probes from 1 to 1000 for options.health.downAfter but received 0');
    await expect(open({ upAfter: 1.5 })).rejects.toThrow('Expected a whole number of probes from 1 to 1000 for options.health.upAfter but received 1.5');
    await expect(open({ probeAll: 'yes' })).rejects.toThrow("Expected true or false for options.health.probeAll but received 'yes'");
    await expect(open({ interval: 100 })).rejects.toThrow('Expected no such option (known: intervalMs, downAfter, upAfter, probeAll) for options.health.interval but received 100');
  });

  it('refuses a fallback the table does not define', async () => {
    const t = table().defineOwner('dc', { kind: 'datacenter', endpoint: IPv6.fromString('2001:db8:b::1'), fallback: 'dc9' });
    const error = await Router.open({ port: { interface: 'lo' }, host, table: t }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnknownOwnerError);
    expect((error as Error).message).toBe("Expected an owner defined with defineOwner() (me) for owners['dc'].fallback but received 'dc9'");
  });

  it('refuses a table that is not a SliceTable', async () => {
    await expect(Router.open({ port: { interface: 'lo' }, host, table: {} } as never)).rejects.toThrow(
      'Expected a SliceTable for options.table but received an object',
    );
  });

  it('refuses a negative refresh interval', async () => {
    await expect(Router.open({ port: { interface: 'lo' }, host, table: table(), neighbourRefreshMs: -1 })).rejects.toThrow(
      'Expected a whole number of milliseconds, 0 or more for options.neighbourRefreshMs but received -1',
    );
  });

  it('names a missing interface', async () => {
    const error = await Router.open({ port: { interface: 'nosuch0' }, host, table: table() }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InterfaceNotFoundError);
    expect((error as Error).message).toBe("Expected an interface named 'nosuch0' in this network namespace but there is none");
  });

  it('refuses an owner this host cannot send to before attaching anything', async () => {
    const error = await Router.open({ port: { interface: 'lo' }, host: { ipv4: host.ipv4 }, table: table() }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OwnerUnreachableError);
    expect((error as Error).message).toMatch(/dc.*2001:db8:b::1.*ipv6/);
  });
});
