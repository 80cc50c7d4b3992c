# SPDX-License-Identifier: GPL-3.0-or-later
"""HTTP health probes reuse their connection: each target keeps its curl
handle between probes, so a keep-alive server sees one connection for many
probes.  Two endpoints with one Host name on different addresses are each
probed on their own address (connections are pinned by address, not
matched by host name)."""

import socketserver
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

from steer_helpers import endpoint, free_port_on, service, wait_until
from steer_helpers import steer_factory  # noqa: F401


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"   # keep-alive

    def setup(self):
        super().setup()
        self.server.conns += 1

    def do_GET(self):
        self.server.hits += 1
        self.server.hosts.add(self.headers.get("Host", ""))
        body = b"ok " + self.server.tag
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, fmt, *args):
        pass


class _Server(socketserver.ThreadingMixIn, HTTPServer):
    allow_reuse_address = True
    daemon_threads = True


def serve(addr, port, tag):
    s = _Server((addr, port), _Handler)
    s.conns, s.hits, s.hosts, s.tag = 0, 0, set(), tag
    threading.Thread(target=s.serve_forever, kwargs={"poll_interval": 0.05},
                     daemon=True).start()
    return s


def test_http_probes_reuse_connections(steer_factory):
    port = free_port_on(["127.0.0.1", "127.0.0.2"])
    servers = [serve("127.0.0.1", port, b"one"), serve("127.0.0.2", port, b"two")]
    try:
        # Each check wants its own server's body: a probe that reached the
        # other address would fail, and the endpoint would go down.
        checks = [{"id": "c%d" % i, "type": "http", "port": port, "path": "/h",
                   "host": "svc.example", "body": "ok " + tag,
                   "interval": "500ms", "timeout": "400ms", "rise": 1, "fall": 1}
                  for i, tag in ((1, "one"), (2, "two"))]
        v = steer_factory({
            "checks": checks,
            "services": [service("hc.example.com", [
                endpoint("a", "192.0.2.101", check="c1", check_address="127.0.0.1"),
                endpoint("b", "192.0.2.102", check="c2", check_address="127.0.0.2"),
            ], ttl=30, policy=["health"], answers=2, recovery="instant")],
        })
        wait_until(lambda: all(s.hits >= 6 for s in servers), "6 probes each", 20)
        for s in servers:
            assert s.hosts == {"svc.example:%d" % port}, s.hosts
            assert s.conns <= 2, "%d connections for %d probes" % (s.conns, s.hits)
        r = v.ctl("health", json_out=True)
        assert r.returncode == 0, r.stderr
        assert '"down"' not in r.stdout, r.stdout
        v.stop_and_check()
    finally:
        for s in servers:
            s.shutdown()
            s.server_close()
