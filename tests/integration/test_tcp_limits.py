# SPDX-License-Identifier: GPL-3.0-or-later
"""DNS over TCP facing the internet (RFC 7766 section 6.2.2): the limits
that keep one client from taking the server.  A full table refuses the
newcomer and keeps the live clients; one address cannot take the table
from the others; a client that never sends a query (slowloris) goes at
the first-query deadline; one that never reads its answers is dropped;
the counters show it all in /metrics."""

import re
import socket
import struct
import time

from conftest import make_query, tcp_connect, tcp_read_msg, wait_until
from http_helpers import HttpVaned, get

QNAME = "www.example.com"


def _start(tmp_path, max_clients=100, idle="10s", **server):
    extra = "\n".join("  %s: %s" % kv for kv in server.items())
    return HttpVaned(tmp_path / "vaned", extra_server=extra,
                     tcp_max_clients=max_clients, tcp_idle_timeout=idle)


def _ask(sock, qid=None, timeout=3.0):
    """One query on an open connection; the response wire or None."""
    wire = make_query(QNAME, qid=qid).to_wire()
    sock.sendall(struct.pack("!H", len(wire)) + wire)
    try:
        return tcp_read_msg(sock, time.monotonic() + timeout)
    except (socket.timeout, ConnectionResetError):
        return None


def _connect_from(port, src):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind((src, 0))
    s.settimeout(5)
    s.connect(("127.0.0.1", port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def _closed_by_server(sock, timeout):
    """True when the server closes `sock` within `timeout` seconds."""
    sock.settimeout(timeout)
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False


def _metric(v, name, label):
    st, text, _ = get(v, "/metrics")
    assert st == 200
    m = re.search(r"^%s\{%s\} (\d+)$" % (re.escape(name), re.escape(label)), text, re.M)
    return int(m.group(1)) if m else None


def test_full_table_refuses_newcomers_keeps_live_clients(tmp_path):
    v = _start(tmp_path, max_clients=5, **{"tcp-max-per-address": 100})
    socks = []
    try:
        for i in range(5):
            s = tcp_connect(v.port)
            socks.append(s)
            assert _ask(s) is not None
        extra = tcp_connect(v.port)
        assert _closed_by_server(extra, 3.0), "a newcomer was kept over the limit"
        extra.close()
        # The live clients were not closed to make room.
        for s in socks:
            assert _ask(s) is not None, "a live client was closed"
        assert _metric(v, "vane_tcp_connections_total", 'result="refused_full"') >= 1
    finally:
        for s in socks:
            s.close()


def test_one_address_cannot_take_the_table(tmp_path):
    """127.0.0.1 holds as many connections as it can open; 20 clients from
    20 other loopback addresses are all answered."""
    v = _start(tmp_path, max_clients=60, **{"tcp-max-per-address": 10})
    hog = []
    try:
        for _ in range(100):
            hog.append(_connect_from(v.port, "127.0.0.1"))
        wait_until(lambda: _metric(v, "vane_tcp_connections_total",
                                   'result="refused_per_address"') == 90,
                   "90 of 100 refused")
        answered = 0
        for i in range(20):
            s = _connect_from(v.port, "127.0.0.%d" % (i + 2))
            try:
                r = _ask(s)
                answered += r is not None
            finally:
                s.close()
        assert answered == 20
    finally:
        for s in hog:
            s.close()


def test_slowloris_dropped_at_first_query_deadline(tmp_path):
    v = _start(tmp_path, idle="10s", **{"tcp-first-query-timeout": "1s"})
    slow = tcp_connect(v.port)
    fast = tcp_connect(v.port)
    try:
        t0 = time.monotonic()
        slow.sendall(b"\x00")          # half a length field, then nothing
        assert _ask(fast) is not None
        assert _closed_by_server(slow, 5.0)
        took = time.monotonic() - t0
        assert 0.8 <= took < 2.0, "slowloris closed after %.2f s" % took
        # A client that queried is under the idle timeout now (10 s).
        time.sleep(0.5)
        assert _ask(fast) is not None
        assert _metric(v, "vane_tcp_closed_total", 'reason="first_query_timeout"') == 1
    finally:
        slow.close()
        fast.close()


def test_client_that_does_not_read_is_dropped(tmp_path):
    v = _start(tmp_path)
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.connect(("127.0.0.1", v.port))
    wire = make_query(QNAME, qid=1).to_wire()
    frame = struct.pack("!H", len(wire)) + wire
    burst = frame * 1000
    dropped = False
    deadline = time.monotonic() + 20
    s.settimeout(0.5)
    try:
        while time.monotonic() < deadline and not dropped:
            try:
                s.send(burst)
            except socket.timeout:
                pass
            except (BrokenPipeError, ConnectionResetError):
                dropped = True
            if not dropped:
                dropped = (_metric(v, "vane_tcp_closed_total",
                                   'reason="output_limit"') or 0) > 0
        assert dropped, "a client that never reads was kept"
        wait_until(lambda: _metric(v, "vane_tcp_closed_total",
                                   'reason="output_limit"'), "output_limit counted")
        # Others are served still, and the buffers were given back.
        assert _ask(tcp_connect(v.port)) is not None
        st, text, _ = get(v, "/metrics")
        m = re.search(r"^vane_tcp_buffer_bytes (\d+)$", text, re.M)
        assert m and int(m.group(1)) < 64 * 1024
    finally:
        s.close()


def test_tcp_flood_does_not_slow_control(tmp_path):
    """DNS over TCP runs on its own thread: while clients pipeline queries
    as fast as they can and hundreds of connections sit open, the control
    socket and the HTTP API answer promptly."""
    import threading
    v = _start(tmp_path, max_clients=1000, **{"tcp-max-per-address": 1000})
    stop = threading.Event()
    wire = make_query(QNAME, qid=7).to_wire()
    frame = (struct.pack("!H", len(wire)) + wire) * 200

    def hammer():
        s = tcp_connect(v.port)
        s.settimeout(2)
        try:
            while not stop.is_set():
                s.sendall(frame)
                got = 0
                while got < 200 * 40 and not stop.is_set():
                    d = s.recv(65536)
                    if not d:
                        return
                    got += len(d)
        except OSError:
            pass
        finally:
            s.close()

    idle = [_connect_from(v.port, "127.0.1.%d" % (i % 250 + 1)) for i in range(300)]
    threads = [threading.Thread(target=hammer, daemon=True) for _ in range(4)]
    for t in threads:
        t.start()
    try:
        worst = 0.0
        for _ in range(10):
            t0 = time.monotonic()
            p = v.ctl("status")
            assert p.returncode == 0, p.stderr
            st, _, _ = get(v, "/api/v1/status")
            assert st == 200
            worst = max(worst, time.monotonic() - t0)
            time.sleep(0.1)
        assert worst < 1.0, "control took %.2f s under a TCP flood" % worst
    finally:
        stop.set()
        for t in threads:
            t.join(5)
        for s in idle:
            s.close()


def test_buffer_limit_caps_all_connections(tmp_path):
    """Each client announces a 65535-byte query and sends a little of it:
    the buffers they make the server hold stay under tcp-buffer-limit
    (1 MiB here), the connections that would pass it are closed, and a
    normal client is still answered."""
    v = _start(tmp_path, **{"tcp-buffer-limit": 1048576})
    socks = []
    try:
        for _ in range(30):
            s = tcp_connect(v.port)
            s.sendall(b"\xff\xff" + b"\x00" * 100)
            socks.append(s)
        wait_until(lambda: (_metric(v, "vane_tcp_closed_total",
                                    'reason="buffer_limit"') or 0) > 0,
                   "connections over the buffer limit closed")
        st, text, _ = get(v, "/metrics")
        held = int(re.search(r"^vane_tcp_buffer_bytes (\d+)$", text, re.M).group(1))
        assert 10 * 65536 < held <= 1048576, held
        assert _ask(tcp_connect(v.port)) is not None
    finally:
        for s in socks:
            s.close()
