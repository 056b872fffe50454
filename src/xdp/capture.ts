// Capture rules: which packets the XDP program hands to the AF_XDP sockets instead of the kernel
// stack. Validated here, compiled to the byte layout of struct su_capture_rule (abi.h).
import { endianness } from 'node:os';

import { invalid } from '../errors.js';
import { destinationOf, portRange, protocolBits, type Destination, type PortRange, type Protocol } from '../fields.js';
import { ABI } from '../generated/abi.js';

/**
 * Packets whose destination lies in `destination`, whose protocol is one of `protocols` and
 * whose destination port lies in `ports` go to the socket of the queue they arrive on.
 * Everything else reaches the kernel stack untouched.
 */
export interface CaptureRule {
  destination: Destination;
  /** Default: both. */
  protocols?: readonly Protocol[];
  /** One port or an inclusive range. Default: every port. */
  ports?: number | PortRange;
}

/** Validates `rules` and returns the image the XDP program reads (su_capture_rules map). */
export function compileCaptureRules(rules: unknown, path = 'capture'): Uint8Array {
  if (!Array.isArray(rules)) return invalid(path, 'an array of capture rules', rules);
  if (rules.length > ABI.limits.captureRulesMax) {
    invalid(path, `at most ${ABI.limits.captureRulesMax} capture rules`, rules);
  }
  const { size, fields } = ABI.captureRule;
  const image = new Uint8Array(size * rules.length);
  const view = new DataView(image.buffer);
  // Ports are host byte order in the map (abi.h); addresses are network order.
  const little = endianness() === 'LE';

  rules.forEach((rule: unknown, i) => {
    const at = `${path}[${i}]`;
    if (typeof rule !== 'object' || rule === null) invalid(at, 'a capture rule object', rule);
    const r = rule as Record<string, unknown>;
    for (const key of Object.keys(r)) {
      if (!['destination', 'protocols', 'ports'].includes(key)) {
        invalid(`${at}.${key}`, 'no such option (destination, protocols, ports)', r[key]);
      }
    }
    const dest = destinationOf(r.destination, `${at}.destination`);
    const protocols = protocolBits(r.protocols, `${at}.protocols`);
    const ports = portRange(r.ports, `${at}.ports`);
    const base = i * size;

    view.setUint8(base + fields.family.offset, dest.family);
    view.setUint8(base + fields.prefix_len.offset, dest.prefixLength);
    view.setUint8(base + fields.protocols.offset, protocols);
    view.setUint16(base + fields.port_first.offset, ports.from, little);
    view.setUint16(base + fields.port_last.offset, ports.to, little);
    const bytes = dest.bits / 8;
    for (let b = 0; b < bytes; b++) {
      const shift = BigInt((bytes - 1 - b) * 8);
      view.setUint8(base + fields.addr.offset + b, Number((dest.address >> shift) & 0xffn));
    }
  });
  return image;
}

