# SPDX-License-Identifier: GPL-3.0-or-later
"""Helpers for the HTTP API and metrics tests (issue 4): a vaned with an
`http:` section and a token file, and a small urllib client."""

import json
import urllib.error
import urllib.request

import pytest

from conftest import finish_started, free_port
from steer_helpers import SteerVaned, endpoint, service

TOKEN = "s3cret-token-for-tests"


class HttpVaned(SteerVaned):
    """SteerVaned with `http: { listen, token-file }` on a free port."""

    def __init__(self, workdir, steer=None, token=TOKEN, **kw):
        from pathlib import Path
        d = Path(workdir)
        d.mkdir(parents=True, exist_ok=True)
        self.http_port = free_port()
        http = {"listen": "127.0.0.1@%d" % self.http_port}
        if token is not None:
            (d / "token").write_text(token + "\n")
            http["token-file"] = "token"
        steer = dict(steer or {})
        steer["http"] = http
        super().__init__(workdir, steer=steer, **kw)

    @property
    def base(self):
        return "http://127.0.0.1:%d" % self.http_port


def http(v, method, path, body=None, token=None, raw=None, timeout=10):
    """(status, parsed JSON or text, headers).  `raw` sends bytes as is."""
    data = raw if raw is not None else (
        json.dumps(body).encode() if body is not None else None)
    req = urllib.request.Request(v.base + path, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    if token is not None:
        req.add_header("Authorization", "Bearer " + token)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            status, text, hdrs = r.status, r.read().decode(), r.headers
    except urllib.error.HTTPError as e:
        status, text, hdrs = e.code, e.read().decode(), e.headers
    ctype = hdrs.get("Content-Type", "")
    return status, (json.loads(text) if "json" in ctype else text), hdrs


def get(v, path):
    return http(v, "GET", path)


def post(v, path, body=None, token=TOKEN, raw=None):
    return http(v, "POST", path, body=body, token=token, raw=raw)


@pytest.fixture
def http_factory(tmp_path):
    """Start HttpVaned instances; each must stop cleanly (exit 0)."""
    started = []

    def make(steer, name="vaned", **kw):
        v = HttpVaned(tmp_path / name, steer=steer, **kw)
        started.append(v)
        return v

    yield make
    finish_started(started, exited="ignore")


def two_endpoint_steer(check_port=None):
    """One service, api.example.com, with endpoints a and b (weights 50/50);
    with check_port, endpoint a has an http check on 127.0.0.1:check_port."""
    ep_a = endpoint("a", "192.0.2.1", weight=50)
    steer = {}
    if check_port:
        steer["checks"] = [{"id": "web", "type": "http", "port": check_port,
                            "path": "/health", "expect": 200, "interval": "1s",
                            "timeout": "1s", "rise": 1, "fall": 1}]
        ep_a["check"] = "web"
        ep_a["check-address"] = "127.0.0.1"
    steer["services"] = [service("api.example.com", [
        ep_a, endpoint("b", "192.0.2.2", weight=50)],
        policy=["health", "weighted"], ttl=30, answers=1)]
    return steer
