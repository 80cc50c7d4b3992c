# SPDX-License-Identifier: GPL-3.0-or-later
"""Health checks against real servers on loopback (issue 3, "Health
checks"): http (status and body), tcp and exec probes with rise/fall
hysteresis; failover within interval x fall + timeout + 1s; recovery after
rise; `vanectl health` (table and JSON); the all-down modes and their
logged fallback."""

import os
import stat
import time


import dns.rcode
import dns.rdatatype

from steer_helpers import (BlackHole, addrs, ctl, ctl_json, endpoint,
                           free_port_on, health_row, health_rows, log_has,
                           measure, norm_svc, query, row_state, service,
                           stats_services, wait_until)
from steer_helpers import health_servers, steer_factory  # noqa: F401

INTERVAL, TIMEOUT, RISE, FALL = 1.0, 1.0, 2, 2
# The bound for failover; recovery is held to the same shape.
DOWN_BOUND = INTERVAL * FALL + TIMEOUT + 1.0
UP_BOUND = INTERVAL * RISE + TIMEOUT + 1.0


def check(cid, ctype, **opts):
    c = {"id": cid, "type": ctype}
    c.update({k.replace("_", "-"): v for k, v in opts.items()})
    c.setdefault("interval", "1s")
    c.setdefault("timeout", "1s")
    c.setdefault("rise", RISE)
    c.setdefault("fall", FALL)
    return c


def current(v, name, qtype="A"):
    r = query(v.port, name, qtype)
    assert r.rcode() == dns.rcode.NOERROR, r
    return set(addrs(r, qtype))


def wait_probed(*servers, n=1, timeout=10):
    """Wait until every server has been probed n times (probes are running)."""
    wait_until(lambda: all(h.hits >= n for h in servers),
               "first probes of %s" % [(h.addr, h.port) for h in servers],
               timeout)


# ---------------------------------------------------------------------------
# http

def test_http_failover_and_recovery(steer_factory, health_servers):
    port = free_port_on(["127.0.0.1", "127.0.0.2"])
    h1 = health_servers("127.0.0.1", port)
    h2 = health_servers("127.0.0.2", port)
    v = steer_factory({
        "checks": [check("web", "http", port=port, path="/health",
                         expect=200)],
        "services": [service("hc.example.com", [
            endpoint("a", "192.0.2.101", check="web",
                     check_address="127.0.0.1"),
            endpoint("b", "192.0.2.102", check="web",
                     check_address="127.0.0.2"),
        ], ttl=30, ttl_degraded=5, policy=["health"], answers=2,
            recovery="instant")],
    })
    wait_probed(h1, h2, n=2)
    assert current(v, "hc.example.com") == {"192.0.2.101", "192.0.2.102"}
    assert query(v.port, "hc.example.com", "A").answer[0].ttl == 30
    wait_until(lambda: row_state(health_row(v, "hc.example.com", "b")) == "up",
               "b up in vanectl health", 5)

    h2.stop()
    took = measure(lambda: "192.0.2.102" not in current(v, "hc.example.com"),
                   "b leaves the answers", DOWN_BOUND + 5)
    assert took <= DOWN_BOUND, "b still answered %.2fs after its server " \
        "died (bound %.1fs)" % (took, DOWN_BOUND)
    assert current(v, "hc.example.com") == {"192.0.2.101"}
    wait_until(lambda: log_has(v, "hc.example.com/b", "up->down"),
               "transition logged", 5)
    row = health_row(v, "hc.example.com", "b")
    assert row_state(row) == "down", row
    # The last error is recorded and shown.
    err = row.get("last_error", row.get("error", row.get("last-error")))
    assert err, row
    # Stays out while dead, with the degraded TTL.
    for _ in range(5):
        assert current(v, "hc.example.com") == {"192.0.2.101"}
    r = query(v.port, "hc.example.com", "A")
    assert r.answer[0].ttl == 5, r

    h2.start()
    took = measure(lambda: "192.0.2.102" in current(v, "hc.example.com"),
                   "b comes back", UP_BOUND + 5)
    assert took <= UP_BOUND, "b back only after %.2fs" % took
    # rise 2: one success is not enough, so it cannot come back at once.
    assert took >= 0.5 * INTERVAL, "b back after %.2fs: rise ignored?" % took
    assert current(v, "hc.example.com") == {"192.0.2.101", "192.0.2.102"}
    r = query(v.port, "hc.example.com", "A")
    assert r.answer[0].ttl == 30, r
    wait_until(lambda: log_has(v, "hc.example.com/b", "down->up"),
               "recovery logged", 5)
    assert row_state(health_row(v, "hc.example.com", "b")) == "up"


def test_http_hung_server(steer_factory, health_servers):
    """A server that hangs (accepts, never answers) instead of refusing:
    every probe runs into its timeout.  The issue's bound counts the timeout
    once, so probes must keep their interval while one is outstanding."""
    port = free_port_on(["127.0.0.13"])
    h = health_servers("127.0.0.13", port)
    v = steer_factory({
        "checks": [check("web", "http", port=port, path="/health")],
        "services": [service("hung.example.com", [
            endpoint("a", "192.0.2.105", check="web",
                     check_address="127.0.0.13"),
            endpoint("b", "192.0.2.106"),
        ], ttl=30, policy=["health"], answers=2)],
    })
    wait_until(lambda: h.hits >= 2 and row_state(
        health_row(v, "hung.example.com", "a")) == "up", "a probed up", 5)
    h.stop()
    hole = BlackHole("127.0.0.13", port)
    try:
        took = measure(lambda: current(v, "hung.example.com") ==
                       {"192.0.2.106"}, "a down (hung)", DOWN_BOUND + 5)
        assert took <= DOWN_BOUND, "hung server still answered after " \
            "%.2fs (bound %.1fs)" % (took, DOWN_BOUND)
        row = health_row(v, "hung.example.com", "a")
        assert row["last_error"], row
    finally:
        hole.close()


def test_http_status_and_body(steer_factory, health_servers):
    port = free_port_on(["127.0.0.3", "127.0.0.4"])
    ha = health_servers("127.0.0.3", port)
    hb = health_servers("127.0.0.4", port)       # answers body "ok"
    v = steer_factory({
        "checks": [
            check("web", "http", port=port, path="/health", expect=200),
            check("webbody", "http", port=port, path="/health", expect=200,
                  body="all-good"),
        ],
        "services": [service("hb.example.com", [
            endpoint("a", "192.0.2.111", check="web",
                     check_address="127.0.0.3"),
            endpoint("b", "192.0.2.112", check="webbody",
                     check_address="127.0.0.4"),
        ], ttl=30, policy=["health"], answers=2,
            recovery="instant")],
    })
    # b's body never matches: assumed up at start, down after `fall` probes.
    took = measure(lambda: current(v, "hb.example.com") == {"192.0.2.111"},
                   "b (body mismatch) down", DOWN_BOUND + 5)
    assert took <= DOWN_BOUND + 0.5, took
    hb.body = b"status: all-good\n"
    hb.httpd.body = hb.body
    measure(lambda: "192.0.2.112" in current(v, "hb.example.com"),
            "b up once the body matches", UP_BOUND + 5)

    ha.set_status(503)
    took = measure(lambda: "192.0.2.111" not in current(v, "hb.example.com"),
                   "a (503) down", DOWN_BOUND + 5)
    assert took <= DOWN_BOUND, took
    row = health_row(v, "hb.example.com", "a")
    assert "503" in str(row), row
    ha.set_status(200)
    took = measure(lambda: "192.0.2.111" in current(v, "hb.example.com"),
                   "a up again", UP_BOUND + 5)
    assert took <= UP_BOUND, took


# ---------------------------------------------------------------------------
# tcp

def test_tcp_check(steer_factory, health_servers):
    port = free_port_on(["127.0.0.5"])
    h = health_servers("127.0.0.5", port)
    v = steer_factory({
        "checks": [check("conn", "tcp", port=port)],
        "services": [service("tcp.example.com", [
            endpoint("a", "127.0.0.5", check="conn"),   # probes its address
            endpoint("b", "192.0.2.122"),               # no check: always up
        ], ttl=30, policy=["health"], answers=2,
            recovery="instant")],
    })
    wait_until(lambda: row_state(health_row(v, "tcp.example.com", "a"))
               == "up", "a up", 5)
    assert current(v, "tcp.example.com") == {"127.0.0.5", "192.0.2.122"}
    h.stop()
    took = measure(lambda: current(v, "tcp.example.com") == {"192.0.2.122"},
                   "a down", DOWN_BOUND + 5)
    assert took <= DOWN_BOUND, took
    h.start()
    took = measure(lambda: "127.0.0.5" in current(v, "tcp.example.com"),
                   "a up", UP_BOUND + 5)
    assert took <= UP_BOUND, took


# ---------------------------------------------------------------------------
# exec

CHECK_SH = """#!/bin/sh
# args: address port endpoint service
echo "$@" >> "{d}/calls.log"
if [ -e "{d}/hang-$3" ]; then
    echo $$ >> "{d}/hang-$3.pids"
    exec sleep 30
fi
test -e "{d}/ok-$3"
"""


def test_exec_check(steer_factory, tmp_path):
    d = tmp_path / "exec"
    d.mkdir()
    script = d / "check.sh"
    script.write_text(CHECK_SH.format(d=d))
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    (d / "ok-e1").touch()
    (d / "ok-e2").touch()
    v = steer_factory({
        "checks": [check("script", "exec", port=8443,
                         command="%s {address} {port} {endpoint} {service}"
                         % script)],
        "services": [service("exec.example.com", [
            endpoint("e1", "192.0.2.131", check="script"),
            endpoint("e2", "192.0.2.132", check="script"),
        ], ttl=30, policy=["health"], answers=2,
            recovery="instant")],
    })
    calls = d / "calls.log"
    wait_until(lambda: calls.exists() and calls.read_text().count("\n") >= 4,
               "exec probes run", 5)
    # Placeholders substituted.
    lines = calls.read_text().splitlines()
    assert any(ln.startswith("192.0.2.131 8443 e1 exec.example.com")
               for ln in lines), lines
    assert current(v, "exec.example.com") == {"192.0.2.131", "192.0.2.132"}

    # Exit status 1 -> down.
    (d / "ok-e1").unlink()
    took = measure(lambda: current(v, "exec.example.com") == {"192.0.2.132"},
                   "e1 down (exit 1)", DOWN_BOUND + 5)
    assert took <= DOWN_BOUND, took
    (d / "ok-e1").touch()
    measure(lambda: "192.0.2.131" in current(v, "exec.example.com"),
            "e1 up", UP_BOUND + 5)

    # A hanging command counts as a failure after `timeout` and is killed;
    # as for http, the timeout counts once in the bound.
    (d / "hang-e2").touch()
    bound = DOWN_BOUND
    took = measure(lambda: current(v, "exec.example.com") == {"192.0.2.131"},
                   "e2 down (timeout)", bound + 5)
    assert took <= bound, took
    # The first hung probe (later ones may still be running).
    pid = int((d / "hang-e2.pids").read_text().split()[0])

    def gone():
        # Killed and reaped: no /proc entry (a zombie would still have one).
        return not os.path.exists("/proc/%d" % pid)
    wait_until(gone, "timed-out probe %d killed and reaped" % pid,
               TIMEOUT + 3)
    row = health_row(v, "exec.example.com", "e2")
    assert row_state(row) == "down"
    (d / "hang-e2").unlink()


# ---------------------------------------------------------------------------
# vanectl health

def test_vanectl_health_table_and_json(steer_factory, health_servers):
    port = free_port_on(["127.0.0.6"])
    h = health_servers("127.0.0.6", port)
    v = steer_factory({
        "checks": [check("web", "http", port=port, path="/health")],
        "services": [service("tab.example.com", [
            endpoint("alive", "192.0.2.141", check="web",
                     check_address="127.0.0.6"),
            endpoint("dead", "192.0.2.142", check="web",
                     check_address="127.0.0.7"),   # nothing listens there
            endpoint("plain", "192.0.2.143", weight=7),
        ], ttl=30, policy=["health", "weighted"], answers=3)],
    })
    wait_until(lambda: row_state(health_row(v, "tab.example.com", "dead"))
               == "down", "dead down", DOWN_BOUND + 5)
    wait_until(lambda: row_state(health_row(v, "tab.example.com", "alive"))
               == "up" and h.hits >= 1, "alive probed up", 5)

    p, obj = ctl_json(v, "health")
    assert p.returncode == 0 and obj["ok"] is True
    rows = {(norm_svc(r["service"]), r.get("endpoint", r.get("id"))): r
            for r in health_rows(obj)}
    assert {("tab.example.com", "alive"), ("tab.example.com", "dead"),
            ("tab.example.com", "plain")} <= set(rows), rows
    assert row_state(rows[("tab.example.com", "alive")]) == "up"
    assert row_state(rows[("tab.example.com", "dead")]) == "down"
    assert int(rows[("tab.example.com", "plain")]["weight"]) == 7

    p = ctl(v, "health")
    assert p.returncode == 0, p.stderr
    out = p.stdout
    lines = out.splitlines()
    assert len(lines) >= 4, out           # a header and one line per endpoint
    header = lines[0].lower()
    for col in ("service", "endpoint", "state", "since", "weight"):
        assert col in header, header
    by_ep = {}
    for ln in lines[1:]:
        for ep in ("alive", "dead", "plain"):
            if " %s " % ep in " %s " % ln.replace("/", " "):
                by_ep[ep] = ln
    assert set(by_ep) == {"alive", "dead", "plain"}, out
    assert "down" in by_ep["dead"].lower(), out
    assert "up" in by_ep["alive"].lower().split() or \
        " up" in by_ep["alive"].lower(), out
    assert "tab.example.com" in by_ep["alive"], out


# ---------------------------------------------------------------------------
# all-down

def test_all_down_modes(steer_factory):
    eps = [endpoint("x", "192.0.2.151", check="never"),
           endpoint("y", ["192.0.2.152", "2001:db8::152"], check="never")]
    v = steer_factory({
        "checks": [check("never", "exec", command="/bin/false", fall=1,
                         rise=1)],
        "services": [
            service("open.example.com", eps, ttl=30, policy=["health"],
                    answers=2, all_down="open"),
            service("empty.example.com", eps, ttl=20, policy=["health"],
                    answers=2, all_down="empty"),
            service("fail.example.com", eps, ttl=30, policy=["health"],
                    answers=2, all_down="servfail"),
        ],
    })
    for svc in ("open", "empty", "fail"):
        for ep in ("x", "y"):
            wait_until(lambda: row_state(health_row(
                v, "%s.example.com" % svc, ep)) == "down",
                "%s/%s down" % (svc, ep), DOWN_BOUND + 5)

    # open: every endpoint, as if all were up.
    r = query(v.port, "open.example.com", "A")
    assert r.rcode() == dns.rcode.NOERROR, r
    assert set(addrs(r)) == {"192.0.2.151", "192.0.2.152"}, r
    r = query(v.port, "open.example.com", "AAAA")
    assert addrs(r, "AAAA") == ["2001:db8::152"], r

    # empty: NODATA, negative TTL capped at the service TTL (20 < 300).
    for qtype in ("A", "AAAA"):
        r = query(v.port, "empty.example.com", qtype)
        assert r.rcode() == dns.rcode.NOERROR, r
        assert r.answer == [], r
        soa = [rr for rr in r.authority if rr.rdtype == dns.rdatatype.SOA]
        assert len(soa) == 1, r
        assert soa[0].ttl == 20, r

    # servfail.
    for qtype in ("A", "AAAA"):
        r = query(v.port, "fail.example.com", qtype)
        assert r.rcode() == dns.rcode.SERVFAIL, r
        assert r.answer == []

    # Other types at the names still come from the zone (NODATA here).
    r = query(v.port, "fail.example.com", "TXT")
    assert r.rcode() == dns.rcode.NOERROR, r

    # The fallback is counted per service (every query above fell back).
    svcs, _ = stats_services(v)
    assert svcs["open.example.com"]["fallbacks"] >= 2, svcs
    assert svcs["empty.example.com"]["fallbacks"] >= 2, svcs
    assert svcs["fail.example.com"]["fallbacks"] >= 2, svcs
    # The fallback is logged, per service.
    for svc in ("open.example.com", "empty.example.com", "fail.example.com"):
        wait_until(lambda: log_has(v, svc, "all-down") or
                   log_has(v, svc, "fallback"),
                   "fallback of %s logged" % svc, 5)


# ---------------------------------------------------------------------------
# dns

def test_dns_check(steer_factory):
    """dns probes against a real DNS server: vaned itself.  One check asks a
    name that exists (NOERROR), the other one that does not (NXDOMAIN is
    not the expected NOERROR)."""
    v = steer_factory({}, start=False)
    v.set_steer({
        "checks": [
            check("dnsok", "dns", port=v.port, query="www.example.com A",
                  expect="NOERROR"),
            check("dnsbad", "dns", port=v.port, query="nosuch.example.com A",
                  expect="NOERROR"),
        ],
        "services": [service("dns.example.com", [
            endpoint("good", "192.0.2.181", check="dnsok",
                     check_address="127.0.0.1"),
            endpoint("bad", "192.0.2.182", check="dnsbad",
                     check_address="127.0.0.1"),
        ], ttl=30, policy=["health"], answers=2)],
    })
    v.start()
    took = measure(lambda: current(v, "dns.example.com") == {"192.0.2.181"},
                   "bad down", DOWN_BOUND + 5)
    assert took <= DOWN_BOUND, took
    row = health_row(v, "dns.example.com", "bad")
    assert row_state(row) == "down", row
    # The error names what came back (by name or number).
    assert "NXDOMAIN" in str(row) or "rcode 3" in str(row), row
    good = health_row(v, "dns.example.com", "good")
    assert row_state(good) == "up", good


# ---------------------------------------------------------------------------
# reload with many checks

def test_sighup_unchanged_many_checks(steer_factory):
    """SIGHUP with the same config keeps every target; the kept ones must
    not break the old-target map (it once probed through a nulled key and
    crashed).  Tcp checks to a closed port: no health servers needed."""
    import signal
    port = free_port_on(["127.0.0.1"])          # nothing listens there
    svcs = []
    for s in range(5):
        svcs.append(service("many%d.example.com" % s, [
            endpoint("e%d" % e, "192.0.2.%d" % (10 * s + e + 1), check="conn",
                     check_address="127.0.0.1")
            for e in range(10)], ttl=30, policy=["health"], answers=1))
    v = steer_factory({
        "checks": [check("conn", "tcp", port=port, interval="200ms",
                         timeout="200ms", rise=1, fall=1)],
        "services": svcs,
    })
    keys = {("many%d.example.com" % s, "e%d" % e)
            for s in range(5) for e in range(10)}

    def all_down():
        rows = {(norm_svc(r["service"]), r.get("endpoint", r.get("id"))): r
                for r in health_rows(ctl_json(v, "health")[1])}
        return keys <= set(rows) and \
            all(row_state(rows[k]) == "down" for k in keys)

    wait_until(all_down, "50 endpoints probed down", 10)
    for i in range(3):
        v.proc.send_signal(signal.SIGHUP)
        wait_until(lambda: v.stderr_text().count("reloaded:") >= i + 1,
                   "reload %d" % (i + 1), 10)
        wait_until(lambda: log_has(v, "health checks:", "50 unchanged") is not None
                   or v.proc.poll() is not None, "resync logged", 10)
        assert v.proc.poll() is None, v.stderr_text()[-3000:]
    assert v.stderr_text().count("health checks:") >= 4
    assert all_down()


def test_shared_backend_is_probed_once(steer_factory, health_servers):
    """Two services whose endpoints point at the same backend with the same
    check share one probe: the backend sees one probe per interval, and both
    endpoints flip at the same moment instead of disagreeing for a while."""
    port = free_port_on(["127.0.0.21"])
    h = health_servers("127.0.0.21", port)
    v = steer_factory({
        "checks": [check("web", "http", port=port, path="/health", interval="500ms",
                         timeout="400ms", rise=1, fall=1)],
        "services": [
            service("one.example.com", [
                endpoint("x", "192.0.2.121", check="web", check_address="127.0.0.21"),
                endpoint("y", "192.0.2.122")], ttl=30, policy=["health"], answers=2),
            service("two.example.com", [
                endpoint("x", "192.0.2.131", check="web", check_address="127.0.0.21"),
                endpoint("y", "192.0.2.132")], ttl=30, policy=["health"], answers=2),
        ],
    })
    wait_probed(h, n=2)
    t0, hits0 = time.monotonic(), h.hits
    wait_until(lambda: h.hits >= hits0 + 6, "six more probes", 10)
    rate = (h.hits - hits0) / (time.monotonic() - t0)
    # One target every 0.45-0.5 s (jitter is downward only): about 2 per
    # second; two separate probes would be about 4.
    assert rate < 3.0, "%.1f probes/s for one backend of two services" % rate
    # Both rows from one reply: two replies could straddle a probe.
    p, obj = ctl_json(v, "health")
    assert p.returncode == 0 and obj["ok"] is True
    rows = {(norm_svc(r["service"]), r.get("endpoint", r.get("id"))): r
            for r in health_rows(obj)}
    a, b = rows[("one.example.com", "x")], rows[("two.example.com", "x")]
    assert a["probes"] == b["probes"] and a["address"] == b["address"] == "127.0.0.21"

    h.stop()
    wait_until(lambda: row_state(health_row(v, "one.example.com", "x")) == "down",
               "x of one down", DOWN_BOUND + 5)
    a = health_row(v, "one.example.com", "x")
    b = health_row(v, "two.example.com", "x")
    assert row_state(b) == "down" and a["since"] == b["since"], (a, b)
    assert current(v, "two.example.com") == {"192.0.2.132"}
