#!/usr/bin/python3
"""Small helpers for the bench scripts (stdlib only).

  dnsq.py port                      print a loopback port free for UDP and TCP
  dnsq.py wait PORT [SECONDS]       wait until a server on 127.0.0.1:PORT answers
                                    a query (any reply with our ID counts, so the
                                    echoing null server qualifies); exit 1 on timeout
  dnsq.py ready PORT SECONDS        wait until bench.example. SOA gets a NOERROR
                                    answer (a server answering SERVFAIL while its
                                    zone loads is not ready); prints the seconds
  dnsq.py send PORT FILE N          send N queries from a dnsperf query file one
                                    at a time, waiting for each reply (so the server
                                    sees exactly N packets); prints replies received
  DNSQ_RD=1 dnsq.py send ...       ... with RD=1, as clients query a resolver
  dnsq.py send PORT FILE N A.B      ... each with an EDNS Client Subnet option
                                    (RFC 7871, family 1, /24) for A.B.X.0/24, X
                                    cycling 0..255 (a different /24 per query)
  DNSQ_COOKIE=client|server dnsq.py send PORT FILE N
                                    ... with a DNS cookie: the client cookie only,
                                    or with the server cookie of the first answer
                                    (not with ECS)
"""
import os
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


def query(qid, name, qtype, ecs=None, rd=False):
    """ecs: None, or 3 address bytes of a /24 (sent as an ECS option).
    rd: set RD, as stub clients do towards a resolver (resolvers send RD=0
    to authoritative servers, which is what vaned sees)."""
    wire = b"".join(bytes([len(label)]) + label.encode()
                    for label in name.rstrip(".").split(".") if label) + b"\0"
    q = struct.pack("!HHHHHH", qid, 0x0100 if rd else 0, 1, 0, 0, 1 if ecs else 0) + wire + \
        struct.pack("!HH", TYPES[qtype.upper()], 1)
    if ecs:
        opt = struct.pack("!HBB", 1, 24, 0) + ecs	# family, source, scope
        opt = struct.pack("!HH", 8, len(opt)) + opt
        q += b"\0" + struct.pack("!HHIH", 41, 1232, 0, len(opt)) + opt
    return q


def with_cookie(q, cookie):
    """q (no OPT yet) with an OPT record carrying a COOKIE option (RFC 7873)."""
    opt = struct.pack("!HH", 10, len(cookie)) + cookie
    q = q[:10] + struct.pack("!H", 1) + q[12:]
    return q + b"\0" + struct.pack("!HHIH", 41, 1232, 0, len(opt)) + opt


def server_cookie(r):
    """The 16-byte server cookie at the end of answer r (its OPT is last), or None."""
    tail = r[-28:]
    return tail[12:] if len(r) > 40 and tail[:4] == struct.pack("!HH", 10, 24) else None


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


def ready(port, seconds):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    t0 = time.monotonic()
    qid = 1
    while time.monotonic() < t0 + seconds:
        qid = (qid + 1) & 0xffff
        try:
            r = exchange(s, port, query(qid, "bench.example.", "SOA"), 0.2)
            if r[3] & 15 == 0 and struct.unpack("!H", r[6:8])[0] > 0:
                print("%.3f" % (time.monotonic() - t0))
                return 0
        except (socket.timeout, ConnectionRefusedError):
            pass
        time.sleep(0.01)
    return 1


def send(port, path, n, ecsnet=None):
    qs = [line.split() for line in open(path) if line.strip()]
    ab = bytes(int(x) for x in ecsnet.split(".")[:2]) if ecsnet else None
    rd = os.environ.get("DNSQ_RD") == "1"
    # DNSQ_COOKIE=client: every query has a client cookie (the server makes
    # a server cookie for each); =server: it also has the server cookie
    # learned from the first answer (the server checks and echoes it).
    mode = os.environ.get("DNSQ_COOKIE", "")
    cookie = bytes(range(1, 9)) if mode else None
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    got = 0
    for i in range(n):
        name, qtype = qs[i % len(qs)]
        try:
            ecs = ab + bytes([i & 255]) if ab else None
            q = query(i & 0xffff, name, qtype, ecs, rd)
            r = exchange(s, port, with_cookie(q, cookie) if cookie else q, 5)
            if mode == "server" and len(cookie) == 8:
                cookie += server_cookie(r) or b""
                if len(cookie) != 24:
                    raise SystemExit("no server cookie in the answer")
            # With ECS, only NOERROR counts: a FORMERR means a bad option.
            got += 1 if ecs is None or r[3] & 15 == 0 else 0
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
    if cmd == "ready":
        return ready(int(sys.argv[2]), float(sys.argv[3]))
    if cmd == "send":
        return send(int(sys.argv[2]), sys.argv[3], int(sys.argv[4]),
                    sys.argv[5] if len(sys.argv) > 5 else None)
    raise SystemExit(__doc__)


if __name__ == "__main__":
    sys.exit(main())
