#!/usr/bin/env python3
"""A stand-in load balancer for test/netns/lb-second-chance.test.ts: every IPv4 packet for the
service address that arrives on IFNAME is wrapped in GUE variant 0 with GLB director's hop list
(src/lb/hop-list.ts: the primary in the outer destination, the alternates in the list, next hop
index 0) and sent back out IFNAME to the primary. The kernel of its namespace must drop those
packets itself (a blackhole route with forwarding on: silently, no ICMP).
  glb-balancer.py IFNAME SERVICE OWN_IP OWN_MAC
Commands as JSON lines on stdin, one JSON answer line each; the first line is {"event": "ready"}:
  hops {id, hops: [{ip, mac}]}   the list from now on, primary first ([] stops forwarding)"""
import json
import socket
import struct
import sys
import threading

ETH_P_IP = 0x0800
PACKET_HOST = 0
GLB_GUE_PORT = 19523

ifname, service, own_ip, own_mac = sys.argv[1:5]
service_bytes = socket.inet_aton(service)
lock = threading.Lock()
current = []
wrapped = 0


def mac(text):
    return bytes.fromhex(text.replace(":", ""))


def checksum(data):
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total > 0xFFFF:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def wrap(packet, hops):
    primary, alternates = hops[0], hops[1:]
    gue = bytes([1 + len(alternates), 4, 0, 0, 0, 0, 0, len(alternates)])
    gue += b"".join(socket.inet_aton(h["ip"]) for h in alternates)
    payload = gue + packet
    # The flow's ports pick the source port, as a real balancer's hash would: one flow, one path.
    sport = 49152 + (struct.unpack("!H", packet[20:22])[0] % 16384)
    udp = struct.pack("!HHHH", sport, GLB_GUE_PORT, 8 + len(payload), 0) + payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0x4000, 64, 17, 0,
                     socket.inet_aton(own_ip), socket.inet_aton(primary["ip"]))
    ip = ip[:10] + struct.pack("!H", checksum(ip)) + ip[12:]
    return mac(primary["mac"]) + mac(own_mac) + struct.pack("!H", ETH_P_IP) + ip + udp


def relay(sock):
    global wrapped
    while True:
        data, address = sock.recvfrom(65536)
        packet = data[14:]
        if address[2] != PACKET_HOST or len(packet) < 24 or packet[0] != 0x45:
            continue
        if packet[16:20] != service_bytes:
            continue
        packet = packet[:struct.unpack("!H", packet[2:4])[0]]
        with lock:
            hops = list(current)
        if hops:
            sock.send(wrap(packet, hops))
            wrapped += 1


def main():
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_IP))
    sock.bind((ifname, ETH_P_IP))
    threading.Thread(target=relay, args=(sock,), daemon=True).start()
    print(json.dumps({"event": "ready"}), flush=True)
    for line in sys.stdin:
        cmd = json.loads(line)
        try:
            if cmd["cmd"] != "hops":
                raise ValueError(f"unknown command {cmd['cmd']!r}")
            with lock:
                current[:] = cmd["hops"]
            answer = {"event": "hops", "id": cmd["id"], "wrapped": wrapped}
        except Exception as e:  # the test reads the message
            answer = {"event": "error", "id": cmd.get("id"), "message": str(e)}
        print(json.dumps(answer), flush=True)


main()
