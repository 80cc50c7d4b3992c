#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""The dashboard's lab-report routes (issue 15): what a listing costs.

vaned answers GET /api/v1/lab-reports on its HTTP thread (it reads files,
not server state), so a slow listing delays every other HTTP request.  This
fills a directory with COUNT copies of one real vane-lab report (HTML and
JSON), starts vaned with http.lab-reports on it, and times sequential GETs
on one connection: the default listing (20), the largest (limit=200), one
report file, and /api/v1/status (a command-table read through the loop
thread) for scale.

Usage: VANE_BUILD=build bench/lab_reports.py [count] [requests]
"""

import http.client
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BUILD = Path(os.environ.get("VANE_BUILD", str(REPO / "build"))).resolve()
sys.path.insert(0, str(REPO / "tests" / "integration"))

from conftest import free_port  # noqa: E402


def timed(port, path, n):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    ts = []
    for _ in range(n):
        t = time.perf_counter()
        c.request("GET", path)
        r = c.getresponse()
        r.read()
        assert r.status == 200, (path, r.status)
        ts.append(time.perf_counter() - t)
    c.close()
    ts.sort()
    return ts[len(ts) // 2] * 1e3, ts[int(len(ts) * 0.9)] * 1e3


def main():
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 500
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 200
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        lab = tmp / "lab"
        subprocess.run([str(BUILD / "vane-lab"), "run", "-q", "-o", str(lab),
                        "--clients", "20000", "--resolvers", "100", "evac-ttl30"],
                       check=True, capture_output=True,
                       env=dict(os.environ, VANE_LAB_DIR=str(REPO / "etc" / "lab")))
        html = (lab / "evac-ttl30.html").read_bytes()
        js = (lab / "evac-ttl30.json").read_bytes()
        for i in range(count - 1):
            (lab / ("run%04d.html" % i)).write_bytes(html)
            (lab / ("run%04d.json" % i)).write_bytes(js)
        dns_port, http_port = free_port(), free_port()
        (tmp / "vaned.yaml").write_text(
            "server:\n  listen: [ \"127.0.0.1@%d\" ]\n  control: vaned.sock\n"
            "  state-dir: state\nhttp:\n  listen: \"127.0.0.1@%d\"\n"
            "  lab-reports: lab\nzones: []\n" % (dns_port, http_port))
        vaned = subprocess.Popen([str(BUILD / "vaned"), "-c", str(tmp / "vaned.yaml")],
                                 stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    timed(http_port, "/api/v1/status", 1)
                    break
                except (OSError, http.client.HTTPException):
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.05)
            print("%d reports in the directory, %d requests each (median / p90 ms):"
                  % (count, n))
            for path, k in (("/api/v1/lab-reports", n),
                            ("/api/v1/lab-reports?limit=200", max(10, n // 4)),
                            ("/lab-reports/evac-ttl30.html", n),
                            ("/api/v1/status", n)):
                med, p90 = timed(http_port, path, k)
                print("  %-32s %8.2f %8.2f" % (path, med, p90))
        finally:
            vaned.terminate()
            vaned.wait(30)


if __name__ == "__main__":
    main()
