# SPDX-License-Identifier: GPL-3.0-or-later
"""Memory is given back after reloads of a 50,000-record zone (about 7 MiB
of RSS per zone version): the old version is unmapped and the rest trimmed.
Over 60 reloads RSS stays within 10% of what it was after the first, and it
does not trend up: over reloads 40-60 it is no higher than over 20-40 (plus
2 MiB; a leak of even 100 KiB per reload would exceed that).  Without
vaned's cap of two malloc arenas (rt_malloc_arenas) this failed: each libuv
pool thread that built or freed a snapshot got an arena of its own, each
kept slack, and RSS stepped up by ~1.5 MiB every few dozen reloads.  Run
against the release build: ASan's allocator holds freed memory in
quarantine by design."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import RELEASE_BUILD, REPO, free_port, wait_until

RELOADS = 60


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
        earlier, later = max(rss[20:40]), max(rss[40:])
        assert later <= earlier + 2.0, \
            "RSS grows: max %.1f MiB over reloads 40-60, %.1f over 20-40" % (later, earlier)
        assert max(rss) <= rss[0] * 1.10, \
            "RSS %.1f MiB at most, %.1f after the first reload" % (max(rss), rss[0])
    finally:
        p.terminate()
        assert p.wait(30) == 0
        err.close()
