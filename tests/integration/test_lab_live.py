# SPDX-License-Identifier: GPL-3.0-or-later
"""vane-lab's live mode (issue 15): the bundled live-sized evacuation run
with real vaned (root, TLD, operator), vane-resolver and Debian's unbound on
a private loopback internet, real HTTP endpoints and clients; then the model
on the same layout.  Live and model must agree within the tolerance that
vane-lab(1) states (LIVE MODE):

- RTO 95 and RTO 100: within max(3 s, 25% of the model's);
- each endpoint's mean share over the run: within 5 percentage points;
- live RTO 100 within the brief's bound TTL + interval x fall + timeout + 2 s.
"""

import json
import os
import socket
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BUILD = Path(os.environ.get("VANE_BUILD", str(REPO / "build"))).resolve()
LAB = os.environ.get("VANE_LAB", str(BUILD / "vane-lab"))
UNBOUND = "/usr/sbin/unbound"

# evac-live-ttl5: TTL 5, check interval 1 s, fall 2, timeout 0.5 s.
TTL, INTERVAL, FALL, TIMEOUT = 5, 1, 2, 0.5


def can_bind_port53():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.bind(("127.%d.7.1" % (os.getpid() % 200 + 50), 53))
        return True
    except OSError:
        return False
    finally:
        s.close()


pytestmark = [
    pytest.mark.skipif(not os.access(LAB, os.X_OK), reason=f"no {LAB}"),
    pytest.mark.skipif(not can_bind_port53(),
                       reason="live mode binds port 53 on loopback (needs root)"),
    pytest.mark.skipif(not os.access(UNBOUND, os.X_OK),
                       reason="no Debian unbound for the unbound share"),
]


def agree(live, model, what):
    tol = max(3.0, 0.25 * model)
    assert live >= 0 and model >= 0, f"{what}: live {live}, model {model}"
    assert abs(live - model) <= tol, \
        f"{what}: live {live} s, model {model} s, tolerance {tol} s"


def test_live_evacuation_agrees_with_model(tmp_path):
    out = tmp_path / "out"
    p = subprocess.run([LAB, "run", "--live", "-q", "-o", str(out),
                        "--bindir", str(BUILD), "evac-live-ttl5"],
                       capture_output=True, text=True, timeout=240)
    assert p.returncode == 0, p.stdout + p.stderr
    live = json.loads((out / "evac-live-ttl5-live.json").read_text())
    model = json.loads((out / "evac-live-ttl5-model.json").read_text())
    for r in (live, model):
        assert r["event"] == "down" and r["event_at"] == 15, r
        assert r["connections"] >= 3000, r   # 300 clients every ~2 s, 40 s
    # The outage was real: connections to the dead region failed, and the
    # operator's vaned was asked as caches expired.
    assert live["failed"] > 0, live
    assert live["auth_total"] > 0, live
    # Before the event, geo split the clients between the regions.
    assert 0.1 < live["share"]["us-east"] < 0.5, live["share"]
    # The operator's health flip, read from vanectl health after the run.
    assert 0 <= live["detect"] <= INTERVAL * FALL + TIMEOUT + 1, live["detect"]
    bound = TTL + INTERVAL * FALL + TIMEOUT + 2
    assert 0 <= live["rto100"] <= bound, (live["rto100"], bound)
    agree(live["rto95"], model["rto95"], "RTO 95")
    agree(live["rto100"], model["rto100"], "RTO 100")
    for ep in ("us-east", "eu-west"):
        assert abs(live["share"][ep] - model["share"][ep]) <= 0.05, \
            (ep, live["share"], model["share"])
    # Same report format: the HTML of both runs has the plots.
    for name in ("evac-live-ttl5-live", "evac-live-ttl5-model"):
        html = (out / f"{name}.html").read_text()
        assert html.count("<svg") >= 4, name
    # No sanitizer report from any server of the private internet.
    for log in (out / "evac-live-ttl5-live.d").glob("*/stderr.log"):
        text = log.read_text(errors="replace")
        for marker in ("ERROR: AddressSanitizer", "runtime error:", "ERROR: LeakSanitizer"):
            assert marker not in text, f"{log}:\n{text[-4000:]}"
    # Every process of the private internet was stopped.
    leftovers = subprocess.run(["pgrep", "-f", str(out)], capture_output=True, text=True)
    assert leftovers.stdout.strip() == "", leftovers.stdout
