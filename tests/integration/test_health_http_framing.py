# SPDX-License-Identifier: GPL-3.0-or-later
"""Plain http probes (vaned's own HTTP/1.1 client, src/health/http_plain.c)
read every way a response can be framed (RFC 9112 6.3): chunked with the
wanted text split across chunks, a body ended by closing the connection,
and a keep-alive server that silently closes each connection after
answering (the next probe must retry on a new connection, not fail).  A
chunked body without the wanted text still marks its endpoint down."""

import json
import socket
import threading

from steer_helpers import (endpoint, free_port_on, health_rows, norm_svc,
                           row_state, service, wait_until)
from steer_helpers import steer_factory  # noqa: F401


def _chunked(parts):
    out = b""
    for i, p in enumerate(parts):
        ext = b";x=1" if i == 1 else b""
        out += b"%x%s\r\n%s\r\n" % (len(p), ext, p)
    return out + b"0\r\n\r\n"


RESPONSES = {
    # keep-alive, chunked; "all-good" straddles the first two chunks
    "chunked": (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" +
                _chunked([b"status: all-", b"good\n", b"tail"]), False),
    # HTTP/1.0, no length: the body ends when the server closes
    "eof": (b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nstatus: all-good\n", True),
    # keep-alive by the headers, but the server drops each connection
    "drop": (b"HTTP/1.1 200 OK\r\nContent-Length: 17\r\n\r\nstatus: all-good\n", True),
    # chunked, without the wanted text
    "bad": (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" +
            _chunked([b"status: ", b"degraded\n"]), False),
}


class RawServer:
    def __init__(self, addr, port, mode):
        self.resp, self.close_after = RESPONSES[mode]
        self.hits = self.conns = 0
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((addr, port))
        self.sock.listen(64)
        self.stopped = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.stopped:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            self.conns += 1
            threading.Thread(target=self._serve, args=(c,), daemon=True).start()

    def _serve(self, c):
        buf = b""
        with c:
            while True:
                while b"\r\n\r\n" not in buf:
                    try:
                        d = c.recv(4096)
                    except OSError:
                        return
                    if not d:
                        return
                    buf += d
                buf = buf.split(b"\r\n\r\n", 1)[1]
                self.hits += 1
                try:
                    c.sendall(self.resp)
                except OSError:
                    return
                if self.close_after:
                    return

    def stop(self):
        self.stopped = True
        self.sock.close()


def test_http_framings(steer_factory):
    modes = ["chunked", "eof", "drop", "bad"]
    addrs = ["127.0.0.%d" % (41 + i) for i in range(len(modes))]
    port = free_port_on(addrs)
    servers = {m: RawServer(a, port, m) for m, a in zip(modes, addrs)}
    try:
        v = steer_factory({
            "checks": [{"id": "web", "type": "http", "port": port, "path": "/h",
                        "body": "all-good", "interval": "400ms", "timeout": "350ms",
                        "rise": 1, "fall": 1}],
            "services": [service("frame.example.com", [
                endpoint(m, "192.0.2.%d" % (141 + i), check="web", check_address=a)
                for i, (m, a) in enumerate(zip(modes, addrs))],
                ttl=30, policy=["health"], answers=4, recovery="instant")],
        })
        wait_until(lambda: all(s.hits >= 6 for s in servers.values()),
                   "6 probes of each server", 30)

        def states():
            r = v.ctl("health", json_out=True)
            return {r_["endpoint"] if "endpoint" in r_ else r_["id"]: row_state(r_)
                    for r_ in health_rows(json.loads(r.stdout))
                    if norm_svc(r_["service"]) == "frame.example.com"}
        wait_until(lambda: states()["bad"] == "down", "the bad body down", 10)
        st = states()
        assert st == {"chunked": "up", "eof": "up", "drop": "up", "bad": "down"}, st
        # Kept alive where the server allows it; a new connection per probe
        # where it does not.
        assert servers["chunked"].conns <= 2, (servers["chunked"].conns,
                                               servers["chunked"].hits)
        assert servers["drop"].conns >= servers["drop"].hits - 1
        v.stop_and_check()
    finally:
        for s in servers.values():
            s.stop()
