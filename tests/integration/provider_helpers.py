# SPDX-License-Identifier: GPL-3.0-or-later
"""PowerDNS Authoritative as a second provider (issue 12): a real
pdns_server from Debian on loopback, with the sqlite3 backend (the zones
and the records vaned pushes), the geoip backend (country() and
continent() for LUA records) reading a MaxMind DB written by the test, and
the HTTP API on.  The same .mmdb file is vaned's geo database, so both
place every client subnet the same way."""

import json
import os
import shutil
import signal
import subprocess
import time
import urllib.error
import urllib.request

import pytest

from conftest import free_port, wait_until
from mmdb_writer import write_mmdb

PDNS = "/usr/sbin/pdns_server"
SCHEMA = "/usr/share/pdns-backend-sqlite3/schema/schema.sqlite3.sql"
GEOIP_LIB = "/usr/lib/x86_64-linux-gnu/pdns/libgeoipbackend.so"
API_KEY = "vane-test-key"


def pdns_missing():
    """Why a PowerDNS test cannot run here, or None."""
    for path, pkg in ((PDNS, "pdns-server"), (SCHEMA, "pdns-backend-sqlite3"),
                      (GEOIP_LIB, "pdns-backend-geoip")):
        if not os.path.exists(path):
            return "%s not installed (%s missing)" % (pkg, path)
    if not shutil.which("sqlite3"):
        return "sqlite3 not installed"
    return None


class Pdns:
    """pdns_server with its own config dir under `workdir`."""

    def __init__(self, workdir, mmdb, health_interval=1):
        self.dir = workdir
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.api_port = free_port()
        self.db = self.dir / "pdns.sqlite3"
        subprocess.run(["sqlite3", str(self.db)], stdin=open(SCHEMA),
                       check=True, capture_output=True)
        (self.dir / "geo-zones.yaml").write_text("domains: []\n")
        self.key_file = self.dir / "api.key"
        self.key_file.write_text(API_KEY + "\n")
        conf = [
            "launch=gsqlite3,geoip",
            "gsqlite3-database=%s" % self.db,
            "geoip-database-files=mmdb:%s" % mmdb,
            "geoip-zones-file=%s" % (self.dir / "geo-zones.yaml"),
            "enable-lua-records=yes",
            "edns-subnet-processing=yes",
            "lua-health-checks-interval=%d" % health_interval,
            "local-address=127.0.0.1",
            "local-port=%d" % self.port,
            "api=yes",
            "api-key=%s" % API_KEY,
            "webserver=yes",
            "webserver-address=127.0.0.1",
            "webserver-port=%d" % self.api_port,
            "webserver-allow-from=127.0.0.0/8",
            # No caches: the test reads back each change at once.
            "cache-ttl=0", "query-cache-ttl=0", "negquery-cache-ttl=0",
            "zone-cache-refresh-interval=0",
            "socket-dir=%s" % self.dir,
            "guardian=no", "daemon=no", "disable-syslog=yes", "loglevel=4",
        ]
        (self.dir / "pdns.conf").write_text("\n".join(conf) + "\n")
        self.log_path = self.dir / "pdns.log"
        self.proc = None

    @property
    def api(self):
        return "http://127.0.0.1:%d" % self.api_port

    def start(self):
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([PDNS, "--config-dir=%s" % self.dir],
                                     stdin=subprocess.DEVNULL, stdout=self._log,
                                     stderr=self._log, cwd=str(self.dir))
        wait_until(self._api_up, "PowerDNS API up (log: %s)" % self.log_path, 20,
                   step=0.1)
        return self

    def _api_up(self):
        if self.proc.poll() is not None:
            pytest.fail("pdns_server exited %s:\n%s" % (
                self.proc.returncode, self.log_path.read_text(errors="replace")))
        try:
            self.call("GET", "/api/v1/servers/localhost")
            return True
        except (urllib.error.URLError, ConnectionError, OSError):
            return False

    def call(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.api + path, data=data, method=method,
                                     headers={"X-API-Key": API_KEY,
                                              "Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=5) as r:
            text = r.read()
        return json.loads(text) if text else None

    def create_zone(self, name, serial=2026120501):
        name = name.rstrip(".") + "."
        self.call("POST", "/api/v1/servers/localhost/zones", {
            "name": name, "kind": "Native", "nameservers": [],
            "rrsets": [
                {"name": name, "type": "SOA", "ttl": 3600, "records": [{
                    "content": "ns1.%s hostmaster.%s %d 3600 900 604800 60" % (
                        name, name, serial), "disabled": False}]},
                {"name": name, "type": "NS", "ttl": 3600, "records": [{
                    "content": "ns1.%s" % name, "disabled": False}]},
            ]})

    def zone(self, name):
        return self.call("GET", "/api/v1/servers/localhost/zones/%s" %
                         (name.rstrip(".") + "."))

    def rrset(self, zone, name, rtype):
        for rr in self.zone(zone)["rrsets"]:
            if rr["name"] == name.rstrip(".") + "." and rr["type"] == rtype:
                return rr
        return None

    def patch(self, zone, rrsets):
        self.call("PATCH", "/api/v1/servers/localhost/zones/%s" %
                  (zone.rstrip(".") + "."), {"rrsets": rrsets})

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if getattr(self, "_log", None):
            self._log.close()
            self._log = None


@pytest.fixture
def pdns_factory(tmp_path):
    why = pdns_missing()
    if why:
        pytest.skip(why)
    made = []

    def make(mmdb, **kw):
        p = Pdns(tmp_path / ("pdns%d" % len(made)), mmdb, **kw)
        made.append(p)
        return p.start()

    yield make
    for p in made:
        p.stop()


def make_geo_db(path, nets):
    """The one geo database of vaned and PowerDNS: [(cidr, CC, CONT)]."""
    write_mmdb(str(path), nets)
    return path
