# SPDX-License-Identifier: GPL-3.0-or-later
"""Zone loading at start and reload: each zone file is opened and read once
per load (by `vaned --check` and by the daemon), and zones loaded in
parallel come out the same as their files say, whatever order the loader
threads finish in; problems are reported in config order."""

import os
import re
import shutil
import signal
import subprocess

import dns.rcode
import pytest

from conftest import VANED, exchange, make_query, wait_until

STRACE = shutil.which("strace")
NZONES = 8


def zone_text(i, serial=1):
    # Different sizes, so that the loader threads finish out of order.
    hosts = 50 + 3000 * (i % 3)
    lines = ["$ORIGIN z%d.test." % i, "$TTL 300",
             "@ SOA ns1 host %d 3600 600 86400 300" % serial,
             "@ NS ns1", "ns1 A 192.0.2.%d" % i]
    lines += ["h%d A 10.%d.%d.%d" % (h, i, h >> 8, h & 255) for h in range(hosts)]
    lines += ["h%d TXT \"zone %d host %d\"" % (h, i, h) for h in range(0, hosts, 7)]
    return "\n".join(lines) + "\n", hosts


def make_vaned(factory, tmp_path, bad=None):
    """A vaned (not started) serving NZONES generated zones; zone `bad`
    has an error.  Returns it and each zone's host count."""
    zdir = tmp_path / "vaned" / "zones"
    zdir.mkdir(parents=True)
    sizes = {}
    for i in range(NZONES):
        text, hosts = zone_text(i)
        if i == bad:
            text += "broken A not-an-address\n"
        (zdir / ("z%d.test.zone" % i)).write_text(text)
        sizes[i] = hosts
    zones = [("z%d.test." % i, "z%d.test.zone" % i) for i in range(NZONES)]
    return factory(start=False, zones=zones), sizes


def zone_opens(trace, zone_dir):
    """Number of open()s and path stat()s of each zone file in an strace log."""
    opens, stats = {}, {}
    for line in trace.splitlines():
        m = re.search(r'(openat|open|newfstatat|stat|statx|lstat)\((?:AT_FDCWD, )?"([^"]+)"',
                      line)
        if not m or not m.group(2).endswith(".zone"):
            continue
        name = m.group(2).rsplit("/", 1)[-1]
        if m.group(1).startswith("open"):
            opens[name] = opens.get(name, 0) + 1
        else:
            stats[name] = stats.get(name, 0) + 1
    return opens, stats


@pytest.mark.skipif(STRACE is None, reason="strace is not installed")
def no_lsan_under_ptrace(monkeypatch):
    # LeakSanitizer cannot run under strace; the other tests check leaks.
    opts = os.environ.get("ASAN_OPTIONS", "")
    monkeypatch.setenv("ASAN_OPTIONS", (opts + ":" if opts else "") + "detect_leaks=0")


def test_check_reads_each_zone_once(vaned_factory, tmp_path, monkeypatch):
    no_lsan_under_ptrace(monkeypatch)
    v, _ = make_vaned(vaned_factory, tmp_path)
    log = tmp_path / "check.strace"
    r = subprocess.run([STRACE, "-f", "-qq", "-o", str(log),
                        "-e", "trace=open,openat,stat,newfstatat,statx,lstat",
                        VANED, "-c", str(v.conf_path), "--check"],
                       capture_output=True, text=True, timeout=120, cwd=str(v.dir))
    assert r.returncode == 0, r.stderr
    assert "%d zones" % NZONES in r.stdout
    opens, stats = zone_opens(log.read_text(), v.zone_dir)
    assert opens == {"z%d.test.zone" % i: 1 for i in range(NZONES)}, opens
    assert stats == {}, "zone files stat'ed by path: %s" % stats


@pytest.mark.skipif(STRACE is None, reason="strace is not installed")
def test_daemon_reads_each_zone_once_per_load(vaned_factory, tmp_path, monkeypatch):
    no_lsan_under_ptrace(monkeypatch)
    v, _ = make_vaned(vaned_factory, tmp_path)
    log = tmp_path / "vaned.strace"
    v._spawn([STRACE, "-f", "-qq", "-o", str(log),
              "-e", "trace=open,openat,stat,newfstatat,statx,lstat",
              VANED, "-c", str(v.conf_path)])
    # Start: every zone opened once.  Reload with one zone changed: every
    # file opened once more (an unchanged one only to fstat it), none read
    # twice, none stat'ed by path.
    text, _ = zone_text(3, serial=2)
    v.zone_path("z3.test.zone").write_text(text)
    r = v.ctl("reload")
    assert r.returncode == 0, r.stdout + r.stderr

    def serial2():
        resp = exchange(v.port, make_query("z3.test.", "SOA"))
        return resp.answer and resp.answer[0][0].serial == 2
    wait_until(serial2, "z3.test. serial 2")
    # Stop vaned itself (strace's child): strace exits with its status.
    pid = v.proc.pid
    with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
        child = int(f.read().split()[0])
    os.kill(child, signal.SIGTERM)
    assert v.wait_exit() == 0, v.stderr_text()
    assert v.sanitizer_report() is None, v.stderr_text()
    opens, stats = zone_opens(log.read_text(), v.zone_dir)
    assert opens == {"z%d.test.zone" % i: 2 for i in range(NZONES)}, opens
    assert stats == {}, "zone files stat'ed by path: %s" % stats


def test_parallel_load_serves_every_zone(vaned_factory, tmp_path):
    v, sizes = make_vaned(vaned_factory, tmp_path)
    v.start()
    for i in range(NZONES):
        resp = exchange(v.port, make_query("z%d.test." % i, "SOA"))
        assert resp.rcode() == dns.rcode.NOERROR
        for h in (0, 1, sizes[i] - 1):
            resp = exchange(v.port, make_query("h%d.z%d.test." % (h, i), "A"))
            assert [rr.address for rr in resp.answer[0]] == \
                ["10.%d.%d.%d" % (i, h >> 8, h & 255)], (i, h, resp)
        resp = exchange(v.port, make_query("h7.z%d.test." % i, "TXT"))
        assert list(resp.answer[0][0].strings) == [b"zone %d host 7" % i]
        resp = exchange(v.port, make_query("h%d.z%d.test." % (sizes[i], i), "A"))
        assert resp.rcode() == dns.rcode.NXDOMAIN
    v.stop_and_check()


def test_parallel_check_reports_in_config_order(vaned_factory, tmp_path):
    v, _ = make_vaned(vaned_factory, tmp_path, bad=5)
    # A second broken zone, loaded at the same time as the first.
    v.zone_path("z1.test.zone").write_text(zone_text(1)[0] + "x TXT \"unterminated\n")
    outs = []
    for _ in range(3):
        r = subprocess.run([VANED, "-c", str(v.conf_path), "--check"],
                           capture_output=True, text=True, timeout=120,
                           cwd=str(v.dir))
        assert r.returncode == 1
        # Timestamps aside, the output is the same every time.
        outs.append(re.sub(r"(?m)^\S+Z ", "", r.stderr))
    assert outs[0] == outs[1] == outs[2]
    first1 = outs[0].index("z1.test.zone")
    first5 = outs[0].index("z5.test.zone")
    assert first1 < first5, outs[0]
    assert "2 of %d zones failed" % NZONES in outs[0]
