# SPDX-License-Identifier: GPL-3.0-or-later
"""vane-resolver's forward:, stub:, zones-ttl: and upstream-port: (issue 15).

One vaned on 127.0.0.1 at a free port serves corp.example (and, for
upstream-port, a flat root zone); no port 53 is needed.  The root hints
point at an address nothing listens on, so an answer can only have come
through the configured zone.  A small UDP relay in front of vaned records
the flags of each query it passes on: that is how the tests see RD.
"""

import socket
import subprocess
import threading

import dns.flags
import dns.message
import dns.rcode
import pytest

from conftest import free_port, wait_until
from resolver_helpers import (VANE_RESOLVER, Authority, VaneResolver, addrs,
                              ask, rrset)

DEAD_ROOT = "127.255.255.254"


def _dead_hints(tmp_path):
    h = tmp_path / "root.hints"
    h.write_text(".\t3600000\tIN\tNS\ta.root.test.\n"
                 "a.root.test.\t3600000\tIN\tA\t%s\n" % DEAD_ROOT)
    return h


class Relay:
    """UDP relay 127.0.0.1:port -> 127.0.0.1:upstream recording, per query
    passed on, (qname, RD flag)."""

    def __init__(self, upstream):
        self.upstream = upstream
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.seen = []
        self.stopping = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stopping:
            try:
                data, peer = self.sock.recvfrom(65535)
            except socket.timeout:
                continue
            except OSError:
                return
            try:
                q = dns.message.from_wire(data)
            except Exception:
                continue
            self.seen.append((q.question[0].name.to_text().lower(),
                              bool(q.flags & dns.flags.RD)))
            up = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            try:
                up.settimeout(2)
                up.sendto(data, ("127.0.0.1", self.upstream))
                resp, _ = up.recvfrom(65535)
                self.sock.sendto(resp, peer)
            except OSError:
                pass
            finally:
                up.close()

    def close(self):
        self.stopping = True
        self.thread.join(5)
        self.sock.close()


@pytest.fixture
def corp(tmp_path):
    """vaned serving corp.example on 127.0.0.1:free port."""
    a = Authority(tmp_path / "corp", "127.0.0.1",
                  [("corp.example", "corp.example.zone")], {},
                  port=free_port())
    a.start()
    yield a
    rc = a.stop()
    assert rc == 0, a.stderr_text()


@pytest.fixture
def relay(corp):
    r = Relay(corp.port)
    yield r
    r.close()


@pytest.fixture
def resolvers():
    started = []
    yield started
    for r in started:
        r.stop_and_check()


def _start(resolvers, *args, **kw):
    r = VaneResolver(*args, **kw)
    resolvers.append(r)
    r.start()
    return r


def test_forward_zone_goes_with_rd_to_the_forwarder(tmp_path, corp, relay,
                                                    resolvers):
    res = _start(resolvers, tmp_path / "r", _dead_hints(tmp_path),
                 forward=[{"zone": "corp.example",
                           "to": ["127.0.0.1@%d" % relay.port]}])
    before = corp.queries()
    r = ask(res.port, "www.corp.example", "A")
    assert r is not None and r.rcode() == dns.rcode.NOERROR, r
    assert addrs(r) == ["192.0.2.51"]
    # The forwarder was asked, with RD=1 and the full name (no
    # minimisation, no iteration): nothing else reached it.
    assert ("www.corp.example.", True) in relay.seen, relay.seen
    assert all(rd for _, rd in relay.seen), relay.seen
    assert corp.queries() > before
    # A negative answer comes back through the forwarder with its SOA.
    r = ask(res.port, "nothere.corp.example", "A")
    assert r is not None and r.rcode() == dns.rcode.NXDOMAIN
    assert [rr.name.to_text() for rr in r.authority] == ["corp.example."]
    # A name outside the zone iterates from the (dead) root: SERVFAIL,
    # and the forwarder never sees it.
    n = len(relay.seen)
    r = ask(res.port, "www.elsewhere.test", "A", timeout=10)
    assert r is not None and r.rcode() == dns.rcode.SERVFAIL
    assert len(relay.seen) == n


def test_forwarder_that_does_not_answer_is_skipped(tmp_path, corp, relay,
                                                   resolvers):
    dead = free_port()      # nothing listens there
    res = _start(resolvers, tmp_path / "r", _dead_hints(tmp_path),
                 forward=[{"zone": "corp.example",
                           "to": ["127.0.0.1@%d" % dead,
                                  "127.0.0.1@%d" % relay.port]}])
    r = ask(res.port, "www.corp.example", "A", timeout=10)
    assert r is not None and addrs(r) == ["192.0.2.51"], r
    assert relay.seen == [("www.corp.example.", True)]
    # The first one listed was tried first and timed out.
    assert res.stats()["upstream_timeouts"] >= 1


def test_stub_zone_iterates_from_the_stub_address(tmp_path, corp, relay,
                                                  resolvers):
    res = _start(resolvers, tmp_path / "r", _dead_hints(tmp_path),
                 stub=[{"zone": "corp.example",
                        "to": ["127.0.0.1@%d" % relay.port]}])
    r = ask(res.port, "www.corp.example", "A")
    assert r is not None and r.rcode() == dns.rcode.NOERROR, r
    assert addrs(r) == ["192.0.2.51"]
    assert relay.seen, "the stub server was never asked"
    assert not any(rd for _, rd in relay.seen), relay.seen   # iterative
    # A name the zone lacks: vaned's NXDOMAIN comes back through the stub.
    r = ask(res.port, "nothere.corp.example", "A")
    assert r is not None and r.rcode() == dns.rcode.NXDOMAIN


def test_longest_zone_wins(tmp_path, corp, relay, resolvers):
    # stub for corp.example straight to vaned; a forward for the deeper
    # slow.corp.example through the relay.
    res = _start(resolvers, tmp_path / "r", _dead_hints(tmp_path),
                 stub=[{"zone": "corp.example",
                        "to": ["127.0.0.1@%d" % corp.port]}],
                 forward=[{"zone": "slow.corp.example",
                           "to": ["127.0.0.1@%d" % relay.port]}])
    r = ask(res.port, "www.corp.example", "A")
    assert r is not None and addrs(r) == ["192.0.2.51"]
    assert relay.seen == []
    r = ask(res.port, "a.slow.corp.example", "A")
    assert r is not None and addrs(r) == ["192.0.2.52"]
    assert relay.seen == [("a.slow.corp.example.", True)]


def test_zone_min_ttl_raises_only_under_its_zone(tmp_path, corp, resolvers):
    res = _start(resolvers, tmp_path / "r", _dead_hints(tmp_path),
                 fake_time="true",
                 stub=[{"zone": "corp.example",
                        "to": ["127.0.0.1@%d" % corp.port]}],
                 zones_ttl=[{"zone": "slow.corp.example", "min-ttl": 300}])
    low = ask(res.port, "www.corp.example", "A")
    high = ask(res.port, "a.slow.corp.example", "A")
    assert low is not None and high is not None
    assert rrset(low, "www.corp.example", "A").ttl == 5
    assert rrset(high, "a.slow.corp.example", "A").ttl == 300
    # From the cache too, and it outlives the record's own TTL.
    res.time_passes(100)
    again = ask(res.port, "a.slow.corp.example", "A")
    assert rrset(again, "a.slow.corp.example", "A").ttl == 200
    before = corp.queries()
    res.time_passes(10)
    ask(res.port, "a.slow.corp.example", "A")
    assert corp.queries() == before       # still a cache hit


def test_reload_keeps_zones_and_says_restart(tmp_path, corp, relay, resolvers):
    res = _start(resolvers, tmp_path / "r", _dead_hints(tmp_path),
                 stub=[{"zone": "corp.example",
                        "to": ["127.0.0.1@%d" % relay.port]}])
    text = res.conf_path.read_text()
    res.conf_path.write_text(text.replace("@%d" % relay.port,
                                          "@%d" % corp.port))
    reply = res.ctl_json("reload")
    assert reply["restart_needed"] == ["resolver.stub"], reply
    assert "resolver.stub changed; restart" in res.stderr_text()
    # Still the stub loaded at start: through the relay.
    r = ask(res.port, "www.corp.example", "A")
    assert r is not None and addrs(r) == ["192.0.2.51"]
    assert ("www.corp.example.", False) in relay.seen


def test_upstream_port_reaches_a_root_off_port_53(tmp_path, resolvers):
    root = Authority(tmp_path / "root", "127.0.0.1", [(".", "flat-root.zone")],
                     {}, port=free_port())
    root.start()
    try:
        hints = tmp_path / "root.hints"
        hints.write_text(".\t3600000\tIN\tNS\ta.root.test.\n"
                         "a.root.test.\t3600000\tIN\tA\t127.0.0.1\n")
        res = _start(resolvers, tmp_path / "r", hints, upstream_port=root.port)
        r = ask(res.port, "www.flat.test", "A")
        assert r is not None and addrs(r) == ["192.0.2.53"], r
        assert root.queries() > 0
    finally:
        assert root.stop() == 0, root.stderr_text()


def _check(tmp_path, body):
    conf = tmp_path / "bad.yaml"
    (tmp_path / "root.hints").write_text(
        ". 3600 IN NS a.root.test.\na.root.test. 3600 IN A 127.0.0.1\n")
    conf.write_text("server:\n  listen: [ \"127.0.0.1@%d\" ]\n"
                    "resolver:\n  root-hints: root.hints\n%s" % (
                        free_port(), body))
    p = subprocess.run([VANE_RESOLVER, "-c", str(conf), "--check"],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 1, p.stderr
    return p.stderr


@pytest.mark.parametrize("body,line,text", [
    ("  forward:\n    - zone: a.example\n      to: [ \"127.0.0.1@53\" ]\n"
     "  stub:\n    - zone: b.example\n      to: [ \"127.0.0.1\" ]\n"
     "    - zone: a.example\n      to: [ \"127.0.0.2\" ]\n",
     11, "stub zone a.example. is also a forward zone"),
    ("  stub:\n    - zone: b.example\n      to: [ \"not-an-address\" ]\n",
     7, "expected an address"),
    ("  forward:\n    - zone: b.example\n", 6, "to: missing required key"),
    ("  max-ttl: 600\n  zones-ttl:\n    - zone: b.example\n"
     "      min-ttl: 900\n", 7, "min-ttl is above max-ttl"),
    ("  upstream-port: 0\n", 5, "upstream-port"),
])
def test_config_errors_name_file_and_line(tmp_path, body, line, text):
    err = _check(tmp_path, body)
    assert ("bad.yaml:%d:" % line) in err and text in err, err


def test_every_key_is_documented_with_its_default():
    """Each key of the schema table (src/conf/resolver_schema.c) appears in
    vane-resolver(8) and in etc/vane-resolver.conf."""
    import re
    from conftest import REPO
    src = (REPO / "src/conf/resolver_schema.c").read_text()
    keys = set(re.findall(r'\.name = "([a-z0-9-]+)"', src))
    man = (REPO / "docs/vane-resolver.8").read_text().replace("\\-", "-")
    sample = (REPO / "etc/vane-resolver.conf").read_text()
    for k in sorted(keys):
        assert re.search(r"\b%s\b" % re.escape(k), man), "%s not in the man page" % k
        assert re.search(r"^\s*#?\s*-?\s*%s:" % re.escape(k), sample, re.M), \
            "%s not in etc/vane-resolver.conf" % k
