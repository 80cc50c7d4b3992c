# SPDX-License-Identifier: GPL-3.0-or-later
"""`make install DESTDIR=... PREFIX=/usr` produces the expected tree: the
binaries, man pages that render without warnings, the sample config, and a
systemd unit that `systemd-analyze verify` accepts."""

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def stage(tmp_path_factory):
    top = tmp_path_factory.mktemp("install")
    build, dest = top / "build", top / "stage"
    r = subprocess.run(["make", "-C", str(REPO), "install", "BUILD=%s" % build,
                        "DESTDIR=%s" % dest, "PREFIX=/usr"],
                       capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    return dest


def test_binaries(stage):
    for name in ("vaned", "vanectl"):
        p = stage / "usr/sbin" / name
        assert p.is_file() and os.access(p, os.X_OK), p
    out = subprocess.run([str(stage / "usr/sbin/vaned"), "--version"],
                         capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.startswith("vaned ")


def man_pages(stage):
    pages = ["man8/vaned.8", "man8/vanectl.8", "man5/vaned.conf.5"]
    if (REPO / "docs/vane-resolver.8").exists():
        pages.append("man8/vane-resolver.8")
    return [stage / "usr/share/man" / p for p in pages]


def test_man_pages_render(stage):
    for page in man_pages(stage):
        assert page.is_file(), page
        r = subprocess.run(["man", "--warnings", "-l", str(page)], capture_output=True,
                           text=True, env=dict(os.environ, MANWIDTH="80", MAN_KEEP_FORMATTING="0"))
        assert r.returncode == 0, r.stderr
        assert r.stderr.strip() == "", "%s: %s" % (page, r.stderr)
        assert len(r.stdout.splitlines()) > 20


def test_config_reference_comes_from_schema(stage):
    """vaned.conf(5) is generated: it names keys from the schema table."""
    text = (stage / "usr/share/man/man5/vaned.conf.5").read_text().replace("\\-", "-")
    for key in ("udp-workers", "log-level", "user", "sample", "state-dir"):
        assert key in text


def test_sample_config_checks(stage, tmp_path):
    doc = stage / "usr/share/doc/vane"
    sample = doc / "vaned.conf.sample"
    assert sample.is_file() and (doc / "zones/example.com.zone").is_file()
    # The sample is valid as shipped (paths relative to its directory).
    conf = tmp_path / "vaned.conf"
    shutil.copytree(doc / "zones", tmp_path / "zones")
    conf.write_text(sample.read_text())
    r = subprocess.run([str(stage / "usr/sbin/vaned"), "--check", "-c", str(conf)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def test_anycast_examples(stage):
    """BIRD's side of anycast and the systemd drop-ins ship as documentation."""
    doc = stage / "usr/share/doc/vane/anycast"
    assert "protocol static anycast" in (doc / "bird-anycast.conf").read_text()
    assert "ExecStopPost=" in (doc / "vaned.service.d/anycast.conf").read_text()
    assert "BindsTo=vaned.service" in (doc / "bird.service.d/vane-anycast.conf").read_text()
    assert (doc / "anycast.md").is_file()


def test_systemd_unit(stage, tmp_path):
    unit = stage / "usr/lib/systemd/system/vaned.service"
    assert unit.is_file()
    assert (stage / "usr/lib/sysusers.d/vane.conf").read_text().find("\nu vane ") >= 0
    text = unit.read_text()
    for line in ("Type=notify", "ExecStartPre=/usr/sbin/vaned --check",
                 "ExecStart=/usr/sbin/vaned -c", "ExecReload=/bin/kill -HUP $MAINPID",
                 "NoNewPrivileges=yes", "ProtectSystem=strict", "ProtectHome=yes",
                 "PrivateTmp=yes", "CapabilityBoundingSet=CAP_NET_BIND_SERVICE",
                 "AmbientCapabilities=CAP_NET_BIND_SERVICE", "User=vane",
                 "RuntimeDirectory=vane", "StateDirectory=vane",
                 "Environment=VANE_CONFIG=/etc/vane/vaned.conf"):
        assert line in text, line
    if not shutil.which("systemd-analyze"):
        pytest.skip("systemd-analyze not installed")
    # Verify a copy whose paths point into the stage (the binary is not in
    # /usr/sbin here); man pages are looked up in the stage too.
    staged = tmp_path / "vaned.service"
    staged.write_text(text.replace("/usr/sbin/", str(stage / "usr/sbin") + "/"))
    r = subprocess.run(["systemd-analyze", "verify", "--man=no", str(staged)],
                       capture_output=True, text=True,
                       env=dict(os.environ, SYSTEMD_LOG_LEVEL="warning"))
    problems = [l for l in (r.stdout + r.stderr).splitlines()
                if l.strip() and "vaned.service" in l]
    assert r.returncode == 0 and not problems, r.stdout + r.stderr
