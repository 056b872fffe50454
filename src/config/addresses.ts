// Shared addresses and prefixes written as text -> numbers (a Prefix), without an ip-num object
// each: a file may list a million addresses. Used by egress.ts; EgressConfig makes the ip-num
// value only when asked for it.
import { FAMILY_V4, FAMILY_V6, formatPrefix, mask4, mask6, type Prefix } from '../slices/address.js';
import { fail, type Path } from './path.js';
import { isIPv4Text, isIPv6Text } from './values.js';

/** A dotted quad already checked by isIPv4Text. */
function v4Of(text: string): number {
  let n = 0;
  for (const part of text.split('.')) n = n * 256 + Number(part);
  return n;
}

/** An IPv6 address already checked by isIPv6Text (node's parser), '::' and a dotted tail included. */
function v6Of(text: string): bigint {
  let body = text;
  if (body.includes('.')) {
    // '::ffff:192.0.2.1': the last 32 bits as a dotted quad, written as two groups instead.
    const at = body.lastIndexOf(':') + 1;
    const v4 = v4Of(body.slice(at));
    body = `${body.slice(0, at)}${(v4 >>> 16).toString(16)}:${(v4 & 0xffff).toString(16)}`;
  }
  const gap = body.indexOf('::');
  let groups: string[];
  if (gap < 0) groups = body.split(':');
  else {
    const head = gap === 0 ? [] : body.slice(0, gap).split(':');
    const rest = gap + 2 === body.length ? [] : body.slice(gap + 2).split(':');
    groups = [...head, ...new Array<string>(8 - head.length - rest.length).fill('0'), ...rest];
  }
  let n = 0n;
  for (const g of groups) n = (n << 16n) | BigInt(parseInt(g, 16));
  return n;
}

const ADDRESS = "an IPv4 or IPv6 address such as '192.0.2.1' or '2001:db8::1'";
const PREFIX = "a prefix such as '198.51.100.0/24' or '2001:db8::/32'";

/** A shared address: a full-length Prefix. */
export function addressPrefix(value: unknown, path: Path): Prefix {
  if (typeof value === 'string' && isIPv4Text(value)) return { family: FAMILY_V4, len: 32, v4: v4Of(value), v6: 0n };
  if (typeof value === 'string' && isIPv6Text(value)) return { family: FAMILY_V6, len: 128, v4: 0, v6: v6Of(value) };
  return fail(path, ADDRESS, value);
}

/** A shared prefix 'address/length' with no host bits set. */
export function prefixOf(value: unknown, path: Path): Prefix {
  if (typeof value !== 'string') return fail(path, PREFIX, value);
  const m = /^([^/]+)\/(0|[1-9]\d{0,2})$/.exec(value);
  const v4 = m !== null && isIPv4Text(m[1]!);
  const len = m === null ? 0 : Number(m[2]);
  if (m === null || (!v4 && !isIPv6Text(m[1]!)) || len > (v4 ? 32 : 128)) return fail(path, PREFIX, value);
  const p: Prefix = v4 ? { family: FAMILY_V4, len, v4: v4Of(m[1]!), v6: 0n } : { family: FAMILY_V6, len, v4: 0, v6: v6Of(m[1]!) };
  const network: Prefix = { ...p, v4: v4 ? mask4(p.v4, len) : 0, v6: v4 ? 0n : mask6(p.v6, len) };
  // A prefix with host bits set is almost always a typo for another prefix; say which.
  if (network.v4 !== p.v4 || network.v6 !== p.v6) fail(path, `a prefix without host bits set (${formatPrefix(network)})`, value);
  return network;
}
