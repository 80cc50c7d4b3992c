# SPDX-License-Identifier: GPL-3.0-or-later
"""GET /metrics (issue 4): Prometheus text that promtool accepts, counters
that move with the queries sent (by qtype, rcode, transport, service and
endpoint), and the health gauge that flips when a health server dies."""

import re
import subprocess

import dns.message

from conftest import exchange
from http_helpers import get, http_factory, post, two_endpoint_steer  # noqa: F401
from steer_helpers import UdpClient, health_servers, wait_until  # noqa: F401

SVC = "api.example.com"
LINE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$')


def scrape(v):
    st, text, hdrs = get(v, "/metrics")
    assert st == 200, text
    assert hdrs["Content-Type"].startswith("text/plain; version=0.0.4")
    return text


def parse(text):
    """{(name, frozenset(labels)): value}"""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = LINE.match(line)
        assert m, "bad exposition line %r" % line
        labels = frozenset(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(3) or ""))
        out[(m.group(1), labels)] = float(m.group(4))
    return out


def value(m, name, **labels):
    """Sum of the series of `name` whose labels include `labels`."""
    want = set(labels.items())
    return sum(v for (n, ls), v in m.items() if n == name and want <= set(ls))


def test_promtool_accepts_the_output(http_factory):
    v = http_factory(two_endpoint_steer())
    c = UdpClient(v.port)
    for _ in range(5):
        c.ask(SVC, "A")
    c.close()
    text = scrape(v)
    r = subprocess.run(["/usr/bin/promtool", "check", "metrics"], input=text,
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stdout + r.stderr
    for name in ("vane_queries_total", "vane_service_answers_total",
                 "vane_endpoint_answers_total", "vane_endpoint_up",
                 "vane_health_transitions_total", "vane_all_down_fallbacks_total",
                 "vane_admin_changes_total", "vane_ecs_scope", "vane_response_size_bytes",
                 "vane_reloads_total", "vane_zone_serial", "vane_build_info"):
        assert "# TYPE %s " % name in text, name


def test_counters_move_with_queries(http_factory):
    v = http_factory(two_endpoint_steer())
    m0 = parse(scrape(v))
    c = UdpClient(v.port)
    n_a, n_aaaa, n_nx, n_mx = 30, 7, 5, 3
    got = {"192.0.2.1": 0, "192.0.2.2": 0}
    for _ in range(n_a):
        for a in [rd.address for rr in c.ask(SVC, "A").answer for rd in rr]:
            got[a] += 1
    for _ in range(n_aaaa):
        c.ask("example.com", "AAAA")   # not steered: endpoint counts are A only
    for i in range(n_nx):
        c.ask("nx%d.example.com" % i, "A")
    for _ in range(n_mx):
        c.ask("example.com", "MX")
    c.close()
    n_tcp = 4
    for _ in range(n_tcp):
        q = dns.message.make_query("example.com", "SOA")
        assert exchange(v.port, q, tcp=True) is not None
    m1 = parse(scrape(v))

    def delta(name, **labels):
        return value(m1, name, **labels) - value(m0, name, **labels)

    assert delta("vane_queries_total", qtype="A", rcode="NOERROR", transport="udp") == n_a
    assert delta("vane_queries_total", qtype="AAAA", transport="udp") == n_aaaa
    assert delta("vane_queries_total", qtype="A", rcode="NXDOMAIN", transport="udp") == n_nx
    assert delta("vane_queries_total", qtype="MX", transport="udp") == n_mx
    assert delta("vane_queries_total", qtype="SOA", rcode="NOERROR", transport="tcp") == n_tcp
    assert delta("vane_queries_total", transport="tcp") == n_tcp
    assert delta("vane_queries_total") == n_a + n_aaaa + n_nx + n_mx + n_tcp
    # Steered A answers, one endpoint each.
    assert delta("vane_service_answers_total", service=SVC) == n_a
    for ep, addr in (("a", "192.0.2.1"), ("b", "192.0.2.2")):
        assert delta("vane_endpoint_answers_total", service=SVC, endpoint=ep) == got[addr]
    assert got["192.0.2.1"] + got["192.0.2.2"] == n_a
    assert delta("vane_response_size_bytes_count") == n_a + n_aaaa + n_nx + n_mx + n_tcp
    assert delta("vane_ecs_scope_count") >= n_a


def test_admin_and_reload_counters(http_factory):
    v = http_factory(two_endpoint_steer())
    m0 = parse(scrape(v))
    post(v, "/api/v1/drain", {"service": SVC, "endpoint": "a"})
    post(v, "/api/v1/drain", {"service": SVC, "endpoint": "a"})   # no change
    post(v, "/api/v1/ramp", {"service": SVC, "endpoint": "b", "steps": [50, 100],
                             "every": "60s"})
    post(v, "/api/v1/reload")
    m1 = parse(scrape(v))
    assert value(m1, "vane_drains_total") - value(m0, "vane_drains_total") == 1
    assert value(m1, "vane_ramps_total") - value(m0, "vane_ramps_total") == 1
    assert value(m1, "vane_admin_changes_total", kind="drain") == 1
    assert value(m1, "vane_endpoint_drained", service=SVC, endpoint="a") == 1
    assert value(m1, "vane_reloads_total", result="ok") - \
        value(m0, "vane_reloads_total", result="ok") == 1
    assert value(m1, "vane_zone_serial", zone="example.com.") > 0
    assert value(m1, "vane_build_info") == 1


def test_health_gauge_flips(http_factory, health_servers):
    h = health_servers()
    v = http_factory(two_endpoint_steer(check_port=h.port))

    def up():
        return value(parse(scrape(v)), "vane_endpoint_up", service=SVC, endpoint="a")

    wait_until(lambda: up() == 1, "a up")
    h.stop()
    wait_until(lambda: up() == 0, "a down in metrics", timeout=10)
    m = parse(scrape(v))
    assert value(m, "vane_health_transitions_total", service=SVC, endpoint="a", to="down") == 1
    assert value(m, "vane_endpoint_up", service=SVC, endpoint="b") == 1
    h.start()
    wait_until(lambda: up() == 1, "a up again", timeout=10)
    m = parse(scrape(v))
    assert value(m, "vane_health_transitions_total", service=SVC, endpoint="a", to="up") == 1
