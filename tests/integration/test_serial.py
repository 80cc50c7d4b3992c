# SPDX-License-Identifier: GPL-3.0-or-later
"""A reload whose zone serial went back (RFC 1982 section 3.2) keeps the
serving version and says why in the reload reply and zone-status, unless
`vanectl reload --force`.  A serial that wrapped past 2^32 is higher, not
lower."""

import json

import dns.rcode

from conftest import ZONES_DIR, exchange, make_query


def zone_text(serial, tag):
    base = (ZONES_DIR / "example.com.zone").read_text()
    return base.replace("2024010101", str(serial), 1) + '%s TXT "%s"\n' % (tag, tag)


def serving(v):
    r = exchange(v.port, make_query("example.com", "SOA"))
    return r.answer[0][0].serial


def has(v, tag):
    r = exchange(v.port, make_query("%s.example.com" % tag, "TXT"))
    return r.rcode() == dns.rcode.NOERROR and bool(r.answer)


def zone_row(v):
    # zone-status exits non-zero while a zone's last load failed.
    p = v.ctl("zone-status", "example.com", json_out=True)
    out = json.loads(p.stdout)
    return [z for z in out["zones"] if z["name"].startswith("example.com")][0]


def test_lower_serial_keeps_old_version_unless_forced(vaned_factory):
    v = vaned_factory(start=False)
    path = v.zone_path("example.com.zone")
    path.write_text(zone_text(2024060101, "first"))
    v.start()
    assert serving(v) == 2024060101

    path.write_text(zone_text(2024010101, "older"))
    p = v.ctl("reload", json_out=True)
    assert p.returncode != 0
    reply = json.loads(p.stdout or p.stderr)
    assert "lower than the serving serial 2024060101" in json.dumps(reply)
    assert serving(v) == 2024060101 and has(v, "first") and not has(v, "older")
    row = zone_row(v)
    assert row["serial"] == 2024060101 and "RFC 1982" in (row["error"] or "")

    # The same file again: still refused (the file is read again, not
    # taken as unchanged).
    p = v.ctl("reload")
    assert p.returncode != 0 and "lower" in p.stdout + p.stderr
    assert serving(v) == 2024060101

    p = v.ctl("reload", "--force")
    assert p.returncode == 0, p.stdout + p.stderr
    assert serving(v) == 2024010101 and has(v, "older")
    assert not zone_row(v).get("error")


def test_serial_wrap_is_higher(vaned_factory):
    v = vaned_factory(start=False)
    path = v.zone_path("example.com.zone")
    path.write_text(zone_text(4294967000, "before"))
    v.start()
    path.write_text(zone_text(5, "wrapped"))   # 4294967000 + 301 mod 2^32
    p = v.ctl("reload")
    assert p.returncode == 0, p.stdout + p.stderr
    assert serving(v) == 5 and has(v, "wrapped")
