# SPDX-License-Identifier: GPL-3.0-or-later
"""Service configuration errors (issue 3): `vaned --check` exits 1 and names
file:line for services outside every zone, below a delegation, at a CNAME,
unknown check ids, duplicate endpoint ids, address and cname together or
neither; a reload with such an error keeps the old config serving."""

import re
import shutil

import pytest

import dns.rcode

from conftest import ZONES, ZONES_DIR, free_port
from steer_helpers import (addrs, check_vaned, ctl_json, endpoint, query,
                           service)
from steer_helpers import steer_factory  # noqa: F401


def conf_text(services_yaml, checks_yaml=""):
    lines = ["server:",
             '  listen: [ "127.0.0.1@%d" ]' % free_port(),
             "  udp-workers: 1",
             "  control: run/vaned.sock",
             "zones:"]
    for name, fname in ZONES:
        lines += ["  - name: %s" % name, "    file: zones/%s" % fname]
    text = "\n".join(lines) + "\n"
    if checks_yaml:
        text += checks_yaml
    return text + services_yaml


CHECKS = """checks:
  - id: web
    type: tcp
    port: 80
"""

GOOD_SERVICE = """services:
  - name: api.example.com
    policy: [health, weighted]
    endpoints:
      - id: a
        address: 192.0.2.10
        check: web
      - id: b
        address: [ 192.0.2.11, "2001:db8::11" ]
"""

# (id, services text, marker lines: the error must name one of them)
BAD = [
    ("outside-zones", """services:
  - name: api.example.net                 # MARK
    endpoints:
      - id: a
        address: 192.0.2.10
"""),
    ("below-delegation", """services:
  - name: www.sub.example.com             # MARK
    endpoints:
      - id: a
        address: 192.0.2.10
"""),
    ("at-zone-cname", """services:
  - name: short.example.com               # MARK
    endpoints:
      - id: a
        address: 192.0.2.10
"""),
    ("unknown-check", """services:
  - name: api.example.com                 # MARK
    endpoints:
      - id: a
        address: 192.0.2.10
      - id: b                             # MARK
        address: 192.0.2.11
        check: nosuch                     # MARK
"""),
    ("duplicate-endpoint", """services:
  - name: api.example.com                 # MARK
    endpoints:
      - id: a
        address: 192.0.2.10
      - id: a                             # MARK
        address: 192.0.2.11
"""),
    ("address-and-cname", """services:
  - name: api.example.com                 # MARK
    endpoints:
      - id: a                             # MARK
        address: 192.0.2.10
        cname: edge.example.net           # MARK
"""),
    ("neither-address-nor-cname", """services:
  - name: api.example.com                 # MARK
    endpoints:
      - id: a                             # MARK
        weight: 5
"""),
    ("duplicate-service", GOOD_SERVICE + """  - name: api.example.com          # MARK
    endpoints:
      - id: z
        address: 192.0.2.99
"""),
]


def _setup(d, text):
    d.mkdir(parents=True, exist_ok=True)
    (d / "zones").mkdir(exist_ok=True)
    for _, fname in ZONES:
        shutil.copy(ZONES_DIR / fname, d / "zones" / fname)
    (d / "vaned.yaml").write_text(text)
    return d / "vaned.yaml"


def _marks(text):
    return [i + 1 for i, ln in enumerate(text.splitlines()) if "# MARK" in ln]


def test_check_good_services(tmp_path):
    p = check_vaned(_setup(tmp_path / "good", conf_text(GOOD_SERVICE, CHECKS)))
    assert p.returncode == 0, p.stderr


@pytest.mark.parametrize("case,svc", BAD, ids=[b[0] for b in BAD])
def test_check_bad_service(tmp_path, case, svc):
    text = conf_text(svc, CHECKS)
    marks = _marks(text)
    assert marks
    p = check_vaned(_setup(tmp_path / case, text))
    assert p.returncode == 1, "%s accepted:\n%s%s" % (case, p.stdout, p.stderr)
    m = re.findall(r"vaned\.yaml:(\d+):", p.stderr)
    assert m, "no file:line in:\n" + p.stderr
    assert any(int(n) in marks for n in m), \
        "%s: expected a line in %s, got:\n%s" % (case, marks, p.stderr)


def test_reload_with_bad_service_keeps_old(steer_factory):
    v = steer_factory({"services": [service("keep.example.com", [
        endpoint("a", "192.0.2.61")], ttl=30, policy=["weighted"])]})
    r = query(v.port, "keep.example.com", "A")
    assert addrs(r) == ["192.0.2.61"], r
    good = v.conf_path.read_text()
    bad = good.replace("name: keep.example.com", "name: keep.example.net")
    assert bad != good
    v.conf_path.write_text(bad)
    p, obj = ctl_json(v, "reload")
    assert p.returncode == 1 and obj["ok"] is False, obj
    line = [i + 1 for i, ln in enumerate(bad.splitlines())
            if "keep.example.net" in ln][0]
    assert "vaned.yaml:%d:" % line in obj["error"], obj
    r = query(v.port, "keep.example.com", "A")
    assert r.rcode() == dns.rcode.NOERROR and addrs(r) == ["192.0.2.61"], r
    # A good change is then picked up, with the service's new endpoints.
    v.conf_path.write_text(good.replace("192.0.2.61", "192.0.2.62"))
    p, obj = ctl_json(v, "reload")
    assert p.returncode == 0 and obj["ok"] is True, obj
    r = query(v.port, "keep.example.com", "A")
    assert addrs(r) == ["192.0.2.62"], r
