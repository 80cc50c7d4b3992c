# SPDX-License-Identifier: GPL-3.0-or-later
"""dnstap: vaned writes AUTH_QUERY/AUTH_RESPONSE frames to a Frame Streams
collector (Debian's fstrm_capture), read back with dnstap-ldns; sampling
1-in-N reduces the count."""

import os
import shutil
import signal
import subprocess
import time

import pytest

from conftest import Vaned, make_query, exchange

FSTRM_CAPTURE = shutil.which("fstrm_capture")
DNSTAP_LDNS = shutil.which("dnstap-ldns")

pytestmark = pytest.mark.skipif(not (FSTRM_CAPTURE and DNSTAP_LDNS),
                                reason="fstrm-bin / dnstap-ldns not installed")


class TapVaned(Vaned):
    def __init__(self, workdir, dnstap, **kw):
        self.dnstap = dnstap
        super().__init__(workdir, **kw)

    def conf_text(self):
        return super().conf_text() + "dnstap:\n" + "".join(
            "  %s: %s\n" % kv for kv in self.dnstap.items())


class Capture:
    def __init__(self, d):
        self.sock = d / "dnstap.sock"
        self.out = d / "capture.fstrm"
        self.log = open(d / "fstrm_capture.log", "wb")
        self.proc = subprocess.Popen([FSTRM_CAPTURE, "-t", "protobuf:dnstap.Dnstap",
                                      "-u", str(self.sock), "-w", str(self.out)],
                                     stdout=self.log, stderr=self.log)
        deadline = time.monotonic() + 10
        while not self.sock.exists():
            assert time.monotonic() < deadline, "fstrm_capture did not create its socket"
            assert self.proc.poll() is None
            time.sleep(0.02)

    def finish(self):
        """Stop the collector (it flushes and closes the file); the lines."""
        self.proc.send_signal(signal.SIGINT)
        self.proc.wait(10)
        self.log.close()
        r = subprocess.run([DNSTAP_LDNS, "-r", str(self.out)], capture_output=True,
                           text=True, check=True)
        return r.stdout.splitlines()


def run(tmp_path, sample, n, tcp_too=False, **extra):
    cap = Capture(tmp_path)
    dt = {"socket": str(cap.sock), "sample": sample, "identity": "tap-test"}
    dt.update(extra)
    v = TapVaned(tmp_path / "vaned", dt, udp_workers=1)
    for i in range(n):
        r = exchange(v.port, make_query("www.example.com", "A", qid=i + 1))
        assert r is not None and len(r.answer) == 1
    if tcp_too:
        assert exchange(v.port, make_query("example.com", "SOA"), tcp=True) is not None
    v.stop_and_check()   # vaned flushes its queues to the collector on exit
    return cap.finish()


def www_lines(lines, kind):
    return [l for l in lines if (" %s " % kind) in l and '"www.example.com."' in l]


def test_queries_and_responses_logged(tmp_path):
    lines = run(tmp_path, 1, 20, tcp_too=True)
    aq, ar = www_lines(lines, "AQ"), www_lines(lines, "AR")
    # Every query (plus the readiness probes, which ask for the SOA) is logged.
    assert len(aq) == 20, lines
    assert len(ar) == 20, lines
    assert all(" 127.0.0.1 UDP " in l and " IN A" in l for l in aq + ar)
    assert any(" AQ 127.0.0.1 TCP " in l and "IN SOA" in l for l in lines)
    assert any(" AR 127.0.0.1 TCP " in l and "IN SOA" in l for l in lines)


def test_sampling_reduces_count(tmp_path):
    lines = run(tmp_path, 10, 100)
    aq, ar = www_lines(lines, "AQ"), www_lines(lines, "AR")
    # One worker, 1 in 10: the counter is deterministic (probes take a few).
    assert 9 <= len(aq) <= 11, lines
    assert len(ar) == len(aq)


def test_responses_only(tmp_path):
    lines = run(tmp_path, 1, 10, **{"log-queries": "false"})
    assert len(www_lines(lines, "AQ")) == 0
    assert len(www_lines(lines, "AR")) == 10


def test_identity_in_frames(tmp_path):
    lines = run(tmp_path, 1, 3)
    cap = tmp_path / "capture.fstrm"
    r = subprocess.run([DNSTAP_LDNS, "-y", "-r", str(cap)], capture_output=True, text=True)
    assert "tap-test" in r.stdout
    assert "AUTH_QUERY" in r.stdout and "AUTH_RESPONSE" in r.stdout
