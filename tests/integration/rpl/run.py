# SPDX-License-Identifier: GPL-3.0-or-later
"""Run .rpl scenarios against vane-resolver (fake time, fake upstreams).

A scenario passes when every CHECK_ANSWER matches on rcode and answer
section (RRsets as sets; TTLs too when the entry's MATCH has `ttl`), and
every CHECK_OUT_QUERY saw its query upstream.  `strict` also records
whether flags, authority and additional matched for `MATCH all` (reported,
not required: vane-resolver gives minimal responses).

    cd tests/integration && /usr/bin/python3 -m rpl.run [--list FILE] [NAMES]
"""

import glob
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import dns.flags
import dns.message
import dns.rcode
import dns.rdatatype

from .parse import fqdn, parse
from .upstream import SUPPORTED_MATCH, Upstream, build_rrsets

HERE = Path(__file__).resolve().parent


def _testdata():
    """The scenario sets: VANE_TESTDATA, else shared/testdata beside the
    repository (the full sets, for the report), else the copies of the
    passing scenarios kept in rpl/data (what make test needs)."""
    if os.environ.get("VANE_TESTDATA"):
        return Path(os.environ["VANE_TESTDATA"])
    shared = HERE.parents[3] / "shared" / "testdata"
    if (shared / "unbound-testbound-rpl").is_dir():
        return shared
    return HERE / "data"


TESTDATA = _testdata()
SETS = ["unbound-testbound-rpl", "deckard-rpl"]
STEP_KINDS = {"QUERY", "CHECK_ANSWER", "TIME_PASSES", "TRAFFIC",
              "CHECK_OUT_QUERY", "NOTHING"}
DNSSEC_KEYS = ("trust-anchor", "trust-anchor-file", "auto-trust-anchor-file",
               "trusted-keys-file", "val-override-date", "domain-insecure",
               "val-")
QUERY_TIMEOUT = float(os.environ.get("VANE_RPL_QUERY_TIMEOUT", "6"))


class Result:
    def __init__(self, name):
        self.name = name
        self.status = "fail"      # pass | fail | unsupported | error
        self.reason = ""
        self.strict = True
        self.seconds = 0.0

    def __repr__(self):
        return "%s %s %s" % (self.name, self.status, self.reason)


def scenario_id(path):
    p = Path(path)
    return "%s/%s" % (p.parent.name, p.name)


def candidates():
    """Iterator scenarios of both sets (iter_* plus a few similar)."""
    out = []
    for s in SETS:
        for p in sorted(glob.glob(str(TESTDATA / s / "iter_*.rpl"))):
            out.append(p)
        for extra in ("fetch_glue.rpl", "fetch_glue_cname.rpl",
                      "ghost_glue_a.rpl", "rrset_rettl.rpl",
                      "rrset_updated.rpl", "rrset_use_cached.rpl",
                      "long_qname.rpl"):
            p = TESTDATA / s / extra
            if p.exists():
                out.append(str(p))
    return out


def unsupported(sc):
    """Why the scenario cannot run here, or None."""
    for k, v in sc.config:
        if any(k == d or (d.endswith("-") and k.startswith(d))
               for d in DNSSEC_KEYS):
            return "DNSSEC config (%s)" % k
        if k in ("forward-zone", "auth-zone", "rpz", "view", "local-zone",
                 "local-data", "module-config", "dns64-prefix",
                 "do-not-query-address", "private-address",
                 "ede", "nat64-prefix"):
            if not (k == "module-config" and "validator" not in v
                    and "iterator" in v and v.split() == ["iterator"]):
                return "config %s" % k
    zones = sc.stub_zones()
    if any(n != "." for n, _ in zones):
        return "stub-zone other than ."
    for st in sc.steps:
        if st.kind not in STEP_KINDS:
            return "step %s" % st.kind
    for r in sc.ranges:
        for e in r.entries:
            if e.raw:
                return "raw entry"
            bad = e.match - SUPPORTED_MATCH
            if bad:
                return "MATCH %s" % " ".join(sorted(bad))
    if not root_hint_addrs(sc):
        return "no IPv4 root hint"
    return None


def root_hint_addrs(sc):
    zones = sc.stub_zones()
    addrs = [a for n, al in zones if n == "." for a in al]
    if not addrs:
        addrs = [v.split("@")[0] for k, v in sc.config if k == "stub-addr"]
    return [a for a in addrs if ":" not in a]


def resolver_keys(sc):
    def yes(v):
        return v.strip('"').lower() in ("yes", "on", "true", "1")
    keys = {"fake_time": "true", "prefetch": "off", "serve_stale": "off",
            "qname_minimisation": "on", "ecs": "off",
            "allow": ["127.0.0.0/8"]}
    for k, v in sc.config:
        if k == "qname-minimisation" or k == "query-minimization":
            keys["qname_minimisation"] = "on" if yes(v) else "off"
        elif k == "prefetch":
            keys["prefetch"] = "on" if yes(v) else "off"
        elif k == "serve-expired":
            keys["serve_stale"] = "on" if yes(v) else "off"
        elif k == "cache-min-ttl":
            keys["min_ttl"] = int(v)
        elif k == "cache-max-ttl":
            keys["max_ttl"] = int(v)
        elif k == "cache-max-negative-ttl":
            keys["negative_max_ttl"] = int(v)
    return keys


def canon_answer(msg, rev, with_ttl):
    out = set()
    for rr in msg.answer:
        for rd in rr:
            text = rd.to_text().lower()
            if rr.rdtype == dns.rdatatype.A and text in rev:
                text = rev[text]
            out.add((rr.name.to_text().lower(),
                     dns.rdatatype.to_text(rr.rdtype), text,
                     rr.ttl if with_ttl else None))
    return out


def canon_rrsets(rrsets, with_ttl):
    out = set()
    for rr in rrsets:
        for rd in rr:
            out.add((rr.name.to_text().lower(),
                     dns.rdatatype.to_text(rr.rdtype), rd.to_text().lower(),
                     rr.ttl if with_ttl else None))
    return out


def check_answer(entry, got, rev):
    """(ok, strict_ok, reason)."""
    if got is None:
        return False, False, "no answer from the resolver"
    want_rcode = entry.rcode
    if dns.rcode.to_text(got.rcode()) != want_rcode and \
            (entry.match & {"all", "rcode", "flags"} or True):
        return False, False, "rcode %s, want %s" % (
            dns.rcode.to_text(got.rcode()), want_rcode)
    with_ttl = "ttl" in entry.match
    want = canon_rrsets(build_rrsets(entry.sections["ANSWER"], {}), with_ttl)
    have = canon_answer(got, rev, with_ttl)
    if want != have:
        return False, False, "answer %s, want %s" % (sorted(have),
                                                     sorted(want))
    strict = True
    if "all" in entry.match:
        for sec, mine in (("AUTHORITY", got.authority),
                          ("ADDITIONAL", got.additional)):
            w = canon_rrsets(build_rrsets(entry.sections[sec], {}), with_ttl)
            if w != canon_rrsets(mine, with_ttl):
                strict = False
        for f, bit in (("AA", dns.flags.AA), ("TC", dns.flags.TC),
                       ("RD", dns.flags.RD), ("RA", dns.flags.RA),
                       ("AD", dns.flags.AD), ("CD", dns.flags.CD)):
            if (f in entry.flags) != bool(got.flags & bit):
                strict = False
    return True, strict, ""


def pick_prefix(n):
    """A 127.X.Y prefix with hosts 1..n free on port 53."""
    sys.path.insert(0, str(HERE.parent))
    from resolver_helpers import pick_subnet
    return pick_subnet(53, hosts=range(1, n + 1))


def make_query(entry):
    q = entry.question()
    want_do = "DO" in entry.flags
    msg = dns.message.make_query(q[0], q[1], use_edns=0, payload=1232,
                                 want_dnssec=want_do)
    if "RD" not in entry.flags:
        msg.flags &= ~dns.flags.RD
    if "CD" in entry.flags:
        msg.flags |= dns.flags.CD
    return msg


def run_scenario(path, workdir, resolver_cls=None):
    sys.path.insert(0, str(HERE.parent))
    from resolver_helpers import VaneResolver, ask  # noqa: F401
    import socket
    res = Result(scenario_id(path))
    t0 = time.monotonic()
    sc = parse(path)
    why = unsupported(sc)
    if why:
        res.status, res.reason = "unsupported", why
        return res
    addrs = [a for a in sc.server_addresses() if ":" not in a]
    if len(addrs) > 250:
        res.status, res.reason = "unsupported", "too many servers"
        return res
    prefix = pick_prefix(len(addrs))
    amap = {a: "%s.%d" % (prefix, i + 1) for i, a in enumerate(addrs)}
    rev = {v: k for k, v in amap.items()}
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    hints = workdir / "root.hints"
    hl = []
    for i, a in enumerate(root_hint_addrs(sc)):
        hl.append(".\t3600000\tIN\tNS\thint%d.rpl-root.\n" % i)
        hl.append("hint%d.rpl-root.\t3600000\tIN\tA\t%s\n" % (i, amap[a]))
    hints.write_text("".join(hl))
    up = Upstream(sc, amap).start()
    r = (resolver_cls or VaneResolver)(workdir / "resolver", hints,
                                      **resolver_keys(sc))
    last = None
    try:
        r.start()
        for st in sc.steps:
            up.step = st.num
            if st.kind == "QUERY":
                q = make_query(st.entry)
                last = exchange(r, q)
            elif st.kind == "CHECK_ANSWER":
                ok, strict, why = check_answer(st.entry, last, rev)
                res.strict = res.strict and strict
                if not ok:
                    res.reason = "step %d: %s" % (st.num, why)
                    return res
            elif st.kind == "TIME_PASSES":
                secs = int(round(st.elapse))
                if secs > 0:
                    r.time_passes(secs)
            elif st.kind == "CHECK_OUT_QUERY":
                eq = st.entry.question()
                seen = [x for x in up.log if (x[2], x[3]) == eq]
                if not seen:
                    res.reason = "step %d: no upstream query %s %s" % (
                        st.num, eq[0], eq[1])
                    return res
        res.status = "pass"
        return res
    except Exception as e:  # a crash of the resolver, a bad scenario line
        res.status = "error"
        res.reason = "%s: %s" % (type(e).__name__, str(e)[:300])
        return res
    finally:
        res.seconds = time.monotonic() - t0
        try:
            if r.proc is not None and r.proc.poll() is None:
                rc = r.stop()
                if rc != 0 and res.status == "pass":
                    res.status, res.reason = "fail", "exit code %s" % rc
            elif r.proc is not None and res.status == "pass":
                res.status, res.reason = "fail", "resolver died"
            text = r.stderr_text()
            if "Sanitizer" in text or "runtime error:" in text:
                res.status, res.reason = "fail", "sanitizer report"
            r._close()
        finally:
            up.stop()


def exchange(r, q):
    """Send q to the resolver over UDP (TCP when truncated)."""
    import socket
    import struct
    wire = q.to_wire()
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.connect((r.addr, r.port))
        s.send(wire)
        end = time.monotonic() + QUERY_TIMEOUT
        while time.monotonic() < end:
            s.settimeout(max(0.01, end - time.monotonic()))
            try:
                data = s.recv(65535)
            except socket.timeout:
                return None
            m = dns.message.from_wire(data, ignore_trailing=True,
                                      raise_on_truncation=False)
            if m.id == q.id:
                if m.flags & dns.flags.TC:
                    t = socket.create_connection((r.addr, r.port), 5)
                    t.sendall(struct.pack("!H", len(wire)) + wire)
                    hdr = t.recv(2)
                    ln = struct.unpack("!H", hdr)[0]
                    buf = b""
                    while len(buf) < ln:
                        buf += t.recv(ln - len(buf))
                    t.close()
                    return dns.message.from_wire(buf)
                return m
        return None
    finally:
        s.close()


class UnboundOracle:
    """Debian's unbound behind VaneResolver's interface, to check the
    replayer itself (`--unbound`): no fake clock, so TIME_PASSES fails."""

    def __new__(cls, workdir, hints, **keys):
        sys.path.insert(0, str(HERE.parent))
        from resolver_helpers import Unbound
        u = Unbound(workdir, hints,
                    qname_minimisation=keys.get("qname_minimisation") == "on")
        u.addr = "127.0.0.1"

        def time_passes(secs):
            raise RuntimeError("unbound has no fake clock")
        u.time_passes = time_passes
        return u


def load_list(path):
    out = []
    for line in Path(path).read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            out.append(line)
    return out


def main(argv):
    names = [a for a in argv if not a.startswith("-")]
    if names:
        paths = [str(TESTDATA / n) if "/" in n else n for n in names]
    else:
        paths = candidates()
    tmp = Path(tempfile.mkdtemp(prefix="rpl-"))
    results = []
    for p in paths:
        res = run_scenario(p, tmp / scenario_id(p).replace("/", "_"),
                           UnboundOracle if "--unbound" in argv else None)
        results.append(res)
        print("%-55s %-11s %5.1fs %s%s" % (
            res.name, res.status, res.seconds,
            "" if res.strict or res.status != "pass" else "(not strict) ",
            res.reason), flush=True)
    shutil.rmtree(tmp, ignore_errors=True)
    by = {}
    for res in results:
        by[res.status] = by.get(res.status, 0) + 1
    strict = sum(1 for x in results if x.status == "pass" and x.strict)
    print("summary: %s; strict passes %d; total %d" % (
        ", ".join("%s %d" % kv for kv in sorted(by.items())), strict,
        len(results)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
