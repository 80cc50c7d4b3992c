# SPDX-License-Identifier: GPL-3.0-or-later
"""vane-resolver facing clients it does not know (issue "Face the
internet"): identical misses that arrive together share one resolution
(one set of upstream queries, every client answered with its own ID), and
clients outside loopback and `allow:` are REFUSED by default."""

import signal
import socket
import time

import dns.message
import dns.rcode
import dns.flags

from resolver_helpers import (internet, internet_factory,  # noqa: F401
                              resolver_factory)

CLIENTS = 30


def test_identical_misses_share_one_resolution(internet_factory, resolver_factory):
    internet = internet_factory()
    res = resolver_factory(internet)
    alpha = internet.auth["ALPHA"]
    # Warm the root and TLD referrals so the burst below misses only the
    # final name.
    assert res.ask("www.alpha.test", "A").rcode() == dns.rcode.NOERROR
    before = res.stats()
    socks, ids = [], []
    for i in range(CLIENTS):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.connect((res.addr, res.port))
        q = dns.message.make_query("burst.alpha.test", "A")
        q.id = 1000 + i
        ids.append(q.id)
        socks.append((s, q.to_wire()))
    # alpha.test's server holds its answer (stopped) while the burst
    # arrives, as a slow authority on the internet would.
    alpha.proc.send_signal(signal.SIGSTOP)
    try:
        for s, w in socks:
            s.send(w)
        time.sleep(0.3)
    finally:
        alpha.proc.send_signal(signal.SIGCONT)
    got = []
    for s, _ in socks:
        s.settimeout(5)
        r = dns.message.from_wire(s.recv(65535))
        got.append(r.id)
        # (the name does not exist: NXDOMAIN, as the authority says)
        assert r.rcode() == dns.rcode.NXDOMAIN and r.flags & dns.flags.RA
        s.close()
    assert sorted(got) == ids
    after = res.stats()
    upstream = after["upstream_queries"] - before["upstream_queries"]
    assert after["merged"] - before["merged"] >= 1, after
    # One resolution's worth: the name's own query (and maybe an address
    # lookup), not one per client.
    assert upstream <= 4, "%d upstream queries for %d identical misses" % (
        upstream, CLIENTS)


def test_outside_allow_is_refused_by_default(internet, resolver_factory):
    """The default ACL is loopback; the resolver listens on a non-loopback
    address of this host only when one exists, so ask from loopback with
    an `allow:` that excludes it instead."""
    res = resolver_factory(internet, name="acl", allow=["192.0.2.0/24"])
    r = res.ask("www.alpha.test", "A")
    assert r is not None and r.rcode() == dns.rcode.REFUSED
    st = res.stats()
    assert st["upstream_queries"] == 0, st
