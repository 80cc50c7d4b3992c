# SPDX-License-Identifier: GPL-3.0-or-later
"""The HTTP API (issue 4): reads are open, writes need the bearer token,
bad input is rejected without a change, every vanectl verb has a JSON
endpoint, writes are idempotent, and concurrent writers lose no update
(all funnelled through the loop thread)."""

import json
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from http_helpers import (TOKEN, get, http, http_factory, post,  # noqa: F401
                          two_endpoint_steer)
from steer_helpers import (UdpClient, addrs, ctl_json, health_row,  # noqa: F401
                           health_servers, query, row_drained, wait_until)

SVC = "api.example.com"


def answers(v, n=40):
    c = UdpClient(v.port)
    try:
        return {a for _ in range(n) for a in addrs(c.ask(SVC, "A"))}
    finally:
        c.close()


def ep_row(v, ep):
    st, res, _ = get(v, "/api/v1/health")
    assert st == 200 and res["ok"], res
    rows = [r for r in res["endpoints"] if r["endpoint"] == ep]
    assert len(rows) == 1, res
    return rows[0]


def events(v, since=0):
    st, res, _ = get(v, "/api/v1/events?since=%d" % since)
    assert st == 200 and res["ok"], res
    return res["events"]


# ---------------------------------------------------------------------------
# auth

@pytest.mark.parametrize("token", [None, "wrong-token", TOKEN + "x", TOKEN[:-1]])
def test_write_without_good_token_is_refused(http_factory, token):
    v = http_factory(two_endpoint_steer())
    before = answers(v)
    assert before == {"192.0.2.1", "192.0.2.2"}
    st, res, hdrs = http(v, "POST", "/api/v1/drain",
                         body={"service": SVC, "endpoint": "a"}, token=token)
    assert st == 401, res
    assert res["ok"] is False and "token" in res["error"]
    assert hdrs.get("WWW-Authenticate", "").startswith("Bearer")
    # Nothing changed: not drained, both endpoints still answered, no event.
    assert ep_row(v, "a")["drained"] is False
    assert answers(v) == before
    assert [e for e in events(v) if e["kind"] == "drain"] == []


def test_good_token_changes_dns_and_vanectl(http_factory):
    v = http_factory(two_endpoint_steer())
    st, res, _ = post(v, "/api/v1/drain", {"service": SVC, "endpoint": "a"})
    assert st == 200 and res["ok"] and res["changed"] is True, res
    # Effective on the next query, visible to vanectl.
    assert answers(v) == {"192.0.2.2"}
    assert row_drained(health_row(v, SVC, "a")) is True
    st, res, _ = post(v, "/api/v1/endpoints/%s/a/undrain" % SVC)
    assert st == 200 and res["ok"], res
    assert answers(v) == {"192.0.2.1", "192.0.2.2"}
    assert row_drained(health_row(v, SVC, "a")) is False


def test_reads_are_open(http_factory):
    v = http_factory(two_endpoint_steer())
    for path in ("status", "services", "health", "zones", "stats", "events", "commands"):
        st, res, _ = get(v, "/api/v1/" + path)
        assert st == 200 and res["ok"] is True, (path, res)


def test_no_token_file_means_read_only(http_factory):
    v = http_factory(two_endpoint_steer(), token=None)
    st, res, _ = post(v, "/api/v1/drain", {"service": SVC, "endpoint": "a"})
    assert st == 401 and "token-file" in res["error"], res
    assert get(v, "/api/v1/status")[0] == 200


# ---------------------------------------------------------------------------
# bad input

@pytest.mark.parametrize("raw", [b"{", b"{\"service\": }", b"[1,2]", b"\"drain\"",
                                 b"{\"a\":1,\"a\":2}"])
def test_malformed_json_is_400(http_factory, raw):
    v = http_factory(two_endpoint_steer())
    st, res, _ = post(v, "/api/v1/drain", raw=raw)
    assert st == 400, res
    assert res["ok"] is False and "malformed JSON" in res["error"], res
    assert ep_row(v, "a")["drained"] is False


def test_bad_fields(http_factory):
    v = http_factory(two_endpoint_steer())
    cases = [
        ("/api/v1/drain", {"service": SVC}, 400, "endpoint"),
        ("/api/v1/weight", {"service": SVC, "endpoint": "a"}, 400, "weight"),
        ("/api/v1/weight", {"service": SVC, "endpoint": "a", "weight": -1}, 400, "negative"),
        ("/api/v1/weight", {"service": SVC, "endpoint": "a", "weight": [1]}, 400, "weight"),
        ("/api/v1/weight", {"service": SVC, "endpoint": "a", "weight": "x"}, 400, "weight"),
        ("/api/v1/drain", {"service": SVC, "endpoint": "nope"}, 404, "no such"),
        ("/api/v1/drain", {"service": "nope.example.com", "endpoint": "a"}, 404, "no such"),
        ("/api/v1/ramp", {"service": SVC, "endpoint": "a", "steps": [5, 500],
                          "every": "60s"}, 400, "steps"),
    ]
    for path, body, code, word in cases:
        st, res, _ = post(v, path, body)
        assert st == code and res["ok"] is False and word in res["error"], (path, body, res)
    row = ep_row(v, "a")
    assert row["drained"] is False and row["weight_override"] is None


def test_unknown_routes_are_404(http_factory):
    v = http_factory(two_endpoint_steer())
    for method, path in (("GET", "/api/v1/nope"), ("GET", "/nope"), ("POST", "/api/v1/nope"),
                         ("POST", "/api/v1/endpoints/%s/a/explode" % SVC),
                         ("GET", "/api/v2/status"), ("GET", "/assets/missing.js")):
        st, res, _ = http(v, method, path, token=TOKEN)
        assert st == 404 and res["ok"] is False, (method, path, res)
    st, res, _ = http(v, "DELETE", "/api/v1/status", token=TOKEN)
    assert st == 405


# ---------------------------------------------------------------------------
# idempotence

def test_drain_twice_is_one_change(http_factory):
    v = http_factory(two_endpoint_steer())
    first = post(v, "/api/v1/drain", {"service": SVC, "endpoint": "a"})[1]
    second = post(v, "/api/v1/endpoints/%s/a/drain" % SVC)[1]
    assert first["ok"] and first["changed"] is True
    assert second["ok"] and second["changed"] is False
    assert second["endpoint"]["drained"] is True
    assert len([e for e in events(v) if e["kind"] == "drain"]) == 1
    w1 = post(v, "/api/v1/weight", {"service": SVC, "endpoint": "b", "weight": 7})[1]
    w2 = post(v, "/api/v1/weight", {"service": SVC, "endpoint": "b", "weight": "7"})[1]
    assert w1["changed"] is True and w2["changed"] is False
    assert ep_row(v, "b")["weight"] == 7
    assert len([e for e in events(v) if e["kind"] == "weight"]) == 1


# ---------------------------------------------------------------------------
# concurrency: every write goes through the loop thread, in order

def test_concurrent_writers_lose_no_update(http_factory):
    v = http_factory(two_endpoint_steer())
    n = 50

    def weight(i):
        return post(v, "/api/v1/weight", {"service": SVC, "endpoint": "b", "weight": i + 1})

    def toggle(i):
        verb = "drain" if i % 2 == 0 else "undrain"
        return post(v, "/api/v1/endpoints/%s/a/%s" % (SVC, verb))

    with ThreadPoolExecutor(max_workers=n) as ex:
        wres = list(ex.map(weight, range(n)))
    for st, res, _ in wres:
        assert st == 200 and res["ok"], res
    # Distinct values: every one of the 50 writes was a change, each has an
    # event, and the final weight is the one applied last.
    assert sum(r[1]["changed"] for r in wres) == n
    wev = [e for e in events(v) if e["kind"] == "weight"]
    assert len(wev) == n
    assert sorted(int(e["text"].split()[-1]) for e in wev) == list(range(1, n + 1))
    last = max(wev, key=lambda e: e["id"])
    assert ep_row(v, "b")["weight"] == int(last["text"].split()[-1])

    with ThreadPoolExecutor(max_workers=n) as ex:
        tres = list(ex.map(toggle, range(n)))
    for st, res, _ in tres:
        assert st == 200 and res["ok"], res
    changed = sum(r[1]["changed"] for r in tres)
    tev = [e for e in events(v) if e["kind"] in ("drain", "undrain")]
    assert len(tev) == changed >= 1
    # Changes alternate: the state after each event is its kind.
    for x, y in zip(tev, tev[1:]):
        assert x["kind"] != y["kind"], tev
    final = max(tev, key=lambda e: e["id"])["kind"] == "drain"
    assert ep_row(v, "a")["drained"] is final
    assert row_drained(health_row(v, SVC, "a")) is final


# ---------------------------------------------------------------------------
# every vanectl verb has an endpoint

def test_every_verb_has_an_endpoint(http_factory, tmp_path):
    v = http_factory(two_endpoint_steer())
    st, res, _ = get(v, "/api/v1/status")
    assert res["version"] and res["zones_serving"] == 3
    st, res, _ = get(v, "/api/v1/zones?zone=example.com")
    assert st == 200 and [z["name"] for z in res["zones"]] == ["example.com."]
    assert get(v, "/api/v1/zones?zone=nope.test")[0] == 404
    st, res, _ = get(v, "/api/v1/stats")
    assert "queries" in res and "services" in res
    st, res, _ = get(v, "/api/v1/commands")
    verbs = {c["name"] for c in res["commands"]}
    assert {"drain", "undrain", "weight", "ramp", "load", "latency", "latency-load",
            "explain", "health", "reload", "zone-status", "stats", "status"} <= verbs

    st, res, _ = post(v, "/api/v1/ramp", {"service": SVC, "endpoint": "a",
                                          "steps": [10, 50, 100], "every": "60s"})
    assert st == 200 and res["ok"], res
    assert ep_row(v, "a")["ramp"]["steps"] == [10, 50, 100]
    st, res, _ = post(v, "/api/v1/endpoints/%s/b/ramp" % SVC, {"steps": "20,100",
                                                                "every": 30})
    assert st == 200 and ep_row(v, "b")["ramp"]["every_ms"] == 30000, res
    st, res, _ = post(v, "/api/v1/load", {"service": SVC, "endpoint": "a", "value": 42})
    assert st == 200 and ep_row(v, "a")["load"] == 42, res
    st, res, _ = post(v, "/api/v1/latency", {"service": SVC, "endpoint": "a",
                                             "client": "10.0.0.0/8", "rtt_ms": 12})
    assert st == 200 and res["ok"], res
    lat = tmp_path / "lat.txt"
    lat.write_text("%s a 10.0.0.0/8 5\n%s b 10.0.0.0/8 9\n" % (SVC, SVC))
    st, res, _ = post(v, "/api/v1/latency-load", {"file": str(lat)})
    assert st == 200 and res["ok"] and res["cells"] >= 2, res

    st, res, _ = get(v, "/api/v1/explain?name=%s&type=A&client=198.51.100.7" % SVC)
    assert st == 200 and res["ok"], res
    assert "198.51.100.7" in json.dumps(res)
    st, res, _ = get(v, "/api/v1/explain?type=A")
    assert st == 400 and "name" in res["error"]

    st, res, _ = post(v, "/api/v1/reload")
    assert st == 200 and res["ok"], res
    assert any(e["kind"] == "reload" for e in events(v))

    st, res, _ = get(v, "/api/v1/services")
    svc = [s for s in res["services"] if s["name"] == SVC][0]
    assert {e["endpoint"] for e in svc["endpoints"]} == {"a", "b"}
    for e in svc["endpoints"]:
        for k in ("state", "weight", "drained", "ramp", "answers", "share"):
            assert k in e, e


def test_events_since(http_factory):
    v = http_factory(two_endpoint_steer())
    post(v, "/api/v1/drain", {"service": SVC, "endpoint": "a"})
    post(v, "/api/v1/weight", {"service": SVC, "endpoint": "b", "weight": 3})
    evs = events(v)
    kinds = [e["kind"] for e in evs]
    assert kinds[-2:] == ["drain", "weight"], evs
    for e in evs:
        assert set(e) >= {"id", "time", "kind", "service", "endpoint", "text"}
    d = [e for e in evs if e["kind"] == "drain"][0]
    assert d["service"] == SVC and d["endpoint"] == "a"
    later = events(v, since=d["id"])
    assert [e["kind"] for e in later] == ["weight"]
    assert events(v, since=evs[-1]["id"]) == []
    assert get(v, "/api/v1/events?since=x")[0] == 400


def test_health_flip_is_an_event(http_factory, health_servers):
    h = health_servers()
    v = http_factory(two_endpoint_steer(check_port=h.port))
    wait_until(lambda: ep_row(v, "a")["origin"] == "probed", "first probe")
    h.stop()
    wait_until(lambda: ep_row(v, "a")["state"] == "down", "a down", timeout=10)
    ev = wait_until(lambda: [e for e in events(v) if e["kind"] == "health"
                             and e.get("to") == "down"], "health event")
    assert ev[0]["service"] == SVC and ev[0]["endpoint"] == "a"
    assert answers(v) == {"192.0.2.2"}


def test_dashboard_is_served(http_factory):
    v = http_factory(two_endpoint_steer())
    st, text, hdrs = get(v, "/")
    assert st == 200 and hdrs["Content-Type"].startswith("text/html")
    assert "<html" in text.lower()
    assert get(v, "/index.html")[1] == text


def test_stop_over_http(http_factory):
    v = http_factory(two_endpoint_steer())
    st, res, _ = post(v, "/api/v1/stop")
    assert st == 200 and res["ok"], res
    assert v.proc.wait(30) == 0
