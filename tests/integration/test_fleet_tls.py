# SPDX-License-Identifier: GPL-3.0-or-later
"""The fleet over TLS (cluster: cert, key, ca): a one-member etcd serving
https with client certificate authentication, a CA and certificates made
here with openssl.

- a node with the client certificate joins, and a drain on it lands in
  etcd (read back here over TLS with the same certificate);
- a node with the CA but no client certificate is refused by etcd: it
  reports etcd unreachable and refuses writes as "cluster unavailable".
"""

import base64
import json
import shutil
import signal
import ssl
import subprocess
import urllib.request

import pytest

from conftest import finish_started, free_port
from steer_helpers import SteerVaned, ctl_json, endpoint, log_has, service, wait_until

ETCD = shutil.which("etcd")
OPENSSL = shutil.which("openssl")
pytestmark = pytest.mark.skipif(
    ETCD is None or OPENSSL is None,
    reason="etcd or openssl is not installed (apt-get install etcd-server openssl)")

SVC = "tls.example.com"


def openssl(*args, cwd):
    subprocess.run([OPENSSL] + list(args), cwd=cwd, check=True, capture_output=True)


def make_pki(d):
    """A CA, a server certificate for 127.0.0.1 and a client certificate."""
    d.mkdir()
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    openssl("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
            "-subj", "/CN=vane test CA", cwd=d)
    for name, ext in (("server", "subjectAltName=IP:127.0.0.1\n"
                                 "extendedKeyUsage=serverAuth,clientAuth\n"),
                      ("client", "extendedKeyUsage=clientAuth\n")):
        (d / (name + ".ext")).write_text(ext)
        openssl("req", *ec, "-keyout", name + ".key", "-out", name + ".csr",
                "-subj", "/CN=vane-" + name, cwd=d)
        openssl("x509", "-req", "-in", name + ".csr", "-CA", "ca.pem", "-CAkey", "ca.key",
                "-CAcreateserial", "-out", name + ".pem", "-days", "2",
                "-extfile", name + ".ext", cwd=d)
    return d


@pytest.fixture
def tls_etcd(tmp_path):
    pki = make_pki(tmp_path / "pki")
    client, peer = free_port(), free_port()
    url = "https://127.0.0.1:%d" % client
    log = open(tmp_path / "etcd.log", "ab")
    proc = subprocess.Popen([
        ETCD, "--name", "m0", "--data-dir", str(tmp_path / "etcd-data"),
        "--listen-client-urls", url, "--advertise-client-urls", url,
        "--listen-peer-urls", "http://127.0.0.1:%d" % peer,
        "--initial-advertise-peer-urls", "http://127.0.0.1:%d" % peer,
        "--initial-cluster", "m0=http://127.0.0.1:%d" % peer,
        "--cert-file", str(pki / "server.pem"), "--key-file", str(pki / "server.key"),
        "--trusted-ca-file", str(pki / "ca.pem"), "--client-cert-auth",
        "--log-level", "error"], stdout=log, stderr=log, stdin=subprocess.DEVNULL)
    log.close()
    ctx = ssl.create_default_context(cafile=str(pki / "ca.pem"))
    ctx.load_cert_chain(str(pki / "client.pem"), str(pki / "client.key"))

    def rpc(path, body):
        req = urllib.request.Request(url + path, data=json.dumps(body).encode(),
                                     method="POST")
        with urllib.request.urlopen(req, timeout=2, context=ctx) as r:
            return json.loads(r.read())

    def up():
        try:
            return "header" in rpc("/v3/kv/range", {"key": "AA=="})
        except OSError:
            return False
    try:
        wait_until(up, "etcd serving TLS", 30)
        yield url, pki, rpc
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def b64(s):
    return base64.b64encode(s.encode()).decode()


def test_fleet_over_tls(tmp_path, tls_etcd):
    url, pki, rpc = tls_etcd
    started = []
    try:
        for name, with_cert in (("good", True), ("nocert", False)):
            cluster = {"name": "tls", "node": name, "etcd": [url], "lease": "2s",
                       "ca": str(pki / "ca.pem")}
            if with_cert:
                cluster.update(cert=str(pki / "client.pem"), key=str(pki / "client.key"))
            steer = {"services": [service(SVC, [endpoint("a", "192.0.2.51"),
                                                endpoint("b", "192.0.2.52")], ttl=5)],
                     "cluster": cluster}
            started.append(SteerVaned(tmp_path / name, steer=steer))
        good, nocert = started
        wait_until(lambda: log_has(good, "cluster: applied state revision"),
                   "the node with a certificate joining", 20)

        p, obj = ctl_json(good, "drain", SVC + "/a")
        assert p.returncode == 0, (p.stdout, p.stderr)
        got = rpc("/v3/kv/range", {"key": b64("/vane/tls/admin/%s/a" % SVC)})
        value = json.loads(base64.b64decode(got["kvs"][0]["value"]))
        assert value.get("drained") is True, value
        p, info = ctl_json(good, "cluster")
        assert info["available"] is True and info["nodes"][0]["node"] == "good", info

        # Without a client certificate etcd refuses the handshake.
        wait_until(lambda: log_has(nocert, "etcd unreachable"),
                   "the node without a certificate refused", 20)
        p, obj = ctl_json(nocert, "drain", SVC + "/b")
        assert obj.get("code") == "unavailable", (p.stdout, p.stderr)
        assert "cluster unavailable" in obj.get("error", ""), obj
    finally:
        finish_started(started, exited="crash")
