# SPDX-License-Identifier: GPL-3.0-or-later
"""Helpers for the vane-resolver integration tests (issue 5).

- A private internet on loopback: vaned authorities on addresses of a
  127.X.Y.0/24 picked per run, all on port 53 (root hints carry addresses
  only, and Debian's unbound always queries delegations on port 53), serving
  the zones in zones_resolver/ (templates with the authorities' addresses).
- VaneResolver: vane-resolver with root hints pointing at the private root
  ($VANE_RESOLVER, default build/vane-resolver), controlled with vanectl -s.
- Unbound: Debian's unbound on the same private internet (differential).
- Query helpers: ask a resolver from a chosen source address (ECS and ACL
  tests bind the client socket to 127.0.0.10, 127.0.1.10, 127.0.0.2 ...).
- Counters: the `queries` counter of every authority (vanectl stats).
"""

import json
import os
import random
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest
import yaml

import dns.edns
import dns.flags
import dns.message
import dns.rcode
import dns.rdatatype

from conftest import (BUILD, REPO, SANITIZER_MARKERS, VANECTL, VANED, Server, Vaned,
                      _LIVE, free_port, parse_response, recv_exact,
                      tcp_read_msg, wait_until)
import struct

HERE = Path(__file__).resolve().parent
ZONES_RESOLVER = HERE / "zones_resolver"
VANE_RESOLVER = os.environ.get("VANE_RESOLVER", str(BUILD / "vane-resolver"))
UNBOUND = "/usr/sbin/unbound"
AUTH_PORT = 53
START_DEADLINE = float(os.environ.get("VANE_TEST_START_DEADLINE", "60"))

# Authorities: role -> (host number in the /24, zones (name, template file)).
# TWO_DOWN and DEAD have addresses in the zones but are never started.
ROLES = {
    "ROOT": (1, [(".", "root.zone")]),
    "TEST": (2, [("test", "test.zone")]),
    "EXAMPLE": (3, [("example", "example.zone")]),
    "ALPHA": (4, [("alpha.test", "alpha.test.zone")]),
    "BETA": (5, [("beta.example", "beta.example.zone"),
                 ("gamma.example", "gamma.example.zone")]),
    "TWO": (6, [("two.test", "two.test.zone")]),
    "TWO_DOWN": (7, []),
    "GEO": (8, [("geo.example", "geo.example.zone")]),
    "MUT": (9, [("mut.test", "mut.test.zone")]),
    "DEAD": (10, []),
}

# Client subnets of the ECS test and where the steering puts them.
GEO_NETS = """\
# CIDR continent country (vaned geo overrides for the ECS tests)
127.0.0.0/24   EU DE
127.0.1.0/24   NA US
"""
GEO_EU = "192.0.2.121"
GEO_US = "192.0.2.122"
GEO_STEER = {
    "geo": {"database": "/var/lib/location/database.db", "nets": "geo.nets"},
    "services": [{
        "name": "www.geo.example", "ttl": 60, "policy": ["geo"],
        "answers": 1, "ecs": "on",
        "endpoints": [
            {"id": "eu", "address": GEO_EU,
             "location": {"continent": "EU", "country": "DE"}},
            {"id": "us", "address": GEO_US,
             "location": {"continent": "NA", "country": "US"}},
        ],
    }],
}


# ---------------------------------------------------------------------------
# Addresses

def _bindable(addr, port):
    for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
        s = socket.socket(socket.AF_INET, kind)
        try:
            s.bind((addr, port))
        except OSError:
            return False
        finally:
            s.close()
    return True


def pick_subnet(port=AUTH_PORT, hosts=range(1, 11)):
    """A 127.X.Y prefix whose .hosts are all free on port (UDP and TCP)."""
    rnd = random.Random(os.getpid() ^ int(time.time() * 1e6))
    for _ in range(200):
        pfx = "127.%d.%d" % (rnd.randint(50, 250), rnd.randint(0, 250))
        if all(_bindable("%s.%d" % (pfx, h), port) for h in hosts):
            return pfx
    raise RuntimeError("no free 127.X.Y.0/24 on port %d" % port)


def can_bind_port53():
    return _bindable("127.0.0.1", 0) and _bindable(
        "127.%d.0.1" % random.randint(50, 250), AUTH_PORT)


# ---------------------------------------------------------------------------
# Raw I/O from a chosen source address

def ask(port, name, qtype="A", addr="127.0.0.1", src=None, tcp=False,
        timeout=5.0, rd=True, edns=True, payload=1232, options=None,
        retries=2, tc_fallback=True):
    """Send one query to (addr, port) from source address src; return the
    parsed response or None.  UDP is retried on timeout (same id)."""
    if edns:
        q = dns.message.make_query(name, qtype, use_edns=0, payload=payload,
                                   options=list(options or []))
    else:
        q = dns.message.make_query(name, qtype, use_edns=False)
    if not rd:
        q.flags &= ~dns.flags.RD
    wire = q.to_wire()
    if tcp:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            if src:
                s.bind((src, 0))
            s.settimeout(timeout)
            s.connect((addr, port))
            s.sendall(struct.pack("!H", len(wire)) + wire)
            data = tcp_read_msg(s, time.monotonic() + timeout)
        except (socket.timeout, ConnectionError):
            return None
        finally:
            s.close()
        return parse_response(data) if data else None
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        if src:
            s.bind((src, 0))
        s.connect((addr, port))
        per_try = timeout / (retries + 1)
        for _ in range(retries + 1):
            s.send(wire)
            end = time.monotonic() + per_try
            while True:
                left = end - time.monotonic()
                if left <= 0:
                    break
                s.settimeout(left)
                try:
                    data = s.recv(65535)
                except socket.timeout:
                    break
                except ConnectionRefusedError:
                    return None
                r = parse_response(data)
                if r.id == q.id:
                    if tc_fallback and r.flags & dns.flags.TC:
                        return ask(port, name, qtype, addr, src, True,
                                   timeout, rd, edns, payload, options)
                    return r
        return None
    finally:
        s.close()


def rrset(r, name, qtype):
    rt = dns.rdatatype.from_text(qtype) if isinstance(qtype, str) else qtype
    want = name.lower().rstrip(".")
    for rr in r.answer:
        if rr.rdtype == rt and rr.name.to_text().lower().rstrip(".") == want:
            return rr
    return None


def addrs(r, qtype="A"):
    rt = dns.rdatatype.from_text(qtype)
    return sorted(rd.address for rr in r.answer if rr.rdtype == rt
                  for rd in rr)


def soa_ttl(r):
    for rr in r.authority:
        if rr.rdtype == dns.rdatatype.SOA:
            return rr.ttl
    return None


def rcode_text(r):
    return dns.rcode.to_text(r.rcode()) if r is not None else "TIMEOUT"


# ---------------------------------------------------------------------------
# Authorities

class Authority(Vaned):
    """vaned on one loopback address (port 53) serving zones from templates."""

    name = "vaned"

    def __init__(self, workdir, addr, zones, subst, port=AUTH_PORT,
                 steer=None, files=None):
        self.addr = addr
        self.steer = steer
        self.dir = Path(workdir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.zone_dir = self.dir / "zones"
        self.zone_dir.mkdir(exist_ok=True)
        self.subst = subst
        for _, fname in zones:
            self.write_zone(fname)
        for fname, text in (files or {}).items():
            (self.dir / fname).write_text(text)
        self.port = port
        self.zones = list(zones)
        self.probe_zone = zones[0][0]
        self.proc = None
        self.stderr_path = self.dir / (self.name + ".stderr")
        self.listen = ["%s@%d" % (addr, port)]
        self.udp_workers = 1
        self.tcp_max_clients = 100
        self.tcp_idle_timeout = "2s"
        self.extra_server = "  state-dir: state" if steer else ""
        self.conf_path = self.dir / "vaned.yaml"
        self.socket_path = self.dir / "run" / "vaned.sock"
        self.write_conf()

    def write_zone(self, fname, text=None):
        if text is None:
            text = (ZONES_RESOLVER / fname).read_text()
        for k, v in self.subst.items():
            text = text.replace("{%s}" % k, v)
        (self.zone_dir / fname).write_text(text)

    def conf_text(self):
        text = super().conf_text()
        if self.steer:
            text += yaml.safe_dump(self.steer, sort_keys=False)
        return text

    def start(self):
        self._spawn([VANED, "-c", str(self.conf_path)], wait=False)
        probe = dns.message.make_query(self.probe_zone, "SOA",
                                       use_edns=False)
        probe.flags &= ~dns.flags.RD
        deadline = time.monotonic() + START_DEADLINE
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("vaned %s exited early:\n%s" % (
                    self.addr, self.stderr_text()))
            r = ask(self.port, self.probe_zone, "SOA", addr=self.addr,
                    timeout=0.3, retries=0, rd=False, edns=False)
            if r is not None and r.rcode() == dns.rcode.NOERROR:
                return self
            time.sleep(0.05)
        self.kill()
        raise RuntimeError("vaned on %s did not answer:\n%s" % (
            self.addr, self.stderr_text()))

    def queries(self):
        """The authority's `queries` counter (vanectl --json stats)."""
        p = self.ctl("stats", json_out=True)
        assert p.returncode == 0, "vanectl stats on %s: %s %s" % (
            self.addr, p.stdout, p.stderr)
        return json.loads(p.stdout)["queries"]

    def reload(self):
        p = self.ctl("reload")
        assert p.returncode == 0, "reload of %s: %s %s" % (
            self.addr, p.stdout, p.stderr)


class PrivateInternet:
    """Root, two TLDs and second-level zones on 127.X.Y.n, port 53."""

    def __init__(self, workdir, port=AUTH_PORT):
        self.dir = Path(workdir)
        self.port = port
        self.prefix = pick_subnet(port)
        self.addr = {role: "%s.%d" % (self.prefix, n)
                     for role, (n, _) in ROLES.items()}
        self.auth = {}
        for role, (n, zones) in ROLES.items():
            if not zones:
                continue
            steer = GEO_STEER if role == "GEO" else None
            files = {"geo.nets": GEO_NETS} if role == "GEO" else None
            self.auth[role] = Authority(self.dir / role.lower(),
                                        self.addr[role], zones, self.addr,
                                        port=port, steer=steer, files=files)
        self.hints = self.dir / "root.hints"
        self.hints.write_text(
            ".\t3600000\tIN\tNS\ta.root.test.\n"
            "a.root.test.\t3600000\tIN\tA\t%s\n" % self.addr["ROOT"])

    def start(self):
        try:
            for a in self.auth.values():
                a.start()
        except Exception:
            self.stop()
            raise
        return self

    def queries(self):
        """{role: queries counter} of every running authority."""
        return {role: a.queries() for role, a in self.auth.items()
                if a.proc is not None and a.proc.poll() is None}

    def total_queries(self):
        return sum(self.queries().values())

    def kill_all(self):
        for a in self.auth.values():
            a.kill()

    def stop(self):
        errors = []
        for a in self.auth.values():
            if a.proc is None or a.proc.poll() is not None:
                a._close()
                continue
            rc = a.stop()
            if rc != 0:
                errors.append("vaned %s exited %s:\n%s" % (
                    a.addr, rc, a.stderr_text()[-4000:]))
            text = a.stderr_text()
            if any(m in text for m in SANITIZER_MARKERS):
                errors.append("sanitizer report in vaned %s:\n%s" % (
                    a.addr, text))
        return errors


# ---------------------------------------------------------------------------
# vane-resolver

RESOLVER_DEFAULTS = {
    "cache-size": "16M",
    "min-ttl": 0,
    "max-ttl": 86400,
    "negative-max-ttl": 3600,
    "serve-stale": "off",
    "prefetch": "off",
    "ecs": "off",
    "qname-minimisation": "on",
    "allow": ["127.0.0.0/8"],
    "fake-time": "false",
}


class VaneResolver(Server):
    """vane-resolver listening on 127.0.0.1@free port.  `resolver` holds
    keys of the `resolver:` section (merged over RESOLVER_DEFAULTS)."""

    name = "vane-resolver"

    def __init__(self, workdir, hints, upstream_port=AUTH_PORT,
                 listen_addr="127.0.0.1", udp_workers=2, **resolver):
        self.dir = Path(workdir)
        self.dir.mkdir(parents=True, exist_ok=True)
        (self.dir / "run").mkdir(exist_ok=True)
        self.port = free_port()
        self.addr = listen_addr
        self.proc = None
        self.stderr_path = self.dir / "vane-resolver.stderr"
        shutil.copy(hints, self.dir / "root.hints")
        self.socket_path = self.dir / "run" / "resolver.sock"
        self.conf_path = self.dir / "resolver.yaml"
        res = dict(RESOLVER_DEFAULTS)
        res.update({k.replace("_", "-"): v for k, v in resolver.items()})
        res["root-hints"] = "root.hints"
        if upstream_port != 53:
            res["upstream-port"] = upstream_port
        self.resolver_conf = res
        self.conf_path.write_text(
            "server:\n"
            "  listen: [ \"%s@%d\" ]\n"
            "  udp-workers: %d\n"
            "  control: run/resolver.sock\n"
            "resolver:\n%s" % (
                listen_addr, self.port, udp_workers,
                "".join("  %s: %s\n" % (k, json.dumps(v) if isinstance(
                    v, list) else v) for k, v in res.items())))

    def start(self):
        if not os.access(VANE_RESOLVER, os.X_OK):
            pytest.skip("no vane-resolver binary at %s" % VANE_RESOLVER)
        self._spawn([VANE_RESOLVER, "-c", str(self.conf_path)], wait=False)
        deadline = time.monotonic() + START_DEADLINE
        # Ready when the control socket answers and the listen port is
        # taken for UDP and TCP (no DNS probe: it would query upstream).
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("vane-resolver exited early (%s):\n%s" % (
                    self.proc.returncode, self.stderr_text()))
            if self.socket_path.exists() and \
                    not _bindable(self.addr, self.port):
                p = self.ctl("stats", json_out=True, timeout=5)
                if p.returncode == 0:
                    return self
            time.sleep(0.05)
        self.kill()
        raise RuntimeError("vane-resolver did not start:\n%s" %
                           self.stderr_text())

    def ctl(self, *args, json_out=False, timeout=30):
        argv = [VANECTL, "-s", str(self.socket_path)]
        if json_out:
            argv.append("--json")
        argv += [str(a) for a in args]
        return subprocess.run(argv, capture_output=True, text=True,
                              timeout=timeout)

    def ctl_json(self, *args):
        p = self.ctl(*args, json_out=True)
        try:
            obj = json.loads(p.stdout)
        except ValueError:
            pytest.fail("vanectl --json %s: not JSON (rc %d): %r %r" % (
                " ".join(map(str, args)), p.returncode, p.stdout, p.stderr))
        assert obj.get("ok") is True, "vanectl %s: %r" % (
            " ".join(map(str, args)), obj)
        return obj

    def stats(self):
        return self.ctl_json("stats")

    def time_passes(self, seconds):
        """Fake-time mode: move the resolver's clock forward."""
        self.ctl_json("time", "+%d" % seconds)

    def ask(self, name, qtype="A", **kw):
        return ask(self.port, name, qtype, addr=self.addr, **kw)

    def sanitizer_report(self):
        text = self.stderr_text()
        return text if any(m in text for m in SANITIZER_MARKERS) else None

    def stop_and_check(self):
        rc = self.stop()
        assert rc == 0, "vane-resolver exited with %s:\n%s" % (
            rc, self.stderr_text()[-8000:])
        rep = self.sanitizer_report()
        assert rep is None, "sanitizer report:\n" + rep


# ---------------------------------------------------------------------------
# Debian unbound (reference)

class Unbound(Server):
    name = "unbound"

    def __init__(self, workdir, hints, qname_minimisation=True):
        self.dir = Path(workdir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.proc = None
        self.stderr_path = self.dir / "unbound.stderr"
        self.conf_path = self.dir / "unbound.conf"
        shutil.copy(hints, self.dir / "root.hints")
        self.conf_path.write_text(
            "server:\n"
            "  interface: 127.0.0.1@%(port)d\n"
            "  port: %(port)d\n"
            "  do-ip6: no\n"
            "  num-threads: 1\n"
            "  username: \"\"\n"
            "  chroot: \"\"\n"
            "  directory: \"%(d)s\"\n"
            "  pidfile: \"\"\n"
            "  use-syslog: no\n"
            "  logfile: \"\"\n"
            "  verbosity: 1\n"
            "  root-hints: \"%(d)s/root.hints\"\n"
            "  do-not-query-localhost: no\n"
            "  access-control: 127.0.0.0/8 allow\n"
            "  module-config: \"iterator\"\n"
            "  qname-minimisation: %(qm)s\n"
            "  prefetch: no\n"
            "  edns-buffer-size: 1232\n"
            "  local-zone: \"test.\" nodefault\n"
            "remote-control:\n"
            "  control-enable: no\n" % {
                "port": self.port, "d": self.dir,
                "qm": "yes" if qname_minimisation else "no"})

    def start(self):
        self._spawn([UNBOUND, "-d", "-c", str(self.conf_path)], wait=False)
        deadline = time.monotonic() + START_DEADLINE
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("unbound exited:\n%s" % self.stderr_text())
            if not _bindable("127.0.0.1", self.port):
                return self
            time.sleep(0.05)
        raise RuntimeError("unbound did not start:\n%s" % self.stderr_text())

    def ask(self, name, qtype="A", **kw):
        return ask(self.port, name, qtype, **kw)


# ---------------------------------------------------------------------------
# Fixtures

def _need_port53():
    if not _bindable("127.0.0.1", 0):
        pytest.skip("no loopback")
    try:
        pick_subnet(AUTH_PORT, hosts=[1])
    except RuntimeError:
        pytest.skip("cannot bind port 53 on loopback (need root)")


@pytest.fixture(scope="module")
def internet(tmp_path_factory):
    """A private internet shared by the tests of a module (read-only use)."""
    _need_port53()
    net = PrivateInternet(tmp_path_factory.mktemp("internet")).start()
    yield net
    errors = net.stop()
    assert not errors, "\n".join(errors)


@pytest.fixture
def internet_factory(tmp_path):
    """Private internets a test may change (zones, killed servers)."""
    _need_port53()
    made = []

    def make():
        net = PrivateInternet(tmp_path / ("net%d" % len(made))).start()
        made.append(net)
        return net

    yield make
    errors = []
    for net in made:
        errors += net.stop()
    assert not errors, "\n".join(errors)


@pytest.fixture
def resolver_factory(tmp_path):
    """Start vane-resolver instances: make(net, **resolver_keys).  Each one
    must exit 0 at teardown without a sanitizer report."""
    started = []

    def make(net, name=None, start=True, **kw):
        r = VaneResolver(tmp_path / (name or "resolver%d" % len(started)),
                         net.hints, upstream_port=net.port, **kw)
        started.append(r)
        if start:
            r.start()
        return r

    yield make
    errors = []
    for r in started:
        if r.proc is None:
            continue
        if r.proc.poll() is not None:
            r._close()
            errors.append("vane-resolver died (rc %s):\n%s" % (
                r.proc.returncode, r.stderr_text()[-8000:]))
            continue
        try:
            r.stop_and_check()
        except AssertionError as e:
            errors.append(str(e))
    if errors:
        pytest.fail("\n".join(errors))
