#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Write the seed corpus for the fuzz targets.

fuzz/corpus/fuzz_query/: hand-made query packets against the fixture zone
(fuzz/zones/fuzz.zone, example.com.): every answer-path case, EDNS variants,
and the malformed packets of the bad-packet test list.
fuzz/corpus/fuzz_zone/: small zone files, valid and broken.

Run with Debian's /usr/bin/python3 (dnspython).  Output is deterministic:
re-running rewrites the same files.
"""
import os
import struct
import sys

import dns.edns
import dns.flags
import dns.message
import dns.opcode
import dns.rdataclass
import dns.rdatatype

HERE = os.path.dirname(os.path.abspath(__file__))
QDIR = os.path.join(HERE, "corpus", "fuzz_query")
EDIR = os.path.join(HERE, "corpus", "fuzz_edns")
ZDIR = os.path.join(HERE, "corpus", "fuzz_zone")


def query(name, rdtype="A", rdclass="IN", qid=0x4242, **kw):
    """A query as wire bytes; kw goes to dns.message.make_query."""
    q = dns.message.make_query(name, rdtype, rdclass, **kw)
    q.id = qid
    return q.to_wire()


def header(qid=0x4242, flags=0x0100, qd=1, an=0, ns=0, ar=0):
    return struct.pack("!HHHHHH", qid, flags, qd, an, ns, ar)


def wname(text):
    """Uncompressed wire name from dotted text (no escapes needed here)."""
    out = b""
    for label in text.rstrip(".").split("."):
        if label:
            out += bytes([len(label)]) + label.encode()
    return out + b"\x00"


def opt_rr(udp=1232, version=0, flags=0, options=b""):
    return (b"\x00" + struct.pack("!HHBBHH", 41, udp, 0, version, flags,
                                  len(options)) + options)


def option(code, data):
    return struct.pack("!HH", code, len(data)) + data


WWW = wname("www.example.com")
QTAIL = struct.pack("!HH", 1, 1)  # A IN


def good_queries():
    q = {}
    names = {
        "apex-soa": ("example.com", "SOA"), "apex-ns": ("example.com", "NS"),
        "apex-mx": ("example.com", "MX"), "apex-txt": ("example.com", "TXT"),
        "apex-caa": ("example.com", "CAA"), "apex-any": ("example.com", "ANY"),
        "www-a": ("www.example.com", "A"), "www-aaaa": ("www.example.com", "AAAA"),
        "www-mixed-case": ("wWw.ExAmPlE.cOm", "A"),
        "nxdomain": ("nonexistent.example.com", "A"),
        "nodata": ("www.example.com", "MX"),
        "alias": ("alias.example.com", "A"), "chain": ("chain1.example.com", "AAAA"),
        "cname-loop": ("loop1.example.com", "A"),
        "cname-self": ("selfloop.example.com", "A"),
        "cname-ext": ("ext.example.com", "A"),
        "cname-dangling": ("dangling.example.com", "A"),
        "cname-qtype": ("alias.example.com", "CNAME"),
        "cname-to-wild": ("towild.example.com", "TXT"),
        "wild-a": ("x.wild.example.com", "A"), "wild-mx": ("y.z.wild.example.com", "MX"),
        "wild-nodata": ("x.wild.example.com", "AAAA"),
        "wild-itself": ("*.wild.example.com", "A"),
        "wild-sibling": ("sub.wild.example.com", "A"),
        "wild-below-ent": ("a.ent.wild.example.com", "A"),
        "wild-ent": ("ent.wild.example.com", "A"),
        "wild-cname": ("q.wcname.example.com", "A"),
        "wild-cname-chain": ("q.wcchain.example.com", "A"),
        "wild-cname-loop": ("q.wcloop.example.com", "A"),
        "ent": ("b.c.example.com", "A"), "ent-deep": ("deep.a.b.c.example.com", "A"),
        "below-leaf": ("x.deep.a.b.c.example.com", "A"),
        "referral": ("www.sub.example.com", "A"), "referral-apex": ("sub.example.com", "NS"),
        "ds-at-cut": ("sub.example.com", "DS"), "glue": ("ns1.sub.example.com", "A"),
        "occluded": ("deeper.sub.example.com", "A"),
        "referral-noglue": ("x.outsourced.example.com", "A"),
        "srv": ("srv._tcp.example.com", "SRV"), "ptr": ("ptr.example.com", "PTR"),
        "https": ("svc.example.com", "HTTPS"), "svcb": ("svc.example.com", "SVCB"),
        "generic": ("gen.example.com", "TYPE65280"), "naptr": ("naptr.example.com", "NAPTR"),
        "big-a": ("big.example.com", "A"), "big-txt": ("bigtxt.example.com", "TXT"),
        "big-any": ("big.example.com", "ANY"), "host": ("host7.example.com", "A"),
        "refused-other-zone": ("www.example.org", "A"), "root": (".", "NS"),
        "axfr": ("example.com", "AXFR"), "ixfr": ("example.com", "IXFR"),
    }
    for tag, (name, rdtype) in names.items():
        q["q-" + tag] = query(name, rdtype)
    q["q-chaos-version"] = query("version.bind", "TXT", "CH")
    q["q-chaos-id"] = query("id.server", "TXT", "CH")
    q["q-chaos-hostname"] = query("hostname.bind", "TXT", "CH")
    q["q-chaos-other"] = query("www.example.com", "A", "CH")
    q["q-class-any"] = query("www.example.com", "A", "ANY")
    q["q-class-hs"] = query("www.example.com", "A", "HS")

    # EDNS variants.
    q["e-plain"] = query("www.example.com", use_edns=0, payload=1232)
    q["e-512"] = query("big.example.com", use_edns=0, payload=512)
    q["e-4096-do"] = query("bigtxt.example.com", "TXT", use_edns=0, payload=4096,
                           want_dnssec=True)
    q["e-tiny-payload"] = query("www.example.com", use_edns=0, payload=100)
    q["e-nsid"] = query("example.com", "SOA", use_edns=0,
                        options=[dns.edns.GenericOption(dns.edns.NSID, b"")])
    q["e-ecs-v4"] = query("www.example.com", use_edns=0,
                          options=[dns.edns.ECSOption("192.0.2.0", 24)])
    q["e-ecs-v6"] = query("www.example.com", "AAAA", use_edns=0,
                          options=[dns.edns.ECSOption("2001:db8::", 56)])
    q["e-ecs-zero"] = query("www.example.com", use_edns=0,
                            options=[dns.edns.ECSOption("0.0.0.0", 0)])
    q["e-cookie"] = query("www.example.com", use_edns=0,
                          options=[dns.edns.GenericOption(10, b"\x01" * 8)])
    # Cookies (RFC 7873 4): client only, with server cookies of 8, 16
    # (RFC 9018 version 1, as in its Appendix A.2) and 32 bytes, two options,
    # and cookies next to NSID and ECS.
    cc = bytes.fromhex("2464c4abcf10c957")
    v1 = bytes.fromhex("010000005cf79f111f8130c3eee29480")
    q["e-cookie-v1"] = query("www.example.com", use_edns=0,
                             options=[dns.edns.GenericOption(10, cc + v1)])
    q["e-cookie-8"] = query("www.example.com", use_edns=0,
                            options=[dns.edns.GenericOption(10, cc + b"\x01" * 8)])
    q["e-cookie-32"] = query("www.example.com", use_edns=0,
                             options=[dns.edns.GenericOption(10, cc + b"\x01" * 32)])
    q["e-cookie-two"] = query("www.example.com", use_edns=0,
                              options=[dns.edns.GenericOption(10, cc),
                                       dns.edns.GenericOption(10, cc + v1)])
    q["e-cookie-nsid-ecs"] = query("nonexistent.example.com", use_edns=0,
                                   options=[dns.edns.GenericOption(dns.edns.NSID, b""),
                                            dns.edns.ECSOption("192.0.2.0", 24),
                                            dns.edns.GenericOption(10, cc + v1)])
    q["e-cookie-referral"] = query("www.sub.example.com", use_edns=0,
                                   options=[dns.edns.GenericOption(10, cc)])
    q["e-cookie-badvers"] = query("www.example.com", use_edns=1,
                                  options=[dns.edns.GenericOption(10, cc)])
    q["e-unknown-opt"] = query("www.example.com", use_edns=0,
                               options=[dns.edns.GenericOption(65001, b"abc")])
    q["e-badvers"] = query("www.example.com", use_edns=1)
    q["e-any"] = query("example.com", "ANY", use_edns=0, payload=4096)
    q["e-nxdomain-do"] = query("nope.example.com", use_edns=0, want_dnssec=True)
    q["e-referral"] = query("a.sub.example.com", use_edns=0, payload=4096)
    return q


def bad_queries():
    q = {}
    base = header() + WWW + QTAIL
    q["b-short-header"] = header()[:7]
    q["b-header-only"] = header(qd=0)
    q["b-qd0"] = header(qd=0) + WWW + QTAIL
    q["b-qd2"] = header(qd=2) + WWW + QTAIL + WWW + QTAIL
    q["b-qr-set"] = header(flags=0x8100) + WWW + QTAIL
    q["b-opcode-notify"] = header(flags=4 << 11) + WWW + QTAIL
    q["b-opcode-update"] = header(flags=5 << 11) + WWW + QTAIL
    q["b-opcode-status"] = header(flags=2 << 11) + WWW + QTAIL
    q["b-trailing"] = base + b"\x00\x00"
    q["b-truncated-question"] = base[:-2]
    q["b-an-count"] = header(an=1) + WWW + QTAIL
    q["b-ar-count-no-data"] = header(ar=2) + WWW + QTAIL + opt_rr()
    q["b-two-opts"] = header(ar=2) + WWW + QTAIL + opt_rr() + opt_rr()
    q["b-opt-owner"] = header(ar=1) + WWW + QTAIL + b"\x01a" + opt_rr()[1:]
    q["b-opt-rdlen"] = header(ar=1) + WWW + QTAIL + opt_rr()[:-2] + b"\x00\x09"
    q["b-opt-option-overrun"] = (header(ar=1) + WWW + QTAIL +
                                 opt_rr(options=struct.pack("!HH", 65001, 9) + b"ab"))
    q["b-nsid-payload"] = header(ar=1) + WWW + QTAIL + opt_rr(options=option(3, b"xx"))
    q["b-ecs-family"] = header(ar=1) + WWW + QTAIL + opt_rr(
        options=option(8, b"\x00\x03\x18\x00\xc0\x00\x02"))
    q["b-ecs-scope"] = header(ar=1) + WWW + QTAIL + opt_rr(
        options=option(8, b"\x00\x01\x18\x10\xc0\x00\x02"))
    q["b-ecs-prefix"] = header(ar=1) + WWW + QTAIL + opt_rr(
        options=option(8, b"\x00\x01\x21\x00\xc0\x00\x02\x01\x01"))
    q["b-ecs-addr-len"] = header(ar=1) + WWW + QTAIL + opt_rr(
        options=option(8, b"\x00\x01\x18\x00\xc0\x00"))
    q["b-ecs-dirty-bits"] = header(ar=1) + WWW + QTAIL + opt_rr(
        options=option(8, b"\x00\x01\x17\x00\xc0\x00\x03"))
    q["b-cookie-len"] = header(ar=1) + WWW + QTAIL + opt_rr(options=option(10, b"x" * 9))
    for n in (0, 7, 15, 41):
        q[f"b-cookie-len-{n}"] = header(ar=1) + WWW + QTAIL + opt_rr(
            options=option(10, b"x" * n))
    # A good first COOKIE and a malformed second one: still FORMERR.
    q["b-cookie-second-bad"] = header(ar=1) + WWW + QTAIL + opt_rr(
        options=option(10, b"c" * 8) + option(10, b"x" * 12))
    # opcodeflg (ISC genreport): opcode 15, header only, every flag set.
    q["b-opcodeflg"] = header(flags=0x7800 | 0x07F0 | 0x0100, qd=0)
    q["b-ptr-loop"] = header() + b"\xc0\x0c" + QTAIL
    q["b-ptr-forward"] = header() + b"\xc0\x0e\x00" + QTAIL
    # A question name compressed into the header: must not be echoed raw.
    q["b-ptr-into-header"] = header() + b"\x03www\xc0\x02" + QTAIL
    q["b-label-64"] = header() + b"\x40" + b"a" * 64 + b"\x00" + QTAIL
    q["b-name-256"] = header() + (b"\x3f" + b"a" * 63) * 4 + b"\x00" + QTAIL
    q["b-label-type-01"] = header() + b"\x41" + b"a" * 65 + b"\x00" + QTAIL
    q["b-opt-in-answer"] = header(an=1) + WWW + QTAIL + opt_rr()
    return q


ZONE_HEAD = """$ORIGIN example.com.
$TTL 300
@ SOA ns1 hostmaster 1 7200 3600 1209600 60
@ NS ns1
ns1 A 192.0.2.53
"""

ZONES = {
    "z-minimal": ZONE_HEAD,
    "z-relative-owners": ZONE_HEAD + "www 60 IN A 192.0.2.1\nWWW AAAA 2001:db8::1\n"
                         "mail MX 10 www\n*.w TXT \"x\" \"y\"\n",
    "z-delegation": ZONE_HEAD + "sub NS ns.sub\nns.sub A 192.0.2.2\nsub DS 1 8 2 "
                    "49FD46E6C4B45C55D4AC69CBD3CD34AC1AFE51DE7A6C72C9C12C5B0F93C8B8C0\n",
    "z-missing-glue": ZONE_HEAD + "sub NS ns.sub\n",
    "z-cname-and-data": ZONE_HEAD + "x CNAME www\nx A 192.0.2.1\n",
    "z-no-soa": "$ORIGIN example.com.\n@ 300 NS ns1\nns1 300 A 192.0.2.1\n",
    "z-soa-not-apex": ZONE_HEAD + "sub SOA ns1 h 1 2 3 4 5\n",
    "z-out-of-zone": ZONE_HEAD + "www.example.org. A 192.0.2.1\n",
    "z-syntax": ZONE_HEAD + "www A 999.0.0.1\nbad IN BOGUS data\n",
    "z-class-ch": ZONE_HEAD + "txt CH TXT \"chaos\"\n",
    "z-generic": ZONE_HEAD + "g TYPE65534 \\# 3 010203\nh A \\# 4 C0000201\n",
    "z-svcb": ZONE_HEAD + "s HTTPS 1 . alpn=h2,h3 port=443 ipv4hint=192.0.2.1\n"
              "t SVCB 0 s\n",
    "z-parens": ZONE_HEAD + "x TXT ( \"a\" ; comment\n \"b\" )\n",
    "z-escapes": ZONE_HEAD + "a\\.b A 192.0.2.1\n\\065bc TXT \"q\\\"uote\"\n",
    "z-ttls": "$ORIGIN example.com.\n@ 1h SOA ns1 h 1 2 3 4 5\n@ 1d NS ns1\n"
              "ns1 1w A 192.0.2.1\nns1 30 A 192.0.2.2\n",
    "z-duplicates": ZONE_HEAD + "d A 192.0.2.1\nd A 192.0.2.1\nd A 192.0.2.2\n",
    "z-deep": ZONE_HEAD + "a.b.c.d.e.f A 192.0.2.1\n*.c.d.e.f AAAA ::1\n",
    "z-origin-change": ZONE_HEAD + "$ORIGIN sub.example.com.\nx A 192.0.2.9\n",
    "z-empty": "",
}


def write(dirname, name, data):
    os.makedirs(dirname, exist_ok=True)
    with open(os.path.join(dirname, name), "wb") as f:
        f.write(data)


def main():
    queries = {**good_queries(), **bad_queries()}
    for name, data in queries.items():
        write(QDIR, name, data)
        # EDNS and malformed seeds also drive the cookie target.
        if name.startswith(("e-", "b-")):
            write(EDIR, name, data)
    for name, text in ZONES.items():
        write(ZDIR, name, text.encode())
    with open(os.path.join(HERE, "zones", "fuzz.zone"), "rb") as f:
        write(ZDIR, "z-fixture", f.read())
    print(f"wrote {len(queries)} queries to {QDIR}, {len(ZONES) + 1} zones to {ZDIR}",
          file=sys.stderr)


if __name__ == "__main__":
    main()
