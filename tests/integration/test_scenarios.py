# SPDX-License-Identifier: GPL-3.0-or-later
"""The brief's scenarios against a real vaned ("Steering that does what the
operator meant"): a canary that keeps its 1% when everything else fails, a
region evacuation under geo and weighted routing, the negative-caching
zombie outage, and a ramp back under geo that moves only the share of the
region's users each step asks for."""

import dns.rcode
import dns.rdatatype

from steer_helpers import (UdpClient, addrs, check_vaned, ctl, ctl_json, ctl_ok, endpoint,
                           explain_trace, free_port_on, health_row, query,
                           row_state, service, wait_until)
from steer_helpers import health_servers, steer_factory  # noqa: F401

GEO_DB = "/var/lib/location/database.db"

# The test's client networks have fixed locations (operator overrides),
# whatever the Debian database says about private ranges.
GEO_NETS = """\
# CIDR         continent country
10.0.0.0/10    EU DE
10.64.0.0/10   EU FR
10.128.0.0/10  NA US
127.0.0.0/8    NA US
"""

# A zone whose negative TTL is long (SOA MINIMUM 900, SOA TTL 3600), as in
# the brief: anything at or below a steered name must still go stale within
# the service TTL.
ZONE = """\
$ORIGIN example.com.
$TTL 3600
@	3600	IN	SOA	ns1 hostmaster 2026120401 3600 900 604800 900
@		IN	NS	ns1
ns1		IN	A	192.0.2.53
www		IN	A	192.0.2.80
zombie		IN	TXT	"zone data at a steered name"
"""

NEG_TTL_ZONE = 900


def make_vaned(steer_factory, tmp_path, name, steer, nets=False):
    """vaned with the scenario zone (and the geo overrides when asked)."""
    d = tmp_path / name
    (d / "zones").mkdir(parents=True, exist_ok=True)
    (d / "zones" / "scenario.zone").write_text(ZONE)
    if nets:
        (d / "geo.nets").write_text(GEO_NETS)
        steer = dict(steer, geo={"database": GEO_DB, "nets": "geo.nets"})
    return steer_factory(steer, name=name,
                         zones=[("example.com", "scenario.zone")])


def subnet(region, i):
    """The i-th /24 of a region's override network, as an ECS prefix."""
    second = {"DE": 0, "FR": 64, "US": 128}[region] + i // 256
    return "10.%d.%d.0/24" % (second, i % 256)


def shares(v, name, ecs_list, owner):
    """{endpoint: count} over one query per ECS prefix; `owner` maps an
    address to its endpoint, "NODATA" counts empty answers."""
    c = UdpClient(v.port)
    out = {}
    try:
        for ecs in ecs_list:
            r = c.ask(name, "A", ecs=ecs)
            assert r.rcode() == dns.rcode.NOERROR, r
            got = addrs(r)
            key = owner[got[0]] if got else "NODATA"
            out[key] = out.get(key, 0) + 1
    finally:
        c.close()
    return out


def neg_soa_ttl(r):
    soa = [rr for rr in r.authority if rr.rdtype == dns.rdatatype.SOA]
    assert len(soa) == 1, r
    return soa[0].ttl


# ---------------------------------------------------------------------------
# Canary: weight 1 of 100 with standby: never

def test_scenario_canary(steer_factory, health_servers, tmp_path):
    port = free_port_on(["127.0.0.2"])
    hb = health_servers("127.0.0.2", port)
    v = make_vaned(steer_factory, tmp_path, "canary", {
        "checks": [{"id": "web", "type": "http", "port": port,
                    "path": "/health", "interval": "200ms",
                    "timeout": "150ms", "rise": 1, "fall": 1}],
        "services": [service("canary.example.com", [
            endpoint("main-a", "192.0.2.1", weight=50),
            endpoint("main-b", "192.0.2.2", weight=49, check="web",
                     check_address="127.0.0.2"),
            endpoint("canary", "192.0.2.99", weight=1, standby="never"),
        ], ttl=30, policy=["health", "weighted"], answers=1,
            sticky="subnet")],
    })
    owner = {"192.0.2.1": "main-a", "192.0.2.2": "main-b",
             "192.0.2.99": "canary"}
    wait_until(lambda: row_state(health_row(v, "canary.example.com",
                                            "main-b")) == "up",
               "main-b up", 10)
    n = 10000
    ecs = ["10.%d.%d.0/24" % (i // 256, i % 256) for i in range(n)]
    got = shares(v, "canary.example.com", ecs, owner)
    share = got.get("canary", 0) / n
    print("canary share, all up: %.4f %r" % (share, got))
    assert abs(share - 0.01) <= 0.005, got

    # main-b's server dies: its 49% goes to main-a, not 1/51 to the canary.
    hb.stop()
    wait_until(lambda: row_state(health_row(v, "canary.example.com",
                                            "main-b")) == "down",
               "main-b down", 10)
    got = shares(v, "canary.example.com", ecs, owner)
    share_b_down = got.get("canary", 0) / n
    print("canary share, main-b down: %.4f %r" % (share_b_down, got))
    assert got.get("main-b", 0) == 0, got
    assert share_b_down <= share + 0.002, (share, got)

    tr, _ = explain_trace(v, "canary.example.com", "A", "127.0.0.1",
                          ecs="10.0.7.0/24")
    whys = " ".join(s["why"] for s in tr["steps"])
    assert "standby never: canary held to 1/100" in whys, tr

    # main-a drained too: nothing but the canary is left.  The service
    # goes all-down (open: main-b, down but not drained) and the canary
    # gets nothing.
    ctl_ok(v, "drain", "canary.example.com/main-a")
    got = shares(v, "canary.example.com", ecs[:2000], owner)
    print("canary share, all others down: %r" % got)
    assert got.get("canary", 0) == 0, got
    assert got.get("main-a", 0) == 0, got
    tr, _ = explain_trace(v, "canary.example.com", "A", "127.0.0.1",
                          ecs="10.0.7.0/24")
    assert tr["result"]["fallback"] is True, tr
    whys = " ".join(s["why"] for s in tr["steps"])
    assert "only standby never left" in whys, tr


# ---------------------------------------------------------------------------
# Evacuation: drain a region under geo and weighted routing

def test_scenario_evacuation(steer_factory, tmp_path):
    v = make_vaned(steer_factory, tmp_path, "evac", {
        "services": [service("evac.example.com", [
            endpoint("eu-de-1", "192.0.2.11",
                     location={"continent": "EU", "country": "DE"}),
            endpoint("eu-de-2", "192.0.2.12",
                     location={"continent": "EU", "country": "DE"}),
            endpoint("eu-fr", "192.0.2.21", weight=3,
                     location={"continent": "EU", "country": "FR"}),
            endpoint("us-east", "192.0.2.31",
                     location={"continent": "NA", "country": "US"}),
        ], ttl=30, policy=["health", "geo", "weighted"], answers=1,
            sticky="subnet")],
    }, nets=True)
    owner = {"192.0.2.11": "eu-de-1", "192.0.2.12": "eu-de-2",
             "192.0.2.21": "eu-fr", "192.0.2.31": "us-east"}
    de = [subnet("DE", i) for i in range(300)]
    us = [subnet("US", i) for i in range(100)]
    before = shares(v, "evac.example.com", de, owner)
    assert set(before) == {"eu-de-1", "eu-de-2"}, before
    assert shares(v, "evac.example.com", us, owner) == {"us-east": 100}

    # Evacuate Germany: both DE endpoints drained.  The very next query of
    # every German subnet goes to the next-best region (France, same
    # continent), with the service TTL; the US is untouched.
    ctl_ok(v, "drain", "evac.example.com/eu-de-1")
    ctl_ok(v, "drain", "evac.example.com/eu-de-2")
    c = UdpClient(v.port)
    try:
        for ecs in de:
            r = c.ask("evac.example.com", "A", ecs=ecs)
            assert r.rcode() == dns.rcode.NOERROR, r
            assert addrs(r) == ["192.0.2.21"], (ecs, r)
            assert all(rr.ttl == 30 for rr in r.answer), r
        # No endpoint has IPv6: the NODATA goes stale as fast as the
        # answers, not after the zone's 900 s.
        r = c.ask("evac.example.com", "AAAA", ecs=de[0])
        assert r.rcode() == dns.rcode.NOERROR and r.answer == [], r
        assert neg_soa_ttl(r) <= 30, r
    finally:
        c.close()
    assert shares(v, "evac.example.com", us, owner) == {"us-east": 100}

    # Half back: only eu-de-2 drained.  German users are German again,
    # none of them on the drained endpoint.
    ctl_ok(v, "undrain", "evac.example.com/eu-de-1")
    assert shares(v, "evac.example.com", de, owner) == {"eu-de-1": 300}


# ---------------------------------------------------------------------------
# Zombie: negative answers at and below a steered name

def test_scenario_zombie(steer_factory, tmp_path):
    v = make_vaned(steer_factory, tmp_path, "zombie", {
        "services": [service("zombie.example.com", [
            endpoint("a", "192.0.2.41"),
            endpoint("b", "192.0.2.42"),
        ], ttl=30, policy=["health", "weighted"], answers=1,
            all_down="empty")],
    })
    # The zone's own negative TTL is the long one.
    r = query(v.port, "nothere.example.com", "A")
    assert r.rcode() == dns.rcode.NXDOMAIN
    assert neg_soa_ttl(r) == NEG_TTL_ZONE

    def negative(name, qtype, rcode):
        r = query(v.port, name, qtype)
        assert r.rcode() == rcode, r
        assert r.answer == [], r
        ttl = neg_soa_ttl(r)
        assert 0 < ttl <= 30, "%s %s: negative TTL %d above the service " \
            "TTL 30:\n%s" % (name, qtype, ttl, r)

    # At the name: no IPv6 endpoint, types with no data anywhere, and
    # types the zone has other data for.
    negative("zombie.example.com", "AAAA", dns.rcode.NOERROR)
    negative("zombie.example.com", "MX", dns.rcode.NOERROR)
    negative("zombie.example.com", "SRV", dns.rcode.NOERROR)
    r = query(v.port, "zombie.example.com", "TXT")
    assert r.answer and r.answer[0].ttl == 3600, r
    # Below it.
    negative("x.zombie.example.com", "A", dns.rcode.NXDOMAIN)
    negative("deep.x.ZOMBIE.example.com", "AAAA", dns.rcode.NXDOMAIN)
    negative("_443._tcp.zombie.example.com", "TLSA", dns.rcode.NXDOMAIN)
    # The outage itself: every endpoint drained, all-down empty.
    ctl_ok(v, "drain", "zombie.example.com/a")
    ctl_ok(v, "drain", "zombie.example.com/b")
    negative("zombie.example.com", "A", dns.rcode.NOERROR)
    ctl_ok(v, "undrain", "zombie.example.com/a")
    r = query(v.port, "zombie.example.com", "A")
    assert addrs(r) == ["192.0.2.41"], r
    # Over TCP too.
    r = query(v.port, "x.zombie.example.com", "A", tcp=True)
    assert r.rcode() == dns.rcode.NXDOMAIN and neg_soa_ttl(r) <= 30, r


def test_scenario_zombie_deletion_guard(steer_factory, tmp_path):
    """Defect 7: a reload that deletes a name clients asked for in the last
    15 minutes is refused, naming it, and the old version keeps serving;
    `vanectl reload --force` deletes it.  A name nobody asked for goes
    without fuss.  The same for a steered service with no record left."""
    svcs = [service("zombie.example.com", [endpoint("a", "192.0.2.41")], ttl=30),
            service("gone.example.com", [endpoint("g", "192.0.2.51")], ttl=30)]
    v = make_vaned(steer_factory, tmp_path, "guard", {"services": svcs})
    zone = v.dir / "zones" / "scenario.zone"
    zone.write_text(ZONE + "idle\tIN\tA\t192.0.2.90\n")
    ctl_ok(v, "reload")
    assert query(v.port, "www.example.com").answer
    assert query(v.port, "gone.example.com").answer

    def reload(*args):
        p = ctl(v, "reload", *args)
        return p.returncode, p.stdout + p.stderr

    # Deleting a name nobody queried: loads.
    zone.write_text(ZONE.replace("2026120401", "2026120402"))
    rc, out = reload()
    assert rc == 0, out
    assert query(v.port, "idle.example.com").rcode() == dns.rcode.NXDOMAIN
    # Deleting www, queried above: refused, named, still served.
    zone.write_text(ZONE.replace("2026120401", "2026120403").replace(
        "www\t\tIN\tA\t192.0.2.80\n", ""))
    rc, out = reload()
    assert rc != 0 and "www.example.com. (queried" in out and "--force" in out, out
    assert addrs(query(v.port, "www.example.com")) == ["192.0.2.80"]
    row = [z for z in ctl_json(v, "zone-status")[1]["zones"]
           if z["name"].startswith("example.com")][0]
    assert "deletes 1 name" in (row["error"] or ""), row
    # Forced: gone, and the zone loads clean again.
    rc, out = reload("--force")
    assert rc == 0, out
    assert query(v.port, "www.example.com").rcode() == dns.rcode.NXDOMAIN
    # A steered name with no record of its own: removing the service from
    # the config refuses the whole reload, naming it.
    v.set_steer({"services": svcs[:1]})
    rc, out = reload()
    assert rc != 0 and "gone.example.com. (queried" in out, out
    assert addrs(query(v.port, "gone.example.com")) == ["192.0.2.51"]
    rc, out = reload("--force")
    assert rc == 0, out
    # The deleted service keeps its TTL (30) as the negative TTL for the
    # guard's window, at and below its name: restoring it takes effect
    # within 30 s, not the zone's 900 (the zombie outage).
    r = query(v.port, "gone.example.com")
    assert r.rcode() == dns.rcode.NXDOMAIN and neg_soa_ttl(r) == 30, r
    r = query(v.port, "x.gone.example.com", "AAAA", tcp=True)
    assert r.rcode() == dns.rcode.NXDOMAIN and neg_soa_ttl(r) == 30, r
    assert "deleted steered name (first gone.example.com.) keeps its TTL" in \
        v.stderr_text(), v.stderr_text()
    # zombie.example.com keeps its TXT record: dropping its service is not
    # a deletion.
    v.set_steer({"services": []})
    rc, out = reload()
    assert rc == 0, out
    assert query(v.port, "zombie.example.com", "TXT").answer
    # Later reloads keep the cap (the window runs from the deletion), and
    # only for deleted names: the zone's own NXDOMAINs keep 900.
    r = query(v.port, "gone.example.com")
    assert r.rcode() == dns.rcode.NXDOMAIN and neg_soa_ttl(r) == 30, r
    assert neg_soa_ttl(query(v.port, "nothere.example.com")) == NEG_TTL_ZONE
    # Restored, it answers; deleted again, it is capped again.
    v.set_steer({"services": svcs[1:]})
    rc, out = reload()
    assert rc == 0, out
    assert addrs(query(v.port, "gone.example.com")) == ["192.0.2.51"]


def test_deleted_service_uncapped_without_guard(steer_factory, tmp_path):
    """With server.deletion-guard: 0 there is no guard and no memory of
    deleted services: a deleted steered name's NXDOMAIN carries the zone's
    negative TTL (900), the zombie outage the guard exists to prevent."""
    svcs = [service("gone.example.com", [endpoint("g", "192.0.2.51")], ttl=30)]
    d = tmp_path / "noguard"
    (d / "zones").mkdir(parents=True)
    (d / "zones" / "scenario.zone").write_text(ZONE)
    v = steer_factory({"services": svcs}, name="noguard",
                      zones=[("example.com", "scenario.zone")],
                      extra_server="  deletion-guard: 0\n")
    assert addrs(query(v.port, "gone.example.com")) == ["192.0.2.51"]
    v.set_steer({"services": []})
    p = ctl(v, "reload")
    assert p.returncode == 0, p.stdout + p.stderr
    r = query(v.port, "gone.example.com")
    assert r.rcode() == dns.rcode.NXDOMAIN and neg_soa_ttl(r) == NEG_TTL_ZONE, r


def test_check_warns_negative_ttl_over_service_ttl(steer_factory, tmp_path):
    """Defect 7: `vaned --check` warns when the zone's negative TTL is more
    than 10 times a service's TTL, naming the services at risk, and still
    passes."""
    v = make_vaned(steer_factory, tmp_path, "negwarn", {
        "services": [service("zombie.example.com", [endpoint("a", "192.0.2.41")], ttl=30),
                     service("slow.example.com", [endpoint("s", "192.0.2.61")], ttl=600)],
    })
    p = check_vaned(v.conf_path)
    assert p.returncode == 0, p.stderr
    assert "warning: negative TTL 900 s" in p.stderr, p.stderr
    assert "zombie.example.com. (TTL 30 s)" in p.stderr, p.stderr
    assert "slow.example.com" not in p.stderr.split("warning:")[1], p.stderr


# ---------------------------------------------------------------------------
# Thundering herd: a ramp back under geo admits p% of the region, sticky

def test_scenario_thundering_herd(steer_factory, tmp_path):
    v = make_vaned(steer_factory, tmp_path, "ramp", {
        "services": [service("herd.example.com", [
            endpoint("eu-de", "192.0.2.51",
                     location={"continent": "EU", "country": "DE"}),
            endpoint("eu-fr", "192.0.2.52",
                     location={"continent": "EU", "country": "FR"}),
            endpoint("us-east", "192.0.2.53",
                     location={"continent": "NA", "country": "US"}),
        ], ttl=30, policy=["health", "geo", "weighted"], answers=1)],
    }, nets=True)
    owner = {"192.0.2.51": "eu-de", "192.0.2.52": "eu-fr",
             "192.0.2.53": "us-east"}
    de = [subnet("DE", i) for i in range(2000)]
    ctl_ok(v, "ramp", "herd.example.com/eu-de", "--steps", "10,100",
           "--every", "600s")
    got = shares(v, "herd.example.com", de, owner)
    share = got.get("eu-de", 0) / len(de)
    print("eu-de at the 10%% step: %.4f %r" % (share, got))
    # 10% of Germany, the rest to the next choice (France), none lost.
    assert abs(share - 0.10) <= 0.03, got
    assert set(got) <= {"eu-de", "eu-fr"}, got
    # Sticky: the same subnets again, the same answers.
    again = shares(v, "herd.example.com", de, owner)
    assert again == got, (got, again)
