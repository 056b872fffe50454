// pcapng blocks (IETF draft-ietf-opsawg-pcapng): a section header, one Ethernet interface with
// nanosecond timestamps, and enhanced packet blocks with a comment each. Little-endian, as the
// byte-order magic says. Used by drop-capture.ts; readable by tshark and Wireshark.

const SHB = 0x0a0d0d0a;
const IDB = 0x00000001;
const EPB = 0x00000006;
const BYTE_ORDER_MAGIC = 0x1a2b3c4d;
const LINKTYPE_ETHERNET = 1;
const OPT_END = 0;
const OPT_COMMENT = 1;
const SHB_USERAPPL = 4;
const IF_NAME = 2;
const IF_TSRESOL = 9;

const pad4 = (n: number) => (n + 3) & ~3;

/** Options: code, length, value padded to 4 bytes, then opt_endofopt. */
function options(list: readonly [number, Uint8Array][]): Buffer {
  if (list.length === 0) return Buffer.alloc(0);
  const size = list.reduce((n, [, v]) => n + 4 + pad4(v.length), 0) + 4;
  const out = Buffer.alloc(size);
  let at = 0;
  for (const [code, value] of list) {
    out.writeUInt16LE(code, at);
    out.writeUInt16LE(value.length, at + 2);
    out.set(value, at + 4);
    at += 4 + pad4(value.length);
  }
  out.writeUInt16LE(OPT_END, at);
  return out;
}

/** A block: type, total length, body (already padded), total length again. */
function block(type: number, body: Buffer): Buffer {
  const out = Buffer.alloc(12 + body.length);
  out.writeUInt32LE(type, 0);
  out.writeUInt32LE(out.length, 4);
  body.copy(out, 8);
  out.writeUInt32LE(out.length, out.length - 4);
  return out;
}

/** The section header and the one interface: what a file starts with. */
export function pcapngHeader(application: string, ifname: string, snaplen: number): Buffer {
  const shb = Buffer.alloc(16);
  shb.writeUInt32LE(BYTE_ORDER_MAGIC, 0);
  shb.writeUInt16LE(1, 4); // major version
  shb.writeUInt16LE(0, 6); // minor version
  shb.writeBigInt64LE(-1n, 8); // section length: not given
  const idb = Buffer.alloc(8);
  idb.writeUInt16LE(LINKTYPE_ETHERNET, 0);
  idb.writeUInt32LE(snaplen, 4);
  return Buffer.concat([
    block(SHB, Buffer.concat([shb, options([[SHB_USERAPPL, Buffer.from(application)]])])),
    // if_tsresol 9: timestamps count nanoseconds (10^-9 s).
    block(IDB, Buffer.concat([idb, options([[IF_NAME, Buffer.from(ifname)], [IF_TSRESOL, Uint8Array.of(9)]])])),
  ]);
}

/** One packet of interface 0: `data` as captured of an `origLen`-byte packet, with a comment. */
export function pcapngPacket(timeNs: bigint, data: Uint8Array, origLen: number, comment: string): Buffer {
  const head = Buffer.alloc(20);
  head.writeUInt32LE(0, 0); // interface id
  head.writeUInt32LE(Number(timeNs >> 32n), 4);
  head.writeUInt32LE(Number(timeNs & 0xffffffffn), 8);
  head.writeUInt32LE(data.length, 12);
  head.writeUInt32LE(origLen, 16);
  const packet = Buffer.alloc(pad4(data.length));
  packet.set(data);
  // A comment longer than an option holds is cut; ours are one line.
  return block(EPB, Buffer.concat([head, packet, options([[OPT_COMMENT, Buffer.from(comment).subarray(0, 0xffff)]])]));
}
