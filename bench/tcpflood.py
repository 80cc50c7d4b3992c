#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""TCP resource exhaustion, side by side (issue "Face the internet"):
vaned, knotd and nsd with their default TCP settings, one at a time.

1. Hog: 127.0.0.1 opens HOG connections (default 2000) and keeps them
   open, sending nothing; then 20 real clients, each from its own
   loopback address (127.0.0.2 .. 127.0.0.21), open a connection and ask
   one query with a 3 s deadline.  Reported: clients answered of 20, and
   connections of the hog the server kept.
2. Slowloris: one client connects and sends one byte of a length field,
   then nothing.  Reported: seconds until the server closes it (cap 30 s).

Usage: VANED=build/vaned bench/tcpflood.py  (TCPFLOOD_HOG, TCPFLOOD_SERVERS)
"""

import os
import resource
import socket
import struct
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests" / "integration"))
os.environ.setdefault("VANED", str(HERE.parent / "build" / "vaned"))

import conftest  # noqa: E402
import dns.message  # noqa: E402

HOG = int(os.environ.get("TCPFLOOD_HOG", "2000"))
SERVERS = os.environ.get("TCPFLOOD_SERVERS", "vaned knotd nsd").split()


def start(name, d):
    if name == "vaned":
        # The defaults of the new keys; tcp-max-clients at its default.
        return conftest.Vaned(d, tcp_max_clients=1000, tcp_idle_timeout="10s")
    cls = conftest.Knotd if name == "knotd" else conftest.Nsd
    s = cls(d, start=False)
    # The suite shortens idle timeouts; here each server keeps its default.
    text = s.conf_path.read_text()
    text = text.replace("  tcp-idle-timeout: 2\n", "").replace("  tcp-timeout: 2\n", "")
    s.conf_path.write_text(text)
    if name == "knotd":
        s._spawn([conftest.KNOTD, "-c", str(s.conf_path)])
    else:
        s._spawn([conftest.NSD, "-d", "-c", str(s.conf_path)])
    return s


def query_from(port, src, timeout=3.0):
    wire = dns.message.make_query("www.example.com", "A").to_wire()
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind((src, 0))
        s.settimeout(timeout)
        s.connect(("127.0.0.1", port))
        s.sendall(struct.pack("!H", len(wire)) + wire)
        return conftest.tcp_read_msg(s, time.monotonic() + timeout) is not None
    except OSError:
        return False
    finally:
        s.close()


def kept(socks):
    """Connections the server has not closed (non-blocking peek)."""
    n = 0
    for s in socks:
        s.setblocking(False)
        try:
            n += s.recv(1, socket.MSG_PEEK) != b""
        except BlockingIOError:
            n += 1
        except OSError:
            pass
    return n


def run(name):
    d = Path(tempfile.mkdtemp(prefix="vane-tcpflood-%s." % name))
    srv = start(name, d)
    hog = []
    try:
        for _ in range(HOG):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.settimeout(1)
            try:
                s.connect(("127.0.0.1", srv.port))
            except OSError:
                s.close()
                continue
            hog.append(s)
        time.sleep(0.5)
        t0 = time.monotonic()
        answered = sum(query_from(srv.port, "127.0.0.%d" % (i + 2)) for i in range(20))
        took = time.monotonic() - t0
        held = kept(hog)
        for s in hog:
            s.close()
        hog = []
        time.sleep(0.5)
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.connect(("127.0.0.1", srv.port))
        s.sendall(b"\x00")
        t0 = time.monotonic()
        s.settimeout(30)
        try:
            s.recv(1)
        except OSError:
            pass
        slow = time.monotonic() - t0
        s.close()
        return answered, took, held, slow
    finally:
        for s in hog:
            s.close()
        srv.stop()


def main():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, HOG + 1000)), hard))
    print("| server | real clients answered | time for the 20 | hog connections kept "
          "(of %d) | slowloris closed after |" % HOG)
    print("| --- | --- | --- | --- | --- |")
    for name in SERVERS:
        a, took, held, slow = run(name)
        print("| %s | %d of 20 | %.2f s | %d | %s |" % (
            name, a, took, held, "%.1f s" % slow if slow < 29.9 else "not in 30 s"))
        sys.stdout.flush()


if __name__ == "__main__":
    main()
