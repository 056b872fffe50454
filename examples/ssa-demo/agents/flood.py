#!/usr/bin/env python3
"""The non-conforming flood of the structured-addressing demo (examples/ssa-demo): TCP SYNs from one
client source to destinations of a service prefix (the demo: the source-derived one's, filtered) that the rule does not give it
(a fresh random interface identifier each), through a raw IPv6 socket (the kernel writes the IPv6
header and, with IPV6_CHECKSUM, the TCP checksum). Used by scenario.ts.
argv: SOURCE PREFIX64 PORT COUNT; prints {"event":"sent","count":N} when done."""
import ipaddress
import json
import os
import socket
import struct
import sys

IPV6_CHECKSUM = 7  # linux/in6.h: the kernel computes the checksum at this offset of raw packets


def syn(sport: int, dport: int, seq: int) -> bytes:
    # TCP header without options: ports, sequence, ack 0, data offset 5, SYN, window, checksum 0, urgent 0.
    return struct.pack("!HHIIBBHHH", sport, dport, seq, 0, 5 << 4, 0x02, 65535, 0, 0)


def main() -> None:
    source, prefix, port, count = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    net = ipaddress.IPv6Network(prefix)
    sock = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_TCP)
    sock.setsockopt(socket.IPPROTO_IPV6, IPV6_CHECKSUM, 16)
    sock.bind((source, 0))
    for i in range(count):
        low = int.from_bytes(os.urandom(8), "big")
        dst = str(net.network_address + low)
        sock.sendto(syn(20000 + i % 40000, port, i), (dst, 0))
    print(json.dumps({"event": "sent", "count": count}), flush=True)


if __name__ == "__main__":
    main()
