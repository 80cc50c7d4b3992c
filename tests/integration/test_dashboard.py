# SPDX-License-Identifier: GPL-3.0-or-later
"""The web dashboard in a real browser (issue 4, "Web dashboard").

Starts vaned with steered services, the HTTP API and real HTTP health
servers, then runs tests/browser/dashboard.test.mjs (headless Debian
chromium driven by playwright-core) against it.  The browser test kills a
health server through a small control hook served here (GET /kill?ep=SVC/EP
stops that endpoint's health server), watches the row turn red, drains an
endpoint through the UI, and checks the DNS answers change with its own raw
DNS queries.  Its screenshot is tests/browser/out/dashboard.png.
"""

import json
import os
import shutil
import subprocess
import threading
import urllib.error
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest

from conftest import REPO, free_port
from steer_helpers import (endpoint, free_port_on, health_servers, service,
                           steer_factory, wait_until)

BROWSER_DIR = REPO / "tests" / "browser"
NODE = shutil.which("node") or "/usr/bin/node"
CHROMIUM = "/usr/bin/chromium"
TOKEN = "dash-test-token-5f1c2a"
SERVICE = "www.example.com"
OTHER = "api.example.com"

# The service under test: weighted, one address per answer, each endpoint
# probed on its own loopback address.  Weights 50/30/20 make a sample of
# 60+ queries see every healthy endpoint (miss chance below 1e-5).
EPS = [("a", "192.0.2.51", "127.0.0.1", 50),
       ("b", "192.0.2.52", "127.0.0.2", 30),
       ("c", "192.0.2.53", "127.0.0.3", 20)]

pytestmark = pytest.mark.skipif(
    not (os.path.exists(CHROMIUM) and os.path.exists(NODE) and
         (BROWSER_DIR / "node_modules" / "playwright-core").is_dir()),
    reason="needs chromium, node and tests/browser/node_modules "
           "(run scripts/deps.sh)")


class _Control(BaseHTTPRequestHandler):
    """GET /kill?ep=SVC/EP: stop that endpoint's health server."""

    def do_GET(self):
        url = urllib.parse.urlparse(self.path)
        ep = urllib.parse.parse_qs(url.query).get("ep", [""])[0]
        hs = self.server.targets.get(ep)
        if url.path != "/kill" or hs is None:
            code, body = 404, b"unknown\n"
        else:
            hs.stop()
            self.server.killed.append(ep)
            code, body = 200, b"killed\n"
        self.send_response(code)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, fmt, *args):
        pass


def http_get(url, timeout=2.0):
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()
    except OSError:
        return None, b""


def test_dashboard_in_browser(steer_factory, health_servers):
    port = free_port_on([ip for _, _, ip, _ in EPS])
    hs = {ep: health_servers(ip, port) for ep, _, ip, _ in EPS}
    http_port = free_port()
    steer = {
        "http": {"listen": "127.0.0.1@%d" % http_port, "token-file": "api.token"},
        "checks": [{"id": "web", "type": "http", "port": port, "path": "/health",
                    "expect": 200, "interval": "1s", "timeout": "1s",
                    "rise": 2, "fall": 2}],
        "services": [
            service(SERVICE, [endpoint(ep, addr, weight=w, check="web",
                                       check_address=ip)
                              for ep, addr, ip, w in EPS],
                    ttl=30, policy=["health", "weighted"], answers=1),
            # Unchecked, so always up: a second card with its own shares.
            service(OTHER, [endpoint("east", "198.51.100.1", weight=70),
                            endpoint("west", "198.51.100.2", weight=30)],
                    ttl=30, policy=["weighted"], answers=1),
        ],
    }
    v = steer_factory(steer, start=False)
    (v.dir / "api.token").write_text(TOKEN + "\n")
    v.start()
    base = "http://127.0.0.1:%d" % http_port
    wait_until(lambda: http_get(base + "/api/v1/status")[0] == 200,
               "the HTTP API", timeout=30, step=0.05)
    status, page = http_get(base + "/")
    assert status == 200 and b"<html" in page.lower(), (status, page[:200])

    control = HTTPServer(("127.0.0.1", 0), _Control)
    control.targets = {"%s/%s" % (SERVICE, ep): h for ep, h in hs.items()}
    control.killed = []
    t = threading.Thread(target=control.serve_forever,
                         kwargs={"poll_interval": 0.05}, daemon=True)
    t.start()
    out_dir = BROWSER_DIR / "out"
    out_dir.mkdir(exist_ok=True)
    shot = out_dir / "dashboard.png"
    if shot.exists():
        shot.unlink()
    env = dict(os.environ,
               VANE_URL=base + "/",
               VANE_TOKEN=TOKEN,
               VANE_CONTROL="http://127.0.0.1:%d" % control.server_address[1],
               VANE_DNS_PORT=str(v.port),
               VANE_SERVICE=SERVICE,
               VANE_OTHER=OTHER,
               VANE_ENDPOINTS=",".join("%s=%s" % (ep, addr)
                                       for ep, addr, _, _ in EPS))
    try:
        p = subprocess.run([NODE, str(BROWSER_DIR / "dashboard.test.mjs")],
                           cwd=str(BROWSER_DIR), env=env, capture_output=True,
                           text=True, timeout=240)
    finally:
        control.shutdown()
        control.server_close()
    out = p.stdout + p.stderr
    print(out)
    assert p.returncode == 0 and "RESULT ok" in p.stdout, \
        "browser test failed (rc %d); see %s/failure.png:\n%s" % (
            p.returncode, out_dir, out[-8000:])
    assert control.killed == ["%s/c" % SERVICE], control.killed
    assert shot.is_file() and shot.stat().st_size > 10000, shot

    # What the browser did is what the server has: b back in, a at weight 40.
    _, body = http_get(base + "/api/v1/services")
    rows = {(s["name"].rstrip("."), e["endpoint"]): e
            for s in json.loads(body)["services"] for e in s["endpoints"]}
    assert rows[(SERVICE, "a")]["weight"] == 40, rows[(SERVICE, "a")]
    assert rows[(SERVICE, "b")]["drained"] is False, rows[(SERVICE, "b")]
    assert rows[(SERVICE, "c")]["state"] == "down", rows[(SERVICE, "c")]
