# SPDX-License-Identifier: GPL-3.0-or-later
"""vanectl and the control socket, `vaned --check`, reload (vanectl and SIGHUP),
rejection of broken zones on reload, and `vanectl stop` (issue 2, "Reload and
control"; protocol in the shared control contract)."""

import json
import os
import re
import shutil
import signal
import subprocess
import time

import pytest

import dns.rcode
import dns.rdatatype

from conftest import (HAVE_IPV6, VANECTL, VANED, ZONES, ZONES_DIR, exchange,
                      free_port, make_query)

SERIAL = 2024010101


def soa_serial(port, zone="example.com"):
    r = exchange(port, make_query(zone, "SOA"))
    assert r is not None and r.rcode() == dns.rcode.NOERROR, r
    return r.answer[0][0].serial


def ctl_json(v, *args):
    p = v.ctl(*args, json_out=True)
    try:
        obj = json.loads(p.stdout)
    except ValueError:
        pytest.fail("vanectl --json %s: not JSON (rc %d): %r / %r" % (
            " ".join(args), p.returncode, p.stdout, p.stderr))
    return p, obj


def zone_entry(obj, name="example.com."):
    for z in obj["zones"]:
        if z["name"].lower() == name:
            return z
    pytest.fail("zone %s missing in %r" % (name, obj))


def edit_zone(v, serial, extra="", replace=None):
    """Rewrite example.com's zone with a new serial (and extra lines)."""
    path = v.zone_path("example.com.zone")
    text = (ZONES_DIR / "example.com.zone").read_text()
    text = text.replace(str(SERIAL), str(serial), 1)
    if replace:
        text = text.replace(*replace)
    path.write_text(text + extra)
    # Keep mtime-based change detection from depending on timestamp
    # granularity: the file is visibly newer than the loaded one.
    st = os.stat(path)
    os.utime(path, (st.st_atime, st.st_mtime + 2))
    return path


def wait_for(cond, what, timeout=30.0):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = cond()
        if last:
            return last
        time.sleep(0.05)
    pytest.fail("timed out waiting for %s (last: %r)" % (what, last))


# ---------------------------------------------------------------------------
# status, zone-status, stats

def test_status(vaned):
    p, obj = ctl_json(vaned, "status")
    assert p.returncode == 0, p.stderr
    assert obj["ok"] is True
    assert obj["pid"] == vaned.proc.pid
    assert obj["zones"] == len(ZONES)
    assert obj["udp_workers"] == 2
    assert "127.0.0.1@%d" % vaned.port in obj["listen"]
    assert os.path.realpath(obj["config"]) == os.path.realpath(vaned.conf_path)
    assert isinstance(obj["uptime_s"], int) and obj["uptime_s"] >= 0
    assert obj["version"]
    plain = vaned.ctl("status")
    assert plain.returncode == 0, plain.stderr
    assert str(vaned.proc.pid) in plain.stdout
    # -c CONFIG finds the socket through the config file.
    p2 = subprocess.run([VANECTL, "-c", str(vaned.conf_path), "--json", "status"],
                        capture_output=True, text=True, timeout=30)
    assert p2.returncode == 0, p2.stderr
    assert json.loads(p2.stdout)["pid"] == vaned.proc.pid


def test_zone_status(vaned):
    p, obj = ctl_json(vaned, "zone-status")
    assert p.returncode == 0 and obj["ok"] is True
    names = sorted(z["name"].lower() for z in obj["zones"])
    assert names == sorted(n + "." for n, _ in ZONES)
    z = zone_entry(obj)
    assert z["serial"] == SERIAL
    assert z["status"] == "ok"
    assert z["error"] is None
    assert z["records"] > 100
    assert os.path.realpath(z["file"]) == \
        os.path.realpath(vaned.zone_path("example.com.zone"))
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", z["loaded_at"])
    plain = vaned.ctl("zone-status")
    assert plain.returncode == 0
    assert "example.com" in plain.stdout and str(SERIAL) in plain.stdout


def test_ctl_errors(vaned, tmp_path):
    p = subprocess.run([VANECTL, "-s", str(tmp_path / "nope.sock"), "status"],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 1
    assert "error:" in p.stderr
    p = vaned.ctl("no-such-verb")
    assert p.returncode == 1
    assert "error:" in p.stderr
    for prog in (VANECTL, VANED):
        h = subprocess.run([prog, "--help"], capture_output=True, text=True,
                           timeout=30)
        assert h.returncode == 0 and (h.stdout + h.stderr).strip()


def _stats(v):
    p, obj = ctl_json(v, "stats")
    assert p.returncode == 0 and obj["ok"] is True, p.stderr
    return obj


def _delta(before, after):
    d = {"queries": after["queries"] - before["queries"]}
    for group in ("rcode", "qtype", "transport"):
        for k, n in after[group].items():
            diff = n - before[group].get(k, 0)
            if diff:
                d["%s.%s" % (group, k)] = diff
    return d


def test_stats_count_queries(vaned):
    before = _stats(vaned)
    sent = [  # (name, type, tcp, rcode)
        ("www.example.com", "A", False, "NOERROR"),
        ("www.example.com", "A", False, "NOERROR"),
        ("www.example.com", "AAAA", False, "NOERROR"),
        ("mail.example.com", "MX", False, "NOERROR"),
        ("nothere.example.com", "A", False, "NXDOMAIN"),
        ("nothere.example.com", "TXT", True, "NXDOMAIN"),
        ("www.example.com", "A", True, "NOERROR"),
        ("example.net", "A", False, "REFUSED"),
        ("generic.example.com", "TYPE65280", False, "NOERROR"),
    ]
    for name, t, tcp, rc in sent:
        r = exchange(vaned.port, make_query(name, t), tcp=tcp)
        assert r is not None and dns.rcode.to_text(r.rcode()) == rc
    want = {"queries": len(sent)}

    def add(k, n=1):
        want[k] = want.get(k, 0) + n
    for name, t, tcp, rc in sent:
        add("rcode." + rc)
        add("qtype." + t)
        add("transport." + ("tcp4" if tcp else "udp4"))

    # Counters are per thread and summed on read: wait until they catch up,
    # then they must match exactly.
    def caught_up():
        d = _delta(before, _stats(vaned))
        return d if d["queries"] >= len(sent) else None
    d = wait_for(caught_up, "stats to count %d queries" % len(sent))
    time.sleep(0.2)
    d = _delta(before, _stats(vaned))
    assert d == want
    plain = vaned.ctl("stats")
    assert plain.returncode == 0
    assert "NOERROR" in plain.stdout and "udp4" in plain.stdout


@pytest.mark.skipif(not HAVE_IPV6, reason="no IPv6 loopback on this host")
def test_ipv6_and_stats(vaned_factory):
    v = vaned_factory(ipv6=True)
    _, st = ctl_json(v, "status")
    assert "::1@%d" % v.port in st["listen"], st
    before = _stats(v)
    for tcp in (False, True):
        r = exchange(v.port, make_query("www.example.com", "AAAA"), tcp=tcp,
                     addr="::1")
        assert r is not None and r.rcode() == dns.rcode.NOERROR and r.answer
    want = {"queries": 2, "rcode.NOERROR": 2, "qtype.AAAA": 2,
            "transport.udp6": 1, "transport.tcp6": 1}
    wait_for(lambda: _delta(before, _stats(v))["queries"] >= 2, "stats")
    assert _delta(before, _stats(v)) == want


# ---------------------------------------------------------------------------
# vaned --check

def _check(conf):
    return subprocess.run([VANED, "--check", "-c", str(conf)],
                          capture_output=True, text=True, timeout=60)


def _write_check_setup(d, conf_body=None, zone_text=None):
    d.mkdir(parents=True, exist_ok=True)
    (d / "zones").mkdir(exist_ok=True)
    for _, fname in ZONES:
        shutil.copy(ZONES_DIR / fname, d / "zones" / fname)
    if zone_text is not None:
        (d / "zones" / "example.com.zone").write_text(zone_text)
    if conf_body is None:
        conf_body = good_conf()
    (d / "vaned.yaml").write_text(conf_body)
    return d / "vaned.yaml"


def good_conf(server_extra=""):
    lines = ["server:",
             '  listen: [ "127.0.0.1@%d" ]' % free_port(),
             "  udp-workers: 2",
             "  tcp-max-clients: 100",
             "  tcp-idle-timeout: 10s",
             "  control: run/vaned.sock"]
    if server_extra:
        lines.append(server_extra)
    lines.append("zones:")
    for name, fname in ZONES:
        lines += ["  - name: %s" % name, "    file: zones/%s" % fname]
    return "\n".join(lines) + "\n"


def test_check_good(tmp_path):
    p = _check(_write_check_setup(tmp_path / "good"))
    assert p.returncode == 0, p.stderr
    assert (p.stdout + p.stderr).strip(), "no summary line"


# (name, config text, line the error must name, text the message must contain)
BAD_CONFS = [
    ("unknown-key", good_conf("  bogus-key: 1"), 7, "bogus-key"),
    ("bad-int", good_conf().replace("udp-workers: 2", "udp-workers: banana"),
     3, "udp-workers"),
    ("bad-listen", good_conf().replace('"127.0.0.1@', '"127.0.0.999@'), 2,
     "listen"),
    ("bad-timeout", good_conf().replace("tcp-idle-timeout: 10s",
                                        "tcp-idle-timeout: soon"), 5,
     "tcp-idle-timeout"),
    ("unknown-top-key", good_conf() + "bogus:\n  x: 1\n", 14, "bogus"),
    ("unknown-zone-key", good_conf().replace(
        "    file: zones/example.org.zone",
        "    file: zones/example.org.zone\n    colour: blue"), 14, "colour"),
]


@pytest.mark.parametrize("name,conf,line,word", BAD_CONFS,
                         ids=[c[0] for c in BAD_CONFS])
def test_check_bad_config(tmp_path, name, conf, line, word):
    path = _write_check_setup(tmp_path / name, conf_body=conf)
    assert conf.splitlines()[line - 1].strip().startswith(word) or \
        word in conf.splitlines()[line - 1], "test table out of date"
    p = _check(path)
    assert p.returncode == 1, p.stderr
    assert re.search(r"vaned\.yaml:%d:" % line, p.stderr), p.stderr
    assert word in p.stderr, p.stderr


def _zone_with(lines_after_soa):
    """A small valid zone plus extra lines; returns (text, first extra line)."""
    head = ["$ORIGIN example.com.",
            "$TTL 3600",
            "@ IN SOA ns1.example.com. hostmaster.example.com. 1 3600 900 604800 300",
            "@ NS ns1",
            "ns1 A 192.0.2.1",
            "www A 192.0.2.2"]
    return "\n".join(head + lines_after_soa) + "\n", len(head) + 1


def _bad_zones():
    out = []
    t, n = _zone_with(["alias CNAME www", "alias A 192.0.2.3"])
    out.append(("cname-and-other", t, (n, n + 1)))
    t, n = _zone_with(["alias TXT \"x\"", "alias CNAME www"])
    out.append(("other-and-cname", t, (n, n + 1)))
    t = ("$ORIGIN example.com.\n$TTL 3600\n@ NS ns1\nns1 A 192.0.2.1\n"
         "www A 192.0.2.2\n")
    out.append(("missing-soa", t, None))
    t, n = _zone_with(["www.example.net. A 192.0.2.9"])
    out.append(("out-of-zone", t, (n,)))
    t, n = _zone_with(["child NS ns.child", "child NS ns.example.net."])
    out.append(("missing-glue", t, (n,)))
    t, n = _zone_with(["www2 A 192.0.2.300"])
    out.append(("bad-address", t, (n,)))
    t, n = _zone_with(["www3 IN BOGUSTYPE foo"])
    out.append(("syntax-error", t, (n,)))
    t, n = _zone_with(["txt TXT \"unterminated"])
    out.append(("unterminated-string", t, (n,)))
    return out


BAD_ZONES = _bad_zones()


@pytest.mark.parametrize("name,text,lines", BAD_ZONES,
                         ids=[z[0] for z in BAD_ZONES])
def test_check_bad_zone(tmp_path, name, text, lines):
    path = _write_check_setup(tmp_path / name, zone_text=text)
    p = _check(path)
    assert p.returncode == 1, "accepted a broken zone:\n" + p.stderr
    if lines is None:
        assert re.search(r"example\.com\.zone:\d+:", p.stderr), p.stderr
    else:
        pat = r"example\.com\.zone:(%s):" % "|".join(str(n) for n in lines)
        assert re.search(pat, p.stderr), \
            "expected file:line with line %s:\n%s" % (lines, p.stderr)


# ---------------------------------------------------------------------------
# reload

def test_reload_vanectl(vaned):
    assert soa_serial(vaned.port) == SERIAL
    r = exchange(vaned.port, make_query("newrec.example.com", "A"))
    assert r.rcode() == dns.rcode.NXDOMAIN
    edit_zone(vaned, SERIAL + 1, "newrec A 192.0.2.99\n")
    p, obj = ctl_json(vaned, "reload")
    assert p.returncode == 0 and obj["ok"] is True, (p.stdout, p.stderr)
    z = zone_entry(obj)
    assert z["status"] == "loaded" and z["serial"] == SERIAL + 1
    for other in obj["zones"]:
        if other["name"].lower() != "example.com.":
            assert other["status"] in ("unchanged", "loaded")
    # Reload is synchronous: the new data is served when it returns.
    assert soa_serial(vaned.port) == SERIAL + 1
    r = exchange(vaned.port, make_query("newrec.example.com", "A"))
    assert r.rcode() == dns.rcode.NOERROR
    assert r.answer[0][0].address == "192.0.2.99"
    _, zs = ctl_json(vaned, "zone-status")
    assert zone_entry(zs)["serial"] == SERIAL + 1


def test_reload_sighup(vaned):
    edit_zone(vaned, SERIAL + 5, "hup A 192.0.2.98\n")
    vaned.proc.send_signal(signal.SIGHUP)
    wait_for(lambda: soa_serial(vaned.port) == SERIAL + 5, "serial after SIGHUP")
    r = exchange(vaned.port, make_query("hup.example.com", "A"))
    assert r.rcode() == dns.rcode.NOERROR and r.answer
    assert vaned.proc.poll() is None


def test_reload_broken_zone_keeps_old(vaned):
    edit_zone(vaned, SERIAL + 1, "broken A 192.0.2.300\n")
    bad_line = len(vaned.zone_path("example.com.zone").read_text().splitlines())
    p, obj = ctl_json(vaned, "reload")
    assert p.returncode == 1
    assert obj["ok"] is False
    assert "error:" in p.stderr or obj.get("error")
    z = zone_entry(obj)
    assert z["status"] == "failed"
    assert re.search(r"example\.com\.zone:%d:" % bad_line, z["error"]), z
    # The old zone keeps serving.
    assert soa_serial(vaned.port) == SERIAL
    r = exchange(vaned.port, make_query("www.example.com", "A"))
    assert r.rcode() == dns.rcode.NOERROR and r.answer
    _, zs = ctl_json(vaned, "zone-status")
    z = zone_entry(zs)
    assert z["status"] == "failed"
    assert z["serving"] is True
    assert z["serial"] == SERIAL
    assert re.search(r"example\.com\.zone:%d:" % bad_line, z["error"]), z
    assert "example.com.zone:%d:" % bad_line in vaned.stderr_text()
    # Other zones are unaffected.
    assert soa_serial(vaned.port, "example.org") == 1
    # SIGHUP with the same broken file: still serving the old data, alive.
    # Wait for the reload to be done (its log line), not for a while.
    def reloads():
        t = vaned.stderr_text()
        return t.count("reloaded:") + t.count("reload failed")
    done = reloads()
    vaned.proc.send_signal(signal.SIGHUP)
    wait_for(lambda: reloads() > done or vaned.proc.poll() is not None,
             "the SIGHUP reload to finish")
    assert vaned.proc.poll() is None
    assert soa_serial(vaned.port) == SERIAL
    # Fixed: the next reload loads it.
    edit_zone(vaned, SERIAL + 2)
    p, obj = ctl_json(vaned, "reload")
    assert p.returncode == 0 and obj["ok"] is True, p.stdout
    assert soa_serial(vaned.port) == SERIAL + 2
    _, zs = ctl_json(vaned, "zone-status")
    z = zone_entry(zs)
    assert z["status"] == "ok" and z["error"] is None


def test_reload_broken_config_keeps_old(vaned):
    good = vaned.conf_path.read_text()
    vaned.conf_path.write_text(good.replace("udp-workers: 2",
                                            "udp-workers: 2\n  bogus: 1"))
    p, obj = ctl_json(vaned, "reload")
    assert p.returncode == 1 and obj["ok"] is False
    assert "vaned.yaml:4:" in obj["error"], obj
    assert soa_serial(vaned.port) == SERIAL
    vaned.conf_path.write_text(good)


def test_stop(vaned):
    p = vaned.ctl("stop")
    assert p.returncode == 0, p.stderr
    rc = vaned.wait_exit()
    assert rc == 0, vaned.stderr_text()
    assert vaned.sanitizer_report() is None
