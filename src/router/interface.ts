// What the router needs to know about its interface from the kernel: MAC address and MTU (the
// outer source MAC and the size limit of encapsulated packets). Read from sysfs.
import { readFileSync } from 'node:fs';

import { InterfaceNotFoundError } from '../errors.js';

export interface InterfaceFacts {
  mac: string;
  mtu: number;
}

export function interfaceFacts(ifname: string): InterfaceFacts {
  const dir = `/sys/class/net/${ifname}`;
  try {
    return {
      mac: readFileSync(`${dir}/address`, 'utf8').trim(),
      // lo has 65536: no IP packet is longer than 65535 anyway (and struct su_host holds a u16).
      mtu: Math.min(Number(readFileSync(`${dir}/mtu`, 'utf8').trim()), 65535),
    };
  } catch {
    throw new InterfaceNotFoundError(`Expected an interface named '${ifname}' in this network namespace but there is none`);
  }
}
