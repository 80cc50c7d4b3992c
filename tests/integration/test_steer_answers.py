# SPDX-License-Identifier: GPL-3.0-or-later
"""Steered answers from a real vaned (issue 3): A/AAAA from endpoints,
`answers: N`, NODATA for a family without endpoints, other types from the
zone, CNAME endpoints, ECS scope (static, sticky, geo), `ecs: off`, malformed
ECS, the weighted distribution and sticky subnets."""

import collections
import ipaddress

import pytest

import dns.edns
import dns.flags
import dns.rcode
import dns.rdatatype

from steer_helpers import (UdpClient, addrs, answer_rrset, ecs_echo, ecs_scope,
                           endpoint, module_vaned, query, raw_ecs, service,
                           stats_services, wait_until)

GEO_DB = "/var/lib/location/database.db"

# Operator overrides: the test's networks have fixed locations, whatever the
# Debian database says about documentation prefixes and loopback.
GEO_NETS = """\
# CIDR continent country
203.0.113.0/24    EU DE
198.51.100.0/24   NA US
2001:db8:aa::/48  EU DE
2001:db8:bb::/48  NA US
127.0.0.0/8       NA US
"""

GEO_EPS = [
    endpoint("eu", ["192.0.2.21", "2001:db8::21"],
             location={"continent": "EU", "country": "DE"}),
    endpoint("us", ["192.0.2.22", "2001:db8::22"],
             location={"continent": "NA", "country": "US"}),
]

STEER = {
    "geo": {"database": GEO_DB, "nets": "geo.nets"},
    "services": [
        service("multi.example.com", [
            endpoint("a", ["192.0.2.1", "192.0.2.2"]),
            endpoint("b", "192.0.2.3"),
            endpoint("c", "192.0.2.4"),
        ], ttl=30, policy=["weighted"], answers=2),
        service("all3.example.com", [
            endpoint("a", ["192.0.2.1", "192.0.2.2"]),
            endpoint("b", "192.0.2.3"),
            endpoint("c", "192.0.2.4"),
        ], ttl=45, policy=["weighted"], answers=3),
        # txt.example.com has TXT records in the zone and no address.
        service("txt.example.com", [
            endpoint("a", "192.0.2.5"),
            endpoint("b", "192.0.2.6"),
        ], ttl=30, policy=["weighted"], answers=2),
        service("dual.example.com", [
            endpoint("x", ["192.0.2.50", "2001:db8::50"]),
        ], ttl=30, policy=["weighted"], answers=1),
        service("cdn.example.com", [
            endpoint("e1", cname="edge1.example.net"),
        ], ttl=30, policy=["weighted"], answers=1),
        service("w.example.com", [
            endpoint("heavy", "192.0.2.80", weight=80),
            endpoint("light", "192.0.2.20", weight=20),
        ], ttl=30, policy=["weighted"], answers=1),
        service("sticky.example.com", [
            endpoint("s1", ["192.0.2.91", "2001:db8::91"], weight=50),
            endpoint("s2", ["192.0.2.92", "2001:db8::92"], weight=50),
        ], ttl=30, policy=["weighted"], answers=1, sticky="subnet",
            sticky_prefix_v4=22, sticky_prefix_v6=48),
        service("geo.example.com", GEO_EPS, ttl=30, policy=["geo"],
                answers=1),
        service("geooff.example.com", GEO_EPS, ttl=30, policy=["geo"],
                answers=1, ecs="off"),
    ],
}

EU = {"192.0.2.21", "2001:db8::21"}
US = {"192.0.2.22", "2001:db8::22"}


@pytest.fixture(scope="module")
def sv(tmp_path_factory):
    yield from module_vaned(tmp_path_factory, STEER, name="answers",
                            files={"geo.nets": GEO_NETS})


def noerror(r):
    assert r.rcode() == dns.rcode.NOERROR, "rcode %s:\n%s" % (
        dns.rcode.to_text(r.rcode()), r)
    return r


# ---------------------------------------------------------------------------
# Records

def test_answers_n_counts_endpoints(sv):
    owner = {"192.0.2.1": "a", "192.0.2.2": "a", "192.0.2.3": "b",
             "192.0.2.4": "c"}
    seen = collections.Counter()
    for _ in range(40):
        r = noerror(query(sv.port, "multi.example.com", "A"))
        assert r.flags & dns.flags.AA
        got = addrs(r)
        eps = {owner[a] for a in got}
        # Exactly two endpoints; an endpoint contributes every address.
        assert len(eps) == 2, got
        if "a" in eps:
            assert {"192.0.2.1", "192.0.2.2"} <= set(got), got
        assert len(got) == len(set(got)), got
        rr = answer_rrset(r, "multi.example.com", "A")
        assert rr.ttl == 30
        seen[frozenset(eps)] += 1
    # Weighted random over equal weights: more than one pair shows up.
    assert len(seen) >= 2, seen


def test_answers_all(sv):
    r = noerror(query(sv.port, "all3.example.com", "A"))
    assert sorted(addrs(r)) == ["192.0.2.1", "192.0.2.2", "192.0.2.3",
                                "192.0.2.4"]
    assert answer_rrset(r, "all3.example.com", "A").ttl == 45


def test_aaaa_nodata_when_no_v6_endpoint(sv):
    r = noerror(query(sv.port, "txt.example.com", "AAAA"))
    assert r.flags & dns.flags.AA
    assert r.answer == [], r
    soa = [rr for rr in r.authority if rr.rdtype == dns.rdatatype.SOA]
    assert len(soa) == 1, r
    assert soa[0].name.to_text() == "example.com."
    assert 0 < soa[0].ttl <= 300, r


def test_other_types_come_from_zone(sv):
    r = noerror(query(sv.port, "txt.example.com", "TXT"))
    txt = answer_rrset(r, "txt.example.com", "TXT")
    assert txt is not None, r
    strings = sorted(b"".join(rd.strings).decode() for rd in txt)
    assert strings == ["onetwo", "three"], strings
    # A at the same name is steered.
    r = noerror(query(sv.port, "txt.example.com", "A"))
    assert sorted(addrs(r)) == ["192.0.2.5", "192.0.2.6"]
    # A type absent from both zone and endpoints: NODATA with SOA.
    r = noerror(query(sv.port, "txt.example.com", "MX"))
    assert r.answer == []
    assert any(rr.rdtype == dns.rdatatype.SOA for rr in r.authority), r


def test_aaaa_from_endpoint(sv):
    r = noerror(query(sv.port, "dual.example.com", "AAAA"))
    assert addrs(r, "AAAA") == ["2001:db8::50"]
    r = noerror(query(sv.port, "dual.example.com", "A"))
    assert addrs(r) == ["192.0.2.50"]


def test_steered_over_tcp(sv):
    r = noerror(query(sv.port, "dual.example.com", "A", tcp=True))
    assert addrs(r) == ["192.0.2.50"]
    r = noerror(query(sv.port, "geo.example.com", "A", ecs="203.0.113.0/24",
                      tcp=True))
    assert addrs(r) == ["192.0.2.21"]
    assert ecs_echo(r) == (1, 24, 24)


def test_cname_endpoint(sv):
    for qtype in ("A", "AAAA"):
        r = noerror(query(sv.port, "cdn.example.com", qtype))
        cn = answer_rrset(r, "cdn.example.com", "CNAME")
        assert cn is not None, r
        assert cn[0].target.to_text() == "edge1.example.net."
        assert cn.ttl == 30
        # The target is out of zone: nothing chased, no address records.
        assert addrs(r, qtype) == []


# ---------------------------------------------------------------------------
# ECS scope

def test_static_name_scope_zero(sv):
    r = noerror(query(sv.port, "www.example.com", "A", ecs="203.0.113.0/24"))
    assert addrs(r) == ["192.0.2.30"]
    echo = ecs_echo(r)
    assert echo is not None, "ECS not echoed: %s" % r
    assert echo == (1, 24, 0), echo


def test_weighted_random_scope_zero(sv):
    # Weighted random without sticky does not depend on the client.
    r = noerror(query(sv.port, "w.example.com", "A", ecs="203.0.113.0/24"))
    assert ecs_scope(r) == 0, r


def test_sticky_scope_is_sticky_prefix(sv):
    for ecs, want in (("10.1.4.0/24", 22), ("10.1.4.77/32", 22),
                      ("10.1.4.0/22", 22)):
        r = noerror(query(sv.port, "sticky.example.com", "A", ecs=ecs))
        echo = ecs_echo(r)
        assert echo is not None, r
        fam, src, scope = echo
        assert (fam, src) == (1, int(ecs.split("/")[1]))
        assert scope == want, (ecs, echo)
    r = noerror(query(sv.port, "sticky.example.com", "AAAA",
                      ecs="2001:db8:1234:5600::/56"))
    assert ecs_echo(r) == (2, 56, 48), r


def test_sticky_same_subnet_same_answer(sv):
    c = UdpClient(sv.port)
    try:
        by_subnet = {}
        for net in range(40):
            # 10.2.(4*net + k).host: every query of `net` lies in one /22.
            answers = set()
            for k, host in ((0, 1), (1, 77), (2, 200), (3, 254), (3, 9)):
                ecs = "10.2.%d.%d/32" % (4 * net + k, host)
                r = c.ask("sticky.example.com", "A", ecs=ecs)
                got = addrs(r)
                assert len(got) == 1, r
                answers.add(got[0])
            assert len(answers) == 1, (net, answers)
            by_subnet[net] = answers.pop()
        # 40 subnets over two equal weights: both endpoints are used.
        assert set(by_subnet.values()) == {"192.0.2.91", "192.0.2.92"}, \
            by_subnet
        # Deterministic over time too.
        for net in range(0, 40, 7):
            r = c.ask("sticky.example.com", "A",
                      ecs="10.2.%d.0/24" % (4 * net))
            assert addrs(r) == [by_subnet[net]]
    finally:
        c.close()


@pytest.mark.parametrize("ecs,want,scope", [
    ("203.0.113.0/24", EU, 24),
    ("203.0.113.77/32", EU, 24),
    ("198.51.100.0/24", US, 24),
    ("198.51.100.200/32", US, 24),
])
def test_geo_picks_location_and_scope(sv, ecs, want, scope):
    r = noerror(query(sv.port, "geo.example.com", "A", ecs=ecs))
    got = addrs(r)
    assert len(got) == 1 and got[0] in want, (ecs, got)
    fam, src, sc = ecs_echo(r)
    assert (fam, src) == (1, int(ecs.split("/")[1]))
    # The decision holds over the override network (/24), no wider, and the
    # scope never claims more than the client said (source prefix).
    assert sc == scope, (ecs, sc)
    assert sc <= src


@pytest.mark.parametrize("ecs,want", [
    ("2001:db8:aa::/48", EU),
    ("2001:db8:aa:1200::/56", EU),
    ("2001:db8:bb::/56", US),
])
def test_geo_v6_ecs(sv, ecs, want):
    r = noerror(query(sv.port, "geo.example.com", "AAAA", ecs=ecs))
    got = addrs(r, "AAAA")
    assert len(got) == 1 and got[0] in want, (ecs, got)
    fam, src, sc = ecs_echo(r)
    assert (fam, src) == (2, int(ecs.split("/")[1]))
    assert sc == 48, (ecs, sc)


@pytest.mark.parametrize("qtype,ecs,want", [
    ("A", "8.8.8.0/24", US),              # Google, US in the Debian database
    ("A", "193.0.6.0/24", EU),            # RIPE NCC, NL: same continent (EU)
    ("AAAA", "2001:67c:2e8::/48", EU),    # RIPE NCC, NL
])
def test_geo_real_database(sv, qtype, ecs, want):
    r = noerror(query(sv.port, "geo.example.com", qtype, ecs=ecs))
    got = addrs(r, qtype)
    assert len(got) == 1 and got[0] in want, (ecs, got)
    fam, src, sc = ecs_echo(r)
    # The database network's prefix: wider than nothing, never beyond what
    # the client sent.
    assert 8 <= sc <= src, (ecs, sc)


def test_geo_no_match_falls_back_to_all(sv):
    # 1.1.1.0/24 is OC/AU: no endpoint there, so every endpoint stays in.
    for _ in range(5):
        r = noerror(query(sv.port, "geo.example.com", "A", ecs="1.1.1.0/24"))
        got = addrs(r)
        assert len(got) == 1 and got[0] in EU | US, got
        fam, src, sc = ecs_echo(r)
        assert sc <= src


def test_geo_without_ecs_uses_source(sv):
    # 127.0.0.0/8 is NA/US in the overrides.
    r = noerror(query(sv.port, "geo.example.com", "A"))
    assert addrs(r) == ["192.0.2.22"], r
    assert ecs_echo(r) is None, "ECS in a response to a query without it"


def test_ecs_off_ignores_ecs(sv):
    for ecs in ("203.0.113.0/24", "2001:db8:aa::/48"):
        r = noerror(query(sv.port, "geooff.example.com", "A", ecs=ecs))
        # Decided on the resolver's address (127.0.0.1: NA/US), not on ECS.
        assert addrs(r) == ["192.0.2.22"], (ecs, r)
        echo = ecs_echo(r)
        # Either no option, or one saying "valid for everyone" (scope 0).
        if echo is not None:
            assert echo[2] == 0, (ecs, echo)
    # The same ECS on the ECS-enabled twin does change the answer.
    r = noerror(query(sv.port, "geo.example.com", "A", ecs="203.0.113.0/24"))
    assert addrs(r) == ["192.0.2.21"]


# ---------------------------------------------------------------------------
# Malformed ECS (RFC 7871 6, 7.1.1): FORMERR

BAD_ECS = [
    ("family-3", raw_ecs(3, 24, [203, 0, 113])),
    ("family-0", raw_ecs(0, 0, [])),
    ("v4-source-33", raw_ecs(1, 33, [203, 0, 113, 1, 0])),
    ("v6-source-129", raw_ecs(2, 129, [0x20, 0x01] + [0] * 15)),
    ("v4-bits-past-prefix", raw_ecs(1, 20, [203, 0, 113])),
    ("v6-bits-past-prefix", raw_ecs(2, 44, [0x20, 0x01, 0x0d, 0xb8, 0x00,
                                            0x0f])),
    ("v4-address-too-long", raw_ecs(1, 16, [203, 0, 113])),
    ("v4-address-too-short", raw_ecs(1, 24, [203, 0])),
    ("truncated-option", dns.edns.GenericOption(8, b"\x00\x01\x18")),
]


@pytest.mark.parametrize("name", ["geo.example.com", "www.example.com"])
@pytest.mark.parametrize("case,opt", BAD_ECS, ids=[c[0] for c in BAD_ECS])
def test_bad_ecs_formerr(sv, name, case, opt):
    r = query(sv.port, name, "A", options=[opt])
    assert r.rcode() == dns.rcode.FORMERR, "%s: %s" % (case, r)
    assert r.answer == []


def test_good_ecs_edge_cases_accepted(sv):
    # Source prefix 0 and full-length prefixes are valid.
    for opt in (raw_ecs(1, 0, []), raw_ecs(1, 32, [203, 0, 113, 9]),
                raw_ecs(2, 128, [0x20, 0x01, 0x0d, 0xb8] + [0] * 11 + [1])):
        r = query(sv.port, "geo.example.com", "A", options=[opt])
        assert r.rcode() == dns.rcode.NOERROR, r
        assert len(addrs(r)) == 1


# ---------------------------------------------------------------------------
# Weighted distribution

def test_weighted_distribution(sv):
    n = 2000
    counts = collections.Counter()
    c = UdpClient(sv.port)
    try:
        for _ in range(n):
            got = addrs(c.ask("w.example.com", "A"))
            assert len(got) == 1
            counts[got[0]] += 1
    finally:
        c.close()
    assert set(counts) <= {"192.0.2.80", "192.0.2.20"}, counts
    share = counts["192.0.2.80"] / n
    # 80/20 over 2000 draws: sd ~0.9%; +-8% never flakes.
    assert 0.72 <= share <= 0.88, counts


def test_weighted_distribution_with_changing_ecs_stays_random(sv):
    # No sticky: different client subnets still follow the weights.
    counts = collections.Counter()
    c = UdpClient(sv.port)
    try:
        for i in range(1000):
            net = ipaddress.ip_address("10.0.0.0") + (i << 8)
            got = addrs(c.ask("w.example.com", "A", ecs="%s/24" % net))
            counts[got[0]] += 1
    finally:
        c.close()
    share = counts["192.0.2.80"] / 1000
    assert 0.70 <= share <= 0.90, counts


# ---------------------------------------------------------------------------
# Counters

def test_stats_count_answers_per_endpoint(sv):
    before, _ = stats_services(sv)
    b = before["w.example.com"]
    seen = collections.Counter()
    c = UdpClient(sv.port)
    try:
        for _ in range(200):
            seen[addrs(c.ask("w.example.com", "A"))[0]] += 1
    finally:
        c.close()
    want = {"heavy": seen["192.0.2.80"], "light": seen["192.0.2.20"]}

    def delta():
        now, _ = stats_services(sv)
        w = now["w.example.com"]
        d = {ep: w["endpoints"][ep] - b["endpoints"][ep] for ep in want}
        return (d, w["answers"] - b["answers"])
    wait_until(lambda: delta() == (want, 200), "stats %r" % (want,), 5)
    assert before["w.example.com"].get("fallbacks", 0) == 0
