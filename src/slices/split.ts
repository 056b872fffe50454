// splitPorts: the port ranges an address is cut into, one per server ("soft-unicast" egress,
// Cloudflare 2022: 2048-port slices, the lowest one not handed out, so 31 servers per address).
import { invalid } from '../errors.js';
import type { PortRange } from '../fields.js';

/** Options of splitPorts(). */
export interface SplitPortsOptions {
  /** Ports per slice: a power of two from 1 to 65536. Default 2048. */
  sliceSize?: number;
  /**
   * Leave out the lowest slice (ports 0 to sliceSize - 1, where the well-known ports live) so that
   * no server's ephemeral ports collide with a service's. Default true.
   */
  reserveLowest?: boolean;
}

/** Cuts 0-65535 into equal slices: with the defaults 31 slices, 2048-4095 up to 63488-65535. */
export function splitPorts(options: SplitPortsOptions = {}): PortRange[] {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) invalid('options', 'an options object', options);
  for (const key of Object.keys(options)) {
    if (key !== 'sliceSize' && key !== 'reserveLowest') invalid(`options.${key}`, 'no such option (sliceSize, reserveLowest)', (options as Record<string, unknown>)[key]);
  }
  const size = options.sliceSize ?? 2048;
  const reserve = options.reserveLowest ?? true;
  if (!Number.isInteger(size) || size < 1 || size > 65536 || (size & (size - 1)) !== 0) {
    invalid('options.sliceSize', 'a power of two from 1 to 65536', size);
  }
  if (typeof reserve !== 'boolean') invalid('options.reserveLowest', 'true or false', reserve);
  if (reserve && size === 65536) invalid('options.sliceSize', 'a size below 65536 when reserveLowest is set (no slice would be left)', size);
  const out: PortRange[] = [];
  for (let from = reserve ? size : 0; from < 65536; from += size) out.push({ from, to: from + size - 1 });
  return out;
}
