# SPDX-License-Identifier: GPL-3.0-or-later
"""The fleet (cluster:): three vaned nodes sharing operator state through a
three-member etcd cluster, all on loopback, started here.

- a drain on one node is in effect on all three within 1 s (p99 over 20
  changes, printed);
- concurrent changes on two nodes, to different endpoints and to the same
  one, are all applied;
- with two etcd members stopped the nodes keep serving their last state,
  writes are refused (unavailable) unless --local, and the node answers its
  control socket while a refused write waits for etcd (writes are off the
  loop); a --local change applies on one node, is shown, survives a restart
  of that node (state directory), and when etcd is back the first node to
  reconcile wins (its change is pushed), the other takes the cluster's
  value, and all converge;
- `vanectl cluster` lists the nodes, flags a differing config digest, and
  a node killed with -9 leaves the list when its lease expires.
"""

import json
import shutil
import signal
import socket
import subprocess
import threading
import time
import urllib.request

import pytest

from conftest import finish_started, free_port
from http_helpers import HttpVaned, get, post
from steer_helpers import (SteerVaned, UdpClient, addrs, ctl, ctl_json, endpoint,
                           health_row, log_has, row_drained, service, wait_until)

ETCD = shutil.which("etcd")
pytestmark = pytest.mark.skipif(
    ETCD is None, reason="etcd is not installed (apt-get install etcd-server etcd-client)")

SVC = "fleet.example.com"
ADDR = {"a": "192.0.2.31", "b": "192.0.2.32", "c": "192.0.2.33"}
# Health from several vantages: the exec check runs in each node's own
# directory, so a file there makes one node see an endpoint down.
VOTED = "votes.example.com"
CHECK = {"id": "local", "type": "exec", "port": 80, "interval": "1s",
         "timeout": "1s", "rise": 1, "fall": 1,
         "command": "/usr/bin/test ! -e down-{endpoint}"}
LEASE = "2s"


class Etcd:
    """One etcd member; `start` again reuses its data directory."""

    def __init__(self, tmp, name, client, peer, cluster):
        self.dir = tmp / ("etcd-" + name)
        self.name, self.client, self.peer, self.cluster = name, client, peer, cluster
        self.proc = None
        self.url = "http://127.0.0.1:%d" % client

    def start(self):
        self.dir.mkdir(exist_ok=True)
        log = open(self.dir / "etcd.log", "ab")
        # Short heartbeats: elections on loopback settle in well under a
        # second, so the test can wait for quorum instead of sleeping.
        self.proc = subprocess.Popen([
            ETCD, "--name", self.name, "--data-dir", str(self.dir / "data"),
            "--listen-client-urls", self.url, "--advertise-client-urls", self.url,
            "--listen-peer-urls", "http://127.0.0.1:%d" % self.peer,
            "--initial-advertise-peer-urls", "http://127.0.0.1:%d" % self.peer,
            "--initial-cluster", self.cluster, "--initial-cluster-state", "new",
            "--initial-cluster-token", "vane-test", "--heartbeat-interval", "100",
            "--election-timeout", "1000", "--log-level", "error"],
            stdout=log, stderr=log, stdin=subprocess.DEVNULL)
        log.close()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def linearizable_ok(self):
        """A linearizable read answers: this member sees a quorum."""
        req = urllib.request.Request(self.url + "/v3/kv/range",
                                     data=b'{"key":"AA=="}', method="POST")
        try:
            with urllib.request.urlopen(req, timeout=1) as r:
                return r.status == 200
        except OSError:
            return False


@pytest.fixture
def etcd_cluster(tmp_path):
    ports = [(free_port(), free_port()) for _ in range(3)]
    cluster = ",".join("m%d=http://127.0.0.1:%d" % (i, p[1]) for i, p in enumerate(ports))
    members = [Etcd(tmp_path, "m%d" % i, c, p, cluster) for i, (c, p) in enumerate(ports)]
    for m in members:
        m.start()
    try:
        wait_until(lambda: all(m.linearizable_ok() for m in members), "etcd quorum", 30)
        yield members
    finally:
        for m in members:
            m.stop()


@pytest.fixture
def fleet(tmp_path, etcd_cluster):
    started = []
    urls = [m.url for m in etcd_cluster]
    for i in range(3):
        steer = {
            "checks": [CHECK],
            "services": [service(SVC, [endpoint(k, a) for k, a in ADDR.items()],
                                 ttl=5, policy=["health"], answers=3),
                         service(VOTED, [endpoint("v1", "192.0.2.41", check="local"),
                                         endpoint("v2", "192.0.2.42", check="local")],
                                 ttl=5, policy=["health"], answers=2,
                                 recovery="instant")],
            "cluster": {"name": "t", "node": "n%d" % i, "etcd": urls, "lease": LEASE},
        }
        # Node 2's config differs (a log level): `cluster` must flag it.
        extra = "  log-level: debug" if i == 2 else ""
        # Node 0 also serves HTTP, for its metrics.
        kind = HttpVaned if i == 0 else SteerVaned
        started.append(kind(tmp_path / ("n%d" % i), steer=steer, extra_server=extra))
    clients = [UdpClient(v.port) for v in started]
    for v in started:
        wait_until(lambda v=v: log_has(v, "cluster: applied state revision"),
                   "%s joined the cluster" % v.dir.name, 20)
    yield started, clients, etcd_cluster
    for c in clients:
        c.close()
    finish_started(started, exited="crash")


def served(client):
    return set(addrs(client.ask(SVC, "A")))


def everywhere(clients, want):
    return all(served(c) == want for c in clients)


def ok(v, *args):
    p = ctl(v, *args)
    assert p.returncode == 0, (args, p.returncode, p.stdout, p.stderr)
    return p


def ctl_direct(v, line):
    """One command on the control socket, without a vanectl process (whose
    start takes most of a second under ASan on a loaded machine)."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(10)
        s.connect(str(v.socket_path))
        s.sendall(line.encode() + b"\n")
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                return json.loads(data)
            data += chunk


def cluster_info(v):
    p, obj = ctl_json(v, "cluster")
    assert p.returncode == 0, (p.stdout, p.stderr)
    return obj


def test_fleet(fleet):
    nodes, clients, members = fleet
    every = set(ADDR.values())
    assert everywhere(clients, every)

    # 1. A change on any node is in effect on all three within 1 s.
    lat, cmd = [], []
    for i in range(20):
        v = nodes[i % 3]
        verb = "drain" if i % 2 == 0 else "undrain"
        want = every - {ADDR["a"]} if verb == "drain" else every
        t0 = time.monotonic()
        ok(v, verb, SVC + "/a")
        t1 = time.monotonic()
        wait_until(lambda: everywhere(clients, want), "%s on every node" % verb, 5, 0.005)
        lat.append(time.monotonic() - t1)
        cmd.append(t1 - t0)

    def pct(xs, p):
        xs = sorted(xs)
        return xs[min(len(xs) - 1, int(len(xs) * p))] * 1000
    print("\nfleet: acknowledged change to all 3 nodes: p50 %.0f ms, p99 %.0f ms (n=%d); "
          "the vanectl command itself: p50 %.0f ms, p99 %.0f ms" % (
              pct(lat, 0.5), pct(lat, 0.99), len(lat), pct(cmd, 0.5), pct(cmd, 0.99)))
    assert pct(lat, 0.99) < 1000, lat

    # 2. Concurrent writers on two nodes: different endpoints, and two
    # different verbs on one endpoint; nothing is lost.
    def run(v, *args):
        out.append(ctl(v, *args))
    out = []
    ts = [threading.Thread(target=run, args=(nodes[0], "weight", SVC + "/a", "7")),
          threading.Thread(target=run, args=(nodes[1], "weight", SVC + "/b", "9")),
          threading.Thread(target=run, args=(nodes[1], "weight", SVC + "/c", "5")),
          threading.Thread(target=run, args=(nodes[2], "load", SVC + "/c", "40"))]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert all(p.returncode == 0 for p in out), [(p.stdout, p.stderr) for p in out]

    def converged():
        for v in nodes:
            a, b, c = (health_row(v, SVC, k) for k in "abc")
            if (a["weight_override"], b["weight_override"], c["weight_override"],
                    c["load"]) != (7, 9, 5, 40):
                return False
        return True
    wait_until(converged, "both concurrent changes on every node", 5)

    # The HTTP API takes the same path (its reply waits for etcd).
    st, res, _ = post(nodes[0], "/api/v1/drain", {"service": SVC, "endpoint": "c"})
    assert st == 200 and res.get("changed") is True, (st, res)
    wait_until(lambda: everywhere(clients, every - {ADDR["c"]}), "HTTP drain everywhere", 5)
    st, res, _ = post(nodes[0], "/api/v1/endpoints/%s/c/undrain" % SVC)
    assert st == 200, (st, res)
    wait_until(lambda: everywhere(clients, every), "HTTP undrain everywhere", 5)

    # 3. Health votes: one node alone seeing v1 down keeps it in service
    # (and says so); two of three take it out everywhere.
    def votes(v, ep):
        return health_row(v, VOTED, ep).get("votes") or {}

    def state(v, ep):
        return health_row(v, VOTED, ep)["state"]
    (nodes[0].dir / "down-v1").touch()
    wait_until(lambda: votes(nodes[0], "v1").get("local_view_disagrees") is True,
               "node 0's local view disagreeing", 5)
    assert votes(nodes[0], "v1")["down"] == 1 and votes(nodes[0], "v1")["vantages"] == 3
    assert all(state(v, "v1") == "up" for v in nodes)
    # explain shows each vantage's verdict and age, and the rule.
    p, x = ctl_json(nodes[0], "explain", VOTED, "A", "--client", "198.51.100.7")
    assert p.returncode == 0, (p.stdout, p.stderr)
    v1 = [r for r in x["endpoints"] if r["endpoint"] == "v1"][0]["votes"]
    seen = {d["node"]: d["verdict"] for d in v1["vantages"]}
    assert seen == {"n0": "down", "n1": "up", "n2": "up"}, v1
    assert all(isinstance(d["age_s"], int) for d in v1["vantages"]), v1
    assert (v1["needed"], v1["live"], v1["down"]) == (2, 3, 1), v1
    assert "at least 2 of the 3 live vantages" in v1["rule"], v1
    assert "v1: votes: n0 down (this node), n1 up" in x["trace_text"], x["trace_text"]
    # ... and the metrics count them.
    st, text, _ = get(nodes[0], "/metrics")
    assert st == 200
    metrics = dict(l.rsplit(" ", 1) for l in text.splitlines()
                   if l.startswith("vane_fleet_"))
    assert metrics["vane_fleet_etcd_reachable"] == "1", metrics
    assert metrics["vane_fleet_nodes"] == "3", metrics
    assert metrics["vane_fleet_local_view_disagrees"] == "1", metrics
    assert metrics["vane_fleet_revision_lag"] == "0", metrics
    assert int(metrics['vane_fleet_votes{verdict="up"}']) >= 4, metrics
    assert int(metrics["vane_fleet_vote_writes_total"]) >= 3, metrics
    if shutil.which("promtool"):
        r = subprocess.run(["promtool", "check", "metrics"], input=text, text=True,
                           capture_output=True)
        assert "vane_fleet" not in r.stdout + r.stderr, r.stdout + r.stderr
    (nodes[1].dir / "down-v1").touch()
    wait_until(lambda: all(state(v, "v1") == "down" for v in nodes),
               "v1 down for the fleet (2 of 3)", 5)
    assert votes(nodes[2], "v1")["down"] == 2
    (nodes[0].dir / "down-v1").unlink()
    (nodes[1].dir / "down-v1").unlink()
    (nodes[1].dir / "down-v2").touch()
    (nodes[2].dir / "down-v2").touch()
    wait_until(lambda: all(state(v, "v1") == "up" and state(v, "v2") == "down"
                           for v in nodes), "v1 back, v2 down for the fleet", 5)

    # 4. etcd loses quorum: last state kept, writes refused unless --local.
    ok(nodes[0], "drain", SVC + "/a")
    wait_until(lambda: everywhere(clients, every - {ADDR["a"]}), "drain a", 5)
    members[1].stop()
    members[2].stop()
    wait_until(lambda: all(log_has(v, "etcd unreachable") for v in nodes),
               "nodes noticing etcd without quorum", 10)
    assert everywhere(clients, every - {ADDR["a"]})
    # The refused write waits for etcd's timeouts off the loop: the node
    # answers its control socket meanwhile, and says a write is pending
    # (a blocked loop could not answer until the write was over).
    refused = []
    writer = threading.Thread(target=lambda: refused.append(
        ctl_json(nodes[1], "drain", SVC + "/b")))
    t_write = time.monotonic()
    writer.start()
    pending = []
    while writer.is_alive():
        t0 = time.monotonic()
        info = ctl_direct(nodes[1], "cluster")
        if info["writes_pending"] == 1 and writer.is_alive():
            pending.append(time.monotonic() - t0)
    writer.join()
    t_write = time.monotonic() - t_write
    print("fleet: refused write took %.2f s; answered `cluster` %d times meanwhile "
          "(slowest %.0f ms)" % (t_write, len(pending), max(pending or [0]) * 1000))
    assert len(pending) >= 1, (pending, t_write)
    st, res, _ = post(nodes[0], "/api/v1/drain", {"service": SVC, "endpoint": "b"})
    assert st == 503 and "cluster unavailable" in res.get("error", ""), (st, res)
    p, obj = refused[0]
    assert p.returncode == 3, (p.stdout, p.stderr)
    assert obj.get("code") == "unavailable", obj
    assert "cluster unavailable: change not applied" in obj.get("error", ""), obj
    assert everywhere(clients, every - {ADDR["a"]})
    p, obj = ctl_json(nodes[1], "drain", SVC + "/b", "--local")
    assert p.returncode == 0 and obj.get("local") is True, (p.stdout, p.stderr)
    assert served(clients[1]) == {ADDR["c"]}
    assert served(clients[0]) == every - {ADDR["a"]}
    info = cluster_info(nodes[1])
    assert info["available"] is False
    assert [l["key"] for l in info["local_changes"]] == [SVC + "/b"]
    # Node 2 changes the same endpoint its own way, also --local.
    p, obj = ctl_json(nodes[2], "weight", SVC + "/b", "3", "--local")
    assert p.returncode == 0 and obj.get("local") is True, (p.stdout, p.stderr)

    # The mark survives a restart (kept in the state directory) and the
    # node serves its local change, not etcd's last value.
    kept = json.loads((nodes[1].state_dir / "cluster-local.json").read_text())
    assert [c["key"] for c in kept["changes"]] == [SVC + "/b"], kept
    assert nodes[1].stop() == 0
    nodes[1].start()
    assert log_has(nodes[1], "--local change from before the restart")
    assert [l["key"] for l in cluster_info(nodes[1])["local_changes"]] == [SVC + "/b"]
    assert served(clients[1]) == {ADDR["c"]}

    # ... and comes back: the first node to reach etcd pushes its change
    # (nobody changed the key meanwhile: the local change wins), the other
    # finds the key changed and takes the cluster's value; all converge.
    members[1].start()
    members[2].start()
    wait_until(lambda: all(cluster_info(v)["local_changes"] == [] for v in nodes[1:]),
               "local changes reconciled", 20)
    wins = [v for v in nodes[1:] if log_has(v, "the --local change wins")]
    loses = [v for v in nodes[1:] if log_has(v, "the cluster's value wins")]
    assert len(wins) == 1 and len(loses) == 1 and wins != loses, \
        [v.stderr_text()[-3000:] for v in nodes[1:]]

    def b_state(v):
        r = health_row(v, SVC, "b")
        return row_drained(r), r["weight_override"]
    want_b = (True, 9) if wins[0] is nodes[1] else (False, 3)
    wait_until(lambda: all(b_state(v) == want_b for v in nodes),
               "every node on the winner's state of b", 10)
    print("fleet: after the outage, %s's --local change won" % wins[0].dir.name)
    # One state again for the rest: b back in service, weight 9.
    ok(nodes[0], "undrain", SVC + "/b")
    ok(nodes[0], "weight", SVC + "/b", "9")
    wait_until(lambda: all(b_state(v) == (False, 9) for v in nodes), "b reset", 10)

    # 5. `cluster`: every node, the odd config flagged; a node killed -9
    # leaves with its lease.
    def listed(v, n):
        info = cluster_info(v)
        return info if info["available"] and len(info["nodes"]) == n else None
    info = wait_until(lambda: listed(nodes[0], 3), "three nodes listed", 10)
    flags = {n["node"]: n["config_differs"] for n in info["nodes"]}
    assert flags == {"n0": False, "n1": False, "n2": True}, info
    # The table: how long ago each node renewed its lease, and where its
    # state comes from.
    def table():
        rows = {n["node"]: n for n in cluster_info(nodes[0])["nodes"]}
        return rows if all("last_seen_s" in rows[k] for k in ("n1", "n2")) else None
    rows = wait_until(table, "last seen of every node", 10)
    assert all(r["state_source"] == "etcd" for r in rows.values()), rows
    assert all(rows[k]["last_seen_s"] <= 2 for k in ("n1", "n2")), rows
    text = ok(nodes[0], "cluster").stdout
    assert "NODE" in text and "LAST SEEN" in text and "STATE SOURCE" in text, text
    assert "ALERT: a node's config differs" in text, text
    # Every node reports the same applied state revision (records refresh
    # once a second).
    def same_revision():
        info = cluster_info(nodes[0])
        return {n["revision"] for n in info["nodes"]} == {info["revision"]}
    wait_until(same_revision, "every node at the same state revision", 5)
    nodes[2].proc.kill()
    nodes[2].proc.wait()
    t0 = time.monotonic()
    wait_until(lambda: listed(nodes[0], 2), "killed node gone with its lease", 10)
    print("fleet: killed node left the list after %.1f s (lease %s)" % (
        time.monotonic() - t0, LEASE))
    # Its vote on v2 went with its lease: 1 of 2 live vantages is no quorum.
    wait_until(lambda: state(nodes[0], "v2") == "up" and
               votes(nodes[0], "v2")["vantages"] == 2, "the dead node's vote expired", 5)
