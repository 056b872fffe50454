// XdpPort.open() failures that need neither root nor a test network: the options are checked
// before anything touches the system, and a missing interface is named.
import { IPv4CidrRange } from 'ip-num';
import { describe, expect, it } from 'vitest';

import { InterfaceNotFoundError, InvalidOptionError, XdpPort } from '../../src/index.js';

describe('XdpPort.open without an interface', () => {
  it('names a missing interface', async () => {
    const error = await XdpPort.open({ interface: 'su-missing0' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InterfaceNotFoundError);
    expect(error).toMatchObject({ code: 'ERR_INTERFACE_NOT_FOUND' });
    expect((error as Error).message).toMatch(/Expected an existing interface for interface but received 'su-missing0'/);
  });

  it('rejects bad capture rules before looking at the interface', async () => {
    const error = await XdpPort.open({
      interface: 'su-missing0',
      capture: [{ destination: IPv4CidrRange.fromCidr('10.1.2.3/8') }],
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidOptionError);
    expect((error as Error).message).toMatch(/options.capture\[0\].destination/);
  });
});
