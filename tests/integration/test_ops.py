# SPDX-License-Identifier: GPL-3.0-or-later
"""Operating vaned: the sd_notify protocol (a fake NOTIFY_SOCKET), server.user
privilege drop after binding (as root, with `nobody`), and syslog logging (a
fake /dev/log when the machine has none)."""

import os
import pwd
import shutil
import signal
import socket
import tempfile
import time
from pathlib import Path

import pytest

from conftest import VANED, Vaned, make_query, exchange


class NotifySocket:
    def __init__(self, path):
        self.path = str(path)
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.s.bind(self.path)

    def next(self, timeout=30):
        """The next datagram as a dict of VAR=VALUE."""
        self.s.settimeout(timeout)
        data = self.s.recv(4096).decode()
        return dict(l.split("=", 1) for l in data.split("\n") if l)

    def wait_for(self, key, timeout=30):
        seen = []
        deadline = time.monotonic() + timeout
        while True:
            m = self.next(max(0.1, deadline - time.monotonic()))
            seen.append(m)
            if key in m:
                return m, seen

    def close(self):
        self.s.close()


def test_notify_ready_reload_stopping(tmp_path, monkeypatch):
    ns = NotifySocket(tmp_path / "notify.sock")
    monkeypatch.setenv("NOTIFY_SOCKET", ns.path)
    v = Vaned(tmp_path / "v", start=False)
    v._spawn([VANED, "-c", str(v.conf_path)], wait=False)
    m, _ = ns.wait_for("READY")
    assert m["READY"] == "1" and "STATUS" in m
    # READY means serving: the first query is answered.
    r = exchange(v.port, make_query("example.com", "SOA"))
    assert r is not None and r.answer

    # vanectl reload: RELOADING=1 with MONOTONIC_USEC, then READY=1.
    before = time.clock_gettime(time.CLOCK_MONOTONIC)
    res = v.ctl("reload")
    assert res.returncode == 0, res.stderr
    m, _ = ns.wait_for("RELOADING")
    assert m["RELOADING"] == "1"
    usec = int(m["MONOTONIC_USEC"])
    after = time.clock_gettime(time.CLOCK_MONOTONIC)
    assert before * 1e6 - 1e6 <= usec <= after * 1e6 + 1e6
    m, _ = ns.wait_for("READY")
    assert m["READY"] == "1"

    # SIGHUP is a reload too.
    v.proc.send_signal(signal.SIGHUP)
    ns.wait_for("RELOADING")
    ns.wait_for("READY")

    v.proc.send_signal(signal.SIGTERM)
    m, _ = ns.wait_for("STOPPING")
    assert m["STOPPING"] == "1"
    assert v.wait_exit() == 0
    ns.close()


def test_notify_not_inherited_by_checks(tmp_path, monkeypatch):
    """Without NOTIFY_SOCKET nothing is sent and vaned runs normally."""
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    v = Vaned(tmp_path / "v")
    assert exchange(v.port, make_query("example.com", "SOA")) is not None
    assert v.stop() == 0


def _proc_ids(pid):
    ids = {}
    for line in Path("/proc/%d/status" % pid).read_text().splitlines():
        k, _, val = line.partition(":")
        if k in ("Uid", "Gid", "Groups"):
            ids[k] = val.split()
    return ids


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root")
def test_user_drops_privileges(monkeypatch):
    nobody = pwd.getpwnam("nobody")
    # The config and zones are read again on reload, as nobody: use a
    # world-readable directory instead of pytest's private tmp_path.
    top = Path(tempfile.mkdtemp(prefix="vane-user-"))
    try:
        top.chmod(0o755)
        v = Vaned(top / "v", start=False, extra_server="  user: nobody\n  state-dir: state")
        for p in [v.dir, v.zone_dir] + list(v.zone_dir.iterdir()) + [v.conf_path]:
            p.chmod(0o755 if p.is_dir() else 0o644)
        v.start()
        ids = _proc_ids(v.proc.pid)
        assert ids["Uid"] == [str(nobody.pw_uid)] * 4, ids
        assert ids["Gid"] == [str(nobody.pw_gid)] * 4, ids
        assert ids["Groups"] in ([], [str(nobody.pw_gid)]), ids
        assert "running as user nobody" in v.stderr_text()

        # Still answering, the control socket works, and a reload (reading
        # the config and zones as nobody) succeeds.
        assert exchange(v.port, make_query("www.example.com", "A")) is not None
        res = v.ctl("status")
        assert res.returncode == 0, res.stderr
        res = v.ctl("reload")
        assert res.returncode == 0, res.stdout + res.stderr
        # The state directory was handed over before the switch.
        st = (v.dir / "state").stat()
        assert st.st_uid == nobody.pw_uid
        assert v.socket_path.stat().st_uid == nobody.pw_uid
        v.stop_and_check()
        # The socket's directory was given too, so vaned removed the socket.
        assert not v.socket_path.exists()
    finally:
        shutil.rmtree(top, ignore_errors=True)


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root")
def test_user_unknown_fails_to_start(tmp_path):
    v = Vaned(tmp_path / "v", start=False, extra_server="  user: no-such-user-vane")
    v._spawn([VANED, "-c", str(v.conf_path)], wait=False)
    assert v.wait_exit() != 0
    assert "no such user" in v.stderr_text()


@pytest.mark.skipif(os.path.exists("/dev/log") or os.geteuid() != 0,
                    reason="a real syslog socket exists (or not root)")
def test_syslog(tmp_path):
    log = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    log.bind("/dev/log")
    try:
        v = Vaned(tmp_path / "v", extra_server="  log: syslog")
        got = []
        log.settimeout(10)
        while not any("vaned started" in m for m in got):
            got.append(log.recv(8192).decode(errors="replace"))
        text = "\n".join(got)
        # <30> is facility daemon (3) * 8 + info (6); the ident carries the pid.
        assert "<30>" in text and ("vaned[%d]:" % v.proc.pid) in text, text
        assert "[example.com.] loaded serial" in text or "[example.com] loaded serial" in text
        # Nothing but the timestamped format goes to stderr then.
        assert "loaded serial" not in v.stderr_text()
        v.stop_and_check()
    finally:
        log.close()
        os.unlink("/dev/log")
