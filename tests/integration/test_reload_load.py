# SPDX-License-Identifier: GPL-3.0-or-later
"""Under a steady dnsperf load, reloads (vanectl and SIGHUP, each with a changed
zone) cause zero lost queries and zero SERVFAIL/REFUSED (issue 2, "Reload and
control")."""

import re
import signal
import subprocess
import time

import dns.rcode

from conftest import ZONES_DIR, exchange, make_query

DNSPERF = "/usr/bin/dnsperf"
DURATION = 8
RELOADS = 6
# Extra records so that each reload takes a noticeable time to build.
BULK = 20000


def zone_text(serial, gen):
    base = (ZONES_DIR / "example.com.zone").read_text()
    base = base.replace("2024010101", str(serial), 1)
    bulk = "".join("bulk%d A 10.%d.%d.%d\n" % (i, gen % 256, (i >> 8) & 255,
                                               i & 255) for i in range(BULK))
    # Each generation keeps the names of the ones before it: the test queries
    # them, and vaned refuses a reload that deletes a recently queried name
    # (server.deletion-guard).
    gens = "".join("gen%d TXT \"generation %d\"\n" % (g, g)
                   for g in range(gen + 1))
    return base + gens + bulk


def parse_dnsperf(out):
    def num(label):
        m = re.search(r"%s:\s+(\d+)" % label, out)
        assert m, "no '%s' in dnsperf output:\n%s" % (label, out)
        return int(m.group(1))
    rcodes = {}
    m = re.search(r"Response codes:\s+(.*)", out)
    assert m, "no response codes in dnsperf output:\n" + out
    for name, n in re.findall(r"([A-Z]+) (\d+)", m.group(1)):
        rcodes[name] = int(n)
    return num("Queries sent"), num("Queries completed"), \
        num("Queries lost"), rcodes


def test_reload_under_load(vaned_factory, tmp_path):
    v = vaned_factory(start=False)
    v.zone_path("example.com.zone").write_text(zone_text(100, 0))
    v.start()

    qfile = tmp_path / "queries.txt"
    lines = []
    for name, t in (("www.example.com", "A"), ("mail.example.com", "A"),
                    ("example.com", "SOA"), ("www.example.com", "AAAA"),
                    ("c1.example.com", "A"), ("foo.wild.example.com", "A"),
                    ("bulk17.example.com", "A"), ("host.sub.example.com", "A"),
                    ("www.example.org", "A"), ("nothere.example.com", "A"),
                    ("www.sub2.example.com", "A"), ("example.com", "NS")):
        lines.append("%s %s" % (name, t))
    qfile.write_text("\n".join(lines) + "\n")

    perf = subprocess.Popen(
        [DNSPERF, "-s", "127.0.0.1", "-p", str(v.port), "-d", str(qfile),
         "-l", str(DURATION), "-Q", "5000", "-c", "4", "-t", "2"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        # Reload while the load runs: start after the first second, spread
        # the reloads over the middle of the run.
        t0 = time.monotonic()
        while time.monotonic() < t0 + 1.0:
            assert exchange(v.port, make_query("www.example.com", "A")) is not None
            time.sleep(0.05)
        done = 0
        gap = (DURATION - 2.5) / RELOADS
        for gen in range(1, RELOADS + 1):
            while time.monotonic() < t0 + 1.0 + (gen - 1) * gap:
                time.sleep(0.02)
            v.zone_path("example.com.zone").write_text(zone_text(100 + gen, gen))
            if gen % 2:
                p = v.ctl("reload")
                assert p.returncode == 0, (p.stdout, p.stderr)
            else:
                v.proc.send_signal(signal.SIGHUP)
            # Wait until the new generation is served before the next one.
            want = 100 + gen
            end = time.monotonic() + 30
            while True:
                r = exchange(v.port, make_query("example.com", "SOA"))
                if r is not None and r.answer and r.answer[0][0].serial == want:
                    break
                assert time.monotonic() < end, "reload %d not applied" % gen
                time.sleep(0.05)
            r = exchange(v.port, make_query("gen%d.example.com" % gen, "TXT"))
            assert r.rcode() == dns.rcode.NOERROR and r.answer
            done += 1
        out, _ = perf.communicate(timeout=DURATION + 30)
    finally:
        if perf.poll() is None:
            perf.kill()
            perf.wait()
    print(out)
    assert perf.returncode == 0, out
    assert done == RELOADS
    sent, completed, lost, rcodes = parse_dnsperf(out)
    print("dnsperf: sent %d completed %d lost %d rcodes %s" % (
        sent, completed, lost, rcodes))
    assert sent > 1000, out
    assert lost == 0, out
    assert completed == sent, out
    assert rcodes.get("SERVFAIL", 0) == 0, out
    assert rcodes.get("REFUSED", 0) == 0, out
    assert rcodes.get("FORMERR", 0) == 0, out
    assert rcodes.get("NOERROR", 0) > 0
