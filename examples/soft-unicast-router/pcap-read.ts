// Reads the Ethernet frames of a capture file, pcap (libpcap, either byte order, micro- or
// nanosecond) or pcapng (enhanced and simple packet blocks), for `soft-unicast-router explain
// --pcap`. Refuses other link types and damaged files with the offset where they go wrong.

const PCAP_MAGICS = new Set([0xa1b2c3d4, 0xa1b23c4d]);
const PCAPNG_SHB = 0x0a0d0d0a;
const PCAPNG_BYTE_ORDER = 0x1a2b3c4d;
const LINKTYPE_ETHERNET = 1;

export class CaptureFileError extends Error {
  override readonly name = 'CaptureFileError';
}

function pcap(buf: Buffer, file: string): Uint8Array[] {
  const le = PCAP_MAGICS.has(buf.readUInt32LE(0));
  const u32 = (at: number) => (le ? buf.readUInt32LE(at) : buf.readUInt32BE(at));
  if (buf.length < 24) throw new CaptureFileError(`${file}: the pcap header is cut short`);
  const linktype = u32(20) & 0xffff;
  if (linktype !== LINKTYPE_ETHERNET) throw new CaptureFileError(`Expected Ethernet frames (link type 1) in ${file} but it holds link type ${linktype}`);
  const frames: Uint8Array[] = [];
  for (let at = 24; at < buf.length; ) {
    if (at + 16 > buf.length) throw new CaptureFileError(`${file}: a packet header at offset ${at} is cut short`);
    const len = u32(at + 8);
    if (at + 16 + len > buf.length) throw new CaptureFileError(`${file}: the packet at offset ${at} claims ${len} bytes, past the end of the file`);
    frames.push(buf.subarray(at + 16, at + 16 + len));
    at += 16 + len;
  }
  return frames;
}

function pcapng(buf: Buffer, file: string): Uint8Array[] {
  if (buf.length < 12) throw new CaptureFileError(`${file}: the section header is cut short`);
  const le = buf.readUInt32LE(8) === PCAPNG_BYTE_ORDER;
  const u32 = (at: number) => (le ? buf.readUInt32LE(at) : buf.readUInt32BE(at));
  const u16 = (at: number) => (le ? buf.readUInt16LE(at) : buf.readUInt16BE(at));
  const linktypes: number[] = [];
  const frames: Uint8Array[] = [];
  for (let at = 0; at < buf.length; ) {
    if (at + 12 > buf.length) throw new CaptureFileError(`${file}: a block at offset ${at} is cut short`);
    const type = u32(at);
    const len = u32(at + 4);
    if (len < 12 || len % 4 !== 0 || at + len > buf.length) throw new CaptureFileError(`${file}: the block at offset ${at} has a bad length ${len}`);
    if (type === 1) linktypes.push(u16(at + 8));
    const packet = (iface: number, dataAt: number, capLen: number) => {
      const lt = linktypes[iface];
      if (lt !== LINKTYPE_ETHERNET) throw new CaptureFileError(`Expected Ethernet frames (link type 1) in ${file} but interface ${iface} has link type ${lt ?? 'undefined'}`);
      frames.push(buf.subarray(dataAt, dataAt + capLen));
    };
    if (type === 6) packet(u32(at + 8), at + 28, u32(at + 20));
    else if (type === 3) packet(0, at + 12, Math.min(u32(at + 8), len - 16));
    at += len;
  }
  return frames;
}

/** The frames of a pcap or pcapng file's contents; `file` names it in errors. */
export function readCaptureFrames(buf: Buffer, file: string): Uint8Array[] {
  if (buf.length < 4) throw new CaptureFileError(`Expected a pcap or pcapng file for ${file} but it is ${buf.length} bytes long`);
  const magic = buf.readUInt32LE(0);
  if (PCAP_MAGICS.has(magic) || PCAP_MAGICS.has(buf.readUInt32BE(0))) return pcap(buf, file);
  if (magic === PCAPNG_SHB) return pcapng(buf, file);
  throw new CaptureFileError(`Expected a pcap or pcapng file for ${file} but its first bytes are ${buf.subarray(0, 4).toString('hex')}`);
}
