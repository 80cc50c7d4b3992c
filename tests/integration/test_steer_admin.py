# SPDX-License-Identifier: GPL-3.0-or-later
"""Operators' controls (issue 3): drain/undrain, weight, ramp (climbing and
aborting on failed health), load and shedding, logging of every change,
persistence across a restart (state-dir/state.json), explain, and errors
for unknown services and endpoints."""

import json
import time

import pytest

import dns.rcode

from steer_helpers import (BlackHole, UdpClient, addrs, ctl, ctl_json, ctl_ok,
                           endpoint, explain_trace, free_port_on, health_row,
                           log_has, log_offset, measure, query, row_drained,
                           row_state, service, trace_ep, wait_until)
from steer_helpers import health_servers, steer_factory  # noqa: F401

DOWN_BOUND = 1.0 * 2 + 1.0 + 1.0


def web_check(port, **kw):
    c = {"id": "web", "type": "http", "port": port, "path": "/health",
         "expect": 200, "interval": "1s", "timeout": "1s", "rise": 2,
         "fall": 2}
    c.update(kw)
    return c


def current(v, name, qtype="A"):
    r = query(v.port, name, qtype)
    assert r.rcode() == dns.rcode.NOERROR, r
    return set(addrs(r, qtype))


def sample(v, name, n):
    """Answers (single address each) of n queries."""
    c = UdpClient(v.port)
    try:
        out = []
        for _ in range(n):
            got = addrs(c.ask(name, "A"))
            assert len(got) == 1, got
            out.append(got[0])
        return out
    finally:
        c.close()


def logged(v, key, word, start=0, timeout=5):
    return wait_until(lambda: log_has(v, key, word, start=start),
                      "log line with %r and %r" % (key, word), timeout)


# ---------------------------------------------------------------------------
# drain / undrain / weight

def test_drain_undrain(steer_factory):
    v = steer_factory({"services": [service("adm.example.com", [
        endpoint("a", "192.0.2.201"), endpoint("b", "192.0.2.202"),
    ], ttl=30, policy=["health"], answers=2)]})
    both = {"192.0.2.201", "192.0.2.202"}
    assert current(v, "adm.example.com") == both

    off = log_offset(v)
    ctl_ok(v, "drain", "adm.example.com/a")
    # Effective on the very next query.
    assert current(v, "adm.example.com") == {"192.0.2.202"}
    assert current(v, "adm.example.com", "A") == {"192.0.2.202"}
    assert row_drained(health_row(v, "adm.example.com", "a"))
    assert not row_drained(health_row(v, "adm.example.com", "b"))
    logged(v, "adm.example.com/a", "drain", off)

    # Draining twice is harmless.
    ctl_ok(v, "drain", "adm.example.com/a")
    assert current(v, "adm.example.com") == {"192.0.2.202"}

    off = log_offset(v)
    ctl_ok(v, "undrain", "adm.example.com/a")
    assert current(v, "adm.example.com") == both
    assert not row_drained(health_row(v, "adm.example.com", "a"))
    logged(v, "adm.example.com/a", "undrain", off)

    # JSON replies say ok.
    p, obj = ctl_json(v, "drain", "adm.example.com/b")
    assert p.returncode == 0 and obj["ok"] is True, obj
    assert current(v, "adm.example.com") == {"192.0.2.201"}
    ctl_ok(v, "undrain", "adm.example.com/b")
    assert current(v, "adm.example.com") == both


def test_weight(steer_factory):
    v = steer_factory({"services": [service("wt.example.com", [
        endpoint("a", "192.0.2.211", weight=50),
        endpoint("b", "192.0.2.212", weight=50),
    ], ttl=30, policy=["weighted"], answers=1)]})
    assert set(sample(v, "wt.example.com", 60)) == {"192.0.2.211",
                                                     "192.0.2.212"}
    off = log_offset(v)
    ctl_ok(v, "weight", "wt.example.com/a", 0)
    assert set(sample(v, "wt.example.com", 40)) == {"192.0.2.212"}
    logged(v, "wt.example.com/a", "weight", off)
    tr, _ = explain_trace(v, "wt.example.com", "A", "192.0.2.1")
    assert trace_ep(tr, "a")["weight"] == 0
    assert trace_ep(tr, "b")["weight"] == 50

    ctl_ok(v, "weight", "wt.example.com/a", 100)
    ctl_ok(v, "weight", "wt.example.com/b", 0)
    assert set(sample(v, "wt.example.com", 40)) == {"192.0.2.211"}
    tr, _ = explain_trace(v, "wt.example.com", "A", "192.0.2.1")
    assert trace_ep(tr, "a")["weight"] == 100

    # Bad values are refused and change nothing.
    for bad in ("banana", "-1", "99999999999"):
        p = ctl(v, "weight", "wt.example.com/b", bad)
        assert p.returncode == 1, (bad, p.stdout, p.stderr)
        assert "error:" in p.stderr, p.stderr
    assert set(sample(v, "wt.example.com", 20)) == {"192.0.2.211"}


# ---------------------------------------------------------------------------
# ramp

def test_ramp_climbs(steer_factory):
    v = steer_factory({"services": [service("rp.example.com", [
        endpoint("a", "192.0.2.221", weight=200),
        endpoint("b", "192.0.2.222", weight=200),
    ], ttl=30, ttl_degraded=5, policy=["health", "weighted"], answers=1)]})
    off = log_offset(v)
    ctl_ok(v, "ramp", "rp.example.com/a", "--steps", "10,50,100",
           "--every", "1s")
    seen = []
    ramping_seen = False

    def step():
        nonlocal ramping_seen
        tr, _ = explain_trace(v, "rp.example.com", "A", "192.0.2.1")
        e = trace_ep(tr, "a")
        ramping_seen |= bool(e["ramping"])
        if not seen or seen[-1] != e["weight"]:
            seen.append(e["weight"])
        return e["weight"] == 200 and not e["ramping"]
    wait_until(step, "ramp to finish", 8, step=0.1)
    # 10% -> 50% -> 100% of 200, never down, each step visible.
    assert seen == [20, 100, 200], seen
    assert ramping_seen
    # ttl-degraded applies while ramping, the normal TTL after it.
    r = query(v.port, "rp.example.com", "A")
    assert r.answer and r.answer[0].ttl == 30, r
    # Start and each step are logged.
    wait_until(lambda: len([ln for ln in v.stderr_text()[off:].splitlines()
                            if "rp.example.com/a" in ln and "ramp" in ln])
               >= 3, "ramp steps logged", 5)


def test_ramp_degraded_ttl(steer_factory):
    v = steer_factory({"services": [service("rt.example.com", [
        endpoint("a", "192.0.2.225", weight=100),
        endpoint("b", "192.0.2.226", weight=100),
    ], ttl=30, ttl_degraded=5, policy=["health", "weighted"], answers=2)]})
    r = query(v.port, "rt.example.com", "A")
    assert r.answer and r.answer[0].ttl == 30, r
    ctl_ok(v, "ramp", "rt.example.com/a", "--steps", "5,25,50,100",
           "--every", "60s")
    r = query(v.port, "rt.example.com", "A")
    assert r.answer and r.answer[0].ttl == 5, r
    ctl_ok(v, "drain", "rt.example.com/b")
    r = query(v.port, "rt.example.com", "A")
    assert r.answer and r.answer[0].ttl == 5, r


def test_ramp_aborts_when_endpoint_fails(steer_factory, health_servers):
    port = free_port_on(["127.0.0.8"])
    h = health_servers("127.0.0.8", port)
    v = steer_factory({
        "checks": [web_check(port)],
        "services": [service("ra.example.com", [
            endpoint("a", "192.0.2.231", weight=100, check="web",
                     check_address="127.0.0.8"),
            endpoint("b", "192.0.2.232", weight=100),
        ], ttl=30, policy=["health", "weighted"], answers=1)],
    })
    wait_until(lambda: h.hits >= 2 and
               row_state(health_row(v, "ra.example.com", "a")) == "up",
               "a probed up", 5)
    ctl_ok(v, "ramp", "ra.example.com/a", "--steps", "10,50,100",
           "--every", "30s")
    tr, _ = explain_trace(v, "ra.example.com", "A", "192.0.2.1")
    e = trace_ep(tr, "a")
    assert e["weight"] == 10 and e["ramping"], e

    off = log_offset(v)
    h.stop()
    measure(lambda: not trace_ep(explain_trace(
        v, "ra.example.com", "A", "192.0.2.1")[0], "a")["up"],
        "a down", DOWN_BOUND + 5, step=0.1)
    tr, _ = explain_trace(v, "ra.example.com", "A", "192.0.2.1")
    e = trace_ep(tr, "a")
    # Aborted: drained (an operator state every row shows), not weight 0.
    assert e["drained"] and not e["ramping"] and e["weight"] == 100, e
    logged(v, "ra.example.com/a", "abort", off)

    # Back up: the ramp stays aborted (drained) until an operator acts.
    h.start()
    wait_until(lambda: trace_ep(explain_trace(
        v, "ra.example.com", "A", "192.0.2.1")[0], "a")["up"],
        "a up again", DOWN_BOUND + 5, step=0.1)
    e = trace_ep(explain_trace(v, "ra.example.com", "A", "192.0.2.1")[0], "a")
    assert e["drained"] and not e["ramping"], e
    assert set(sample(v, "ra.example.com", 40)) == {"192.0.2.232"}
    assert health_row(v, "ra.example.com", "a")["ramp_aborted"]["step"] == 1


# ---------------------------------------------------------------------------
# load and shed

def test_load_shed(steer_factory):
    v = steer_factory({"services": [service("shed.example.com", [
        endpoint("a", "192.0.2.241", weight=50, capacity=100),
        endpoint("b", "192.0.2.242", weight=50, capacity=100),
    ], ttl=30, policy=["shed", "weighted"], answers=1, shed_low=0.8,
        shed_high=1.0)]})
    both = {"192.0.2.241", "192.0.2.242"}
    assert set(sample(v, "shed.example.com", 60)) == both

    off = log_offset(v)
    ctl_ok(v, "load", "shed.example.com/a", 150)       # above high: removed
    assert set(sample(v, "shed.example.com", 40)) == {"192.0.2.242"}
    logged(v, "shed.example.com/a", "load", off)
    tr, _ = explain_trace(v, "shed.example.com", "A", "192.0.2.1")
    assert trace_ep(tr, "a")["load"] == 150

    # Every endpoint above high: nobody is removed.
    ctl_ok(v, "load", "shed.example.com/b", 300)
    assert set(sample(v, "shed.example.com", 60)) == both

    ctl_ok(v, "load", "shed.example.com/b", 0)
    assert set(sample(v, "shed.example.com", 40)) == {"192.0.2.242"}
    ctl_ok(v, "load", "shed.example.com/a", 10)        # below low: full share
    assert set(sample(v, "shed.example.com", 60)) == both

    p = ctl(v, "load", "shed.example.com/a", "lots")
    assert p.returncode == 1 and "error:" in p.stderr, (p.stdout, p.stderr)


# ---------------------------------------------------------------------------
# persistence

def _state(v):
    path = v.state_dir / "state.json"
    if not path.exists():
        return None
    try:
        return json.loads(path.read_text())
    except ValueError:
        # Written atomically: a reader never sees a partial file.
        pytest.fail("state.json is not valid JSON:\n" + path.read_text())


def _state_entry(st, key):
    """The object for "service/endpoint" anywhere in state.json."""
    if st is None:
        return None
    stack = [st]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if key in node and isinstance(node[key], dict):
                return node[key]
            stack += list(node.values())
        elif isinstance(node, list):
            stack += node
    return None


def test_restart_keeps_state(steer_factory, health_servers):
    port = free_port_on(["127.0.0.9"])
    h = health_servers("127.0.0.9", port)
    v = steer_factory({
        # A probe timeout long enough that a loaded machine still asks
        # before the first probe after the restart gives up.
        "checks": [web_check(port, interval="3s", timeout="3s")],
        "services": [service("per.example.com", [
            endpoint("a", "192.0.2.251"),
            endpoint("b", "192.0.2.252", check="web",
                     check_address="127.0.0.9"),
            endpoint("c", "192.0.2.253", weight=100),
        ], ttl=30, policy=["health"], answers=3, recovery="instant")],
    })
    # First start, no state file: b is up until its first probe (logged).
    wait_until(lambda: log_has(v, "per.example.com/b", "no saved state"),
               "'no saved state' logged", 5)
    wait_until(lambda: h.hits >= 2 and
               row_state(health_row(v, "per.example.com", "b")) == "up",
               "b probed up", 15)
    assert current(v, "per.example.com") == {"192.0.2.251", "192.0.2.252",
                                             "192.0.2.253"}
    ctl_ok(v, "drain", "per.example.com/a")
    ctl_ok(v, "weight", "per.example.com/c", 7)
    h.stop()
    wait_until(lambda: current(v, "per.example.com") == {"192.0.2.253"},
               "b down", 2 * 3.0 + DOWN_BOUND + 5)

    # Persisted (coalesced writes: wait for them).
    def persisted():
        st = _state(v)
        a = _state_entry(st, "per.example.com/a")
        b = _state_entry(st, "per.example.com/b")
        c = _state_entry(st, "per.example.com/c")
        return a and b and c and a.get("drained") is True and \
            str(b.get("health", b.get("state", b.get("up")))).lower() in \
            ("down", "false") and c.get("weight") == 7
    wait_until(persisted, "state.json with drain, weight and b down", 5)
    assert not list(v.state_dir.glob("*.tmp*")), list(v.state_dir.iterdir())

    assert v.stop() == 0, v.stderr_text()
    # While vaned is down, b's address starts to swallow connections: its
    # first probe after the restart takes the whole timeout (3s), so what
    # the first queries get is decided by the saved state alone.
    hole = BlackHole("127.0.0.9", port)
    off = log_offset(v)
    t0 = time.monotonic()
    v.start()
    # a is still drained, b still down: no random first answer, no blind
    # all-up.
    assert current(v, "per.example.com") == {"192.0.2.253"}
    tr, _ = explain_trace(v, "per.example.com", "A", "192.0.2.1")
    assert trace_ep(tr, "a")["drained"] is True
    assert trace_ep(tr, "b")["up"] is False
    assert trace_ep(tr, "c")["weight"] == 7
    assert time.monotonic() - t0 < 3.0, "checked too late to prove anything"
    assert log_has(v, "per.example.com/b", "no saved state", start=off) \
        is None, v.stderr_text()[off:]
    hole.close()

    # b recovers through probes, a through an operator.
    h.start()
    wait_until(lambda: "192.0.2.252" in current(v, "per.example.com"),
               "b up after restart", 2 * 3.0 + DOWN_BOUND + 5)
    ctl_ok(v, "undrain", "per.example.com/a")
    assert current(v, "per.example.com") == {"192.0.2.251", "192.0.2.252",
                                             "192.0.2.253"}
    wait_until(lambda: (_state_entry(_state(v), "per.example.com/a") or
                        {}).get("drained") is False,
               "undrain persisted", 5)


def test_burst_of_changes_persisted(steer_factory):
    """Many changes in a row (coalesced writes, some while a write is in
    flight): vaned keeps serving and the file ends with the last state."""
    v = steer_factory({"services": [service("bu.example.com", [
        endpoint("a", "192.0.2.41"), endpoint("b", "192.0.2.42"),
    ], ttl=30, policy=["health"], answers=2)]})
    for i in range(25):
        ctl_ok(v, "drain" if i % 2 == 0 else "undrain", "bu.example.com/a")
        ctl_ok(v, "weight", "bu.example.com/b", i + 1)
        assert v.proc.poll() is None, "vaned died (rc %s)" % v.proc.returncode
    # Last: a drained (i = 24), b weight 25.
    assert current(v, "bu.example.com") == {"192.0.2.42"}

    def final():
        st = _state(v)
        a = _state_entry(st, "bu.example.com/a") or {}
        b = _state_entry(st, "bu.example.com/b") or {}
        return a.get("drained") is True and b.get("weight") == 25
    wait_until(final, "state.json with the last change", 5)
    assert v.proc.poll() is None, "vaned died (rc %s)" % v.proc.returncode


def test_restart_keeps_saved_up_state(steer_factory, health_servers):
    """A saved "up" is used until the first probes finish: the endpoint
    answers right after the restart even though its probes will fail."""
    port = free_port_on(["127.0.0.10"])
    h = health_servers("127.0.0.10", port)
    svc = service("up.example.com", [
        endpoint("a", "192.0.2.161", check="web",
                 check_address="127.0.0.10"),
        endpoint("b", "192.0.2.162"),
    ], ttl=30, policy=["health"], answers=2)
    v = steer_factory({"checks": [web_check(port, interval="3s", timeout="3s")], "services": [svc]})
    wait_until(lambda: h.hits >= 2 and
               row_state(health_row(v, "up.example.com", "a")) == "up",
               "a probed up", 15)
    wait_until(lambda: _state_entry(_state(v), "up.example.com/a"),
               "a in state.json", 5)
    assert v.stop() == 0
    h.stop()
    # The first probe after the restart hangs until its timeout (3s).
    hole = BlackHole("127.0.0.10", port)
    try:
        t0 = time.monotonic()
        v.start()
        assert current(v, "up.example.com") == {"192.0.2.161", "192.0.2.162"}
        assert time.monotonic() - t0 < 3.0, "checked too late"
        # ...and then the probes take over (fall 2 probes of 3 s each).
        wait_until(lambda: current(v, "up.example.com") == {"192.0.2.162"},
                   "a down by probe", 2 * 3.0 + DOWN_BOUND + 5)
    finally:
        hole.close()


# ---------------------------------------------------------------------------
# explain

GEO_NETS = "203.0.113.0/24 EU DE\n198.51.100.0/24 NA US\n127.0.0.0/8 NA US\n"


def _explain_setup(steer_factory, tmp_path):
    d = tmp_path / "vaned"
    d.mkdir(parents=True, exist_ok=True)
    (d / "geo.nets").write_text(GEO_NETS)
    return steer_factory({
        "geo": {"database": "/var/lib/location/database.db",
                "nets": "geo.nets"},
        "services": [service("ex.example.com", [
            endpoint("eu", "192.0.2.171",
                     location={"continent": "EU", "country": "DE"}),
            endpoint("us", "192.0.2.172",
                     location={"continent": "NA", "country": "US"}),
        ], ttl=30, policy=["health", "geo", "weighted"], answers=1)],
    })


def test_explain_text(steer_factory, tmp_path):
    v = _explain_setup(steer_factory, tmp_path)
    p = ctl_ok(v, "explain", "ex.example.com", "A", "--client",
               "198.51.100.7", "--ecs", "203.0.113.0/24")
    out = p.stdout
    for word in ("health", "geo", "weighted", "eu", "us", "scope 24",
                 "192.0.2.171", "DE"):
        assert word in out, "%r missing in explain output:\n%s" % (word, out)
    assert "192.0.2.172" not in out.split("result")[-1], out

    # Without ECS the resolver's (client's) address decides.
    p = ctl_ok(v, "explain", "ex.example.com", "A", "--client",
               "198.51.100.7")
    assert "192.0.2.172" in p.stdout, p.stdout


def test_explain_json(steer_factory, tmp_path):
    v = _explain_setup(steer_factory, tmp_path)
    tr, obj = explain_trace(v, "ex.example.com", "A", "198.51.100.7",
                            ecs="203.0.113.0/24")
    filters = [s["filter"] for s in tr["steps"]]
    assert filters[:3] == ["health", "geo", "weighted"], filters
    geo = tr["steps"][1]
    assert sorted(geo["in"]) == ["eu", "us"] and geo["out"] == ["eu"], geo
    assert tr["result"]["endpoints"] == ["eu"]
    assert tr["result"]["scope"] == 24
    assert tr["result"]["outcome"] == "ANSWER"
    assert tr["client"]["ecs"] is True
    assert tr["client"]["geo"]["country"] == "DE"
    # The answer records are part of the reply.
    assert "192.0.2.171" in json.dumps(obj), obj

    tr, obj = explain_trace(v, "ex.example.com", "A", "198.51.100.7")
    assert tr["result"]["endpoints"] == ["us"]
    assert tr["client"]["address"] == "198.51.100.7"
    assert tr["client"]["ecs"] is False

    # Operator state shows in the trace.
    ctl_ok(v, "drain", "ex.example.com/us")
    tr, _ = explain_trace(v, "ex.example.com", "A", "198.51.100.7")
    assert trace_ep(tr, "us")["drained"] is True
    assert tr["steps"][0]["out"] == ["eu"], tr["steps"][0]
    assert tr["result"]["endpoints"] == ["eu"]


# ---------------------------------------------------------------------------
# errors

@pytest.mark.parametrize("args", [
    ("drain", "nosuch.example.com/a"),
    ("undrain", "nosuch.example.com/a"),
    ("drain", "adm.example.com/nosuch"),
    ("weight", "nosuch.example.com/a", "5"),
    ("load", "adm.example.com/zz", "5"),
    ("ramp", "nosuch.example.com/a", "--steps", "5,100", "--every", "1s"),
    ("drain", "adm.example.com"),               # no endpoint part
    ("weight", "adm.example.com/a"),            # missing value
], ids=lambda a: "-".join(a[:2]))
def test_unknown_service_or_endpoint(steer_factory, args):
    v = steer_factory({"services": [service("adm.example.com", [
        endpoint("a", "192.0.2.201"), endpoint("b", "192.0.2.202"),
    ], ttl=30, policy=["health"], answers=2)]})
    p = ctl(v, *args)
    assert p.returncode == 1, (args, p.stdout, p.stderr)
    assert "error:" in p.stderr, p.stderr
    # With --json: the server's refusal as JSON (ok false), unless vanectl
    # itself refused the arguments before asking.
    p = ctl(v, *args, json_out=True)
    assert p.returncode == 1, (args, p.stdout, p.stderr)
    try:
        obj = json.loads(p.stdout)
    except ValueError:
        obj = None
    if obj is not None:
        assert obj["ok"] is False and obj.get("error"), obj
    else:
        assert "error:" in p.stderr, p.stderr
    # Nothing changed.
    assert current(v, "adm.example.com") == {"192.0.2.201", "192.0.2.202"}


# ---------------------------------------------------------------------------
# reload

def test_reload_carries_state_by_name(steer_factory, health_servers):
    port = free_port_on(["127.0.0.11", "127.0.0.12"])
    hc = health_servers("127.0.0.11", port)
    hd = health_servers("127.0.0.12", port)
    eps = [
        endpoint("a", "192.0.2.191"),
        endpoint("b", "192.0.2.192", weight=10),
        endpoint("c", "192.0.2.193", check="web", check_address="127.0.0.11"),
    ]
    v = steer_factory({
        "checks": [web_check(port, interval="3s", timeout="3s")],
        "services": [service("rl.example.com", eps, ttl=30,
                             policy=["health"], answers=4)],
    })
    wait_until(lambda: hc.hits >= 2 and
               row_state(health_row(v, "rl.example.com", "c")) == "up",
               "c probed up", 15)
    ctl_ok(v, "drain", "rl.example.com/a")
    ctl_ok(v, "weight", "rl.example.com/b", 3)
    hc.stop()
    wait_until(lambda: current(v, "rl.example.com") == {"192.0.2.192"},
               "c down", 2 * 3.0 + DOWN_BOUND + 5)
    # c's next probes hang for the whole timeout (3 s, room for a loaded
    # machine to ask first): after the reload its state
    # can only come from the state carried over.
    hole = BlackHole("127.0.0.11", port)
    try:
        # Reload with one more endpoint (d, checked, no state yet).
        off = log_offset(v)
        v.set_steer({
            "checks": [web_check(port, interval="3s", timeout="3s")],
            "services": [service("rl.example.com", eps + [
                endpoint("d", "192.0.2.194", check="web",
                         check_address="127.0.0.12")],
                ttl=30, policy=["health"], answers=4)],
        })
        t0 = time.monotonic()
        p, obj = ctl_json(v, "reload")
        assert p.returncode == 0 and obj["ok"] is True, obj
        # a drained, c down (carried), b up, d assumed up until probed.
        assert current(v, "rl.example.com") == {"192.0.2.192", "192.0.2.194"}
        tr, _ = explain_trace(v, "rl.example.com", "A", "192.0.2.1")
        assert time.monotonic() - t0 < 3.0, "checked too late"
        assert trace_ep(tr, "a")["drained"] is True
        assert trace_ep(tr, "b")["weight"] == 3
        assert trace_ep(tr, "c")["up"] is False
        assert log_has(v, "rl.example.com/d", "no saved state", start=off)
        assert log_has(v, "rl.example.com/c", "no saved state",
                       start=off) is None
        # The new endpoint is probed at once.
        wait_until(lambda: hd.hits >= 1, "d probed", 5)
    finally:
        hole.close()


# ---------------------------------------------------------------------------
# latency table

def test_latency_file_and_updates(steer_factory, tmp_path):
    d = tmp_path / "vaned"
    d.mkdir(parents=True, exist_ok=True)
    (d / "latency.txt").write_text(
        "# service endpoint client rtt\n"
        "lat.example.com x 203.0.113.0/24 50\n"
        "lat.example.com y 203.0.113.0/24 10\n")
    v = steer_factory({
        "latency": {"file": "latency.txt"},
        "services": [service("lat.example.com", [
            endpoint("x", "192.0.2.71"), endpoint("y", "192.0.2.72"),
        ], ttl=30, policy=["latency", "weighted"], answers=1,
            latency_margin="2ms")],
    })

    def ask(ecs):
        r = query(v.port, "lat.example.com", "A", ecs=ecs)
        assert r.rcode() == dns.rcode.NOERROR, r
        return r

    for _ in range(10):
        assert addrs(ask("203.0.113.0/24")) == ["192.0.2.72"]
    # The table's network is the scope.
    r = ask("203.0.113.9/32")
    assert [o.scopelen for o in r.options if o.otype == 8] == [24], r

    off = log_offset(v)
    ctl_ok(v, "latency", "lat.example.com", "x", "203.0.113.0/24", 1)
    for _ in range(10):
        assert addrs(ask("203.0.113.0/24")) == ["192.0.2.71"]
    logged(v, "lat.example.com", "latency", off)

    # Runtime updates survive a restart.
    wait_until(lambda: "latency" in json.dumps(_state(v) or {}) and
               "203.0.113.0/24" in json.dumps(_state(v) or {}),
               "latency update in state.json", 5)
    assert v.stop() == 0
    v.start()
    for _ in range(10):
        assert addrs(ask("203.0.113.0/24")) == ["192.0.2.71"]

    # Within the margin of the best: both stay in.
    (d / "latency2.txt").write_text(
        "lat.example.com x 203.0.113.0/24 20\n"
        "lat.example.com y 203.0.113.0/24 21\n")
    ctl_ok(v, "latency-load", str(d / "latency2.txt"))
    seen = {addrs(ask("203.0.113.0/24"))[0] for _ in range(60)}
    assert seen == {"192.0.2.71", "192.0.2.72"}, seen

    p = ctl(v, "latency", "lat.example.com", "nosuch", "203.0.113.0/24", 5)
    assert p.returncode == 1 and "error:" in p.stderr, (p.stdout, p.stderr)


# ---------------------------------------------------------------------------
# sticky + weight changes

def test_sticky_weight_change_moves_only_its_share(steer_factory):
    """Weighted rendezvous hashing: taking weight from one endpoint moves
    only the clients that were on it; everyone else keeps their answer."""
    v = steer_factory({"services": [service("rv.example.com", [
        endpoint("a", "192.0.2.31", weight=100),
        endpoint("b", "192.0.2.32", weight=100),
        endpoint("c", "192.0.2.33", weight=100),
    ], ttl=30, policy=["health", "weighted"], answers=1, sticky="subnet")]})
    nets = ["10.%d.%d.0/24" % (i // 256, i % 256)
            for i in range(0, 300 * 7, 7)]

    def snapshot():
        c = UdpClient(v.port)
        try:
            return {n: addrs(c.ask("rv.example.com", "A", ecs=n))[0]
                    for n in nets}
        finally:
            c.close()
    before = snapshot()
    share = {a: list(before.values()).count(a) / len(nets)
             for a in ("192.0.2.31", "192.0.2.32", "192.0.2.33")}
    assert all(0.2 <= s <= 0.47 for s in share.values()), share

    ctl_ok(v, "weight", "rv.example.com/c", 0)
    after = snapshot()
    for n in nets:
        if before[n] != "192.0.2.33":
            assert after[n] == before[n], (n, before[n], after[n])
        else:
            assert after[n] in ("192.0.2.31", "192.0.2.32"), (n, after[n])

    # Halving a's weight moves only clients away from a.
    ctl_ok(v, "weight", "rv.example.com/c", 100)
    assert snapshot() == before
    ctl_ok(v, "weight", "rv.example.com/a", 50)
    after = snapshot()
    moved = [n for n in nets if after[n] != before[n]]
    assert moved, "halving a's weight moved nobody"
    assert all(before[n] == "192.0.2.31" for n in moved), \
        [(n, before[n], after[n]) for n in moved if before[n] != "192.0.2.31"]

    # Draining behaves the same way.
    ctl_ok(v, "weight", "rv.example.com/a", 100)
    ctl_ok(v, "drain", "rv.example.com/b")
    after = snapshot()
    for n in nets:
        if before[n] != "192.0.2.32":
            assert after[n] == before[n], (n, before[n], after[n])
