// Builds Ethernet/IPv4/UDP frames with correct checksums for the namespace tests and the
// benchmarks (the frames a TypeScript program would transmit through a queue).
function checksum(bytes: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < bytes.length; i += 2) sum += (bytes[i]! << 8) | (bytes[i + 1] ?? 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

const mac = (text: string) => Buffer.from(text.replaceAll(':', ''), 'hex');
const ipv4 = (text: string) => Buffer.from(text.split('.').map(Number));

export interface UdpFrame {
  srcMac: string;
  dstMac: string;
  srcIp: string;
  dstIp: string;
  srcPort: number;
  dstPort: number;
  payload: Uint8Array;
}

export function udp4Frame(f: UdpFrame): Buffer {
  const udpLength = 8 + f.payload.length;
  const udp = Buffer.alloc(udpLength);
  udp.writeUInt16BE(f.srcPort, 0);
  udp.writeUInt16BE(f.dstPort, 2);
  udp.writeUInt16BE(udpLength, 4);
  udp.set(f.payload, 8);
  const pseudo = Buffer.concat([ipv4(f.srcIp), ipv4(f.dstIp), Buffer.from([0, 17, udpLength >> 8, udpLength & 0xff])]);
  udp.writeUInt16BE(checksum(Buffer.concat([pseudo, udp])) || 0xffff, 6);

  const ip = Buffer.alloc(20);
  ip[0] = 0x45;
  ip.writeUInt16BE(20 + udpLength, 2);
  ip.writeUInt16BE(0x4000, 6); // DF
  ip[8] = 64;
  ip[9] = 17;
  ip.set(ipv4(f.srcIp), 12);
  ip.set(ipv4(f.dstIp), 16);
  ip.writeUInt16BE(checksum(ip), 10);
  return Buffer.concat([mac(f.dstMac), mac(f.srcMac), Buffer.from([0x08, 0x00]), ip, udp]);
}
