# SPDX-License-Identifier: GPL-3.0-or-later
"""vane-lab's model mode, run as a program: the brief's claims as bounds.

Each run is small (100k-200k clients, minutes of simulated time) so the
file stays quick under ASan; the bundled scenarios are the same model at
1M clients.
"""

import json
import os
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BUILD = Path(os.environ.get("VANE_BUILD", str(REPO / "build"))).resolve()
LAB = os.environ.get("VANE_LAB", str(BUILD / "vane-lab"))

# The health check of every scenario here: interval 5 s, fall 3, timeout 2 s.
DETECT = 5 * 3 + 2

pytestmark = pytest.mark.skipif(not os.access(LAB, os.X_OK), reason=f"no {LAB}")


def scenario(tmp_path, name, ttl=30, population=None, events=None, service_extra="",
             duration=1200, top_extra=""):
    """A two-region scenario (us-east, eu-west; US and DE clients)."""
    pop = population or [("compliant", 1.0, 0)]
    text = [f"name: {name}", f"duration: {duration}", "resolvers: 1000",
            "conn-interval: 60", "retry: 5", top_extra,
            "countries:",
            "  - { code: US, continent: NA, share: 0.5 }",
            "  - { code: DE, continent: EU, share: 0.5 }",
            "population:"]
    text += [f"  - {{ name: {n}, share: {s}, min-ttl: {m} }}" for n, s, m in pop]
    text += ["service:", f"  ttl: {ttl}", "  policy: [health, geo]",
             "  check: { interval: 5, timeout: 2, rise: 2, fall: 3 }", service_extra,
             "endpoints:",
             "  - { id: us-east, country: US, continent: NA }",
             "  - { id: eu-west, country: DE, continent: EU }"]
    if events is None:
        events = ["{ at: 300, do: down, endpoint: us-east }"]
    text += ["events:" if events else "events: []"] + [f"  - {e}" for e in events]
    path = tmp_path / f"{name}.yaml"
    path.write_text("\n".join(text) + "\n")
    return path


def run(tmp_path, *args, clients=100000):
    out = tmp_path / "out"
    p = subprocess.run([LAB, "run", "-o", str(out), "--clients", str(clients), *map(str, args)],
                       capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr + p.stdout
    assert "report: " in p.stdout
    return p


def result(tmp_path, name):
    return json.loads((tmp_path / "out" / f"{name}.json").read_text())


def test_help_and_list():
    p = subprocess.run([LAB, "--help"], capture_output=True, text=True)
    assert p.returncode == 0 and "vane-lab run" in p.stdout
    p = subprocess.run([LAB, "list"], capture_output=True, text=True)
    assert p.returncode == 0
    names = [line.split()[0] for line in p.stdout.splitlines()]
    for want in ("evac-ttl30", "evac-ttl300", "evac-ttl3600", "rogue-isp-tail",
                 "zombie-soa900", "zombie-soa900-cap", "zombie-soa60", "herd-instant",
                 "herd-ramp", "herd-recovery", "canary-1pct", "ecs-on", "ecs-off",
                 "rogue-live", "zombie-live", "zombie-live-cap", "herd-live-instant",
                 "herd-live-ramp", "zombie-live-guard", "zombie-soa900-guard"):
        assert want in names, p.stdout
    assert "does not load" not in p.stdout


def test_bad_scenario_is_an_error(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("endpoints:\n  - { id: a, colour: red }\n")
    p = subprocess.run([LAB, "run", "-q", "-o", str(tmp_path), str(bad)],
                       capture_output=True, text=True)
    assert p.returncode != 0
    assert "colour" in p.stderr


def test_evacuation_ttl30_compliant_within_ttl_plus_detection(tmp_path):
    path = scenario(tmp_path, "evac30")
    p = run(tmp_path, "-q", path)
    r = result(tmp_path, "evac30")
    assert 0 <= r["detect"] <= DETECT
    bound = 30 + DETECT + 2
    assert 0 < r["rto95"] <= r["rto99"] <= r["rto100"] <= bound, p.stdout
    # The answer moved only after health noticed: not before detection.
    assert r["rto100"] >= r["detect"]


def test_rogue_isp_floor_holds_until_300s_and_no_longer(tmp_path):
    path = scenario(tmp_path, "rogue", population=[("compliant", 0.85, 0),
                                                   ("rogue-isp", 0.15, 300)])
    p = run(tmp_path, "-q", path)
    r = result(tmp_path, "rogue")
    kinds = r["by_kind"]
    assert kinds["compliant"]["rto100"] <= 30 + DETECT + 2, p.stdout
    rogue = kinds["rogue-isp"]["rto100"]
    # Up to its floor: answers stored just before detection live 300 s.
    assert 300 - 30 <= rogue <= 300 + DETECT + 2, p.stdout
    # The rogue share is the tail: even 95% waits for part of it, and
    # 100% for all of it.
    assert r["rto100"] == rogue
    assert r["rto95"] > 30 + DETECT + 2
    assert r["tail"] >= 60


@pytest.mark.parametrize("name,lo,hi", [
    ("zombie-soa900", 900 - 60, 900 + 1),   # outage lasts the negative TTL
    ("zombie-soa900-cap", 1, 60 + 1),       # vaned's cap: no longer than the service TTL
    ("zombie-soa60", 1, 60 + 1),
    ("zombie-soa900-guard", 0, 0),          # the guard refuses the deletion: none
])
def test_zombie_nxdomain_outage(tmp_path, name, lo, hi):
    p = run(tmp_path, "-q", "--duration", 1700, name)
    r = result(tmp_path, name)
    assert r["event"] == "restore"
    assert lo <= r["outage"] <= hi, p.stdout
    if hi == 0:
        assert r["failed"] == 0, p.stdout


def herd(tmp_path, name, events, service_extra=""):
    # No hour-long floors here: clients whose resolver never let go of the
    # dead answer come back at once whatever the ramp says (the bundled
    # herd scenarios show that), which is not what this test is about.
    path = scenario(tmp_path, name, events=events, service_extra=service_extra,
                    population=[("compliant", 0.85, 0), ("rogue-isp", 0.15, 300)],
                    duration=1500, top_extra="window: 60")
    run(tmp_path, "-q", path, clients=200000)
    return result(tmp_path, name)


def test_thundering_herd_instant_vs_ramp(tmp_path):
    instant = herd(tmp_path, "instant", ["{ at: 200, do: down, endpoint: us-east }",
                                         "{ at: 900, do: up, endpoint: us-east }"])
    ramp = herd(tmp_path, "ramp", ["{ at: 200, do: down, endpoint: us-east }",
                                   "{ at: 600, do: drain, endpoint: us-east }",
                                   "{ at: 900, do: up, endpoint: us-east }",
                                   "{ at: 960, do: undrain, endpoint: us-east }",
                                   "{ at: 960, do: ramp, endpoint: us-east, "
                                   "steps: [10, 25, 50, 100], every: 120 }"])
    recovery = herd(tmp_path, "recovery", ["{ at: 200, do: down, endpoint: us-east }",
                                           "{ at: 900, do: up, endpoint: us-east }"],
                    service_extra="  recovery: { steps: [10, 25, 50, 100], every: 120 }")
    for r in (instant, ramp, recovery):
        assert r["herd_base"] > 1000
    # Instant: the cold region gets most of its load back within a minute.
    assert instant["herd_peak"] >= 0.6 * instant["herd_base"]
    for r in (ramp, recovery):
        # The first step admits 10% of the subnets: the first minute stays
        # near 10% of the load, and no second exceeds its step by more than
        # sampling noise (admission is per resolver /24, not per client).
        assert r["herd_peak"] <= 0.10 * r["herd_base"] * 1.5
        assert r["herd_peak"] < instant["herd_peak"] / 4
        assert -1 < r["ramp_over"] <= 0.03


class SvgCounter(HTMLParser):
    def __init__(self):
        super().__init__()
        self.svgs = 0
        self.series = []
        self.in_svg = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "svg":
            self.svgs += 1
        if tag == "polyline":
            pts = [tuple(map(float, p.split(","))) for p in a["points"].split()]
            self.series.append((self.svgs, a.get("data-name"), pts))


def test_html_report_has_svg_plots_with_data(tmp_path):
    path = scenario(tmp_path, "report", population=[("compliant", 0.85, 0),
                                                    ("rogue-isp", 0.15, 300)])
    p = run(tmp_path, path)
    assert "[" in p.stderr and "100%" in p.stderr   # the progress bar
    html = (tmp_path / "out" / "report.html").read_text()
    assert str(tmp_path / "out" / "report.html") in p.stdout
    parser = SvgCounter()
    parser.feed(html)
    assert parser.svgs == 4     # share, failures, auth rate, long tail
    plots = {i for i, _, _ in parser.series}
    assert plots == {1, 2, 3, 4}
    for _, name, pts in parser.series:
        assert name and len(pts) > 100
    # The plots carry the run: shares move, failures and queries happen.
    share = [pts for i, n, pts in parser.series if i == 1 and n == "us-east"][0]
    assert len({y for _, y in share}) > 10
    fails = [pts for i, _, pts in parser.series if i == 2][0]
    assert len({y for _, y in fails}) > 2
    assert "<table id=\"summary\">" in html


def test_ecs_costs_queries(tmp_path):
    run(tmp_path, "-q", "--duration", 600, "ecs-on", "ecs-off")
    on, off = result(tmp_path, "ecs-on"), result(tmp_path, "ecs-off")
    assert on["auth_qps"] > 1.5 * off["auth_qps"]
    assert on["cost_month"] == pytest.approx(on["auth_qps"] * 86400 * 30 / 1e6 * on["price"],
                                             rel=1e-3)


def test_ttl_sets_query_cost(tmp_path):
    a = scenario(tmp_path, "ttl60", ttl=60, events=[], duration=3600)
    b = scenario(tmp_path, "ttl3600", ttl=3600, events=[], duration=3600)
    run(tmp_path, "-q", "-p", "0.4", a, b, clients=200000)
    r60, r3600 = result(tmp_path, "ttl60"), result(tmp_path, "ttl3600")
    # 1000 busy resolvers (200 clients each, a few idle): one query per
    # TTL each; the steady state of a
    # 60 s TTL costs 60 times a one-hour TTL's.
    assert r60["auth_qps"] == pytest.approx(1000 / 60, rel=0.1)
    assert r3600["auth_qps"] == pytest.approx(1000 / 3600, rel=0.25)
    assert 40 < r60["auth_qps"] / r3600["auth_qps"] < 80


def test_plan_waits_for_the_old_ttl_and_the_floors():
    p = subprocess.run([LAB, "plan", "--old-ttl", "3600", "--new-ttl", "60"],
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    assert "T + 3600 s" in p.stdout
    assert "rogue-isp" in p.stdout and "300 s" in p.stdout


def test_run_ending_before_its_event_is_refused(tmp_path):
    """A --duration that ends before the event has nothing to measure: an
    error naming both times, not a crash, and no report."""
    path = scenario(tmp_path, "short", duration=1200)
    out = tmp_path / "out"
    p = subprocess.run([LAB, "run", "-q", "-o", str(out), "--clients", "2000",
                        "--duration", "300", str(path)],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 1, (p.returncode, p.stderr)
    assert "ends at 300 s" in p.stderr and "event at 300 s" in p.stderr, p.stderr
    assert not (out / "short.html").exists()
    run(tmp_path, path, "--duration", 301, clients=2000)
    assert result(tmp_path, "short")["mode"] == "model"
