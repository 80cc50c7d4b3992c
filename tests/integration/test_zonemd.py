# SPDX-License-Identifier: GPL-3.0-or-later
"""ZONEMD (RFC 8976): `zonemd: true` makes vaned put a SIMPLE/SHA-384
digest at the apex at each load.  The digest is checked by another
implementation (dnspython's verify_digest over an AXFR from vaned) and by a
Knot secondary with zonemd-verify on; zone-status shows it, and a reload
with changed data moves it."""

import json
import re
from pathlib import Path

import dns.query
import dns.rdatatype
import dns.zone

from conftest import Vaned, exchange, free_port, make_query, wait_until
from test_xfr import KNOTD, KnotSecondary, SECRET, keyring, started  # noqa: F401

ZONE = "xfr.test"


def zone_text(serial, www):
    lines = ["$ORIGIN %s." % ZONE, "$TTL 300",
             "@ 3600 IN SOA ns1 hostmaster %d 3600 600 86400 300" % serial,
             "@ NS ns1", "ns1 A 192.0.2.53", "www A %s" % www,
             "Mail MX 10 WWW", "txt TXT \"hello\"", "sub NS ns.sub", "ns.sub A 192.0.2.9",
             "* TXT \"wildcard\""]
    lines += ["h%d A 10.0.%d.%d" % (i, i >> 8, i & 255) for i in range(500)]
    return "\n".join(lines) + "\n"


class ZonemdVaned(Vaned):
    def __init__(self, workdir, notify="", **kw):
        d = Path(workdir)
        (d / "zones").mkdir(parents=True, exist_ok=True)
        (d / "zones" / "xfr.test.zone").write_text(zone_text(1, "192.0.2.80"))
        self.notify = notify
        super().__init__(workdir, zones=[(ZONE, "xfr.test.zone")], **kw)

    def conf_text(self):
        text = super().conf_text()
        text += "    zonemd: true\n    export: none\n"
        text += "    allow-transfer: [ { address: 127.0.0.0/8, key: xfr-key } ]\n"
        if self.notify:
            text += "    notify: [ \"%s\" ]\n" % self.notify
        text += ("keys:\n  - id: xfr-key\n    algorithm: hmac-sha256\n"
                 "    secret: \"%s\"\n" % SECRET)
        return text

    def zonemd(self):
        r = self.ctl("zone-status", json_out=True)
        assert r.returncode == 0, r.stderr
        return json.loads(r.stdout)["zones"][0]["zonemd"]


def served_zonemd(port):
    r = exchange(port, make_query(ZONE, "ZONEMD"))
    rrs = [rd for rr in r.answer if rr.rdtype == dns.rdatatype.ZONEMD for rd in rr]
    assert len(rrs) == 1, r
    return rrs[0]


def axfr_zone(port):
    return dns.zone.from_xfr(dns.query.xfr("127.0.0.1", ZONE + ".", port=port, keyring=keyring(),
                                           keyname="xfr-key.", keyalgorithm="hmac-sha256", relativize=False,
                                           timeout=10), relativize=False)


def test_zonemd_digest_verified_elsewhere(tmp_path, started):
    kport = free_port()
    v = ZonemdVaned(tmp_path / "vaned", notify="127.0.0.1@%d" % kport)
    started.append(v)
    md = served_zonemd(v.port)
    assert (md.serial, md.scheme, md.hash_algorithm) == (1, 1, 1)
    # zone-status shows what is served.
    st = v.zonemd()
    assert st == {"scheme": 1, "hash": 1, "digest": md.digest.hex()}
    r = v.ctl("zone-status")
    assert "zonemd scheme 1 hash 1 %s" % md.digest.hex() in r.stdout, r.stdout
    # Another implementation agrees with the digest over what vaned transfers.
    axfr_zone(v.port).verify_digest()
    assert re.search(r"ZONEMD SIMPLE SHA-384 computed in \d+ ms", v.stderr_text())

    # Knot refuses a zone whose ZONEMD does not verify (zonemd-verify: on).
    k = KnotSecondary(tmp_path / "knot", v.port, port=kport, start=False)
    conf = k.conf_path.read_text()
    conf = conf.replace("    semantic-checks: off\n", "    semantic-checks: off\n"
                        "    zonemd-verify: on\n", 1)
    assert "zonemd-verify: on" in conf
    k.conf_path.write_text(conf.replace("domain: xfr.test", "domain: %s" % ZONE))
    k.start()
    wait_until(lambda: served_serial(k.port) == 1, "knot verified and serves serial 1",
               timeout=15)

    # A change of data moves the digest; the new one verifies too.
    v.zone_path("xfr.test.zone").write_text(zone_text(2, "192.0.2.81"))
    r = v.ctl("reload")
    assert r.returncode == 0, r.stdout + r.stderr
    md2 = served_zonemd(v.port)
    assert md2.serial == 2 and md2.digest != md.digest
    axfr_zone(v.port).verify_digest()
    wait_until(lambda: served_serial(k.port) == 2, "knot verified and serves serial 2",
               timeout=15)
    assert "ZONEMD" not in "".join(l for l in k.stderr_text().splitlines()
                                   if "error" in l.lower() or "fail" in l.lower())


def served_serial(port):
    r = exchange(port, make_query(ZONE, "SOA"), timeout=0.5)
    if r is None:
        return None
    for rr in r.answer:
        if rr.rdtype == dns.rdatatype.SOA:
            return rr[0].serial
    return None


class WrongZonemdVaned(ZonemdVaned):
    """The control: zonemd off, and the zone file carries a ZONEMD whose
    digest is wrong; vaned serves it as written."""

    def conf_text(self):
        return super().conf_text().replace("    zonemd: true\n", "")


def test_wrong_zonemd_is_refused_by_the_checkers(tmp_path, started):
    kport = free_port()
    d = tmp_path / "vaned" / "zones"
    d.mkdir(parents=True)
    v = WrongZonemdVaned(tmp_path / "vaned", notify="127.0.0.1@%d" % kport, start=False)
    v.zone_path("xfr.test.zone").write_text(
        zone_text(1, "192.0.2.80") + "@ 3600 IN ZONEMD 1 1 1 " + "ab" * 48 + "\n")
    v.start()
    started.append(v)
    assert v.zonemd() == {"scheme": 1, "hash": 1, "digest": "ab" * 48}
    try:
        axfr_zone(v.port).verify_digest()
        raise AssertionError("dnspython accepted a wrong digest")
    except dns.zone.DigestVerificationFailure:
        pass
    k = KnotSecondary(tmp_path / "knot", v.port, port=kport, start=False)
    conf = k.conf_path.read_text().replace("    semantic-checks: off\n",
                                           "    semantic-checks: off\n"
                                           "    zonemd-verify: on\n", 1)
    k.conf_path.write_text(conf)
    k._spawn([KNOTD, "-c", str(k.conf_path)], wait=False)  # it never gets the zone
    wait_until(lambda: re.search(r"ZONEMD.*(fail|invalid|mismatch)", k.stderr_text(), re.I),
               "knot reporting the wrong ZONEMD", timeout=15)
    assert served_serial(k.port) is None


def test_turning_zonemd_on_reloads_an_unchanged_file(tmp_path, started):
    v = WrongZonemdVaned(tmp_path / "vaned")   # zonemd off, a plain zone file
    started.append(v)
    r = exchange(v.port, make_query(ZONE, "ZONEMD"))
    assert not r.answer and v.zonemd() is None
    v.conf_text = lambda: ZonemdVaned.conf_text(v)
    v.write_conf()
    r = v.ctl("reload")
    assert r.returncode == 0, r.stdout + r.stderr
    md = served_zonemd(v.port)
    assert v.zonemd()["digest"] == md.digest.hex()
    axfr_zone(v.port).verify_digest()
