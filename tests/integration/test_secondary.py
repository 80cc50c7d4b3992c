# SPDX-License-Identifier: GPL-3.0-or-later
"""vaned as a secondary of a real Knot primary (Debian's knotd on
loopback): the first AXFR, a change that reaches vaned by NOTIFY and IXFR
within seconds, steering on a name of the transferred zone, NOTIFY from a
stranger or with a wrong key refused, a restart that serves the saved copy
with Knot stopped, and expiry (SERVFAIL and an event).  A second vaned
with the wrong TSIG secret is refused by Knot.  Every wait polls."""

import base64
import json
import re
import time
import urllib.request
from pathlib import Path

import pytest

import dns.message
import dns.name
import dns.opcode
import dns.query
import dns.rcode
import dns.rdatatype
import dns.tsig

from conftest import KNOTD, Server, Vaned, exchange, free_port, make_query, wait_until

ZONE = "sec.test"
SECRET = base64.b64encode(b"vane-secondary-integration-key-1").decode()
WRONG = base64.b64encode(b"not-the-secret-of-the-primary-22").decode()

pytestmark = pytest.mark.skipif(not Path(KNOTD).exists(), reason="knotd not installed")


def zone_text(serial, www, refresh=3600, retry=600, expire=86400):
    return "\n".join([
        "$ORIGIN %s." % ZONE,
        "$TTL 300",
        "@ 3600 IN SOA ns1 hostmaster %d %d %d %d 300" % (serial, refresh, retry, expire),
        "@ NS ns1",
        "ns1 A 192.0.2.53",
        "www A %s" % www,
        "mail MX 10 www",
        "txt TXT \"hello world\"",
        "srv._tcp SRV 0 5 443 www",
        "api A 192.0.2.99",
    ] + ["h%d A 10.0.0.%d" % (i, i) for i in range(1, 40)]) + "\n"


class KnotPrimary(Server):
    """knotd serving ZONE from a file; each change of the file is loaded as
    a difference (journal) so it can send IXFR; NOTIFY to `notify_port`."""
    name = "knotd"

    def __init__(self, workdir, notify_port, port=None, journal=True):
        d = Path(workdir)
        (d / "zones").mkdir(parents=True, exist_ok=True)
        (d / "zones" / "sec.test.zone").write_text(zone_text(1, "192.0.2.80"))
        super().__init__(workdir, zones=[(ZONE, "sec.test.zone")])
        if port:
            self.port = port
        (self.dir / "run").mkdir(exist_ok=True)
        (self.dir / "storage").mkdir(exist_ok=True)
        self.conf_path = self.dir / "knot.conf"
        self.conf_path.write_text(
            "server:\n  rundir: %(d)s/run\n  listen: 127.0.0.1@%(port)d\n"
            "  udp-workers: 1\n  tcp-workers: 1\n  background-workers: 1\n"
            "database:\n  storage: %(d)s/storage\n"
            "control:\n  listen: %(d)s/run/knot.sock\n"
            "log:\n  - target: stderr\n    any: info\n"
            "key:\n  - id: xfr-key\n    algorithm: hmac-sha256\n    secret: %(secret)s\n"
            "remote:\n  - id: vaned\n    address: 127.0.0.1@%(nport)d\n    key: xfr-key\n"
            "acl:\n  - id: xfr\n    address: 127.0.0.1\n    key: xfr-key\n"
            "    action: transfer\n"
            "template:\n  - id: default\n    storage: %(d)s/storage\n"
            "    zonefile-sync: -1\n    zonefile-load: %(load)s\n"
            "    journal-content: %(journal)s\n    semantic-checks: off\n"
            "zone:\n  - domain: %(zone)s\n    file: %(zf)s\n    notify: vaned\n"
            "    acl: xfr\n"
            % {"d": self.dir, "port": self.port, "nport": notify_port, "secret": SECRET,
               "zone": ZONE, "zf": self.zone_path("sec.test.zone"),
               "load": "difference" if journal else "whole",
               "journal": "changes" if journal else "none"})
        self._spawn([KNOTD, "-c", str(self.conf_path)])

    def change(self, serial, www, **soa):
        self.zone_path("sec.test.zone").write_text(zone_text(serial, www, **soa))
        import subprocess
        r = subprocess.run(["/usr/sbin/knotc", "-s", str(self.dir / "run" / "knot.sock"),
                            "zone-reload", ZONE], capture_output=True, text=True, timeout=10)
        assert r.returncode == 0, r.stdout + r.stderr


class SecondaryVaned(Vaned):
    """vaned with ZONE as a secondary of `primary_port`, a steered name in
    it, and the key `secret`."""

    def __init__(self, workdir, primary_port, secret=SECRET, **kw):
        self.primary_port = primary_port
        self.secret = secret
        self.http_port = free_port()
        d = Path(workdir) / "zones"
        d.mkdir(parents=True, exist_ok=True)
        (d / "unused.zone").write_text("")   # the base class copies nothing then
        super().__init__(workdir, zones=[(ZONE, "unused.zone")], **kw)

    def conf_text(self):
        text = super().conf_text()
        text = text.replace("    file: zones/unused.zone\n",
                            "    primary: [ \"127.0.0.1@%d\" ]\n    key: xfr-key\n"
                            % self.primary_port)
        text += ("keys:\n  - id: xfr-key\n    algorithm: hmac-sha256\n"
                 "    secret: \"%s\"\n" % self.secret)
        text += ("services:\n  - name: api.%s\n    endpoints:\n"
                 "      - id: a\n        address: [ 198.51.100.1 ]\n" % ZONE)
        text += "http:\n  listen: \"127.0.0.1@%d\"\n" % self.http_port
        return text

    def http(self, path):
        with urllib.request.urlopen("http://127.0.0.1:%d%s" % (self.http_port, path),
                                    timeout=5) as r:
            return r.read().decode()

    def status(self):
        r = self.ctl("zone-status", json_out=True)
        assert r.returncode == 0, r.stderr
        return json.loads(r.stdout)["zones"][0]


def answer(port, name, qtype="A"):
    r = exchange(port, make_query(name, qtype), timeout=0.5)
    return r


def addrs(port, name):
    r = answer(port, name)
    if r is None or r.rcode() != dns.rcode.NOERROR:
        return set()
    return {rd.address for rr in r.answer if rr.rdtype == dns.rdatatype.A for rd in rr}


def serial(port):
    r = answer(port, ZONE, "SOA")
    if r is None:
        return None
    for rr in r.answer:
        if rr.rdtype == dns.rdatatype.SOA:
            return rr[0].serial
    return None


def notify(port, secret=None, keyname="xfr-key", src="127.0.0.1"):
    q = dns.message.make_query(ZONE, "SOA")
    q.set_opcode(dns.opcode.NOTIFY)
    q.flags &= ~0x0100   # no RD in a NOTIFY
    if secret:
        q.use_tsig({dns.name.from_text(keyname): dns.tsig.Key(keyname, secret,
                                                              dns.tsig.HMAC_SHA256)},
                   keyname=keyname)
    wire = q.to_wire()
    import socket
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((src, 0))
    s.settimeout(3)
    try:
        s.sendto(wire, ("127.0.0.1", port))
        data, _ = s.recvfrom(4096)
    finally:
        s.close()
    # The answer's TSIG may be unsigned (BADSIG): read the header only.
    return data[3] & 0x0F, (data[2] >> 3) & 0x0F


def test_secondary_of_knot(tmp_path):
    # vaned first, so each daemon binds its port as soon as it is picked
    # (the machine is shared); the NOTIFY Knot sends when it loads the
    # zone starts the first transfer.
    kport = free_port()
    knot = None
    v = SecondaryVaned(tmp_path / "vaned", kport)
    try:
        knot = KnotPrimary(tmp_path / "knot", notify_port=v.port, port=kport)

        # First transfer (AXFR: nothing to start an IXFR from).
        wait_until(lambda: serial(v.port) == 1, "first transfer", timeout=15)
        assert addrs(v.port, "www.%s" % ZONE) == {"192.0.2.80"}
        # Steering works on the transferred zone: the service, not the zone's A.
        assert addrs(v.port, "api.%s" % ZONE) == {"198.51.100.1"}
        mx = answer(v.port, "mail.%s" % ZONE, "MX")
        assert mx.answer and mx.answer[0][0].exchange.to_text() == "www.%s." % ZONE
        st = v.status()
        assert st["role"] == "secondary" and st["serial"] == 1, st
        assert st["primary"] == "127.0.0.1@%d" % knot.port, st
        saved = v.dir / "state" / "secondary" / "sec.test.zone"
        assert saved.exists()
        assert st["expires_in"] > 80000 and st["last_error"] is None, st
        m = v.http("/metrics")
        assert 'vane_zone_expired{zone="sec.test."} 0' in m, m
        assert 'vane_zone_transfers_total{zone="sec.test."} 1' in m, m
        text = v.ctl("zone-status").stdout
        assert "secondary of 127.0.0.1@%d, last refresh 20" % knot.port in text, text
        assert "expires in " in text, text

        # A change at Knot: NOTIFY, then IXFR, within a few seconds (the
        # SOA refresh is an hour: only the NOTIFY explains it).
        notifies = v.stderr_text().count("NOTIFY from 127.0.0.1 accepted")
        t0 = time.monotonic()
        knot.change(2, "192.0.2.81")
        wait_until(lambda: addrs(v.port, "www.%s" % ZONE) == {"192.0.2.81"},
                   "the change by NOTIFY + IXFR", timeout=10)
        took = time.monotonic() - t0
        assert serial(v.port) == 2
        log = v.stderr_text()
        assert log.count("NOTIFY from 127.0.0.1 accepted") > notifies, log[-3000:]
        assert "IXFR from 127.0.0.1@%d: serial 2" % knot.port in log, log[-3000:]
        print("NOTIFY + IXFR reached vaned in %.2f s" % took)

        # NOTIFY from a stranger's key or without the key: refused, logged.
        rcode, opcode = notify(v.port, secret=WRONG)
        assert opcode == dns.opcode.NOTIFY and rcode == dns.rcode.NOTAUTH
        rcode, _ = notify(v.port)
        assert rcode == dns.rcode.REFUSED
        rcode, _ = notify(v.port, secret=SECRET, src="127.0.0.2")   # not a primary
        assert rcode == dns.rcode.REFUSED
        rcode, _ = notify(v.port, secret=SECRET)
        assert rcode == dns.rcode.NOERROR
        log = v.stderr_text()
        assert "NOTIFY from 127.0.0.1 refused: TSIG BADSIG" in log
        assert "NOTIFY from 127.0.0.1 refused: not signed" in log
        assert "NOTIFY from 127.0.0.2 refused: not a primary of the zone" in log

        # A short expire in the SOA, then the primary goes away.
        knot.change(3, "192.0.2.82", refresh=1, retry=1, expire=12)
        wait_until(lambda: serial(v.port) == 3, "serial 3", timeout=10)
        knot.kill()
        rc = v.stop()
        assert rc == 0, v.stderr_text()[-3000:]

        # Restart with Knot stopped: the saved copy serves at once.
        v.start()
        assert serial(v.port) == 3
        assert addrs(v.port, "www.%s" % ZONE) == {"192.0.2.82"}
        st = v.status()
        assert st["role"] == "secondary" and st["serial"] == 3, st

        # No primary for `expire` seconds: SERVFAIL, an event, zone-status.
        wait_until(lambda: (answer(v.port, "www.%s" % ZONE) or
                            dns.message.make_response(make_query(ZONE))).rcode()
                   == dns.rcode.SERVFAIL, "expiry", timeout=30)
        st = v.status()
        assert st["expired"] is True and st["last_error"], st
        assert "EXPIRED (answering SERVFAIL)" in v.ctl("zone-status").stdout
        assert "zone-expired" in v.http("/api/v1/events")
        m = v.http("/metrics")
        assert 'vane_zone_expired{zone="sec.test."} 1' in m, m
        assert 'vane_zone_refresh_failing{zone="sec.test."} 1' in m, m
        assert "vane_zone_expiry_events_total 1" in m, m
        assert re.search(r'vane_zone_refresh_failures_total\{zone="sec.test."\} [1-9]', m), m

        # The primary comes back (its NOTIFY at load, or the retry timer):
        # the serial is current, the zone serves again.
        knot.proc = None
        knot._spawn([KNOTD, "-c", str(knot.conf_path)])
        wait_until(lambda: addrs(v.port, "www.%s" % ZONE) == {"192.0.2.82"},
                   "serving again after expiry", timeout=15)
        st = v.status()
        assert st["expired"] is False and st["last_error"] is None, st
        assert "refreshed after expiry" in v.stderr_text()
        v.stop_and_check()
    finally:
        if knot:
            knot.kill()
        if v.proc and v.proc.poll() is None:
            v.kill()


def test_wrong_key_refused_by_knot(tmp_path):
    knot = KnotPrimary(tmp_path / "knot", notify_port=free_port())
    v = None
    try:
        v = SecondaryVaned(tmp_path / "vaned", knot.port, secret=WRONG)
        wait_until(lambda: (v.status().get("last_error") or ""), "a refused refresh",
                   timeout=15)
        st = v.status()
        assert "TSIG" in st["last_error"] or "NOTAUTH" in st["last_error"], st
        assert not st["serving"], st
        r = answer(v.port, "www.%s" % ZONE)
        assert r is not None and r.rcode() == dns.rcode.REFUSED
        v.stop_and_check()
    finally:
        knot.kill()
        if v and v.proc and v.proc.poll() is None:
            v.kill()


def test_ixfr_answered_with_the_whole_zone(tmp_path):
    """A primary without a journal answers the IXFR with the whole zone
    (RFC 1995 4): it replaces the serving version, names removed included."""
    kport = free_port()
    knot = None
    v = SecondaryVaned(tmp_path / "vaned", kport)
    try:
        knot = KnotPrimary(tmp_path / "knot", notify_port=v.port, port=kport, journal=False)
        wait_until(lambda: serial(v.port) == 1, "first transfer", timeout=15)
        assert addrs(v.port, "h39.%s" % ZONE) == {"10.0.0.39"}
        text = zone_text(2, "192.0.2.90").replace("h39 A 10.0.0.39\n", "")
        knot.zone_path("sec.test.zone").write_text(text)
        import subprocess
        subprocess.run(["/usr/sbin/knotc", "-s", str(knot.dir / "run" / "knot.sock"),
                        "zone-reload", ZONE], check=True, capture_output=True, timeout=10)
        wait_until(lambda: serial(v.port) == 2, "serial 2", timeout=10)
        assert addrs(v.port, "www.%s" % ZONE) == {"192.0.2.90"}
        r = answer(v.port, "h39.%s" % ZONE)
        assert r.rcode() == dns.rcode.NXDOMAIN
        assert addrs(v.port, "h38.%s" % ZONE) == {"10.0.0.38"}
        log = v.stderr_text()
        assert "AXFR from 127.0.0.1@%d: serial 2" % knot.port in log, log[-3000:]
        v.stop_and_check()
    finally:
        if knot:
            knot.kill()
        if v.proc and v.proc.poll() is None:
            v.kill()
