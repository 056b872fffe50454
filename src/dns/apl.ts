// APL records (RFC 3123): a list of address prefixes, each one possibly negated, as wire RDATA and
// as presentation text. Used by the DNS responder (src/dns/) and, later, the structured-addressing client.
import { IPv4, IPv4CidrRange, IPv4Prefix, IPv6, IPv6CidrRange, IPv6Prefix } from 'ip-num';

import { describe, InvalidPacketError, InvalidRecordError } from '../errors.js';
import { isIPv4Range, isIPv6Range } from '../ip.js';

/** The APL resource record type number (RFC 3123). */
export const APL_TYPE = 42;

/** One APL item: a prefix, and whether it is excluded (the N bit, `!` in text). */
export interface AplItem {
  readonly negated: boolean;
  readonly prefix: IPv4CidrRange | IPv6CidrRange;
}

/** IANA address family numbers, the only two RFC 3123 gives a presentation format. */
const FAMILIES = { 1: { bits: 32, name: 'IPv4' }, 2: { bits: 128, name: 'IPv6' } } as const;
type Family = keyof typeof FAMILIES;

interface Parts {
  family: Family;
  prefixLength: number;
  address: bigint;
}

function hostBits(address: bigint, prefixLength: number, bits: number): bigint {
  return address & ((1n << BigInt(bits - prefixLength)) - 1n);
}

/** An item's family, prefix length and network address; refuses anything but a clean ip-num prefix. */
function partsOf(item: AplItem, path: string): Parts {
  if (typeof item !== 'object' || item === null || typeof item.negated !== 'boolean') {
    throw new InvalidRecordError(`Expected an APL item { negated: boolean, prefix } for ${path} but received ${describe(item)}`);
  }
  const v4 = isIPv4Range(item.prefix);
  if (!v4 && !isIPv6Range(item.prefix)) {
    throw new InvalidRecordError(`Expected an ip-num IPv4CidrRange or IPv6CidrRange for ${path}.prefix but received ${describe(item.prefix)}`);
  }
  const family: Family = v4 ? 1 : 2;
  const prefixLength = Number(item.prefix.cidrPrefix.getValue());
  const address = item.prefix.getFirst().getValue();
  // ip-num keeps the address as written: 10.1.2.3/8 has getFirst() 10.0.0.0 but prints as given.
  if (item.prefix.toCidrString() !== `${item.prefix.getFirst().toString()}/${prefixLength}`) {
    throw new InvalidRecordError(
      `Expected a prefix without host bits set (${formatAddress(family, address)}/${prefixLength}) for ${path}.prefix but received '${item.prefix.toCidrString()}'`,
    );
  }
  return { family, prefixLength, address };
}

/** RDATA of an APL record: each item as family, prefix, N bit and length, address with trailing zero octets trimmed. */
export function encodeApl(items: readonly AplItem[]): Buffer {
  if (!Array.isArray(items)) throw new InvalidRecordError(`Expected an array of APL items for items but received ${describe(items)}`);
  const chunks = items.map((item, i) => {
    const { family, prefixLength, address } = partsOf(item, `items[${i}]`);
    const octets = FAMILIES[family].bits / 8;
    const bytes = Buffer.alloc(octets);
    for (let k = 0; k < octets; k++) bytes[k] = Number((address >> BigInt(8 * (octets - 1 - k))) & 0xffn);
    // RFC 3123 section 4: trailing zero octets carry no information and are left out.
    let length = octets;
    while (length > 0 && bytes[length - 1] === 0) length--;
    const head = Buffer.from([0, family, prefixLength, (item.negated ? 0x80 : 0) | length]);
    return Buffer.concat([head, bytes.subarray(0, length)]);
  });
  return Buffer.concat(chunks);
}

function malformed(field: string, expected: string, received: string): never {
  throw new InvalidPacketError(`Expected ${expected} for ${field} but received ${received}`);
}

/**
 * Items of APL RDATA. Refuses unknown families, prefix lengths and address lengths out of range,
 * and host bits set beyond the prefix; accepts untrimmed trailing zero octets (other encoders' output).
 */
export function decodeApl(rdata: Uint8Array): AplItem[] {
  const items: AplItem[] = [];
  let at = 0;
  while (at < rdata.length) {
    const field = `APL item ${items.length} at RDATA offset ${at}`;
    if (rdata.length - at < 4) malformed(field, 'a 4-byte item header', `${rdata.length - at} bytes`);
    const familyNumber = (rdata[at]! << 8) | rdata[at + 1]!;
    const prefixLength = rdata[at + 2]!;
    const negated = (rdata[at + 3]! & 0x80) !== 0;
    const length = rdata[at + 3]! & 0x7f;
    if (familyNumber !== 1 && familyNumber !== 2) malformed(`${field} (address family)`, 'family 1 (IPv4) or 2 (IPv6)', String(familyNumber));
    const family = familyNumber as Family;
    const { bits, name } = FAMILIES[family];
    if (prefixLength > bits) malformed(`${field} (prefix length)`, `0 to ${bits} for ${name}`, String(prefixLength));
    if (length > bits / 8) malformed(`${field} (AFDLENGTH)`, `0 to ${bits / 8} octets for ${name}`, String(length));
    if (rdata.length - at - 4 < length) malformed(`${field} (AFDPART)`, `${length} address octets`, `${rdata.length - at - 4}`);
    let address = 0n;
    for (let k = 0; k < bits / 8; k++) address = (address << 8n) | BigInt(k < length ? rdata[at + 4 + k]! : 0);
    if (hostBits(address, prefixLength, bits) !== 0n) {
      malformed(`${field} (AFDPART)`, `no address bits set beyond the /${prefixLength} prefix`, `${formatAddress(family, address)}/${prefixLength}`);
    }
    items.push({ negated, prefix: rangeOf(family, address, prefixLength) });
    at += 4 + length;
  }
  return items;
}

function rangeOf(family: Family, address: bigint, prefixLength: number): IPv4CidrRange | IPv6CidrRange {
  if (family === 1) return new IPv4CidrRange(new IPv4(address), new IPv4Prefix(BigInt(prefixLength)));
  return new IPv6CidrRange(new IPv6(address), new IPv6Prefix(BigInt(prefixLength)));
}

/** An address as people write it: IPv6 compressed per RFC 5952 (ip-num prints it in full). */
function formatAddress(family: Family, address: bigint): string {
  if (family === 1) return new IPv4(address).toString();
  return new URL(`http://[${new IPv6(address).toString()}]/`).hostname.slice(1, -1);
}

/** Presentation format (RFC 3123 section 5): `1:192.168.32.0/21 !1:192.168.38.0/28 2:2001:db8::/78`. */
export function formatApl(items: readonly AplItem[]): string {
  return items
    .map((item, i) => {
      const { family, prefixLength, address } = partsOf(item, `items[${i}]`);
      return `${item.negated ? '!' : ''}${family}:${formatAddress(family, address)}/${prefixLength}`;
    })
    .join(' ');
}

const ITEM = /^(!?)([0-9]+):([^/]+)\/([0-9]+)$/;

/** One item of presentation text; the message names the item and what was expected. */
function parseItem(token: string, path: string): AplItem {
  const m = ITEM.exec(token);
  if (m === null) throw new InvalidRecordError(`Expected an APL item like '1:192.0.2.0/24' or '!2:2001:db8::/32' for ${path} but received ${describe(token)}`);
  const [, bang, familyText, addressText, lengthText] = m as unknown as [string, string, string, string, string];
  if (familyText !== '1' && familyText !== '2') throw new InvalidRecordError(`Expected address family 1 (IPv4) or 2 (IPv6) for ${path} but received ${describe(token)}`);
  const family = Number(familyText) as Family;
  const { bits, name } = FAMILIES[family];
  const prefixLength = Number(lengthText);
  if (prefixLength > bits || lengthText.length > 3) throw new InvalidRecordError(`Expected a prefix length from 0 to ${bits} for ${path} (${name}) but received ${describe(token)}`);
  let address: bigint;
  try {
    address = family === 1 ? IPv4.fromString(addressText).getValue() : IPv6.fromString(addressText).getValue();
  } catch {
    throw new InvalidRecordError(`Expected an ${name} address for ${path} but received ${describe(token)}`);
  }
  if (hostBits(address, prefixLength, bits) !== 0n) {
    const network = address - hostBits(address, prefixLength, bits);
    throw new InvalidRecordError(`Expected a prefix without host bits set (${formatAddress(family, network)}/${prefixLength}) for ${path} but received ${describe(token)}`);
  }
  return { negated: bang === '!', prefix: rangeOf(family, address, prefixLength) };
}

/** Items of presentation text, separated by white space; an empty text is an empty list. */
export function parseApl(text: string): AplItem[] {
  if (typeof text !== 'string') throw new InvalidRecordError(`Expected APL presentation text for text but received ${describe(text)}`);
  const tokens = text.trim() === '' ? [] : text.trim().split(/\s+/);
  return tokens.map((token, i) => parseItem(token, `APL item ${i}`));
}
