#!/usr/bin/env python3
"""Raw frames and plain sockets in a namespace, for the attack tests (test/netns/attacks-*.test.ts,
through test/netns/attack-world.ts). Driven by JSON lines on stdin ({"cmd", "id", ...}), answering
one JSON line each on stdout ({"event": cmd, "id", ...}); the first line is {"event": "ready"}.
  send      {ifname, frames: [hex]}        sends each frame as it is (AF_PACKET: no checksum or
                                           length is touched), in order
  sniff     {name, ifname}                 from now on keeps every frame arriving on ifname
  frames    {name}                         the frames kept so far, hex, in arrival order
  listen    {name, address, port}          a UDP socket; keeps every datagram it receives
  datagrams {name}                         those datagrams, hex, in arrival order
Frames and datagrams are kept by threads; answers are written by the main thread only."""
import json
import socket
import sys
import threading

ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4

lock = threading.Lock()
kept = {}  # name -> list of hex strings


def keep(name, data):
    with lock:
        kept[name].append(data.hex())


def sniff(name, sock):
    while True:
        data, address = sock.recvfrom(65536)
        # What this namespace sends itself is not what arrived.
        if address[2] != PACKET_OUTGOING:
            keep(name, data)


def receive(name, sock):
    while True:
        data, _ = sock.recvfrom(65536)
        keep(name, data)


def start(name, target, sock):
    with lock:
        kept[name] = []
    threading.Thread(target=target, args=(name, sock), daemon=True).start()


def handle(cmd):
    op = cmd["cmd"]
    if op == "send":
        sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
        sock.bind((cmd["ifname"], 0))
        for frame in cmd["frames"]:
            sock.send(bytes.fromhex(frame))
        sock.close()
        return {"sent": len(cmd["frames"])}
    if op == "sniff":
        sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        # Bound before the answer: every frame after it is kept.
        sock.bind((cmd["ifname"], ETH_P_ALL))
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
        start(cmd["name"], sniff, sock)
        return {}
    if op == "listen":
        family = socket.AF_INET6 if ":" in cmd["address"] else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_DGRAM)
        sock.bind((cmd["address"], cmd["port"]))
        start(cmd["name"], receive, sock)
        return {}
    if op in ("frames", "datagrams"):
        with lock:
            return {op: list(kept[cmd["name"]])}
    raise ValueError(f"unknown command {op!r}")


def main():
    print(json.dumps({"event": "ready"}), flush=True)
    for line in sys.stdin:
        cmd = json.loads(line)
        try:
            answer = {"event": cmd["cmd"], "id": cmd["id"], **handle(cmd)}
        except Exception as error:  # the test shows it; the agent keeps serving
            answer = {"event": "error", "id": cmd.get("id"), "message": f"{type(error).__name__}: {error}"}
        print(json.dumps(answer), flush=True)


if __name__ == "__main__":
    main()
