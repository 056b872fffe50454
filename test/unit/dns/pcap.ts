// A classic pcap file holding DNS messages as UDP/IPv4 datagrams from port 53, for tshark to decode
// in test/unit/dns-responder.test.ts. Raw IP link type: no Ethernet header to make up.
const LINKTYPE_RAW = 101;

function ipv4Checksum(header: Buffer): number {
  let sum = 0;
  for (let i = 0; i < header.length; i += 2) sum += header.readUInt16BE(i);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/** One datagram 127.0.0.1:53 -> 127.0.0.1:40000; UDP checksum 0 (none), which IPv4 allows. */
function datagram(payload: Buffer): Buffer {
  const ip = Buffer.alloc(20);
  ip.writeUInt8(0x45, 0);
  ip.writeUInt16BE(20 + 8 + payload.length, 2);
  ip.writeUInt8(64, 8);
  ip.writeUInt8(17, 9);
  Buffer.from([127, 0, 0, 1, 127, 0, 0, 1]).copy(ip, 12);
  ip.writeUInt16BE(ipv4Checksum(ip), 10);
  const udp = Buffer.alloc(8);
  udp.writeUInt16BE(53, 0);
  udp.writeUInt16BE(40000, 2);
  udp.writeUInt16BE(8 + payload.length, 4);
  return Buffer.concat([ip, udp, payload]);
}

/** The pcap bytes: global header, then one record per message. */
export function dnsPcap(messages: readonly Buffer[]): Buffer {
  const head = Buffer.alloc(24);
  head.writeUInt32LE(0xa1b2c3d4, 0);
  head.writeUInt16LE(2, 4);
  head.writeUInt16LE(4, 6);
  head.writeUInt32LE(65535, 16);
  head.writeUInt32LE(LINKTYPE_RAW, 20);
  const records = messages.map((m, i) => {
    const frame = datagram(m);
    const rec = Buffer.alloc(16);
    rec.writeUInt32LE(1_700_000_000 + i, 0);
    rec.writeUInt32LE(frame.length, 8);
    rec.writeUInt32LE(frame.length, 12);
    return Buffer.concat([rec, frame]);
  });
  return Buffer.concat([head, ...records]);
}
