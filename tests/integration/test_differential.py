# SPDX-License-Identifier: GPL-3.0-or-later
"""Differential test: knotd and nsd are the references; wherever they agree on a
field of the response, vaned must give the same value (issue 2, "Answers").

The corpus is generated from the zone files: every owner name (and every empty
non-terminal) with the types it holds plus types it does not hold, names below
wildcards and delegations, DS at cuts, ANY, nonexistent names, out-of-zone names,
CHAOS and other classes, each over UDP and TCP, with and without EDNS, with small
EDNS payloads for truncation, and with odd casing.
"""

import random
import sys
from collections import Counter

import dns.edns
import dns.flags
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset
import dns.zone

from conftest import (ZONES, ZONES_DIR, exchange, make_query, parse_response,
                      tcp_exchange, udp_exchange)

FIELDS = ("rcode", "aa", "tc", "opt", "answer", "authority", "glue")
MIN_COMPARED = 300
# Fields vaned was checked on (where knotd and nsd agree): the floor of what
# the run proves, per field and in all.  A run that stops early, or a corpus
# where the references disagree more, fails here instead of passing on
# fewer comparisons.  The corpus gives about 4,500 per field.
MIN_FIELD_CHECKS = 4000
MIN_CHECKS = 30000

# Types asked at every name, whether present or not (NODATA cases).
PROBE_TYPES = ("A", "AAAA", "TXT", "MX", "NS", "SOA", "CNAME", "DS")


def odd_case(name, rnd):
    return "".join(c.upper() if rnd.random() < 0.5 else c.lower()
                   for c in name)


def zone_names():
    """(name, set of types) for every owner and empty non-terminal."""
    out = {}
    for zname, fname in ZONES:
        z = dns.zone.from_file(str(ZONES_DIR / fname), origin=zname,
                               relativize=False)
        origin = z.origin
        for name, node in z.nodes.items():
            types = {dns.rdatatype.to_text(rds.rdtype) for rds in node}
            out.setdefault(name.to_text(), set()).update(types)
            # Empty non-terminals between the owner and the apex.
            parent = name.parent() if name != origin else None
            while parent is not None and parent != origin and \
                    parent.is_subdomain(origin):
                out.setdefault(parent.to_text(), set())
                parent = parent.parent()
    return out


def base_queries():
    """List of (qname, qtype, qclass) before transport/EDNS variants."""
    qs = []
    names = zone_names()
    for name in sorted(names):
        types = set(names[name])
        types.update(PROBE_TYPES)
        for t in sorted(types):
            qs.append((name, t, "IN"))
    extra_names = [
        # nonexistent names
        "nonexistent.example.com.", "a.nonexistent.example.com.",
        "www.www.example.com.", "x.c3.example.com.", "nothere.example.org.",
        "nope.sub2.example.com.", "deep.nope.sub2.example.com.",
        # below wildcards
        "foo.wild.example.com.", "a.b.wild.example.com.",
        "x.exists.wild.example.com.", "foo.wcname.example.com.",
        "foo.wcchain.example.com.", "foo.w.ent2.example.com.",
        "x.y.w.ent2.example.com.", "foo.ent2.example.com.",
        "foo.d.example.com.", "foo.e.d.example.com.", "bar.a.b.c.example.com.",
        "foo.b.c.example.com.", "anything.example.org.", "x.y.example.org.",
        # below delegations and the child zone
        "host.sub.example.com.", "a.b.sub.example.com.",
        "host.ext.example.com.", "host.sib.example.com.",
        "ns.sub.example.com.", "www.sub2.example.com.",
        "deep.www.sub2.example.com.",
        # below DNAMEs (RFC 6672)
        "host.dn-src.example.com.", "nothere.dn-src.example.com.",
        "a.b.dn-src.example.com.", "www.dn-ext.example.com.",
        "anything.dn-ext.example.com.",
    ]
    for name in extra_names:
        for t in ("A", "AAAA", "TXT", "MX", "NS", "DS"):
            qs.append((name, t, "IN"))
    # ANY, odd types, meta types.
    for name in ("example.com.", "www.example.com.", "bigtxt.example.com.",
                 "c1.example.com.", "sub.example.com.", "foo.wild.example.com.",
                 "nonexistent.example.com.", "example.org.",
                 "sub2.example.com."):
        qs.append((name, "ANY", "IN"))
    for t in ("RRSIG", "NSEC", "DNSKEY", "TYPE12345", "TYPE65280", "SRV",
              "HTTPS", "SVCB", "CAA", "NAPTR", "PTR", "HINFO", "LOC"):
        qs.append(("example.com.", t, "IN"))
        qs.append(("www.example.com.", t, "IN"))
    # Not served by us -> REFUSED.
    for name in ("example.net.", "www.example.net.", "com.", ".",
                 "example.", "xexample.com.", "sub3.example.co."):
        for t in ("A", "SOA", "NS"):
            qs.append((name, t, "IN"))
    # Other classes.
    for name in ("version.server.", "id.server.", "version.bind.",
                 "hostname.bind.", "example.com."):
        qs.append((name, "TXT", "CH"))
    for name, t, c in (("example.com.", "SOA", "CH"), ("www.example.com.", "A", "HS"),
                       ("example.com.", "SOA", "HS"), ("www.example.com.", "A", "CLASS42"),
                       ("example.com.", "SOA", "ANY"), ("www.example.com.", "A", "ANY")):
        qs.append((name, t, c))
    return qs


def corpus():
    """Queries as dicts: name, type, class, tcp, edns, payload, do."""
    rnd = random.Random(2)
    out = []
    for name, t, c in base_queries():
        variants = [
            dict(tcp=False, edns=None),
            dict(tcp=False, edns=0, payload=1232),
            dict(tcp=True, edns=None),
            dict(tcp=True, edns=0, payload=1232, do=True),
        ]
        if name.startswith("big") or t == "ANY" or name == "example.com.":
            variants.append(dict(tcp=False, edns=0, payload=512))
            variants.append(dict(tcp=False, edns=0, payload=700, do=True))
        for v in variants:
            qn = odd_case(name, rnd) if rnd.random() < 0.5 else name
            q = dict(name=qn, type=t, cls=c, payload=1232, do=False)
            q.update(v)
            out.append(q)
    return out


def describe(q):
    return "%s %s %s %s %s" % (
        q["name"], q["cls"], q["type"], "TCP" if q["tcp"] else "UDP",
        "noedns" if q["edns"] is None else "edns(payload=%d%s)" % (
            q["payload"], ",DO" if q["do"] else ""))


def build(q, qid):
    return make_query(q["name"], q["type"], q["cls"], edns=q["edns"],
                      payload=q["payload"], do=q["do"], qid=qid)


def rrsets_key(section):
    """A section as a set of RRsets with TTLs; names compared case-blind."""
    out = set()
    for rrset in section:
        if rrset.rdtype == dns.rdatatype.OPT:
            continue
        rdatas = frozenset(rd.to_text().lower() for rd in rrset)
        out.add((rrset.name.to_text().lower(),
                 dns.rdataclass.to_text(rrset.rdclass),
                 dns.rdatatype.to_text(rrset.rdtype), rrset.ttl, rdatas))
    return frozenset(out)


def fmt_set(s):
    if not isinstance(s, frozenset):
        return repr(s)
    return "\n      ".join(sorted("%s %d %s %s %s" % (n, ttl, c, t, sorted(r))
                                  for n, c, t, ttl, r in s)) or "(empty)"


def fields_of(resp):
    """The compared fields of a response (None = no response)."""
    if resp is None:
        return {f: "NO-RESPONSE" for f in FIELDS}
    rcode = dns.rcode.to_text(resp.rcode())
    aa = bool(resp.flags & dns.flags.AA)
    if resp.edns >= 0:
        opt = ("OPT", resp.edns, resp.payload,
               bool(resp.ednsflags & dns.flags.DO))
    else:
        opt = ("no OPT",)
    answer = rrsets_key(resp.answer)
    authority = rrsets_key(resp.authority)
    is_referral = (rcode == "NOERROR" and not aa and not resp.answer and
                   any(r.rdtype == dns.rdatatype.NS for r in resp.authority))
    glue = rrsets_key(resp.additional) if is_referral else "n/a"
    return dict(rcode=rcode, aa=aa, tc=bool(resp.flags & dns.flags.TC),
                opt=opt, answer=answer, authority=authority, glue=glue)


def run_corpus(servers, queries, max_silent=10):
    """Ask every server every query; list of (query, [(msg, response)]).
    Stops early once the last server failed to answer `max_silent` queries
    that the first one answered, so a broken server cannot stall the run."""
    results = []
    silent = 0
    for i, q in enumerate(queries):
        resps = []
        for srv in servers:
            msg = build(q, (i * 7 + 1) & 0xFFFF)
            wire = msg.to_wire()
            raw = tcp_exchange(srv.port, wire, 2.0) if q["tcp"] else \
                udp_exchange(srv.port, wire, 2.0)
            resp = parse_response(raw) if raw is not None else None
            if resp is not None:
                resp.wire_size = len(raw)
            resps.append((msg, resp))
        results.append((q, resps))
        if resps[0][1] is not None and resps[-1][1] is None:
            silent += 1
            if silent >= max_silent:
                break
    return results


def agreement_report(results, names):
    """Compare knot vs nsd (and vaned, if present).  Returns (compared,
    counters, failures)."""
    agree = Counter()
    checked = Counter()
    failures = []
    compared = 0
    for q, resps in results:
        kf = fields_of(resps[0][1])
        nf = fields_of(resps[1][1])
        vmsg, vresp = resps[2] if len(resps) > 2 else (None, None)
        vf = fields_of(vresp) if len(resps) > 2 else None
        compared += 1
        for f in FIELDS:
            if kf[f] != nf[f]:
                continue
            agree[f] += 1
            if vf is None:
                continue
            checked[f] += 1
            if vf[f] != kf[f]:
                failures.append("%s: field %s: expected %s, vaned gave %s" % (
                    describe(q), f,
                    fmt_set(kf[f]) if f in ("answer", "authority", "glue")
                    else kf[f],
                    fmt_set(vf[f]) if f in ("answer", "authority", "glue")
                    else vf[f]))
        # The question must come back exactly as asked (case preserved),
        # under the query's ID.
        if vresp is not None:
            limit = 512 if q["edns"] is None else max(512, q["payload"])
            if not q["tcp"] and vresp.wire_size > limit:
                failures.append("%s: %d-byte UDP response, limit %d" % (
                    describe(q), vresp.wire_size, limit))
            if vresp.id != vmsg.id:
                failures.append("%s: response ID %d, query ID %d" % (
                    describe(q), vresp.id, vmsg.id))
            if not vresp.question:
                failures.append("%s: no question section" % describe(q))
            else:
                vq, mq = vresp.question[0], vmsg.question[0]
                if (vq.name.to_text(), vq.rdtype, vq.rdclass) != \
                        (mq.name.to_text(), mq.rdtype, mq.rdclass):
                    failures.append("%s: question not echoed as sent: %s" % (
                        describe(q), vq))
    return compared, agree, checked, failures


def test_differential(knotd, nsd, vaned):
    queries = corpus()
    results = run_corpus([knotd, nsd, vaned], queries)
    compared, agree, checked, failures = agreement_report(
        results, ["knotd", "nsd", "vaned"])
    print("\ndifferential: %d queries compared (knotd, nsd, vaned)" % compared)
    for f in FIELDS:
        print("  %-10s knotd/nsd agree on %4d, vaned checked on %4d" % (
            f, agree[f], checked[f]))
    total = sum(checked[f] for f in FIELDS)
    print("  fields compared with vaned: %d" % total)
    print("  vaned mismatches: %d" % len(failures))
    assert compared >= MIN_COMPARED, \
        "only %d queries compared (vaned stopped answering?)" % compared
    for f in FIELDS:
        assert checked[f] >= MIN_FIELD_CHECKS, \
            "field %s compared only %d times (floor %d)" % (f, checked[f], MIN_FIELD_CHECKS)
    assert total >= MIN_CHECKS, "only %d fields compared (floor %d)" % (total, MIN_CHECKS)
    assert not failures, "%d mismatches with the references:\n%s" % (
        len(failures), "\n".join(failures[:60]))


def test_any_minimal_over_udp(vaned):
    """RFC 8482: ANY over UDP gets a minimal answer (one RRset, or a synthesised
    HINFO), never the whole node; over TCP the answer is not empty."""
    for name in ("example.com", "www.example.com", "txt.example.com",
                 "c3.example.com"):
        for edns in (None, 0):
            r = exchange(vaned.port, make_query(name, "ANY", edns=edns))
            assert r is not None and r.rcode() == dns.rcode.NOERROR, (name, r)
            assert r.flags & dns.flags.AA
            assert len(r.answer) == 1, "ANY %s over UDP:\n%s" % (name, r)
        r = exchange(vaned.port, make_query(name, "ANY"), tcp=True)
        assert r is not None and r.rcode() == dns.rcode.NOERROR and r.answer


if __name__ == "__main__":
    # Standalone: check how well knotd and nsd agree on the corpus.
    from pathlib import Path
    import tempfile
    from conftest import Knotd, Nsd
    d = Path(tempfile.mkdtemp(prefix="itest-diff-"))
    k = Knotd(d / "knotd")
    n = Nsd(d / "nsd")
    try:
        qs = corpus()
        res = run_corpus([k, n], qs)
        compared, agree, _, _ = agreement_report(res, ["knotd", "nsd"])
        print("queries:", compared)
        for f in FIELDS:
            print("  %-10s agree %d" % (f, agree[f]))
        if "-v" in sys.argv:
            for q, resps in res:
                kf = fields_of(resps[0][1])
                nf = fields_of(resps[1][1])
                diff = [f for f in FIELDS if kf[f] != nf[f]]
                if diff:
                    print(describe(q), "differ:", diff)
                    for f in diff:
                        print("    knot:", fmt_set(kf[f]))
                        print("    nsd: ", fmt_set(nf[f]))
    finally:
        k.stop()
        n.stop()
