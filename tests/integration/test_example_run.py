# SPDX-License-Identifier: GPL-3.0-or-later
"""`make run` (defect 13): the example configuration with the example
backends (scripts/example-backends.py) shows its checked endpoints up, and
the script's kill / revive make one go down and come back.  The example
file is used as shipped, with only its ports moved to free ones, so this
runs next to other engineers' `make run`."""

import shutil
import subprocess
import sys
import urllib.error
import urllib.request

import pytest

from conftest import REPO, VANECTL, VANED, free_port, wait_until
from steer_helpers import free_port_on

SCRIPT = str(REPO / "scripts" / "example-backends.py")


def http_ok(addr, port):
    try:
        with urllib.request.urlopen("http://%s:%d/" % (addr, port),
                                    timeout=2) as r:
            return r.status == 200
    except (urllib.error.URLError, OSError):
        return False


class Backends:
    def __init__(self, ctl_dir, specs):
        self.ctl_dir = str(ctl_dir)
        # Started from a shell that waits, as make's recipe shell does.
        self.sh = subprocess.Popen(
            ["/bin/sh", "-c", '"$0" "$@" & wait', sys.executable, SCRIPT,
             "--dir", self.ctl_dir] + specs)

    def ctl(self, verb, name):
        subprocess.run([sys.executable, SCRIPT, "--dir", self.ctl_dir, verb,
                        name], check=True, timeout=10)

    def stop(self):
        if self.sh.poll() is None:
            self.sh.kill()
            self.sh.wait()


def test_backends_kill_revive_and_leave_with_parent(tmp_path):
    port = free_port_on(["127.0.0.1", "127.0.0.2"])
    b = Backends(tmp_path / "b", ["us-east=127.0.0.1:%d" % port,
                                  "eu-west=127.0.0.2:%d" % port])
    try:
        wait_until(lambda: http_ok("127.0.0.1", port) and
                   http_ok("127.0.0.2", port), "backends answer", 10)
        b.ctl("kill", "eu-west")
        wait_until(lambda: not http_ok("127.0.0.2", port), "eu-west dead", 5)
        assert http_ok("127.0.0.1", port)
        b.ctl("revive", "eu-west")
        wait_until(lambda: http_ok("127.0.0.2", port), "eu-west back", 5)
    finally:
        b.stop()
    # The shell that started them is gone: so are they.
    wait_until(lambda: not http_ok("127.0.0.1", port), "backends gone", 5)


def test_example_config_is_up_with_backends(tmp_path):
    """etc/vaned.conf as shipped (ports moved): us-east and eu-west probed
    up, eu-west down after `kill`, up again with a recovery ramp after
    `revive`."""
    import json
    etc = tmp_path / "etc"
    shutil.copytree(REPO / "etc" / "zones", etc / "zones")
    dns_port = free_port()
    port = free_port_on(["127.0.0.1", "127.0.0.2"])
    text = (REPO / "etc" / "vaned.conf").read_text()
    assert '"127.0.0.1@5300"' in text and "port: 8080" in text
    text = text.replace('"127.0.0.1@5300"', '"127.0.0.1@%d"' % dns_port)
    text = text.replace("port: 8080", "port: %d" % port)
    (etc / "vaned.conf").write_text(text)
    geo = "/var/lib/location/database.db"
    if "database: " + geo in text and not shutil.os.path.exists(geo):
        pytest.skip("no libloc database at " + geo)
    b = Backends(tmp_path / "run" / "backends",
                 ["us-east=127.0.0.1:%d" % port,
                  "eu-west=127.0.0.2:%d" % port])
    err = open(tmp_path / "vaned.stderr", "wb")
    v = subprocess.Popen([VANED, "-c", str(etc / "vaned.conf")],
                         stdout=err, stderr=err)

    def rows():
        p = subprocess.run([VANECTL, "-c", str(etc / "vaned.conf"), "--json",
                            "health"], capture_output=True, text=True,
                           timeout=10)
        if p.returncode != 0:
            return {}
        return {r["endpoint"]: r for r in json.loads(p.stdout)["endpoints"]}

    def state(ep):
        return rows().get(ep, {}).get("state")

    try:
        wait_until(lambda: state("us-east") == "up" and
                   state("eu-west") == "up" and
                   rows()["eu-west"]["origin"] == "probed",
                   "example endpoints probed up", 15, step=0.2)
        b.ctl("kill", "eu-west")
        wait_until(lambda: state("eu-west") == "down", "eu-west down", 15,
                   step=0.2)
        assert state("us-east") == "up"
        b.ctl("revive", "eu-west")
        wait_until(lambda: state("eu-west") == "up", "eu-west up", 15,
                   step=0.2)
        r = rows()["eu-west"]
        assert r["ramp"] and r["ramp"]["kind"] == "recovery", r
    finally:
        v.terminate()
        rc = v.wait(30)
        err.close()
        b.stop()
    assert rc == 0, (tmp_path / "vaned.stderr").read_text()
