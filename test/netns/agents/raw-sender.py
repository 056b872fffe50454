#!/usr/bin/env python3
"""Sends numbered UDP/IPv4 frames on an interface through an AF_PACKET socket, exactly as built
here (so the receiver can compare bytes), with a window: it waits for the receiver's count on
stdin (one integer a line) before running more than WINDOW frames ahead. Writes every frame it
sent to OUT as u16 length + bytes. Used by test/netns/xsk-port.test.ts."""
import socket
import struct
import sys


def checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def frame(seq: int, dst_mac: bytes, src_mac: bytes, src_ip: bytes, dst_ip: bytes, dport: int) -> bytes:
    # Payload: the sequence number, then bytes that depend on it, and a length that varies so
    # that truncation or reuse of a frame would show.
    payload = struct.pack("!I", seq) + bytes((seq * 7 + i) & 0xFF for i in range(18 + seq % 64))
    udp_len = 8 + len(payload)
    pseudo = src_ip + dst_ip + struct.pack("!BBH", 0, 17, udp_len)
    udp = struct.pack("!HHHH", 40000 + seq % 1000, dport, udp_len, 0) + payload
    csum = checksum(pseudo + udp) or 0xFFFF
    udp = udp[:6] + struct.pack("!H", csum) + udp[8:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + udp_len, seq & 0xFFFF, 0x4000, 64, 17, 0, src_ip, dst_ip)
    ip = ip[:10] + struct.pack("!H", checksum(ip)) + ip[12:]
    return dst_mac + src_mac + b"\x08\x00" + ip + udp


def main() -> None:
    ifname, dst_mac, src_mac, src_ip, dst_ip, dport, count, window, out = sys.argv[1:10]
    dst_mac_b = bytes.fromhex(dst_mac.replace(":", ""))
    src_mac_b = bytes.fromhex(src_mac.replace(":", ""))
    src_ip_b, dst_ip_b = socket.inet_aton(src_ip), socket.inet_aton(dst_ip)
    count, window, dport = int(count), int(window), int(dport)
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    sock.bind((ifname, 0))
    acked = 0
    with open(out, "wb") as f:
        for seq in range(count):
            while seq - acked >= window:
                line = sys.stdin.readline()
                if not line:
                    sys.exit(f"receiver went away after {acked} of {count} frames")
                acked = max(acked, int(line))
            data = frame(seq, dst_mac_b, src_mac_b, src_ip_b, dst_ip_b, dport)
            sock.send(data)
            f.write(struct.pack("<H", len(data)) + data)
    print(f"sent {count}", flush=True)


if __name__ == "__main__":
    main()
