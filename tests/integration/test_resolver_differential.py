# SPDX-License-Identifier: GPL-3.0-or-later
"""Differential: Debian's unbound and vane-resolver resolve the same private
internet; rcode and answer section must match (RRsets compared as sets,
TTLs within a tolerance since both count down)."""

import itertools

import pytest

import dns.rcode
import dns.rdatatype

from resolver_helpers import (Unbound, internet, rcode_text,  # noqa: F401
                              resolver_factory)

NAMES = [
    "test", "example", "alpha.test", "www.alpha.test", "mx.alpha.test",
    "multi.alpha.test", "ns1.alpha.test", "ns-beta.alpha.test",
    "cname.alpha.test", "chain.alpha.test", "local.alpha.test",
    "dangling.alpha.test", "short.alpha.test", "ent.alpha.test",
    "leaf.ent.alpha.test", "srv._tcp.alpha.test", "nope.alpha.test",
    "a.b.nope.alpha.test", "foo.wild.alpha.test", "x.y.wild.alpha.test",
    "exact.wild.alpha.test", "wild.alpha.test", "beta.example",
    "www.beta.example", "back.beta.example", "cross.beta.example",
    "nope.beta.example", "gamma.example", "www.gamma.example",
    "two.test", "www.two.test", "ns2.two.test", "nope.two.test",
    "mut.test", "chg.mut.test", "stale.mut.test", "nope.mut.test",
    "geo.example", "static.geo.example", "ns1.geo.example",
    "nope.example", "nope.test", "ns1.nic.test", "a.root.test",
]
TYPES = ["A", "AAAA", "TXT", "MX", "NS", "SOA"]
EXTRA = [("srv._tcp.alpha.test", "SRV"), ("www.alpha.test", "CNAME"),
         ("cname.alpha.test", "CNAME"), ("big.alpha.test", "TXT"),
         ("", "NS"), ("", "SOA")]

# Cases where a difference is expected, with the reason.  Empty: every
# difference is a failure.
KNOWN_DIFFERENCES = {}

TTL_TOLERANCE = 5


def corpus():
    return list(itertools.product(NAMES, TYPES)) + EXTRA


def canon(r):
    """(rcode, {(owner, type): (set of rdata, ttl)}) of a response."""
    if r is None:
        return ("TIMEOUT", {})
    ans = {}
    for rr in r.answer:
        key = (rr.name.to_text().lower(), dns.rdatatype.to_text(rr.rdtype))
        ans[key] = (frozenset(rd.to_text().lower() for rd in rr), rr.ttl)
    return (dns.rcode.to_text(r.rcode()), ans)


def compare(u, v):
    """None if they agree, else a description."""
    if u[0] != v[0]:
        return "rcode unbound %s vane %s" % (u[0], v[0])
    if set(u[1]) != set(v[1]):
        return "answer RRsets unbound %s vane %s" % (sorted(u[1]),
                                                      sorted(v[1]))
    for key in u[1]:
        (ud, ut), (vd, vt) = u[1][key], v[1][key]
        if ud != vd:
            return "%s %s rdata unbound %s vane %s" % (key + (sorted(ud),
                                                              sorted(vd)))
        if abs(ut - vt) > TTL_TOLERANCE:
            return "%s %s TTL unbound %d vane %d" % (key + (ut, vt))
    return None


def test_differential_vs_unbound(internet, resolver_factory, tmp_path):
    res = resolver_factory(internet)
    ub = Unbound(tmp_path / "unbound", internet.hints).start()
    try:
        cases = corpus()
        assert len(cases) >= 200
        agree, diffs = 0, []
        for name, qtype in cases:
            q = name or "."
            u = canon(ub.ask(q, qtype, timeout=10))
            v = canon(res.ask(q, qtype, timeout=10))
            d = compare(u, v)
            if d is None:
                agree += 1
            else:
                diffs.append((q, qtype, d))
        print("differential: %d/%d agree" % (agree, len(cases)))
        for q, t, d in diffs:
            print("  %s %s: %s%s" % (q, t, d, "  (known: %s)" %
                                     KNOWN_DIFFERENCES[(q, t)]
                                     if (q, t) in KNOWN_DIFFERENCES else ""))
        bad = [x for x in diffs if (x[0], x[1]) not in KNOWN_DIFFERENCES]
        assert not bad, "%d of %d queries differ from unbound:\n%s" % (
            len(bad), len(cases),
            "\n".join("%s %s: %s" % x for x in bad[:40]))
    finally:
        ub.stop()
