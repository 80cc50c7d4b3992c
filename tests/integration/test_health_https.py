# SPDX-License-Identifier: GPL-3.0-or-later
"""https probes (libcurl on the probe thread): a TLS server with a
self-signed certificate and `insecure: true` keeps its endpoint up, reusing
one connection; when it answers 500 the endpoint goes down, and back up
when it answers 200 again."""

import json
import shutil
import ssl
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from steer_helpers import (endpoint, free_port_on, health_rows, norm_svc,
                           row_state, service, wait_until)
from steer_helpers import steer_factory  # noqa: F401


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"   # keep-alive

    def setup(self):
        super().setup()
        self.server.conns += 1

    def do_GET(self):
        self.server.hits += 1
        body = b"ok"
        self.send_response(self.server.status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, fmt, *args):
        pass


def test_https_probe(steer_factory, tmp_path):
    if shutil.which("openssl") is None:
        pytest.skip("no openssl to make a certificate")
    key, crt = tmp_path / "k.pem", tmp_path / "c.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                    "-keyout", str(key), "-out", str(crt), "-days", "1",
                    "-subj", "/CN=health.example"], check=True, capture_output=True)
    port = free_port_on(["127.0.0.51"])
    srv = HTTPServer(("127.0.0.51", port), _Handler)
    srv.conns, srv.hits, srv.status = 0, 0, 200
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(str(crt), str(key))
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05},
                     daemon=True).start()
    try:
        v = steer_factory({
            "checks": [{"id": "tls", "type": "https", "port": port, "path": "/h",
                        "insecure": True, "interval": "500ms", "timeout": "450ms",
                        "rise": 1, "fall": 1}],
            "services": [service("tls.example.com", [
                endpoint("a", "192.0.2.151", check="tls", check_address="127.0.0.51"),
                endpoint("b", "192.0.2.152")],
                ttl=30, policy=["health"], answers=2, recovery="instant")],
        })

        def state():
            r = v.ctl("health", json_out=True)
            for row in health_rows(json.loads(r.stdout)):
                if norm_svc(row["service"]) == "tls.example.com" and \
                        row.get("endpoint", row.get("id")) == "a":
                    return row_state(row), row.get("probes", 0)
            return None, 0
        wait_until(lambda: srv.hits >= 4 and state()[0] == "up", "4 https probes, a up", 20)
        assert srv.conns <= 2, (srv.conns, srv.hits)
        srv.status = 500
        wait_until(lambda: state()[0] == "down", "a down on 500", 10)
        srv.status = 200
        wait_until(lambda: state()[0] == "up", "a up again", 10)
        v.stop_and_check()
    finally:
        srv.shutdown()
        srv.server_close()
