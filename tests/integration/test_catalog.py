# SPDX-License-Identifier: GPL-3.0-or-later
"""Catalog zones, producer side (RFC 9432): vaned generates catalog.vane.
from the zones that name it, and a real Knot secondary that interprets
catalogs (catalog-role: interpret, a template for members) provisions the
members by itself: a zone added to vaned's config reaches Knot after
`vanectl reload`, with Knot's own configuration untouched, and a zone
removed from the catalog stops being served by Knot."""

import hashlib
import time
from pathlib import Path

import dns.rcode
import dns.rdatatype

from conftest import Server, Vaned, exchange, free_port, make_query, wait_until
from test_xfr import KNOTD, SECRET, started  # noqa: F401

CATALOG = "catalog.vane"


def member_zone(name, serial=1, www="192.0.2.80"):
    return ("$ORIGIN %s.\n$TTL 300\n@ 3600 IN SOA ns1 hostmaster %d 3600 600 86400 300\n"
            "@ NS ns1\nns1 A 192.0.2.53\nwww A %s\n" % (name, serial, www))


class CatalogVaned(Vaned):
    """vaned with a generated catalog and member zones, each transferable
    by 127.0.0.0/8 with xfr-key; the catalog notifies the secondary."""

    def __init__(self, workdir, members, notify, **kw):
        d = Path(workdir)
        (d / "zones").mkdir(parents=True, exist_ok=True)
        self.members = list(members)
        self.notify = notify
        for m in self.members:
            (d / "zones" / (m + ".zone")).write_text(member_zone(m))
        super().__init__(workdir, zones=[(m, m + ".zone") for m in self.members], **kw)

    def conf_text(self):
        text = super().conf_text().split("zones:\n")[0]
        acl = "    allow-transfer: [ { address: 127.0.0.0/8, key: xfr-key } ]\n"
        text += "zones:\n  - name: %s\n    catalog-role: generate\n" % CATALOG
        text += "    notify: [ \"%s\" ]\n" % self.notify + acl
        for m in self.members:
            text += "  - name: %s\n    file: zones/%s.zone\n    catalog-zone: %s\n" % (
                m, m, CATALOG) + acl
        text += ("keys:\n  - id: xfr-key\n    algorithm: hmac-sha256\n"
                 "    secret: \"%s\"\n" % SECRET)
        return text

    def set_members(self, members):
        self.members = list(members)
        for m in self.members:
            p = self.zone_path(m + ".zone")
            if not p.exists():
                p.write_text(member_zone(m))
        self.zones = [(m, m + ".zone") for m in self.members]
        self.write_conf()
        r = self.ctl("reload")
        assert r.returncode == 0, r.stdout + r.stderr


class KnotCatalogConsumer(Server):
    """knotd whose only zone is the catalog; members come from it."""
    name = "knotd"

    def __init__(self, workdir, primary_port, port):
        d = Path(workdir)
        (d / "zones").mkdir(parents=True, exist_ok=True)
        (d / "zones" / "unused.zone").write_text("")
        super().__init__(workdir, zones=[(CATALOG, "unused.zone")])
        self.port = port
        (self.dir / "run").mkdir(exist_ok=True)
        (self.dir / "storage").mkdir(exist_ok=True)
        self.conf_path = self.dir / "knot.conf"
        common = ("    storage: %(d)s/storage\n    zonefile-sync: -1\n"
                  "    zonefile-load: none\n    journal-content: changes\n"
                  "    master: primary\n    acl: notify\n")
        self.conf_path.write_text((
            "server:\n  rundir: %(d)s/run\n  listen: 127.0.0.1@%(port)d\n"
            "  udp-workers: 1\n  tcp-workers: 1\n  background-workers: 1\n"
            "database:\n  storage: %(d)s/storage\n"
            "control:\n  listen: %(d)s/run/knot.sock\n"
            "log:\n  - target: stderr\n    any: info\n"
            "key:\n  - id: xfr-key\n    algorithm: hmac-sha256\n    secret: %(secret)s\n"
            "remote:\n  - id: primary\n    address: 127.0.0.1@%(pport)d\n    key: xfr-key\n"
            "acl:\n  - id: notify\n    address: 127.0.0.1\n    key: xfr-key\n"
            "    action: notify\n"
            "template:\n  - id: default\n" + common +
            "  - id: member\n" + common +
            "zone:\n  - domain: %(cat)s\n    catalog-role: interpret\n"
            "    catalog-template: member\n")
            % {"d": self.dir, "port": self.port, "pport": primary_port, "secret": SECRET,
               "cat": CATALOG})
        self._spawn([KNOTD, "-c", str(self.conf_path)], wait=False)
        wait_until(lambda: exchange(self.port, make_query(CATALOG, "SOA"), timeout=0.5),
                   "knotd answering", timeout=20)


def soa_serial(port, zone):
    r = exchange(port, make_query(zone, "SOA"), timeout=0.5)
    if r is None or r.rcode() != dns.rcode.NOERROR:
        return None
    for rr in r.answer:
        if rr.rdtype == dns.rdatatype.SOA:
            return rr[0].serial
    return None


def rcode(port, zone):
    r = exchange(port, make_query(zone, "SOA"), timeout=0.5)
    return None if r is None else r.rcode()


def test_knot_provisions_members_from_the_catalog(tmp_path, started):
    kport = free_port()
    v = CatalogVaned(tmp_path / "vaned", ["a.test", "b.test"], "127.0.0.1@%d" % kport)
    started.append(v)
    # vaned serves the catalog it generated: version "2", one PTR per member.
    r = exchange(v.port, make_query("version." + CATALOG, "TXT"))
    assert [rd.strings for rr in r.answer for rd in rr] == [(b"2",)]
    serial1 = soa_serial(v.port, CATALOG)
    assert serial1 and abs(serial1 - time.time()) < 3600, serial1

    k = KnotCatalogConsumer(tmp_path / "knot", v.port, kport)
    started.append(k)
    knot_conf = hashlib.sha256(k.conf_path.read_bytes()).hexdigest()
    for m in ("a.test", "b.test"):
        wait_until(lambda: soa_serial(k.port, m) == 1, "knot serving %s" % m, timeout=20)
    assert rcode(k.port, "c.test") == dns.rcode.REFUSED

    # A reload with the same members keeps the catalog's serial.
    r = v.ctl("reload")
    assert r.returncode == 0, r.stdout + r.stderr
    assert soa_serial(v.port, CATALOG) == serial1

    # A new member: the catalog's serial moves, Knot is notified, fetches
    # the catalog, and provisions c.test with no change to knot.conf.
    t0 = time.monotonic()
    v.set_members(["a.test", "b.test", "c.test"])
    serial2 = soa_serial(v.port, CATALOG)
    assert serial2 > serial1
    wait_until(lambda: soa_serial(k.port, "c.test") == 1, "knot serving c.test", timeout=20)
    print("new member served by knot %.2f s after the reload" % (time.monotonic() - t0))
    r = exchange(k.port, make_query("www.c.test", "A"))
    assert [rd.address for rr in r.answer for rd in rr] == ["192.0.2.80"]

    # A member leaves the catalog: Knot drops it (RFC 9432 5.3).
    v.set_members(["b.test", "c.test"])
    wait_until(lambda: rcode(k.port, "a.test") == dns.rcode.REFUSED, "knot dropping a.test",
               timeout=20)
    assert soa_serial(k.port, "b.test") == 1
    assert hashlib.sha256(k.conf_path.read_bytes()).hexdigest() == knot_conf
