# SPDX-License-Identifier: GPL-3.0-or-later
"""A second provider that can steer, and drift monitoring (issue 12):
vaned translates its services into PowerDNS LUA records and pushes them
through PowerDNS's HTTP API; a real pdns_server (sqlite3 + geoip backends,
one MaxMind DB shared with vaned) then answers like vaned.

- The differential: 1,000 client subnets sent as ECS to vaned and to
  PowerDNS get the same region wherever `providers plan` says geo is exact.
- With one endpoint down, neither vaned nor PowerDNS names it.
- A record changed behind vaned's back raises drift (an event, the
  vane_provider_* metrics) and is put back.
"""

import ipaddress
import json
import os
import random
import subprocess
import urllib.request

import dns.rcode

from conftest import free_port, wait_until
from provider_helpers import make_geo_db, pdns_factory  # noqa: F401
from steer_helpers import (addrs, ctl_json, endpoint, free_port_on,
                           health_rows, log_has, query, service)
from steer_helpers import health_servers, steer_factory  # noqa: F401

# The one geo database: (network, country, continent).  France and Brazil
# have no endpoint: France falls to its continent (de), Brazil to all.
NETS = [
    ("10.0.0.0/8", "US", "NA"),
    ("10.64.0.0/10", "DE", "EU"),
    ("10.128.0.0/10", "FR", "EU"),
    ("10.192.0.0/11", "JP", "AS"),
    ("10.224.0.0/11", "BR", "SA"),
]
EP = {"us": "127.0.1.1", "de": "127.0.1.2", "jp": "127.0.1.3"}
BY_ADDR = {a: e for e, a in EP.items()}
EXPECT = {"US": "us", "DE": "de", "FR": "de", "JP": "jp", "BR": None}
NAME = "api.example.com"
WNAME = "w.example.com"


def country_of(subnet):
    net = ipaddress.ip_network(subnet)
    best = None
    for cidr, cc, _ in NETS:
        n = ipaddress.ip_network(cidr)
        if net.subnet_of(n) and (best is None or n.prefixlen > best[0].prefixlen):
            best = (n, cc)
    return best[1]


def subnets(n, seed=12):
    rnd = random.Random(seed)
    return ["10.%d.%d.0/24" % (rnd.randrange(256), rnd.randrange(256))
            for _ in range(n)]


def one_endpoint(port, subnet, name=NAME):
    r = query(port, name, "A", ecs=subnet)
    assert r.rcode() == dns.rcode.NOERROR, r
    got = addrs(r)
    assert len(got) == 1, (subnet, got)
    return BY_ADDR.get(got[0], got[0])


def start_all(tmp_path, steer_factory, health_servers, pdns_factory, extra=None,
              pdns_nets=None):
    mmdb = make_geo_db(tmp_path / "geo.mmdb", NETS)
    port = free_port_on(list(EP.values()))
    hs = {e: health_servers(a, port) for e, a in EP.items()}
    pd = pdns_factory(make_geo_db(tmp_path / "pdns-geo.mmdb", pdns_nets)
                      if pdns_nets else mmdb)
    pd.create_zone("example.com")
    http_port = free_port()
    steer = {
        "http": {"listen": "127.0.0.1@%d" % http_port},
        "geo": {"database": str(mmdb)},
        "checks": [{"id": "web", "type": "tcp", "port": port, "interval": "500ms",
                    "timeout": "500ms", "rise": 1, "fall": 1}],
        "services": [
            service(NAME, [
                endpoint("us", EP["us"], check="web",
                         location={"continent": "NA", "country": "US"}),
                endpoint("de", EP["de"], check="web",
                         location={"continent": "EU", "country": "DE"}),
                endpoint("jp", EP["jp"], check="web",
                         location={"continent": "AS", "country": "JP"}),
            ], policy=["health", "geo", "weighted"], answers=1, ttl=30,
                recovery="instant"),
            service(WNAME, [
                endpoint("a", "192.0.2.1", weight=1),
                endpoint("b", "192.0.2.2", weight=3),
            ], policy=["health", "weighted", "latency"], answers=1),
        ],
        "providers": [{
            "name": "pdns", "type": "powerdns", "api": pd.api,
            "api-key-file": str(pd.key_file), "zones": ["example.com"],
            "dns": "127.0.0.1@%d" % pd.port, "drift-interval": "500ms",
            "drift-samples": 4,
            "drift-subnets": ["10.70.1.0/24", "10.1.1.0/24", "10.200.3.0/24"],
        }],
    }
    if extra:
        steer.update(extra)
    v = steer_factory(steer)
    v.http_port = http_port
    return v, pd, hs


def provider(v):
    _, obj = ctl_json(v, "providers")
    (p,) = obj["providers"]
    return p


def all_up(v, up):
    rows = {r.get("endpoint"): r for r in health_rows(ctl_json(v, "health")[1])
            if (r.get("service") or "").rstrip(".") == NAME}
    return all((rows.get(e, {}).get("state") == "up") == (e in up) for e in EP)


def pushed(v, pd, present, absent=()):
    """vaned has nothing pending and PowerDNS holds the wanted addresses."""
    p = provider(v)
    if p["pending"] or p["last_result"] != "ok":
        return False
    rr = pd.rrset("example.com", NAME, "LUA")
    text = " ".join(r["content"] for r in rr["records"]) if rr else ""
    return all(EP[e] in text for e in present) and not any(EP[e] in text for e in absent)


def test_plan_and_differential(tmp_path, steer_factory, health_servers, pdns_factory):
    v, pd, hs = start_all(tmp_path, steer_factory, health_servers, pdns_factory)
    wait_until(lambda: all_up(v, EP), "every endpoint up", 15)
    wait_until(lambda: pushed(v, pd, EP), "the LUA records pushed", 15)

    # The plan: geo exact for the geo service, the lost parts named.
    _, plan = ctl_json(v, "providers", "plan")
    (pp,) = plan["providers"]
    svcs = {s["service"].rstrip("."): s for s in pp["services"]}
    items = {i["feature"]: i for i in svcs[NAME]["items"]}
    assert items["geo"]["fidelity"] == "exact", items
    assert items["health"]["fidelity"] == "exact", items
    assert "ifportup" in items["health"]["text"]
    assert items["ramp"]["text"].startswith("ramp: applied as weight steps")
    assert items["ecs"]["text"] == "ECS scope: provider's own"
    witems = {i["feature"]: i for i in svcs[WNAME]["items"]}
    assert witems["latency"]["fidelity"] == "lost"
    assert witems["latency"]["text"] == "latency: not supported, falls back to weights"
    assert witems["weighted"]["fidelity"] == "exact"
    assert svcs[WNAME]["overall"] == "lost"
    # The text form says the same.
    p = v.ctl("providers", "plan")
    assert p.returncode == 0, p.stderr
    assert "latency: not supported" in p.stdout

    # The weighted service became pickwrandom with vaned's weights.
    rr = pd.rrset("example.com", WNAME, "LUA")
    assert "pickwrandom({{1,'192.0.2.1'},{3,'192.0.2.2'}})" in rr["records"][0]["content"]

    # The differential: 1,000 subnets, same region where geo is exact.
    compared = 0
    for s in subnets(1000):
        want = EXPECT[country_of(s)]
        mine = one_endpoint(v.port, s)
        theirs = one_endpoint(pd.port, s)
        assert mine in EP and theirs in EP, (s, mine, theirs)
        if want is not None:
            assert mine == want and theirs == want, (s, country_of(s), mine, theirs)
            compared += 1
    assert compared > 800, compared

    # Drift checks run and find nothing while both agree.
    wait_until(lambda: provider(v)["drift"]["checks"] >= 2, "drift checks", 10)
    d = provider(v)["drift"]
    assert d["state"] == "ok" and d["ecs_samples"] > 0, d
    assert d["api_mismatches"] == 0 and d["ecs_mismatches"] == 0, d


def test_endpoint_down_neither_names_it(tmp_path, steer_factory, health_servers,
                                        pdns_factory):
    v, pd, hs = start_all(tmp_path, steer_factory, health_servers, pdns_factory)
    wait_until(lambda: all_up(v, EP), "every endpoint up", 15)
    wait_until(lambda: pushed(v, pd, EP), "the LUA records pushed", 15)
    before = provider(v)["pushes_ok"]

    hs["de"].stop()
    wait_until(lambda: all_up(v, {"us", "jp"}), "de down in vaned", 15)
    wait_until(lambda: pushed(v, pd, ("us", "jp"), absent=("de",)),
               "the health change pushed", 15)
    assert provider(v)["pushes_ok"] > before
    for s in subnets(400, seed=5):
        mine = one_endpoint(v.port, s)
        theirs = one_endpoint(pd.port, s)
        assert mine != "de" and theirs != "de", (s, mine, theirs)
        assert mine in EP and theirs in EP, (s, mine, theirs)

    # A drain is a record update too.
    p = v.ctl("drain", NAME + "/jp")
    assert p.returncode == 0, p.stderr
    wait_until(lambda: pushed(v, pd, ("us",), absent=("de", "jp")), "the drain pushed", 15)
    for s in subnets(50, seed=6):
        assert one_endpoint(pd.port, s) == "us"


def test_drift_behind_vaneds_back(tmp_path, steer_factory, health_servers, pdns_factory):
    v, pd, hs = start_all(tmp_path, steer_factory, health_servers, pdns_factory)
    wait_until(lambda: all_up(v, EP), "every endpoint up", 15)
    wait_until(lambda: pushed(v, pd, EP), "the LUA records pushed", 15)
    wait_until(lambda: provider(v)["drift"]["checks"] >= 1, "a drift check", 10)
    assert provider(v)["drift"]["state"] == "ok"

    # Someone edits the record at the provider directly.
    pd.patch("example.com", [{
        "name": NAME + ".", "type": "LUA", "ttl": 30, "changetype": "REPLACE",
        "records": [{"content": "A \"'192.0.2.99'\"", "disabled": False}]}])
    assert one_endpoint(pd.port, "10.70.1.0/24") == "192.0.2.99"

    wait_until(lambda: provider(v)["drift"]["api_mismatches"] > 0, "drift seen", 30)
    wait_until(lambda: log_has(v, "provider pdns", "drift"), "drift logged", 10)
    d = provider(v)["drift"]
    assert NAME in d["last_mismatch"], d
    metrics = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % v.http_port,
                                     timeout=5).read().decode()
    lines = [ln for ln in metrics.splitlines()
             if ln.startswith('vane_provider_drift_mismatches_total{provider="pdns",kind="api"}')]
    assert lines and float(lines[0].split()[-1]) > 0, lines
    assert 'vane_provider_pushes_total{provider="pdns",result="ok"}' in metrics
    if os.path.exists("/usr/bin/promtool"):
        r = subprocess.run(["/usr/bin/promtool", "check", "metrics"], input=metrics,
                           capture_output=True, text=True, timeout=30)
        assert r.returncode == 0, r.stdout + r.stderr

    # vaned puts its records back, and the alert clears.
    wait_until(lambda: pushed(v, pd, EP), "vaned's records back", 30)
    assert one_endpoint(pd.port, "10.70.1.0/24") == "de"
    wait_until(lambda: provider(v)["drift"]["state"] == "ok", "in step again", 30)
    ev = urllib.request.urlopen("http://127.0.0.1:%d/api/v1/events" % v.http_port,
                                timeout=5).read().decode()
    assert '"kind": "drift"' in ev or '"kind":"drift"' in ev, ev
    # The same over HTTP: status and plan.
    st = json.loads(urllib.request.urlopen(
        "http://127.0.0.1:%d/api/v1/providers" % v.http_port, timeout=5).read())
    assert st["providers"][0]["drift"]["api_mismatches"] > 0, st
    plan = json.loads(urllib.request.urlopen(
        "http://127.0.0.1:%d/api/v1/providers?view=plan" % v.http_port, timeout=5).read())
    assert plan["providers"][0]["services"][0]["items"], plan


def test_reload_removes_a_service(tmp_path, steer_factory, health_servers, pdns_factory):
    v, pd, hs = start_all(tmp_path, steer_factory, health_servers, pdns_factory)
    wait_until(lambda: pushed(v, pd, EP), "the LUA records pushed", 15)
    assert pd.rrset("example.com", WNAME, "LUA") is not None
    steer = dict(v.steer)
    steer["services"] = [s for s in steer["services"] if s["name"] != WNAME]
    v.set_steer(steer)
    # --force: the drift checks' own ECS samples count as queries for the
    # deletion guard (server.deletion-guard), which would refuse this.
    p = v.ctl("reload", "--force")
    assert p.returncode == 0, p.stdout + p.stderr
    wait_until(lambda: pd.rrset("example.com", WNAME, "LUA") is None,
               "the removed service's record deleted at the provider", 15)
    assert pd.rrset("example.com", NAME, "LUA") is not None
    assert provider(v)["steered"] == [NAME + "."]


def test_push_retried_while_the_provider_is_away(tmp_path, steer_factory, health_servers,
                                                 pdns_factory):
    v, pd, hs = start_all(tmp_path, steer_factory, health_servers, pdns_factory)
    wait_until(lambda: pushed(v, pd, EP), "the LUA records pushed", 15)
    pd.stop()
    p = v.ctl("drain", NAME + "/us")
    assert p.returncode == 0, p.stderr
    # The push fails and is retried with backoff; the change stays pending.
    wait_until(lambda: provider(v)["attempts"] >= 2, "retries", 15)
    st = provider(v)
    assert st["last_result"] == "error" and st["pending"], st
    assert st["error"], st
    wait_until(lambda: log_has(v, "provider pdns", "push failed"), "failure logged", 5)
    pd.start()
    wait_until(lambda: pushed(v, pd, ("de", "jp"), absent=("us",)),
               "the drain reaches the provider once it is back", 45)
    st = provider(v)
    assert st["attempts"] == 0 and st["error"] is None, st
    wait_until(lambda: log_has(v, "provider pdns", "push succeeded again"),
               "recovery logged", 5)


def test_ramp_steps_reach_the_provider(tmp_path, steer_factory, health_servers,
                                       pdns_factory):
    """A ramp moves by the clock, not by a publication: each step is still
    a record update at the provider."""
    v, pd, hs = start_all(tmp_path, steer_factory, health_servers, pdns_factory)
    w = lambda: pd.rrset("example.com", WNAME, "LUA")["records"][0]["content"]  # noqa: E731
    wait_until(lambda: pd.rrset("example.com", WNAME, "LUA") and
               "{3,'192.0.2.2'}" in w(), "the weighted record", 15)
    p = v.ctl("weight", WNAME + "/b", "300")
    assert p.returncode == 0, p.stderr
    wait_until(lambda: "{300,'192.0.2.2'}" in w(), "the weight pushed", 15)
    p = v.ctl("ramp", WNAME + "/b", "--steps", "10,50,100", "--every", "2s")
    assert p.returncode == 0, p.stderr
    seen = set()
    for want in ("{30,'192.0.2.2'}", "{150,'192.0.2.2'}", "{300,'192.0.2.2'}"):
        wait_until(lambda: want in w(), "ramp step %s at the provider" % want, 15,
                   step=0.05)
        seen.add(want)
    assert len(seen) == 3


def test_no_providers(steer_factory):
    v = steer_factory({})
    p = v.ctl("providers")
    assert p.returncode == 0 and "no providers configured" in p.stdout, p
    _, obj = ctl_json(v, "providers")
    assert obj["providers"] == [], obj
    _, obj = ctl_json(v, "providers", "plan")
    assert obj["providers"] == [], obj
    p = v.ctl("providers", "nonsense")
    assert p.returncode != 0 and "unknown view" in p.stderr, p


def test_drift_from_a_different_geo_database(tmp_path, steer_factory, health_servers,
                                             pdns_factory):
    """The provider's geoip database places Germany in Japan: its records
    are vaned's, but its answers are not, and the ECS samples say so."""
    stale = [(c, "JP", "AS") if cc == "DE" else (c, cc, ct) for c, cc, ct in NETS]
    v, pd, hs = start_all(tmp_path, steer_factory, health_servers, pdns_factory,
                          pdns_nets=stale)
    wait_until(lambda: pushed(v, pd, EP), "the LUA records pushed", 15)
    assert one_endpoint(pd.port, "10.70.1.0/24") == "jp"
    assert one_endpoint(v.port, "10.70.1.0/24") == "de"
    wait_until(lambda: provider(v)["drift"]["ecs_mismatches"] > 0, "ECS drift", 30)
    d = provider(v)["drift"]
    assert d["api_mismatches"] == 0, d
    assert "10.70.1.0/24" in d["last_mismatch"] and "country DE" in d["last_mismatch"], d
    assert d["alert"], d
