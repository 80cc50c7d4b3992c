# SPDX-License-Identifier: GPL-3.0-or-later
"""vane-lab's live mode on the brief's other scenarios (issue 15), each a
bundled live-sized scenario run with real vaned, vane-resolver, endpoints
and clients, then the model on the same layout:

- rogue-live: the floored kind (min-ttl 30) keeps sending traffic to the
  dead endpoint for up to its floor plus detection (+3 s slack), not beyond,
  and visibly longer than the compliant kind;
- zombie-live: after a forced delete and a restore, the outage lasts about
  the negative TTL (25 s; from 25 - TTL - 2 s to 25 + 3 s);
- zombie-live-cap: with the cap the outage lasts no longer than the service
  TTL (+2 s): vaned keeps a forcibly deleted service's TTL as the negative
  TTL for the deletion-guard window;
- zombie-live-guard: the deletion without --force is refused by the guard:
  no outage, no failed connection;
- herd-live-instant/-ramp: the returning endpoint's peak 5 s load in the
  8 s after it returns is its whole old load when instant (>= 70%), a
  step's when ramped (<= 25% + 25 points), and the ramp keeps the load
  under each step's share (+25 points: a step admits whole client /24s).

Live and model agree within vane-lab(1)'s tolerance: times within
max(3 s, 25% of the model's), an instant herd's peak within 25 points of
the old load, and under a ramp both keep within each step (+25 points).
"""

import json
import os
import subprocess

from test_lab_live import BUILD, LAB, pytestmark  # noqa: F401  (same skips)

DETECT = 1 * 2 + 0.5       # interval x fall + timeout of every scenario here


def run(tmp_path, name, stderr=None):
    out = tmp_path / "out"
    p = subprocess.run([LAB, "run", "--live", "-q", "-o", str(out), "--bindir", str(BUILD),
                        name], capture_output=True, text=True, timeout=240)
    assert p.returncode == 0, p.stdout + p.stderr
    if stderr is not None:
        stderr.append(p.stderr)
    live = json.loads((out / f"{name}-live.json").read_text())
    model = json.loads((out / f"{name}-model.json").read_text())
    for log in (out / f"{name}-live.d").glob("*/stderr.log"):
        text = log.read_text(errors="replace")
        for marker in ("ERROR: AddressSanitizer", "runtime error:", "ERROR: LeakSanitizer"):
            assert marker not in text, f"{log}:\n{text[-4000:]}"
    leftovers = subprocess.run(["pgrep", "-f", str(out)], capture_output=True, text=True)
    assert leftovers.stdout.strip() == "", leftovers.stdout
    return live, model


def agree(live, model, what):
    tol = max(3.0, 0.25 * model)
    assert live >= 0 and model >= 0, f"{what}: live {live}, model {model}"
    assert abs(live - model) <= tol, f"{what}: live {live} s, model {model} s, tolerance {tol} s"


def test_rogue_floor_tail_live(tmp_path):
    live, model = run(tmp_path, "rogue-live")
    floor, ttl = 30, 5
    rogue = live["by_kind"]["rogue-isp"]["rto100"]
    compliant = live["by_kind"]["compliant"]["rto100"]
    assert live["failed"] > 0, live
    assert 0 <= compliant <= ttl + DETECT + 2, live["by_kind"]
    # Up to the floor and not beyond; the tail is visible past the others.
    assert 0 <= rogue <= floor + DETECT + 3, live["by_kind"]
    assert rogue >= compliant + 10, live["by_kind"]
    agree(rogue, model["by_kind"]["rogue-isp"]["rto100"], "rogue kind's last old traffic")
    agree(live["rto100"], model["rto100"], "RTO 100")


def test_zombie_outage_lasts_negative_ttl_live(tmp_path):
    live, model = run(tmp_path, "zombie-live")
    neg, ttl = 25, 5
    assert live["event"] == "restore", live
    assert neg - ttl - 2 <= live["outage"] <= neg + 3, live["outage"]
    agree(live["outage"], model["outage"], "outage")


def test_zombie_outage_capped_at_service_ttl_live(tmp_path):
    live, model = run(tmp_path, "zombie-live-cap")
    ttl = 5
    assert 0 <= model["outage"] <= ttl + 2, model["outage"]
    assert 0 <= live["outage"] <= ttl + 2, live["outage"]
    agree(live["outage"], model["outage"], "outage")


def test_zombie_deletion_refused_by_guard_live(tmp_path):
    """The same deletion without --force: vaned's deletion guard refuses
    it (clients asked for the name within its window), the name keeps
    answering, and nothing fails, live and in the model."""
    err = []
    live, model = run(tmp_path, "zombie-live-guard", err)
    assert "the deletion guard refused the delete at 7 s" in err[0], err[0]
    for r in (live, model):
        assert r["outage"] == 0 and r["failed"] == 0, r


def herd(live, model, agree_peak=True):
    for r in (live, model):
        assert r["herd_base"] > 20, r
    rel = live["herd_peak"] / live["herd_base"]
    mrel = model["herd_peak"] / model["herd_base"]
    if agree_peak:
        assert abs(rel - mrel) <= 0.25, (live["herd_peak"], live["herd_base"],
                                         model["herd_peak"], model["herd_base"])
    return rel


def test_herd_instant_live(tmp_path):
    live, model = run(tmp_path, "herd-live-instant")
    # The whole old load is back within TTL + rise: the stampede.
    assert herd(live, model) >= 0.7, live


def test_herd_ramp_live(tmp_path):
    live, model = run(tmp_path, "herd-live-ramp")
    # The first steps only (10%, then 25%) in the 8 s after the undrain.
    # A step admits whole client /24s (sticky), so the live share is a
    # sample of the layout's subnets: about 117 per country, one client or
    # two each (with 16 a 25% step admitted 7 of 16 in one layout, 27.6
    # points over).  Both keep to the steps (+25 points), which is the
    # agreement stated for a ramp; six bench runs went -7 to +7.
    assert herd(live, model, agree_peak=False) <= 0.25 + 0.25, live
    for r in (live, model):
        assert -1 < r["ramp_over"] <= 0.25, (r["scenario"], r["ramp_over"])
