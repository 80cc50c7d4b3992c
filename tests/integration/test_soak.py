# SPDX-License-Identifier: GPL-3.0-or-later
"""bench/soak.sh for 30 s (SOAK_SECONDS): dnsperf at full rate, a reload
every 5 s, flapping backends, a drain and a ramp under way; no query lost,
no SERVFAIL, RSS flat after warm-up, vaned alive and stopping cleanly.
RSS is measured on the release build (a sanitizer build's quarantine
grows by design); the 10-minute run is `bench/soak.sh` by hand."""

import json
import os
import subprocess

import pytest

from conftest import RELEASE_BUILD, REPO


def test_soak_short():
    vaned = RELEASE_BUILD / "vaned"
    if not vaned.exists():
        pytest.skip("no release build at %s" % RELEASE_BUILD)
    if not os.path.exists("/usr/bin/dnsperf"):
        pytest.skip("dnsperf not installed")
    env = dict(os.environ, VANED=str(vaned), VANECTL=str(RELEASE_BUILD / "vanectl"),
               SOAK_SECONDS=os.environ.get("SOAK_SECONDS", "30"))
    p = subprocess.run([str(REPO / "bench" / "soak.sh")], capture_output=True, text=True,
                       env=env, timeout=300)
    res = json.loads(p.stdout)
    assert p.returncode == 0 and res["passed"], json.dumps(res, indent=1) + p.stderr
    assert res["reloads"] >= 4 and res["flaps"] >= 6 and res["operator_verbs"] >= 3
