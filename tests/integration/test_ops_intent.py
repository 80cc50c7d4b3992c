# SPDX-License-Identifier: GPL-3.0-or-later
"""Steering that does what the operator meant (the runtime defects):
an aborted ramp leaves the endpoint drained with a way out (--resume,
undrain); slow start after recovery; fall: N holds for the first probes;
operator verbs are durable before they are acknowledged (kill -9); a
corrupt state file stops the start; rows say what state an endpoint is in.
Real vaned, real HTTP health servers on loopback, conditions polled."""

import signal
import subprocess
import time

import pytest

from conftest import VANED
from steer_helpers import (BlackHole, addrs, ctl, ctl_json, ctl_ok, endpoint,
                           explain_trace, free_port_on, health_row, log_has,
                           log_offset, query, service, trace_ep, wait_until)
from steer_helpers import health_servers, steer_factory  # noqa: F401

# interval 300ms, fall 2, timeout 300ms: down within ~1 s, polled to 10 s.
DOWN = 10


def fast_check(port, **kw):
    c = {"id": "web", "type": "http", "port": port, "path": "/health",
         "expect": 200, "interval": "300ms", "timeout": "300ms", "rise": 2,
         "fall": 2}
    c.update(kw)
    return c


def row(v, svc, ep):
    return health_row(v, svc, ep)


def ctl_fails(v, *args):
    p, obj = ctl_json(v, *args)
    assert p.returncode != 0 and obj.get("ok") is False, (p.stdout, p.stderr)
    return obj


# ---------------------------------------------------------------------------
# defect 4: an aborted ramp leaves the endpoint drained, with two ways out


def one_checked(steer_factory, health_servers, addr, name, **svc_opts):
    port = free_port_on([addr])
    h = health_servers(addr, port)
    v = steer_factory({
        "checks": [fast_check(port)],
        "services": [service(name, [
            endpoint("a", "192.0.2.11", weight=100, check="web",
                     check_address=addr),
            endpoint("b", "192.0.2.12", weight=100),
        ], ttl=30, policy=["health", "weighted"], answers=1, **svc_opts)],
    })
    wait_until(lambda: row(v, name, "a")["state"] == "up" and
               row(v, name, "a")["origin"] == "probed", "a probed up", DOWN)
    return v, h


def test_aborted_ramp_drains_and_resumes(steer_factory, health_servers):
    name = "ab.example.com"
    v, h = one_checked(steer_factory, health_servers, "127.0.0.21", name,
                       recovery="instant")
    # Nothing to resume yet: a conflict, not a silent no-op.
    obj = ctl_fails(v, "ramp", name + "/a", "--resume")
    assert obj["code"] == "conflict" and "resume" in obj["error"], obj
    # --resume with --steps is a bad combination; no --steps nor --resume too.
    obj = ctl_fails(v, "ramp", name + "/a", "--resume", "--steps", "5,100")
    assert obj["code"] == "bad_input", obj
    obj = ctl_fails(v, "ramp", name + "/a", "--steps", "5,100")
    assert obj["code"] == "bad_input", obj

    ctl_ok(v, "ramp", name + "/a", "--steps", "10,50,100", "--every", "60s")
    assert row(v, name, "a")["ramp"]["kind"] == "operator"
    off = log_offset(v)
    h.stop()
    wait_until(lambda: row(v, name, "a")["state"] == "down", "a down", DOWN)
    r = row(v, name, "a")
    # Drained (not weight 0), and the row says why and how far it got.
    assert r["drained"] is True and r["ramp"] is None, r
    assert r["weight_override"] is None, r
    ab = r["ramp_aborted"]
    assert ab and ab["step"] == 1 and ab["steps"] == [10, 50, 100], r
    assert ab["every_ms"] == 60000 and ab["at"] > 0, r
    wait_until(lambda: log_has(v, name + "/a", "aborted", "drained",
                               start=off), "abort logged", 5)
    tr, _ = explain_trace(v, name, "A", "192.0.2.1")
    assert trace_ep(tr, "a")["drained"], tr

    # Back up: still drained until the operator acts.
    h.start()
    wait_until(lambda: row(v, name, "a")["state"] == "up", "a up", DOWN)
    r = row(v, name, "a")
    assert r["drained"] and r["ramp_aborted"], r
    # A ramp on record survives a restart (persisted).
    v.stop_and_check()
    v.start()
    r = row(v, name, "a")
    assert r["drained"] and r["ramp_aborted"]["step"] == 1, r
    wait_until(lambda: row(v, name, "a")["state"] == "up", "a up", DOWN)

    p, obj = ctl_json(v, "ramp", name + "/a", "--resume")
    assert p.returncode == 0 and obj["ok"], obj
    r = obj["endpoint"]
    assert r["drained"] is False and r["ramp_aborted"] is None, r
    assert r["ramp"]["step"] == 1 and r["ramp"]["percent"] == 10, r
    assert r["ramp"]["steps"] == [10, 50, 100], r
    # Nothing left to resume.
    ctl_fails(v, "ramp", name + "/a", "--resume")


def test_aborted_ramp_undrain_gives_full_weight(steer_factory,
                                                health_servers):
    name = "au.example.com"
    v, h = one_checked(steer_factory, health_servers, "127.0.0.22", name,
                       recovery="instant")
    ctl_ok(v, "ramp", name + "/a", "--steps", "10,100", "--every", "60s")
    h.stop()
    wait_until(lambda: row(v, name, "a")["ramp_aborted"] is not None,
               "ramp aborted", DOWN)
    h.start()
    wait_until(lambda: row(v, name, "a")["state"] == "up", "a up", DOWN)
    p, obj = ctl_json(v, "undrain", name + "/a")
    assert p.returncode == 0, obj
    r = obj["endpoint"]
    assert not r["drained"] and r["ramp_aborted"] is None, r
    assert r["weight"] == 100 and r["ramp"] is None, r
    ctl_fails(v, "ramp", name + "/a", "--resume")


def test_resume_over_http(tmp_path, health_servers):
    """The HTTP body field resume: true is the same verb."""
    from http_helpers import HttpVaned, post
    addr = "127.0.0.23"
    hport = free_port_on([addr])
    h = health_servers(addr, hport)
    name = "ah.example.com"
    v = HttpVaned(tmp_path / "vh", steer={
        "checks": [fast_check(hport)],
        "services": [service(name, [
            endpoint("a", "192.0.2.11", weight=100, check="web",
                     check_address=addr),
            endpoint("b", "192.0.2.12", weight=100),
        ], recovery="instant")],
    })
    try:
        wait_until(lambda: row(v, name, "a")["state"] == "up", "a up", DOWN)
        route = "/api/v1/endpoints/%s/a/ramp" % name
        st, res, _ = post(v, route, {"resume": True})
        assert st == 409 and res["code"] == "conflict", res
        st, res, _ = post(v, route, {"steps": [20, 100], "every": "60s"})
        assert st == 200, res
        h.stop()
        wait_until(lambda: row(v, name, "a")["ramp_aborted"] is not None,
                   "ramp aborted", DOWN)
        h.start()
        wait_until(lambda: row(v, name, "a")["state"] == "up", "a up", DOWN)
        st, res, _ = post(v, route, {"resume": True, "steps": [5, 100]})
        assert st == 400 and res["code"] == "bad_input", res
        st, res, _ = post(v, route, {"resume": True})
        assert st == 200 and res["endpoint"]["ramp"]["percent"] == 20, res
        assert res["endpoint"]["drained"] is False, res
    finally:
        v.stop_and_check()


# ---------------------------------------------------------------------------
# defect 8: slow start after recovery


def test_recovery_ramp_after_down_up(steer_factory, health_servers):
    name = "rc.example.com"
    v, h = one_checked(steer_factory, health_servers, "127.0.0.24", name,
                       recovery_steps=[10, 50, 100],
                       recovery_interval="60s")
    # Up from the start (assumed, then confirmed): no recovery ramp.
    assert row(v, name, "a")["ramp"] is None
    off = log_offset(v)
    h.stop()
    wait_until(lambda: row(v, name, "a")["state"] == "down", "a down", DOWN)
    h.start()
    wait_until(lambda: row(v, name, "a")["state"] == "up", "a up", DOWN)
    r = row(v, name, "a")
    assert r["ramp"] and r["ramp"]["kind"] == "recovery", r
    assert r["ramp"]["percent"] == 10 and r["weight"] == 10, r
    assert r["drained"] is False, r
    tr, _ = explain_trace(v, name, "A", "192.0.2.1")
    e = trace_ep(tr, "a")
    assert e["ramping"] and e["weight"] == 10, e
    assert log_has(v, name + "/a", "recovery ramp", start=off)

    # Health fails during it: it stops, the endpoint is down, not drained.
    h.stop()
    wait_until(lambda: row(v, name, "a")["state"] == "down", "a down", DOWN)
    r = row(v, name, "a")
    assert r["ramp"] is None and not r["drained"], r
    assert r["ramp_aborted"] is None, r

    # Up again: a new recovery ramp, which an operator weight replaces.
    h.start()
    wait_until(lambda: (row(v, name, "a")["ramp"] or {}).get("kind") ==
               "recovery", "recovery ramp again", DOWN)
    p, obj = ctl_json(v, "weight", name + "/a", "80")
    assert p.returncode == 0, obj
    assert obj["endpoint"]["ramp"] is None and obj["endpoint"]["weight"] == 80

    # ... and so does an operator ramp.
    h.stop()
    wait_until(lambda: row(v, name, "a")["state"] == "down", "a down", DOWN)
    h.start()
    wait_until(lambda: (row(v, name, "a")["ramp"] or {}).get("kind") ==
               "recovery", "recovery ramp again", DOWN)
    p, obj = ctl_json(v, "ramp", name + "/a", "--steps", "30,100",
                      "--every", "60s")
    assert p.returncode == 0, obj
    assert obj["endpoint"]["ramp"]["kind"] == "operator", obj


def test_recovery_instant(steer_factory, health_servers):
    name = "ri.example.com"
    v, h = one_checked(steer_factory, health_servers, "127.0.0.25", name,
                       recovery="instant")
    h.stop()
    wait_until(lambda: row(v, name, "a")["state"] == "down", "a down", DOWN)
    h.start()
    wait_until(lambda: row(v, name, "a")["state"] == "up", "a up", DOWN)
    r = row(v, name, "a")
    assert r["ramp"] is None and r["weight"] == 100, r


def test_recovery_config_checked(steer_factory, tmp_path):
    from steer_helpers import check_vaned, SteerVaned
    v = SteerVaned(tmp_path / "bad", start=False, steer={"services": [
        service("rb.example.com", [endpoint("a", "192.0.2.1")],
                recovery="slowly")]})
    p = check_vaned(v.conf_path)
    assert p.returncode != 0 and "recovery" in (p.stdout + p.stderr), p
    v.set_steer({"services": [service("rb.example.com", [
        endpoint("a", "192.0.2.1")], recovery_steps=[10, 250])]})
    p = check_vaned(v.conf_path)
    assert p.returncode != 0 and "recovery-steps" in (p.stdout + p.stderr), p


# ---------------------------------------------------------------------------
# defect 9: fall holds for the first probes; never probed is "unknown"


def test_first_failed_probe_is_not_down(steer_factory, health_servers):
    addr = "127.0.0.26"
    port = free_port_on([addr])
    h = health_servers(addr, port, start=False)
    h.set_status(500)
    h.start()
    name = "ff.example.com"
    v = steer_factory({
        "checks": [fast_check(port, interval="2s", fall=2)],
        "services": [service(name, [
            endpoint("a", "192.0.2.31", check="web", check_address=addr),
            endpoint("b", "192.0.2.32", weight=0, standby="never"),
        ], recovery="instant")],
    })
    wait_until(lambda: row(v, name, "a")["probes"] >= 1, "first probe", 5)
    r = row(v, name, "a")
    # One failure of fall: 2: still answering, unproven.
    assert r["state"] == "up" and r["origin"] == "assumed", r
    assert r["last_error"], r
    assert addrs(query(v.port, name, "A")) == ["192.0.2.31"]
    assert r["standby"] == "auto"
    assert row(v, name, "b")["standby"] == "never"
    # The second failure takes it down.
    wait_until(lambda: row(v, name, "a")["state"] == "down", "a down", 10)
    # Up again: the current error is cleared, the last failure is kept.
    h.set_status(200)
    wait_until(lambda: row(v, name, "a")["state"] == "up", "a up", 15)
    r = row(v, name, "a")
    assert r["last_error"] is None, r
    assert r["last_failure"]["error"] and r["last_failure"]["at"] > 0, r


def test_never_probed_is_unknown(steer_factory):
    """A probe that has not finished yet: the row says unknown, the
    endpoint still answers as up."""
    addr = "127.0.0.27"
    port = free_port_on([addr])
    hole = BlackHole(addr, port)
    try:
        name = "un.example.com"
        v = steer_factory({
            "checks": [fast_check(port, interval="30s", timeout="20s")],
            "services": [service(name, [
                endpoint("a", "192.0.2.41", check="web", check_address=addr),
            ])],
        })
        r = row(v, name, "a")
        assert r["state"] == "unknown" and r["origin"] == "assumed", r
        assert r["probes"] == 0, r
        assert addrs(query(v.port, name, "A")) == ["192.0.2.41"]
        p, obj = ctl_json(v, "explain", name, "A", "--client", "192.0.2.1")
        assert "assumed" in obj["trace_text"] or "unknown" in \
            obj["trace_text"], obj["trace_text"]
        v.stop_and_check()
    finally:
        hole.close()


# ---------------------------------------------------------------------------
# defect 10: durable before acknowledged


def kill9_restart(v, wait=True):
    v.proc.send_signal(signal.SIGKILL)
    v.proc.wait()
    v._close()
    v._spawn([VANED, "-c", str(v.conf_path)], wait=wait)


def health_when_up(v, timeout=10):
    """`health --json` of a vaned just started, polled until it answers:
    the control socket is up once the saved state is loaded."""
    got = {}

    def ok():
        p, obj = ctl_json_quiet(v, "health")
        got["obj"] = obj
        return p.returncode == 0 and obj.get("ok") is True

    wait_until(ok, "vaned answers health", timeout, step=0.01)
    return got["obj"]


def ctl_json_quiet(v, *args):
    import json
    p = ctl(v, *args, json_out=True)
    try:
        return p, json.loads(p.stdout)
    except ValueError:
        return p, {}


def test_scenario_durability(steer_factory):
    n_eps = 5
    name = "dk.example.com"
    v = steer_factory({"services": [service(name, [
        endpoint("e%d" % i, "192.0.2.%d" % (50 + i)) for i in range(n_eps)
    ])]})
    expect = {}
    t0 = time.monotonic()
    rounds = 50
    for i in range(rounds):
        ep = "e%d" % (i % n_eps)
        verb = "drain" if not expect.get(ep) else "undrain"
        p = ctl(v, verb, "%s/%s" % (name, ep))
        assert p.returncode == 0, (p.stdout, p.stderr)
        expect[ep] = verb == "drain"
        # At once: no grace for a coalesced write.  One `health` call, as
        # soon as the control socket answers, reads every row.
        kill9_restart(v, wait=False)
        obj = health_when_up(v)
        got = {r["endpoint"]: r["drained"] for r in obj["endpoints"]
               if r["endpoint"] in expect}
        assert got == expect, "after %d acknowledged changes: %r != %r" % (
            i + 1, got, expect)
    took = time.monotonic() - t0
    assert (v.state_dir / "state.json.bak").exists()
    print("durability: %d/%d acknowledged changes kept over kill -9, %.1f s"
          % (rounds, rounds, took))
    v.stop_and_check()


def test_corrupt_state_refuses_start(steer_factory):
    name = "cs.example.com"
    v = steer_factory({"services": [service(name, [
        endpoint("a", "192.0.2.61"), endpoint("b", "192.0.2.62")])]})
    ctl_ok(v, "drain", name + "/a")
    v.stop_and_check()
    state = v.state_dir / "state.json"
    good = state.read_text()
    state.write_text(good[: len(good) // 2])
    p = subprocess.run([VANED, "-c", str(v.conf_path)], capture_output=True,
                       text=True, timeout=30, cwd=str(v.dir))
    assert p.returncode != 0, p
    assert "state.json" in p.stderr and "--ignore-state" in p.stderr, p.stderr
    # The file is left as it was for the operator.
    assert state.read_text() == good[: len(good) // 2]

    v._spawn([VANED, "-c", str(v.conf_path), "--ignore-state"])
    assert row(v, name, "a")["drained"] is False
    assert (v.state_dir / "state.json.corrupt").exists()
    assert log_has(v, "ignore-state")
    v.stop_and_check()


def test_verb_fails_when_state_not_writable(steer_factory):
    """The state file cannot be written: the verb answers an error saying
    the change is not persisted; the change is in effect in memory (and
    logged).  A directory where the temporary file goes makes the write
    fail even for root, as a full or read-only disk would."""
    name = "ro.example.com"
    v = steer_factory({"services": [service(name, [
        endpoint("a", "192.0.2.71"), endpoint("b", "192.0.2.72")])]})
    ctl_ok(v, "drain", name + "/b")   # creates the state directory
    blocker = v.state_dir / "state.json.tmp"
    blocker.mkdir()
    off = log_offset(v)
    try:
        p, obj = ctl_json(v, "drain", name + "/a")
        assert p.returncode != 0 and obj["ok"] is False, obj
        assert obj["error"].startswith("not persisted:"), obj
        assert obj["code"] == "internal", obj
        assert row(v, name, "a")["drained"] is True
        assert log_has(v, "not persisted", start=off)
    finally:
        blocker.rmdir()
    # Writable again: the next verb persists everything, the earlier
    # change included.
    ctl_ok(v, "undrain", name + "/b")
    kill9_restart(v)
    assert row(v, name, "a")["drained"] is True
    assert row(v, name, "b")["drained"] is False
    v.stop_and_check()


# ---------------------------------------------------------------------------
# defect 12: zone-status fails when a zone failed to load


def test_zone_status_fails_on_failed_zone(steer_factory):
    v = steer_factory({})
    p = ctl(v, "zone-status")
    assert p.returncode == 0, p
    zf = v.zone_path(v.zones[0][1])
    zf.write_text("this is not a zone\n")
    ctl(v, "reload")
    p, obj = ctl_json(v, "zone-status")
    assert p.returncode != 0, (p.stdout, p.stderr)
    assert obj["ok"] is False and obj["zones"], obj
    assert any(z["status"] == "failed" for z in obj["zones"]), obj


# ---------------------------------------------------------------------------
# steering helper: all_drained counted, logged, a metric; explain shows it


def test_all_drained_counted_logged_and_explained(tmp_path):
    import dns.rcode
    from http_helpers import HttpVaned, get
    name = "ad.example.com"
    v = HttpVaned(tmp_path / "vad", steer={"services": [service(name, [
        endpoint("a", "192.0.2.81"), endpoint("b", "192.0.2.82")],
        ttl=20)]})
    try:
        off = log_offset(v)
        ctl_ok(v, "drain", name + "/a")
        ctl_ok(v, "drain", name + "/b")
        n = 5
        for _ in range(n):
            r = query(v.port, name, "A")
            assert r.rcode() == dns.rcode.NOERROR and not r.answer, r
        wait_until(lambda: log_has(v, name, "all-down open",
                                   "every endpoint drained or standby never",
                                   start=off), "all-drained logged", 5)
        st, text, _ = get(v, "/metrics")
        assert st == 200
        line = [ln for ln in text.splitlines()
                if ln.startswith("vane_all_down_all_drained_total{service=\"%s\"}"
                                 % name)]
        assert line and int(line[0].split()[-1]) == n, line
        p, obj = ctl_json(v, "stats")
        assert '"all_drained": %d' % n in json_dumps(obj), obj

        p, obj = ctl_json(v, "explain", name, "A", "--client", "192.0.2.1")
        assert obj["all_drained"] is True and "fallback" in obj, obj
        assert obj["answer"] == [] and obj["ttl"] is None, obj
        # The negative TTL sent: min(SOA TTL, SOA minimum), capped at ttl.
        assert obj["soa"]["type"] == "SOA", obj
        assert 0 < obj["negative_ttl"] <= 20, obj
        t = obj["trace_text"]
        assert "negative ttl %d" % obj["negative_ttl"] in t, t
        assert "all drained" in t and "dropped: drained" in t, t
    finally:
        v.stop_and_check()


def test_explain_reads_well(steer_factory):
    """Times in ISO 8601 UTC with 'N s ago', the TTL and ECS scope sent,
    why an endpoint was dropped, the ramp step in force."""
    import re
    name = "ex.example.com"
    v = steer_factory({"services": [service(name, [
        endpoint("a", "192.0.2.91", weight=100),
        endpoint("b", "192.0.2.92", weight=0),
        endpoint("c", "192.0.2.93", weight=100),
    ], ttl=25, answers=1, policy=["health", "weighted"])]})
    ctl_ok(v, "ramp", name + "/c", "--steps", "1,100", "--every", "60s")
    ctl_ok(v, "drain", name + "/a")
    p, obj = ctl_json(v, "explain", name, "A", "--client", "192.0.2.1",
                      "--ecs", "198.51.100.0/24")
    t = obj["trace_text"]
    assert "all_drained" in obj and obj["all_drained"] is False, obj
    assert obj["ttl"] == 25 or obj["answer"] == [], obj
    assert re.search(r"sent: ttl \d+, ECS scope /\d+", t), t
    assert "dropped: drained" in t, t
    assert "dropped: weight 0 (standby auto)" in t, t
    assert re.search(r"c: ramp step 1/2: 1% since "
                     r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ \(\d+ s ago\)", t), t
    tr = obj["trace"]
    assert [e["dropped"] for e in tr["endpoints"]][:2] == [
        "drained", "weight 0 (standby auto)"], tr


def json_dumps(obj):
    import json
    return json.dumps(obj)
