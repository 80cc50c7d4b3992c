# SPDX-License-Identifier: GPL-3.0-or-later
"""Clients that pipeline queries over TCP and never read their answers
(issue 11: 1,000 of them cost +290 MiB of RSS before): their answers wait
in the kernel's bounded send buffer, reads from them pause, and they are
dropped once the kernel refuses more, so memory stays within 64 MiB of
idle.  The non-readers fill the table exactly (tcp-max-clients 400), and a
newcomer is still answered within a second: a full table closes a client
whose answers have been refused past the first-query deadline to make room
(it used to wait 6-11 s, until the non-readers' idle timeout).  A short
version of bench/attack/attack.py noread: 400 clients, 4 per address.  RSS is
measured on the release build (ASan's shadow memory would swamp it)."""

import json
import os
import resource
import socket
import struct
import time

import pytest

from conftest import RELEASE_BUILD, Vaned, make_query, tcp_exchange

RELEASE_VANED = RELEASE_BUILD / "vaned"


def queries_answered(v):
    r = v.ctl("--json", "stats")
    return json.loads(r.stdout)["queries"] if r.returncode == 0 else None


def wait_quiet(v, window=0.6, limit=20.0):
    """Wait until vaned has worked through the queries already sent: no
    answer for `window` seconds.  Each non-reader is then stalled (its
    answers refused by the kernel) for that long at least."""
    end = time.monotonic() + limit
    last, since = queries_answered(v), time.monotonic()
    while time.monotonic() < end:
        time.sleep(0.1)
        now = queries_answered(v)
        if now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= window:
            return True
    return False


def rss_kib(pid):
    for line in open("/proc/%d/status" % pid):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


@pytest.mark.skipif(not os.access(RELEASE_VANED, os.X_OK), reason="no release build of vaned")
def test_non_readers_cost_bounded_memory(tmp_path):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard < 2000:
        pytest.skip("needs 2000 file descriptors")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, 2000), hard))
    v = Vaned(tmp_path / "vaned", tcp_max_clients=400, tcp_idle_timeout="10s", start=False)
    v._spawn([str(RELEASE_VANED), "-c", str(v.conf_path)])
    socks = []
    try:
        idle = rss_kib(v.proc.pid)
        wire = make_query("www.example.com").to_wire()
        frame = (struct.pack("!H", len(wire)) + wire) * 500
        for i in range(400):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            s.bind(("127.0.5.%d" % (2 + i // 4), 0))
            s.settimeout(2)
            s.connect(("127.0.0.1", v.port))
            s.setblocking(False)
            socks.append(s)
        end = time.monotonic() + 3
        while time.monotonic() < end:
            for s in socks:
                try:
                    s.send(frame)
                except OSError:
                    pass
            time.sleep(0.1)
        grown = rss_kib(v.proc.pid) - idle
        assert grown < 64 * 1024, "RSS grew %d KiB with 400 non-readers" % grown
        assert wait_quiet(v), "vaned still answering the non-readers after 20 s"
        # Some non-readers were dropped (a batch of answers the kernel
        # refused whole is over the output limit); fill their slots with
        # clients that read and stay, so that the table is full.
        status = json.loads(v.ctl("--json", "status").stdout)
        held = status["tcp_clients"]
        assert held > 0, "no non-reader is left holding its connection"
        for i in range(400 - held):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.6.%d" % (2 + i // 4), 0))
            s.settimeout(3)
            s.connect(("127.0.0.1", v.port))
            s.sendall(struct.pack("!H", len(wire)) + wire)
            assert s.recv(2), "a reader got no answer"
            socks.append(s)
        status = json.loads(v.ctl("--json", "status").stdout)
        assert status["tcp_clients"] == 400, "table not full: %s" % status["tcp_clients"]
        t0 = time.monotonic()
        r = tcp_exchange(v.port, wire, timeout=3.0)
        took = time.monotonic() - t0
        assert r is not None and r[:2] == wire[:2]
        assert took < 1.0, "a fresh client waited %.2f s beside 400 non-readers" % took
    finally:
        for s in socks:
            s.close()
        v.stop()
