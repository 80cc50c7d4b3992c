#!/usr/bin/python3
"""Small helpers for the bench scripts (stdlib only).

  dnsq.py port                      print a loopback port free for UDP and TCP
  dnsq.py wait PORT [SECONDS]       wait until a server on 127.0.0.1:PORT answers
                                    a query (any reply with our ID counts, so the
                                    echoing null server qualifies); exit 1 on timeout
  dnsq.py send PORT FILE N          send N queries from a dnsperf query file one
                                    at a time, waiting for each reply (so the server
                                    sees exactly N packets); prints replies received
"""
import socket
import struct
import sys
import time

TYPES = {"A": 1, "NS": 2, "CNAME": 5, "SOA": 6, "MX": 15, "TXT": 16,
         "AAAA": 28, "SRV": 33, "ANY": 255}


def free_port():
    for _ in range(100):
        t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        t.bind(("127.0.0.1", 0))
        port = t.getsockname()[1]
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            u.bind(("127.0.0.1", port))
        except OSError:
            continue
        finally:
            u.close()
            t.close()
        return port
    raise SystemExit("no free port")


def query(qid, name, qtype):
    wire = b"".join(bytes([len(label)]) + label.encode()
                    for label in name.rstrip(".").split(".") if label) + b"\0"
    return struct.pack("!HHHHHH", qid, 0, 1, 0, 0, 0) + wire + \
        struct.pack("!HH", TYPES[qtype.upper()], 1)


def exchange(sock, port, pkt, timeout):
    sock.settimeout(timeout)
    sock.sendto(pkt, ("127.0.0.1", port))
    deadline = time.monotonic() + timeout
    while True:
        data = sock.recv(65535)
        if data[:2] == pkt[:2]:
            return data
        if time.monotonic() > deadline:
            raise socket.timeout()


def wait(port, seconds):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    deadline = time.monotonic() + seconds
    qid = 1
    while time.monotonic() < deadline:
        try:
            exchange(s, port, query(qid, "bench.example.", "SOA"), 0.5)
            return 0
        except (socket.timeout, ConnectionRefusedError):
            qid += 1
            time.sleep(0.1)
    return 1


def send(port, path, n):
    qs = [line.split() for line in open(path) if line.strip()]
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    got = 0
    for i in range(n):
        name, qtype = qs[i % len(qs)]
        try:
            exchange(s, port, query(i & 0xffff, name, qtype), 5)
            got += 1
        except socket.timeout:
            pass
    print(got)
    return 0 if got == n else 1


def main():
    cmd = sys.argv[1]
    if cmd == "port":
        print(free_port())
        return 0
    if cmd == "wait":
        return wait(int(sys.argv[2]), float(sys.argv[3]) if len(sys.argv) > 3 else 30)
    if cmd == "send":
        return send(int(sys.argv[2]), sys.argv[3], int(sys.argv[4]))
    raise SystemExit(__doc__)


if __name__ == "__main__":
    sys.exit(main())
