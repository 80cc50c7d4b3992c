# SPDX-License-Identifier: GPL-3.0-or-later
"""vane-lab's model with an anycast layout: clients move at route
convergence, independent of TTLs and resolver floors; the report compares
with the same scenario as DNS failover (etc/lab/dns-vs-anycast.yaml)."""

import subprocess

from test_lab import DETECT, LAB, pytestmark, result, run, scenario  # noqa: F401

CONVERGENCE = 5


def anycast(convergence=CONVERGENCE, sites="[us-east, eu-west]"):
    return f"anycast: {{ sites: {sites}, convergence: {convergence} }}"


def test_site_failure_anycast_against_dns(tmp_path):
    """The same down: anycast at detection + convergence, DNS at detection + TTL."""
    path = scenario(tmp_path, "pair", top_extra=anycast(), duration=600)
    p = run(tmp_path, "-q", path)
    r = result(tmp_path, "pair")
    assert 0 < r["anycast"]["route_change"] <= DETECT
    moved = r["anycast"]["route_change"] + CONVERGENCE
    # Whole seconds: the first second with no traffic on the old site.
    assert moved <= r["rto100"] <= moved + 1, p.stdout
    assert r["rto95"] == r["rto100"], p.stdout          # no tail: routes are not caches
    d = r["dns"]
    assert d["detect"] == r["anycast"]["route_change"]  # the same check, folded the same
    assert d["detect"] < d["rto100"] <= 30 + DETECT + 2, p.stdout
    assert d["rto95"] > r["rto95"] + 10
    rows = [line for line in p.stdout.splitlines() if line.startswith("pair ")]
    assert len(rows) == 2 and "(dns)" in rows[1], p.stdout


def test_withdraw_ignores_ttl_and_floors(tmp_path):
    """TTL 3600 behind a 3600 s floor: a withdrawn route still moves everyone at
    convergence, and the site being up means no connection fails."""
    path = scenario(tmp_path, "wd", ttl=3600, population=[("floor", 1.0, 3600)],
                    top_extra=anycast(convergence=8), duration=600,
                    events=["{ at: 300, do: withdraw, endpoint: us-east }"])
    p = run(tmp_path, "-q", path)
    r = result(tmp_path, "wd")
    assert r["event"] == "withdraw"
    assert r["rto95"] == r["rto100"] == 8, p.stdout
    assert r["failed"] == 0
    assert r["dns"]["rto100"] == -1      # without anycast there is nothing to withdraw


def test_bundled_dns_vs_anycast(tmp_path):
    p = run(tmp_path, "-q", "--duration", "1500", "dns-vs-anycast", clients=50000)
    r = result(tmp_path, "dns-vs-anycast")
    assert r["rto100"] <= DETECT + 5 + 1, p.stdout
    # The default population's 300 s and 3600 s floors hold the DNS answer.
    assert r["dns"]["rto99"] > 300 or r["dns"]["rto99"] == -1, p.stdout
    html = (tmp_path / "out" / "dns-vs-anycast.html").read_text()
    assert "dns-vs-anycast (dns)</td>" in html


def test_anycast_errors(tmp_path):
    bad = scenario(tmp_path, "bad1", top_extra="anycast: { convergence: 2, colour: red }")
    p = subprocess.run([LAB, "run", "-q", "-o", str(tmp_path), str(bad)],
                       capture_output=True, text=True)
    assert p.returncode != 0 and "colour" in p.stderr
    bad = scenario(tmp_path, "bad2", top_extra=anycast(sites="[us-west]"))
    p = subprocess.run([LAB, "run", "-q", "-o", str(tmp_path), str(bad)],
                       capture_output=True, text=True)
    assert p.returncode != 0 and "us-west" in p.stderr
    bad = scenario(tmp_path, "bad3", events=["{ at: 300, do: withdraw, endpoint: us-east }"])
    p = subprocess.run([LAB, "run", "-q", "-o", str(tmp_path), str(bad)],
                       capture_output=True, text=True)
    assert p.returncode != 0 and "not an anycast site" in p.stderr
    good = scenario(tmp_path, "live", top_extra=anycast())
    p = subprocess.run([LAB, "run", "--live", "-q", "-o", str(tmp_path), str(good)],
                       capture_output=True, text=True)
    assert p.returncode != 0 and "does not drive anycast" in p.stderr


def test_listed():
    p = subprocess.run([LAB, "list"], capture_output=True, text=True)
    assert p.returncode == 0
    line = [x for x in p.stdout.splitlines() if x.startswith("dns-vs-anycast ")]
    assert line and "does not load" not in line[0], p.stdout
