# SPDX-License-Identifier: GPL-3.0-or-later
"""Faults vaned must ride out (issue "Face the internet"): a pause of the
whole daemon (SIGSTOP, then SIGCONT) is not an outage of every backend and
queries resume at once (before the fix, every probe in flight timed out:
all four backends went down and came back through a recovery ramp); a read-only state directory fails the verb with a
clear error while the daemon keeps serving; a hung probe does not delay
the others."""

import json
import os
import signal
import socket
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from conftest import exchange, make_query, wait_until
from http_helpers import HttpVaned, get
from steer_helpers import endpoint, service, steer_factory  # noqa: F401 (fixture)

NAME = "pause.example.com"


def _listeners(n):
    """n TCP listening sockets on 127.0.0.1: tcp checks pass on connect,
    which the kernel completes even while vaned is stopped."""
    socks = []
    for _ in range(n):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.bind(("127.0.0.1", 0))
        s.listen(512)
        socks.append(s)
    return socks


class _SlowHandler(BaseHTTPRequestHandler):
    """Answers 200 after a delay, so that probes are in flight most of the
    time and a pause of vaned catches them there."""

    def do_GET(self):
        time.sleep(0.5)
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, fmt, *args):
        pass


def _slow_servers(n):
    out = []
    for _ in range(n):
        httpd = ThreadingHTTPServer(("127.0.0.1", 0), _SlowHandler)
        httpd.daemon_threads = True
        threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05},
                         daemon=True).start()
        out.append(httpd)
    return out


def _health(v):
    p = v.ctl("health", json_out=True)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)


def _hammer(v, stop):
    """Keep vaned's main loop busy (HTTP API calls are answered there), so
    that the pause is likely to stop it between its poll and its timers."""
    while not stop.is_set():
        try:
            get(v, "/metrics")
        except OSError:
            pass


def test_sigstop_is_not_an_outage(tmp_path):
    servers = _slow_servers(4)
    checks, eps = [], []
    for i, s in enumerate(servers):
        checks.append({"id": "c%d" % i, "type": "http", "port": s.server_address[1],
                       "path": "/", "interval": "1s", "timeout": "1s", "rise": 1,
                       "fall": 1})
        eps.append(endpoint("e%d" % i, "192.0.2.%d" % (i + 1), check="c%d" % i,
                            check_address="127.0.0.1"))
    v = HttpVaned(tmp_path / "vaned", steer={
        "checks": checks,
        "services": [service(NAME, eps, ttl=30, policy=["health"], answers=4)]})
    stop = threading.Event()
    busy = [threading.Thread(target=_hammer, args=(v, stop), daemon=True)
            for _ in range(3)]
    try:
        wait_until(lambda: all(e["state"] == "up" for e in _health(v)["endpoints"]),
                   "every endpoint up")
        down0 = _health(v)["went_down"]
        for t in busy:
            t.start()
        time.sleep(0.5)
        v.proc.send_signal(signal.SIGSTOP)
        time.sleep(5)
        v.proc.send_signal(signal.SIGCONT)
        t0 = time.monotonic()
        r = exchange(v.port, make_query(NAME, "A"), timeout=2.0)
        assert r is not None and len(r.answer[0]) == 4
        assert time.monotonic() - t0 < 1.0, "queries did not resume at once"
        # Every probe in flight at the pause, and the ones due during it,
        # ran; none counted the pause as a timeout.
        time.sleep(1.5)
        stop.set()
        for t in busy:
            t.join(10)
        h = _health(v)
        assert h["went_down"] == down0, "a pause of vaned took backends down: %r" % h
        assert all(e["state"] == "up" for e in h["endpoints"])
    finally:
        stop.set()
        if v.proc and v.proc.poll() is None:
            v.proc.send_signal(signal.SIGCONT)
            v.stop_and_check()
        for s in servers:
            s.shutdown()
            s.server_close()


def test_hung_probe_does_not_delay_others(steer_factory):
    """One backend accepts and never answers HTTP; the others are probed
    at their interval all the same."""
    hung = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    hung.bind(("127.0.0.1", 0))
    hung.listen(64)                      # connects, never a response
    good = _listeners(1)[0]
    v = steer_factory({
        "checks": [
            {"id": "hang", "type": "http", "port": hung.getsockname()[1], "path": "/",
             "interval": "3s", "timeout": "3s", "rise": 1, "fall": 1},
            {"id": "ok", "type": "tcp", "port": good.getsockname()[1],
             "interval": "200ms", "timeout": "200ms", "rise": 1, "fall": 1}],
        "services": [service(NAME, [
            endpoint("h", "192.0.2.1", check="hang", check_address="127.0.0.1"),
            endpoint("g", "192.0.2.2", check="ok", check_address="127.0.0.1")],
            ttl=30, policy=["health"], answers=2)]})
    try:
        def probes(ep):
            for e in _health(v)["endpoints"]:
                if e["endpoint"] == ep:
                    return e.get("probes", 0)
            return 0
        wait_until(lambda: probes("g") >= 1, "first probe of g")
        p0, t0 = probes("g"), time.monotonic()
        time.sleep(2.0)
        rate = (probes("g") - p0) / (time.monotonic() - t0)
        assert rate >= 3.0, "%.1f probes/s of g while h hangs" % rate
    finally:
        hung.close()
        good.close()


def _mount(*args):
    return subprocess.run(["mount", *args], capture_output=True, text=True)


def test_read_only_state_dir(steer_factory, tmp_path):
    if os.geteuid() != 0:
        pytest.skip("needs root to mount a read-only state directory")
    state = tmp_path / "vaned" / "state"
    state.mkdir(parents=True)
    if _mount("-t", "tmpfs", "-o", "size=4m", "tmpfs", str(state)).returncode != 0:
        pytest.skip("cannot mount a tmpfs here")
    try:
        v = steer_factory({"services": [service(NAME, [
            endpoint("a", "192.0.2.1"), endpoint("b", "192.0.2.2")],
            ttl=30, answers=2)]})
        p = _mount("-o", "remount,ro", str(state))
        assert p.returncode == 0, p.stderr
        p = v.ctl("drain", NAME + "/a")
        assert p.returncode != 0
        out = p.stdout + p.stderr
        assert "not persisted" in out and "Read-only file system" in out, out
        # In effect, and the daemon serves on.
        r = exchange(v.port, make_query(NAME, "A"))
        assert r is not None and [a.address for a in r.answer[0]] == ["192.0.2.2"]
        assert v.ctl("status").returncode == 0
        _mount("-o", "remount,rw", str(state))
        v.stop_and_check()
    finally:
        subprocess.run(["umount", "-l", str(state)], capture_output=True)
