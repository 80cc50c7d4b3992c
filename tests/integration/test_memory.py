# SPDX-License-Identifier: GPL-3.0-or-later
"""Memory is given back after reloads: 20 reloads of a 50,000-record zone
leave vaned's RSS within 10% of what it was after the first reload (the old
zone version is unmapped, the rest trimmed).  Run against the release build:
ASan's allocator holds freed memory in quarantine by design."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import RELEASE_BUILD, REPO, free_port, wait_until

RELOADS = 20


def _rss_mib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    raise AssertionError("no VmRSS")


def test_rss_flat_after_reloads(tmp_path):
    vaned, vanectl = RELEASE_BUILD / "vaned", RELEASE_BUILD / "vanectl"
    if not os.access(vaned, os.X_OK):
        pytest.skip("no release build at %s" % RELEASE_BUILD)
    subprocess.run([sys.executable, str(REPO / "bench" / "gen.py"), str(tmp_path), "33000"],
                   check=True, capture_output=True)
    zone = tmp_path / "bench.example.zone"
    records = sum(1 for line in zone.open() if line.strip() and not line.startswith("$"))
    assert records >= 50000, records
    port = free_port()
    conf = tmp_path / "vaned.yaml"
    conf.write_text("server:\n  listen: [ \"127.0.0.1@%d\" ]\n  udp-workers: 1\n"
                    "  control: run/ctl.sock\nzones:\n  - name: bench.example\n"
                    "    file: bench.example.zone\n" % port)
    sock = tmp_path / "run" / "ctl.sock"
    err = open(tmp_path / "vaned.stderr", "wb")
    p = subprocess.Popen([str(vaned), "-c", str(conf)], stderr=err, stdout=err)

    def ctl(*args):
        r = subprocess.run([str(vanectl), "-s", str(sock), "--json"] + list(args),
                           capture_output=True, text=True, timeout=60)
        return json.loads(r.stdout) if r.returncode == 0 else None

    try:
        wait_until(lambda: ctl("status"), "vaned to answer on its control socket", 60)
        rss = []
        for i in range(RELOADS + 1):
            os.utime(zone, (time.time(), time.time() + i + 1))
            res = ctl("reload")
            assert res and res["ok"] and res["zones"][0]["status"] == "loaded", res
            rss.append(_rss_mib(p.pid))
        print("\nRSS MiB after each reload:", ["%.1f" % r for r in rss])
        assert rss[-1] <= rss[0] * 1.10, \
            "RSS %.1f MiB after %d reloads, %.1f after the first" % (rss[-1], RELOADS, rss[0])
    finally:
        p.terminate()
        assert p.wait(30) == 0
        err.close()
