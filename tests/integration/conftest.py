# SPDX-License-Identifier: GPL-3.0-or-later
"""Shared fixtures for Vane's integration tests.

Everything runs as real processes on 127.0.0.1 with free ports: vaned (from
$VANED, else $VANE_BUILD/vaned, else build/vaned), and Debian's knotd and nsd as reference servers.
Readiness is detected by polling with DNS queries (never fixed sleeps), with a
generous deadline so that sanitizer builds that start slowly still pass.
"""

import os
import random
import shutil
import signal
import socket
import struct
import subprocess
import time
from pathlib import Path

import pytest

import dns.flags
import dns.message
import dns.rdatatype

REPO = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
ZONES_DIR = HERE / "zones"

# The binaries come from one build directory ($VANE_BUILD, default build/
# in the repository), or one by one from $VANED, $VANECTL, $VANE_RESOLVER.
BUILD = Path(os.environ.get("VANE_BUILD", str(REPO / "build"))).resolve()
VANED = os.environ.get("VANED", str(BUILD / "vaned"))
# The release build, for what a sanitizer build would distort (memory).
RELEASE_BUILD = Path(os.environ.get("VANE_RELEASE_BUILD", str(REPO / "build"))).resolve()
VANECTL = os.environ.get("VANECTL", str(BUILD / "vanectl"))
KNOTD = "/usr/sbin/knotd"
NSD = "/usr/sbin/nsd"

# (zone name, file name in zones/) served by every server in the suite.
ZONES = [
    ("example.com", "example.com.zone"),
    ("sub2.example.com", "sub2.example.com.zone"),
    ("example.org", "example.org.zone"),
]

# Response rate limiting is on by default (rrl: rate 200/s per /24); the
# tests send bursts from loopback, so their servers exempt it unless a test
# is about RRL itself (test_rrl.py passes rrl="").
RRL_EXEMPT_LOOPBACK = 'rrl:\n  exempt: [ 127.0.0.0/8, "::1" ]\n'

START_DEADLINE = float(os.environ.get("VANE_TEST_START_DEADLINE", "60"))
STOP_DEADLINE = 30.0

SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer",
                     "runtime error:", "WARNING: ThreadSanitizer",
                     "ERROR: UndefinedBehaviorSanitizer")

# Every server started during the current test, so a failing test can show
# their stderr (see pytest_runtest_makereport).
_LIVE = []


# --------------------------------------------------------------------------
# Ports and raw DNS I/O

_used_ports = set()


def _bindable(family, addr, port):
    socks = [socket.socket(family, socket.SOCK_DGRAM),
             socket.socket(family, socket.SOCK_STREAM)]
    try:
        for s in socks:
            s.bind((addr, port))
        return True
    except OSError:
        return False
    finally:
        for s in socks:
            s.close()


def _have_ipv6():
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


HAVE_IPV6 = _have_ipv6()


def free_port():
    """A port free for both UDP and TCP on 127.0.0.1."""
    rnd = random.Random(os.getpid() ^ int(time.time() * 1000))
    for _ in range(1000):
        port = rnd.randint(20000, 60000)
        if port in _used_ports:
            continue
        if _bindable(socket.AF_INET, "127.0.0.1", port) and \
                (not HAVE_IPV6 or _bindable(socket.AF_INET6, "::1", port)):
            _used_ports.add(port)
            return port
    raise RuntimeError("no free port found")


def udp_exchange(port, wire, timeout=2.0, addr="127.0.0.1"):
    """Send raw bytes over UDP; return the response bytes or None on timeout."""
    fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_DGRAM)
    try:
        s.settimeout(timeout)
        s.sendto(wire, (addr, port))
        try:
            data, _ = s.recvfrom(65535)
        except socket.timeout:
            return None
        return data
    finally:
        s.close()


def recv_exact(sock, n, deadline):
    buf = b""
    while len(buf) < n:
        left = deadline - time.monotonic()
        if left <= 0:
            raise socket.timeout("deadline")
        sock.settimeout(left)
        chunk = sock.recv(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return buf


def tcp_read_msg(sock, deadline):
    """Read one length-prefixed message; None on EOF."""
    hdr = recv_exact(sock, 2, deadline)
    if hdr is None:
        return None
    (ln,) = struct.unpack("!H", hdr)
    return recv_exact(sock, ln, deadline)


def tcp_connect(port, timeout=5.0, addr="127.0.0.1"):
    s = socket.create_connection((addr, port), timeout=timeout)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def tcp_exchange(port, wire, timeout=3.0, addr="127.0.0.1"):
    """Send one message over a new TCP connection; response bytes or None."""
    deadline = time.monotonic() + timeout
    s = tcp_connect(port, timeout, addr)
    try:
        s.sendall(struct.pack("!H", len(wire)) + wire)
        try:
            return tcp_read_msg(s, deadline)
        except (socket.timeout, ConnectionResetError):
            return None
    finally:
        s.close()


def make_query(qname, qtype="A", rdclass="IN", edns=None, payload=1232,
               do=False, qid=None, rd=False):
    """dnspython query message; edns=None means no OPT record."""
    if edns is None:
        q = dns.message.make_query(qname, qtype, rdclass, use_edns=False)
    else:
        q = dns.message.make_query(qname, qtype, rdclass, use_edns=edns,
                                   payload=payload, want_dnssec=do)
    if not rd:
        q.flags &= ~dns.flags.RD
    if qid is not None:
        q.id = qid
    return q


def exchange(port, msg, tcp=False, timeout=3.0, addr="127.0.0.1"):
    """Send a dnspython message, return the parsed response (or None)."""
    wire = msg.to_wire()
    data = tcp_exchange(port, wire, timeout, addr) if tcp else \
        udp_exchange(port, wire, timeout, addr)
    if data is None:
        return None
    return parse_response(data)


def parse_response(data):
    try:
        return dns.message.from_wire(data, ignore_trailing=True)
    except dns.message.Truncated as e:
        # TC set and the message is cut mid-section: keep what parsed.
        return e.message()


# --------------------------------------------------------------------------
# Server processes

def _wait_ready(server, deadline_s=START_DEADLINE):
    """Poll with an SOA query over UDP and TCP until both answer."""
    probe = make_query(server.probe_zone, "SOA").to_wire()
    deadline = time.monotonic() + deadline_s
    udp_ok = tcp_ok = False
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            raise RuntimeError("%s exited early with %s:\n%s" % (
                server.name, server.proc.returncode, server.stderr_text()))
        if not udp_ok:
            udp_ok = udp_exchange(server.port, probe, timeout=0.2) is not None
        if udp_ok and not tcp_ok:
            try:
                tcp_ok = tcp_exchange(server.port, probe, timeout=0.5) is not None
            except OSError:
                tcp_ok = False
        if udp_ok and tcp_ok:
            return
        time.sleep(0.05)
    raise RuntimeError("%s did not answer within %ss:\n%s" % (
        server.name, deadline_s, server.stderr_text()))


class Server:
    name = "server"

    def __init__(self, workdir, zones=None):
        self.dir = Path(workdir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.zones = list(zones if zones is not None else ZONES)
        self.probe_zone = self.zones[0][0]
        self.proc = None
        self.stderr_path = self.dir / (self.name + ".stderr")
        self.zone_dir = self.dir / "zones"
        self.zone_dir.mkdir(exist_ok=True)
        for _, fname in self.zones:
            dst = self.zone_dir / fname
            if not dst.exists():
                shutil.copy(ZONES_DIR / fname, dst)

    def zone_path(self, fname):
        return self.zone_dir / fname

    def stderr_text(self):
        try:
            return self.stderr_path.read_text(errors="replace")
        except OSError:
            return ""

    def _spawn(self, argv, wait=True):
        self._stderr_f = open(self.stderr_path, "ab")
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                                     stdout=self._stderr_f,
                                     stderr=self._stderr_f, cwd=str(self.dir))
        _LIVE.append(self)
        if wait:
            try:
                _wait_ready(self)
            except Exception:
                self.kill()
                raise

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._close()

    def _close(self):
        if self in _LIVE:
            _LIVE.remove(self)
        f = getattr(self, "_stderr_f", None)
        if f:
            f.close()
            self._stderr_f = None

    def wait_exit(self, timeout=STOP_DEADLINE):
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            self._close()
            raise AssertionError("%s did not exit within %ss:\n%s" % (
                self.name, timeout, self.stderr_text()))
        self._close()
        return rc

    def stop(self):
        """SIGTERM and wait; returns the exit code."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.wait_exit()


class Vaned(Server):
    name = "vaned"

    def __init__(self, workdir, zones=None, udp_workers=2, tcp_max_clients=100,
                 tcp_idle_timeout="2s", extra_server="", ipv6=False,
                 start=True, rrl=RRL_EXEMPT_LOOPBACK):
        super().__init__(workdir, zones)
        self.listen = ["127.0.0.1@%d" % self.port]
        if ipv6:
            self.listen.append("::1@%d" % self.port)
        self.udp_workers = udp_workers
        self.tcp_max_clients = tcp_max_clients
        self.tcp_idle_timeout = tcp_idle_timeout
        self.extra_server = extra_server
        self.rrl = rrl
        self.conf_path = self.dir / "vaned.yaml"
        self.socket_path = self.dir / "run" / "vaned.sock"
        self.write_conf()
        if start:
            self.start()

    def conf_text(self):
        lines = [
            "server:",
            "  listen: [ %s ]" % ", ".join('"%s"' % a for a in self.listen),
            "  udp-workers: %d" % self.udp_workers,
            "  tcp-max-clients: %d" % self.tcp_max_clients,
            "  tcp-idle-timeout: %s" % self.tcp_idle_timeout,
            "  control: run/vaned.sock",
        ]
        if self.extra_server:
            lines.append(self.extra_server.rstrip("\n"))
        # Subclasses that set their fields without __init__ get the default.
        rrl = getattr(self, "rrl", RRL_EXEMPT_LOOPBACK)
        if rrl:
            lines.append(rrl.rstrip("\n"))
        lines.append("zones:")
        for name, fname in self.zones:
            lines.append("  - name: %s" % name)
            lines.append("    file: zones/%s" % fname)
        return "\n".join(lines) + "\n"

    def write_conf(self):
        self.conf_path.write_text(self.conf_text())

    def start(self):
        self._spawn([VANED, "-c", str(self.conf_path)])

    def sanitizer_report(self):
        text = self.stderr_text()
        for m in SANITIZER_MARKERS:
            if m in text:
                return text
        return None

    def stop_and_check(self):
        rc = self.stop()
        assert rc == 0, "vaned exited with %s:\n%s" % (rc, self.stderr_text())
        rep = self.sanitizer_report()
        assert rep is None, "sanitizer report in vaned stderr:\n" + rep

    def ctl(self, *args, json_out=False, timeout=30):
        argv = [VANECTL, "-s", str(self.socket_path)]
        if json_out:
            argv.append("--json")
        argv += list(args)
        return subprocess.run(argv, capture_output=True, text=True,
                              timeout=timeout)


class Knotd(Server):
    name = "knotd"

    def __init__(self, workdir, zones=None, start=True):
        super().__init__(workdir, zones)
        self.conf_path = self.dir / "knot.conf"
        (self.dir / "run").mkdir(exist_ok=True)
        (self.dir / "storage").mkdir(exist_ok=True)
        zl = []
        for name, fname in self.zones:
            zl.append("  - domain: %s\n    file: %s\n" % (
                name, self.zone_path(fname)))
        self.conf_path.write_text(
            "server:\n"
            "  rundir: %(d)s/run\n"
            "  listen: 127.0.0.1@%(port)d\n"
            "  udp-workers: 1\n"
            "  tcp-workers: 1\n"
            "  background-workers: 1\n"
            "  identity: \"\"\n"
            "  version: \"\"\n"
            "  tcp-idle-timeout: 2\n"
            "database:\n"
            "  storage: %(d)s/storage\n"
            "control:\n"
            "  listen: %(d)s/run/knot.sock\n"
            "log:\n"
            "  - target: stderr\n"
            "    any: info\n"
            "template:\n"
            "  - id: default\n"
            "    storage: %(d)s/storage\n"
            "    zonefile-sync: -1\n"
            "    zonefile-load: whole\n"
            "    journal-content: none\n"
            "    semantic-checks: off\n"
            "zone:\n%(zones)s" % {"d": self.dir, "port": self.port,
                                   "zones": "".join(zl)})
        if start:
            self._spawn([KNOTD, "-c", str(self.conf_path)])


class Nsd(Server):
    name = "nsd"

    def __init__(self, workdir, zones=None, start=True):
        super().__init__(workdir, zones)
        self.conf_path = self.dir / "nsd.conf"
        zl = []
        for name, fname in self.zones:
            zl.append("zone:\n  name: %s\n  zonefile: %s\n" % (
                name, self.zone_path(fname)))
        self.conf_path.write_text(
            "server:\n"
            "  ip-address: 127.0.0.1@%(port)d\n"
            "  port: %(port)d\n"
            "  do-ip6: no\n"
            "  server-count: 1\n"
            "  username: \"\"\n"
            "  chroot: \"\"\n"
            "  pidfile: %(d)s/nsd.pid\n"
            "  zonesdir: %(d)s\n"
            "  database: \"\"\n"
            "  xfrdfile: %(d)s/xfrd.state\n"
            "  xfrdir: %(d)s\n"
            "  zonelistfile: %(d)s/zone.list\n"
            "  hide-version: yes\n"
            "  hide-identity: yes\n"
            "  minimal-responses: yes\n"
            "  rrl-ratelimit: 0\n"
            "  rrl-whitelist-ratelimit: 0\n"
            "  verbosity: 1\n"
            "  tcp-timeout: 2\n"
            "remote-control:\n"
            "  control-enable: no\n"
            "%(zones)s" % {"d": self.dir, "port": self.port,
                           "zones": "".join(zl)})
        if start:
            self._spawn([NSD, "-d", "-c", str(self.conf_path)])


# --------------------------------------------------------------------------
# Fixtures

@pytest.fixture
def vaned_factory(tmp_path):
    """Start vaned instances; each is stopped at teardown and must exit 0
    without sanitizer reports."""
    started = []

    def make(name="vaned", **kw):
        v = Vaned(tmp_path / name, **kw)
        started.append(v)
        return v

    yield make
    finish_started(started, exited="crash")


def finish_started(started, exited):
    """Teardown shared by the vaned factories: stop every instance still
    running (each must exit 0 without sanitizer reports).  For one a test
    already stopped, `exited` says what fails: "crash" (a crash signal or
    a sanitizer report), "nonzero" (any status but 0 too), or "ignore"."""
    errors = []
    for v in started:
        if v.proc is None:
            continue
        if v.proc.poll() is not None:
            if exited == "ignore":
                continue
            v._close()
            rc = v.proc.returncode
            rep = v.sanitizer_report()
            if rep:
                errors.append("sanitizer report:\n" + rep)
            elif exited == "nonzero" and rc != 0:
                # Tests that stop vaned check for 0 themselves: anything
                # else here is a crash (e.g. SIGSEGV, rc -11).
                errors.append("vaned died with rc %s:\n%s" % (
                    rc, v.stderr_text()[-5000:]))
            elif rc in (-4, -6, -7, -8, -11):
                # A test may stop or SIGKILL vaned on purpose; a crash
                # signal is never on purpose.
                errors.append("vaned died with signal %d" % -rc)
            continue
        try:
            v.stop_and_check()
        except AssertionError as e:
            errors.append(str(e))
    if errors:
        pytest.fail("\n".join(errors))


def wait_until(cond, what, timeout=10.0, step=0.02):
    """Poll cond() until it returns something truthy; fail after timeout."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = cond()
        if last:
            return last
        time.sleep(step)
    pytest.fail("timed out after %.1fs waiting for %s (last: %r)" % (
        timeout, what, last))


@pytest.fixture
def vaned(vaned_factory):
    return vaned_factory()


@pytest.fixture(scope="session")
def knotd(tmp_path_factory):
    k = Knotd(tmp_path_factory.mktemp("knotd"))
    yield k
    k.stop()


@pytest.fixture(scope="session")
def nsd(tmp_path_factory):
    n = Nsd(tmp_path_factory.mktemp("nsd"))
    yield n
    n.stop()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if rep.failed:
        for srv in list(_LIVE):
            if not isinstance(srv, Vaned):
                continue
            text = srv.stderr_text()
            if text:
                rep.sections.append(("%s stderr (%s)" % (srv.name, srv.dir),
                                     text[-20000:]))
