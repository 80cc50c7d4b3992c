# SPDX-License-Identifier: GPL-3.0-or-later
"""vaned stops within 1 s of `vanectl stop` or SIGTERM, with every kind of
thread busy (UDP workers, health probes, the HTTP thread, an open TCP
client), exits 0, and LeakSanitizer (in the ASan build make test runs)
finds nothing: every thread was joined and every allocation freed."""

import signal
import socket
import time

import pytest

from conftest import free_port, tcp_connect
from http_helpers import HttpVaned
from steer_helpers import endpoint, service

STOP_BOUND = 1.0


def _busy_vaned(tmp_path, name):
    closed = free_port()   # nothing listens: probes fail and keep running
    v = HttpVaned(tmp_path / name, steer={
        "checks": [{"id": "conn", "type": "tcp", "port": closed, "interval": "100ms",
                    "timeout": "100ms", "rise": 1, "fall": 1}],
        "services": [service("stop.example.com", [
            endpoint("a", "192.0.2.1", check="conn", check_address="127.0.0.1"),
            endpoint("b", "192.0.2.2")], ttl=30, policy=["health"], answers=1)],
    })
    return v


@pytest.mark.parametrize("how", ["vanectl", "sigterm"])
def test_stop_is_prompt_and_clean(tmp_path, how):
    v = _busy_vaned(tmp_path, how)
    try:
        idle = tcp_connect(v.port)          # a TCP client that says nothing
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        u.sendto(b"\x00" * 12, ("127.0.0.1", v.port))
        t0 = time.monotonic()
        if how == "vanectl":
            p = v.ctl("stop")
            assert p.returncode == 0, p.stderr
        else:
            v.proc.send_signal(signal.SIGTERM)
        rc = v.wait_exit(timeout=10)
        took = time.monotonic() - t0
        idle.close()
        u.close()
        assert rc == 0, v.stderr_text()[-3000:]
        assert v.sanitizer_report() is None, v.sanitizer_report()
        assert took < STOP_BOUND, "stopped in %.2f s" % took
        assert "stopped" in v.stderr_text()
    finally:
        v.kill()
