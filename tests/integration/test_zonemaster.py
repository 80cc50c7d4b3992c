# SPDX-License-Identifier: GPL-3.0-or-later
"""Zonemaster (Debian's zonemaster-cli) finds no ERROR or CRITICAL in the
example zone served by vaned on a private root (bench/attack/zonemaster.sh:
a network namespace of its own, no network needed).  Needs root for the
namespace and port 53; skipped otherwise or without zonemaster-cli."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import VANED

SCRIPT = Path(__file__).resolve().parents[2] / "bench" / "attack" / "zonemaster.sh"


@pytest.mark.skipif(shutil.which("zonemaster-cli") is None, reason="zonemaster-cli not installed")
@pytest.mark.skipif(os.geteuid() != 0, reason="needs root (network namespace, port 53)")
def test_zonemaster_finds_no_error():
    p = subprocess.run(["sh", str(SCRIPT)], env=dict(os.environ, VANED=VANED),
                       capture_output=True, text=True, timeout=120)
    if p.returncode == 77:
        pytest.skip(p.stderr.strip())
    assert p.returncode == 0, p.stdout + p.stderr
    assert "zonemaster: no ERROR or CRITICAL" in p.stdout
    # It did test the zone: the report has Zonemaster's own findings.
    assert "ZONE02" in p.stdout or "DELEGATION01" in p.stdout, p.stdout
