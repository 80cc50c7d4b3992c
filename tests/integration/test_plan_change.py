# SPDX-License-Identifier: GPL-3.0-or-later
"""`vanectl plan-change` and GET /api/v1/plan-change (issue 15, "Safety
tooling built on the model"): vane-lab's model on a service of the running
config, before the change is made.  The bounds follow from the brief's
resolver population (70% compliant, 15% min-ttl 300, 10% unbound-like,
5% min-ttl 3600) and the service's check (interval 5 s, fall 3, timeout 2 s).
"""

import json

from http_helpers import get, http_factory  # noqa: F401
from steer_helpers import endpoint, service

POP = {"compliant": 0, "rogue-isp": 300, "unbound-like": 0, "floor-3600": 3600}


def steer(ttl=300):
    return {
        "checks": [{"id": "conn", "type": "tcp", "port": 9, "interval": "5s",
                    "timeout": "2s", "rise": 2, "fall": 3}],
        "services": [service("api.example.com", [
            endpoint("us-east", "192.0.2.1", check="conn",
                     location={"continent": "NA", "country": "US"}),
            endpoint("eu-west", "192.0.2.2", check="conn",
                     location={"continent": "EU", "country": "DE"}),
        ], policy=["health", "geo"], ttl=ttl)],
    }


def plan(v, *args):
    p = v.ctl("plan-change", *args, json_out=True)
    return p.returncode, json.loads(p.stdout) if p.stdout.strip() else {}, p


def test_plan_new_ttl(http_factory):  # noqa: F811
    v = http_factory(steer(ttl=300))
    v.start()
    rc, res, p = plan(v, "api.example.com", "--new-ttl", "30")
    assert rc == 0 and res.get("ok") is True, (p.stdout, p.stderr)
    assert res["old_ttl"] == 300 and res["new_ttl"] == 30
    kinds = {k["name"]: k for k in res["kinds"]}
    assert set(kinds) == set(POP)
    for name, floor in POP.items():
        assert kinds[name]["old_held"] == max(300, floor)
        assert kinds[name]["new_held"] == max(30, floor)
    # Every cache holds the new TTL once the longest floor has passed.
    assert res["safe_after"] == 3600
    assert res["detect_bound"] == 17
    # Nothing moves faster than the new TTL allows, and the hour-floor
    # kind keeps some traffic past the 30 minutes looked at.
    assert res["rto95"] >= 30 or res["rto95"] == -1, res
    assert res["rto100"] == -1, res
    # The text for the operator.
    p = v.ctl("plan-change", "api.example.com", "--new-ttl", "30")
    assert p.returncode == 0 and "safe to rely on the new TTL 3600 s" in p.stdout, p.stdout


def test_plan_drain_and_http(http_factory):  # noqa: F811
    v = http_factory(steer(ttl=60))
    v.start()
    rc, res, p = plan(v, "api.example.com", "--drain", "us-east")
    assert rc == 0 and res["event"] == "drain" and res["endpoint"] == "us-east", p.stdout
    # After 1 minute compliant caches (TTL 60) have mostly moved; the
    # floors keep ~15% + 5% of resolvers for 5 minutes and an hour.
    assert res["left_1m"] > res["left_5m"] >= res["left_30m"] > 0, res
    assert res["left_5m"] < 0.5, res
    assert res["left_30m"] < 0.15, res
    # The same through the HTTP API (a read: no token needed).
    st, body, _ = get(v, "/api/v1/plan-change?service=api.example.com&drain=us-east")
    assert st == 200 and body["ok"] is True, body
    assert abs(body["left_5m"] - res["left_5m"]) < 1e-9, (body, res)
    # Errors: an unknown endpoint or service, or no change given.
    assert plan(v, "api.example.com", "--drain", "nope")[0] == 1
    assert plan(v, "nosuch.example.com", "--new-ttl", "30")[0] == 1
    assert plan(v, "api.example.com")[0] == 1
    st, body, _ = get(v, "/api/v1/plan-change?service=nosuch.example.com&new_ttl=30")
    assert st == 404, (st, body)
