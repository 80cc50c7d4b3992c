# SPDX-License-Identifier: GPL-3.0-or-later
"""vane-resolver on a private internet of vaned authorities (issue 5).

Resolution (referrals, glue, out-of-bailiwick NS names, CNAMEs across
zones, wildcards, negative answers, retries, TC -> TCP), the cache proved by
the authorities' query counters, TTL countdown, exact negative caching and
min-ttl with the fake clock, serve-stale with killed authorities, ECS per
scope, and the ACL."""

import time

import pytest

import dns.flags
import dns.rcode
import dns.rdatatype

from resolver_helpers import (GEO_EU, GEO_US, addrs, ask, internet,  # noqa
                              internet_factory, rcode_text,  # noqa: F401
                              resolver_factory, rrset, soa_ttl, wait_until)

NOERROR = dns.rcode.NOERROR
NXDOMAIN = dns.rcode.NXDOMAIN


def ok(r, rcode=NOERROR, what=""):
    assert r is not None, "no response %s" % what
    assert r.rcode() == rcode, "rcode %s, want %s %s:\n%s" % (
        rcode_text(r), dns.rcode.to_text(rcode), what, r)
    assert r.flags & dns.flags.RA, "RA not set:\n%s" % r
    assert r.flags & dns.flags.QR
    return r


def chain(r):
    """The answer section as [(owner, type, rdata text)] in order."""
    return [(rr.name.to_text().lower(), dns.rdatatype.to_text(rr.rdtype),
             sorted(rd.to_text().lower() for rd in rr)) for rr in r.answer]


@pytest.fixture
def res(internet, resolver_factory):
    return resolver_factory(internet)


# ---------------------------------------------------------------------------
# Resolution

def test_in_bailiwick_glue(res):
    r = ok(res.ask("www.alpha.test", "A"))
    assert addrs(r) == ["192.0.2.1"]
    assert not r.flags & dns.flags.AA, "a resolver's answer is not AA"
    r = ok(res.ask("www.alpha.test", "AAAA"))
    assert addrs(r, "AAAA") == ["2001:db8::1"]


def test_out_of_bailiwick_ns_name(res):
    # beta.example's only NS is ns-beta.alpha.test: no glue anywhere.
    r = ok(res.ask("www.beta.example", "A"))
    assert addrs(r) == ["192.0.2.2"]


def test_cname_across_zones(res):
    r = ok(res.ask("chain.alpha.test", "A"))
    assert chain(r) == [
        ("chain.alpha.test.", "CNAME", ["cname.alpha.test."]),
        ("cname.alpha.test.", "CNAME", ["www.beta.example."]),
        ("www.beta.example.", "A", ["192.0.2.2"]),
    ]
    # Three zones and three servers: beta -> gamma -> two.test.
    r = ok(res.ask("cross.beta.example", "A"))
    assert chain(r)[-1] == ("www.two.test.", "A", ["192.0.2.6"])
    assert [c[0] for c in chain(r)] == ["cross.beta.example.",
                                        "www.gamma.example.",
                                        "www.two.test."]


def test_cname_to_nxdomain(res):
    r = ok(res.ask("dangling.alpha.test", "A"), NXDOMAIN)
    assert chain(r) == [("dangling.alpha.test.", "CNAME",
                         ["nothere.beta.example."])]
    assert soa_ttl(r) is not None


def test_cname_loop_fails(res):
    r = res.ask("loop1.gamma.example", "A", timeout=20)
    assert r is not None, "no answer to a CNAME loop"
    # A chain that comes back on itself inside one answer is an error, not
    # data: SERVFAIL, as Unbound answers, and nothing cached for it.
    assert r.rcode() == dns.rcode.SERVFAIL, rcode_text(r)
    assert len(r.answer) <= 17, "CNAME chain not bounded"
    dump = res.ctl_json("cache-dump")
    names = [e.get("name", "").lower() for e in dump.get("entries", [])]
    assert "loop1.gamma.example." not in names, names


def test_wildcard(res):
    r = ok(res.ask("anything.wild.alpha.test", "A"))
    assert chain(r) == [("anything.wild.alpha.test.", "A", ["192.0.2.42"])]
    r = ok(res.ask("exact.wild.alpha.test", "A"))
    assert addrs(r) == ["192.0.2.43"]
    r = ok(res.ask("x.y.wild.alpha.test", "TXT"))
    assert chain(r) == [("x.y.wild.alpha.test.", "TXT", ['"wildcard"'])]


def test_negative_answers(res):
    r = ok(res.ask("nope.alpha.test", "A"), NXDOMAIN)
    assert not r.answer
    assert r.authority[0].rdtype == dns.rdatatype.SOA
    # NODATA: the name exists, the type does not.
    r = ok(res.ask("mx.alpha.test", "AAAA"))
    assert not r.answer and soa_ttl(r) is not None
    # Empty non-terminal: NODATA, not NXDOMAIN (RFC 8020).
    r = ok(res.ask("ent.alpha.test", "A"))
    assert not r.answer
    r = ok(res.ask("nope.example", "A"), NXDOMAIN)


def test_retry_other_server(res):
    # ns1.two.test never answers; ns2.two.test does.
    for _ in range(3):
        r = ok(res.ask("www.two.test", "A", timeout=15))
        assert addrs(r) == ["192.0.2.6"]


def test_servfail_when_every_server_is_down(res):
    r = res.ask("www.dead.test", "A", timeout=30, retries=0)
    assert r is not None, "no answer at all for an unreachable zone"
    assert r.rcode() == dns.rcode.SERVFAIL, r
    assert r.flags & dns.flags.RA


def test_lame_delegation_servfail(res):
    r = res.ask("www.lame.example", "A", timeout=30, retries=0)
    assert r is not None
    assert r.rcode() == dns.rcode.SERVFAIL, r


def test_tc_falls_back_to_tcp(internet, res):
    # 40 TXT records of ~50 bytes: more than EDNS 1232 allows over UDP.
    r = ok(res.ask("big.alpha.test", "TXT", tcp=True, timeout=15))
    rr = rrset(r, "big.alpha.test", "TXT")
    assert rr is not None and len(rr) == 40, r
    # Over UDP the client gets TC=1 (the resolver cannot fit it either).
    r = res.ask("big.alpha.test", "TXT", tc_fallback=False)
    assert r is not None and r.flags & dns.flags.TC


def test_other_types(res):
    r = ok(res.ask("alpha.test", "MX"))
    assert chain(r) == [("alpha.test.", "MX", ["10 mx.alpha.test."])]
    r = ok(res.ask("srv._tcp.alpha.test", "SRV"))
    assert rrset(r, "srv._tcp.alpha.test", "SRV") is not None
    r = ok(res.ask("multi.alpha.test", "A"))
    assert addrs(r) == ["192.0.2.31", "192.0.2.32", "192.0.2.33"]
    r = ok(res.ask("test", "NS"))
    assert chain(r) == [("test.", "NS", ["ns1.nic.test."])]


def test_tcp_clients(res):
    r = ok(res.ask("www.alpha.test", "A", tcp=True))
    assert addrs(r) == ["192.0.2.1"]


def test_qname_case_preserved(res):
    r = ok(res.ask("WwW.AlPhA.TeSt", "A"))
    assert r.question[0].name.to_text() == "WwW.AlPhA.TeSt."
    assert addrs(r) == ["192.0.2.1"]


# ---------------------------------------------------------------------------
# Cache

def test_second_ask_sends_no_upstream_query(internet, res):
    names = [("www.alpha.test", "A"), ("cname.alpha.test", "A"),
             ("nope.alpha.test", "A"), ("mx.alpha.test", "AAAA"),
             ("foo.wild.alpha.test", "A"), ("www.beta.example", "AAAA")]
    first = {}
    for n, t in names:
        r = res.ask(n, t)
        assert r is not None and r.rcode() in (NOERROR, NXDOMAIN)
        first[(n, t)] = (r.rcode(), chain(r))
    before = internet.queries()
    up_before = res.stats()["upstream_queries"]
    for _ in range(3):
        for n, t in names:
            r = res.ask(n, t)
            assert (r.rcode(), chain(r)) == first[(n, t)], (n, t, r)
    after = internet.queries()
    assert after == before, "cache hits went upstream: %s -> %s" % (
        before, after)
    st = res.stats()
    assert st["upstream_queries"] == up_before, st
    assert st["hits"] >= 3 * len(names), st


def test_shared_delegations(internet, res):
    """After www.alpha.test, another alpha.test name costs one query to
    alpha's server and none to the root or the TLD."""
    ok(res.ask("www.alpha.test", "A"))
    before = internet.queries()
    ok(res.ask("mx.alpha.test", "A"))
    after = internet.queries()
    assert after["ROOT"] == before["ROOT"]
    assert after["TEST"] == before["TEST"]
    assert after["ALPHA"] - before["ALPHA"] == 1, (before, after)


def test_ttl_counts_down(res):
    r = ok(res.ask("www.alpha.test", "A"))
    t0 = r.answer[0].ttl
    assert 295 <= t0 <= 300, t0

    def lower():
        r2 = ok(res.ask("www.alpha.test", "A"))
        return r2.answer[0].ttl < t0 and r2.answer[0].ttl

    t1 = wait_until(lower, "the TTL to count down", timeout=5, step=0.2)
    assert t0 - 3 <= t1 < t0


def test_flush(internet, res):
    ok(res.ask("www.alpha.test", "A"))
    before = internet.queries()["ALPHA"]
    res.ctl_json("flush", "www.alpha.test")
    ok(res.ask("www.alpha.test", "A"))
    assert internet.queries()["ALPHA"] == before + 1
    res.ctl_json("flush", "all")
    ok(res.ask("www.alpha.test", "A"))
    assert internet.queries()["ALPHA"] > before + 1


def test_cache_dump_lists_entries(res):
    ok(res.ask("www.alpha.test", "A"))
    p = res.ctl("cache-dump", json_out=True)
    assert p.returncode == 0, p.stderr
    assert "www.alpha.test" in p.stdout.lower()


def test_fake_time_countdown_exact(internet, resolver_factory):
    res = resolver_factory(internet, fake_time="true")
    r = ok(res.ask("www.alpha.test", "A"))
    assert r.answer[0].ttl == 300
    res.time_passes(100)
    r = ok(res.ask("www.alpha.test", "A"))
    assert r.answer[0].ttl == 200
    before = internet.queries()["ALPHA"]
    res.time_passes(199)
    r = ok(res.ask("www.alpha.test", "A"))
    assert r.answer[0].ttl == 1
    assert internet.queries()["ALPHA"] == before
    res.time_passes(1)
    r = ok(res.ask("www.alpha.test", "A"))
    assert internet.queries()["ALPHA"] == before + 1, "expired entry served"
    assert r.answer[0].ttl == 300


@pytest.mark.parametrize("name,qtype,rcode,zone,neg_ttl", [
    # beta.example: SOA TTL 600, MINIMUM 13 -> 13
    ("nope.beta.example", "A", NXDOMAIN, "BETA", 13),
    ("www.beta.example", "TXT", NOERROR, "BETA", 13),
    # mut.test: SOA TTL 20, MINIMUM 45 -> 20
    ("nope.mut.test", "A", NXDOMAIN, "MUT", 20),
    ("chg.mut.test", "MX", NOERROR, "MUT", 20),
])
def test_negative_cached_for_soa_time(internet, resolver_factory, name, qtype,
                                      rcode, zone, neg_ttl):
    res = resolver_factory(internet, fake_time="true")
    r = ok(res.ask(name, qtype), rcode)
    assert not r.answer
    assert soa_ttl(r) == neg_ttl, r
    n0 = internet.queries()[zone]
    res.time_passes(neg_ttl - 1)
    r = ok(res.ask(name, qtype), rcode)
    assert soa_ttl(r) == 1, r
    assert internet.queries()[zone] == n0, "negative entry not cached"
    res.time_passes(1)
    r = ok(res.ask(name, qtype), rcode)
    assert internet.queries()[zone] == n0 + 1, \
        "negative entry outlived min(SOA TTL, MINIMUM) = %d" % neg_ttl
    assert soa_ttl(r) == neg_ttl


def test_negative_max_ttl(internet, resolver_factory):
    res = resolver_factory(internet, fake_time="true", negative_max_ttl=10)
    r = ok(res.ask("nope.alpha.test", "A"), NXDOMAIN)   # 120 from the SOA
    assert soa_ttl(r) == 10
    n0 = internet.queries()["ALPHA"]
    res.time_passes(10)
    ok(res.ask("nope.alpha.test", "A"), NXDOMAIN)
    assert internet.queries()["ALPHA"] == n0 + 1


def test_max_ttl_caps(internet, resolver_factory):
    res = resolver_factory(internet, fake_time="true", max_ttl=100)
    r = ok(res.ask("www.alpha.test", "A"))
    assert r.answer[0].ttl == 100
    n0 = internet.queries()["ALPHA"]
    res.time_passes(100)
    ok(res.ask("www.alpha.test", "A"))
    assert internet.queries()["ALPHA"] == n0 + 1


def test_min_ttl_holds_changed_record(internet_factory, resolver_factory):
    net = internet_factory()
    res = resolver_factory(net, fake_time="true", min_ttl=60)
    r = ok(res.ask("chg.mut.test", "A"))
    assert addrs(r) == ["192.0.2.100"]
    assert r.answer[0].ttl == 60, "min-ttl 60 must raise TTL 5"
    # The operator changes the record; the authority serves the new one.
    mut = net.auth["MUT"]
    text = mut.zone_path("mut.test.zone").read_text()
    mut.write_zone("mut.test.zone",
                   text.replace("192.0.2.100", "192.0.2.101").replace(
                       "mut.test. hostmaster.mut.test. 1 ",
                       "mut.test. hostmaster.mut.test. 2 "))
    mut.reload()
    direct = ask(53, "chg.mut.test", addr=net.addr["MUT"], rd=False)
    assert addrs(direct) == ["192.0.2.101"]
    res.time_passes(30)                 # far past the record's TTL of 5
    r = ok(res.ask("chg.mut.test", "A"))
    assert addrs(r) == ["192.0.2.100"], "min-ttl did not hold the record"
    assert r.answer[0].ttl == 30
    res.time_passes(29)
    r = ok(res.ask("chg.mut.test", "A"))
    assert addrs(r) == ["192.0.2.100"]
    res.time_passes(1)
    r = ok(res.ask("chg.mut.test", "A"))
    assert addrs(r) == ["192.0.2.101"], "held past min-ttl"


def test_serve_stale_when_authorities_killed(internet_factory,
                                             resolver_factory):
    net = internet_factory()
    res = resolver_factory(net, fake_time="true", serve_stale="on",
                           stale_max_age="1h")
    r = ok(res.ask("stale.mut.test", "A"))
    assert addrs(r) == ["192.0.2.110"] and r.answer[0].ttl == 10
    net.kill_all()
    res.time_passes(20)                 # expired 10 s ago
    t0 = time.monotonic()
    r = ok(res.ask("stale.mut.test", "A", timeout=20, retries=0))
    assert addrs(r) == ["192.0.2.110"]
    assert r.answer[0].ttl == 30, "stale answers carry TTL 30 (RFC 8767)"
    assert time.monotonic() - t0 < 15
    res.time_passes(3600)               # beyond stale-max-age
    r = res.ask("stale.mut.test", "A", timeout=30, retries=0)
    assert r is not None and r.rcode() == dns.rcode.SERVFAIL, r


def test_no_stale_when_disabled(internet_factory, resolver_factory):
    net = internet_factory()
    res = resolver_factory(net, fake_time="true", serve_stale="off")
    ok(res.ask("stale.mut.test", "A"))
    net.kill_all()
    res.time_passes(20)
    r = res.ask("stale.mut.test", "A", timeout=30, retries=0)
    assert r is not None and r.rcode() == dns.rcode.SERVFAIL, r


# ---------------------------------------------------------------------------
# ECS

def test_ecs_answers_per_subnet_and_cached_per_scope(internet,
                                                     resolver_factory):
    res = resolver_factory(internet, ecs="on")
    geo = internet.auth["GEO"]
    r = ok(res.ask("www.geo.example", "A", src="127.0.0.10"))
    assert addrs(r) == [GEO_EU], "127.0.0.0/24 is EU in the geo overrides"
    r = ok(res.ask("www.geo.example", "A", src="127.0.1.10"))
    assert addrs(r) == [GEO_US], "127.0.1.0/24 is US: ECS not sent?"
    n0 = geo.queries()
    # Same /24s: from the cache (scope 24), no upstream query.
    r = ok(res.ask("www.geo.example", "A", src="127.0.0.99"))
    assert addrs(r) == [GEO_EU]
    r = ok(res.ask("www.geo.example", "A", src="127.0.1.200"))
    assert addrs(r) == [GEO_US]
    assert geo.queries() == n0, "scoped answers not cached per /24"
    # Another /24 is a miss.
    ok(res.ask("www.geo.example", "A", src="127.0.2.10"))
    assert geo.queries() == n0 + 1


def test_ecs_scope0_shared(internet, resolver_factory):
    res = resolver_factory(internet, ecs="on")
    geo = internet.auth["GEO"]
    r = ok(res.ask("static.geo.example", "A", src="127.0.0.10"))
    assert addrs(r) == ["192.0.2.7"]
    n0 = geo.queries()
    r = ok(res.ask("static.geo.example", "A", src="127.0.1.10"))
    assert addrs(r) == ["192.0.2.7"]
    assert geo.queries() == n0, "a scope-0 answer must be shared"


def test_ecs_off_sends_no_subnet(internet, resolver_factory):
    res = resolver_factory(internet, ecs="off")
    r1 = ok(res.ask("www.geo.example", "A", src="127.0.0.10"))
    r2 = ok(res.ask("www.geo.example", "A", src="127.0.1.10"))
    assert addrs(r1) == addrs(r2), "ecs: off still steered per client"


# ---------------------------------------------------------------------------
# ACL

def test_acl_refuses_outsiders(internet, resolver_factory):
    res = resolver_factory(internet, allow=["127.0.0.1/32"])
    n0 = internet.total_queries()
    r = res.ask("www.alpha.test", "A", src="127.0.0.2")
    assert r is not None, "outsider got no answer (want REFUSED)"
    assert r.rcode() == dns.rcode.REFUSED, r
    assert not r.answer
    r = res.ask("www.alpha.test", "A", src="127.0.0.2", tcp=True)
    assert r is not None and r.rcode() == dns.rcode.REFUSED, r
    assert internet.total_queries() == n0, "a refused query went upstream"
    r = ok(res.ask("www.alpha.test", "A", src="127.0.0.1"))
    assert addrs(r) == ["192.0.2.1"]
    # Cached now, still refused to outsiders.
    r = res.ask("www.alpha.test", "A", src="127.0.0.2")
    assert r.rcode() == dns.rcode.REFUSED and not r.answer


def test_stats_counters(internet, res):
    st0 = res.stats()
    for key in ("hits", "misses", "upstream_queries", "cache_entries",
                "cache_bytes"):
        assert key in st0, (key, st0)
    ok(res.ask("www.alpha.test", "TXT"))
    ok(res.ask("www.alpha.test", "TXT"))
    st = res.stats()
    assert st["misses"] >= st0["misses"] + 1
    assert st["hits"] >= st0["hits"] + 1
    assert st["upstream_queries"] > st0["upstream_queries"]
    assert st["cache_entries"] > st0["cache_entries"]
    assert st["cache_bytes"] > st0["cache_bytes"]
