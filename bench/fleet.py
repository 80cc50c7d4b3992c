#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""The fleet at scale (issue 13): N vaned nodes on loopback against one
three-member etcd cluster, each probing E endpoints (TCP checks against
listeners on 127.0.x.y run here).

Measures:
- propagation: `vanectl drain`/`undrain` on one node after another; from the
  command's acknowledgement until every node answers accordingly over DNS
  (median, p99, max);
- the etcd write rate health votes cause: quiet (revisions/s over a window
  with nothing changing), and during a transition (a tenth of the
  endpoints go down for every node, then come back): writes per changed
  (node, target), and the time until every vote is in;
- an etcd leader kill (-9): how long writes are refused (from the kill to
  the first acknowledged write), the time to apply that write on every
  node, and DNS failures on every node meanwhile (goal 0).

Usage: bench/fleet.py [--nodes 20] [--endpoints 200] [--changes 50]
       [--interval 5s] [--json]
Environment: VANED, VANECTL (default build/), ETCD (default from PATH),
FLEET_KEEP=1 keeps the work directory.  tests/integration/test_fleet_scale.py
runs a short version (4 nodes) through run().
"""

import argparse
import base64
import json
import os
import selectors
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

import dns.flags
import dns.message
import dns.rcode

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
ZONE_SRC = os.path.join(ROOT, "tests", "integration", "zones", "example.com.zone")
PROBE = "probe.example.com"
PROBE_A, PROBE_B = "192.0.2.201", "192.0.2.202"
PER_SERVICE = 50                 # endpoints per steered service (limit 64)


def log(msg):
    sys.stderr.write("%s fleet: %s\n" % (time.strftime("%H:%M:%S"), msg))
    sys.stderr.flush()


def free_port():
    while True:
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            u.bind(("127.0.0.1", 0))
            port = u.getsockname()[1]
            t.bind(("127.0.0.1", port))
            return port
        except OSError:
            continue
        finally:
            u.close()
            t.close()


def wait_for(cond, what, timeout, step=0.005):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = cond()
        if v:
            return v
        time.sleep(step)
    raise RuntimeError("timed out after %ss waiting for %s" % (timeout, what))


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * p))] if xs else float("nan")


# ---------------------------------------------------------------- etcd

class Etcd:
    def __init__(self, work, name, client, peer, cluster):
        self.dir = os.path.join(work, "etcd-" + name)
        self.name, self.cluster = name, cluster
        self.client, self.peer = client, peer
        self.url = "http://127.0.0.1:%d" % client
        self.proc = None

    def start(self, etcd):
        os.makedirs(self.dir, exist_ok=True)
        with open(os.path.join(self.dir, "etcd.log"), "ab") as logf:
            self.proc = subprocess.Popen([
                etcd, "--name", self.name, "--data-dir", os.path.join(self.dir, "data"),
                "--listen-client-urls", self.url, "--advertise-client-urls", self.url,
                "--listen-peer-urls", "http://127.0.0.1:%d" % self.peer,
                "--initial-advertise-peer-urls", "http://127.0.0.1:%d" % self.peer,
                "--initial-cluster", self.cluster, "--initial-cluster-state", "new",
                "--initial-cluster-token", "vane-bench", "--heartbeat-interval", "100",
                "--election-timeout", "1000", "--log-level", "error"],
                stdout=logf, stderr=logf, stdin=subprocess.DEVNULL)

    def rpc(self, path, body, timeout=1.0):
        req = urllib.request.Request(self.url + path, data=json.dumps(body).encode(),
                                     method="POST")
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return json.loads(r.read())

    def ok(self):
        try:
            return "header" in self.rpc("/v3/kv/range", {"key": "AA=="})
        except OSError:
            return False

    def status(self):
        """(member id, leader id) or None."""
        try:
            s = self.rpc("/v3/maintenance/status", {})
            return s["header"]["member_id"], s.get("leader")
        except (OSError, KeyError, ValueError):
            return None

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()


def b64(s):
    return base64.b64encode(s.encode()).decode()


def prefix_range(prefix):
    end = prefix[:-1] + chr(ord(prefix[-1]) + 1)
    return {"key": b64(prefix), "range_end": b64(end)}


# ----------------------------------------------------- probe listeners

class Backends:
    """E TCP listeners, one per endpoint address (127.0.x.y), that accept
    and close; `down(i)` closes one (connection refused), `up(i)` reopens."""

    def __init__(self, n, port):
        self.port = port
        self.addrs = ["127.0.%d.%d" % (1 + i // 250, 1 + i % 250) for i in range(n)]
        self.socks = [None] * n
        self.sel = selectors.DefaultSelector()
        self.lock = threading.Lock()
        self.stopping = False
        for i in range(n):
            self.up(i)
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def up(self, i):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((self.addrs[i], self.port))
        s.listen(512)
        s.setblocking(False)
        with self.lock:
            self.socks[i] = s
            self.sel.register(s, selectors.EVENT_READ)

    def down(self, i):
        with self.lock:
            s, self.socks[i] = self.socks[i], None
            if s:
                self.sel.unregister(s)
                s.close()

    def _run(self):
        while not self.stopping:
            with self.lock:
                events = self.sel.select(timeout=0)
            if not events:
                time.sleep(0.005)
                continue
            for key, _ in events:
                try:
                    while True:
                        c, _ = key.fileobj.accept()
                        c.close()
                except (BlockingIOError, OSError):
                    pass

    def close(self):
        self.stopping = True
        self.thread.join()
        for i in range(len(self.socks)):
            self.down(i)


# ------------------------------------------------------------- vaned

class Node:
    def __init__(self, work, name, port, text, vaned, vanectl):
        self.dir = os.path.join(work, name)
        os.makedirs(os.path.join(self.dir, "zones"), exist_ok=True)
        shutil.copy(ZONE_SRC, os.path.join(self.dir, "zones", "example.com.zone"))
        self.conf = os.path.join(self.dir, "vaned.yaml")
        with open(self.conf, "w") as f:
            f.write(text)
        self.name, self.port = name, port
        self.vaned, self.vanectl = vaned, vanectl
        self.sock = os.path.join(self.dir, "run", "vaned.sock")
        self.proc = None
        # One socket per asking thread: replies must not cross.
        self.udp, self.udp2 = (socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                               for _ in range(2))
        self.udp.connect(("127.0.0.1", port))
        self.udp2.connect(("127.0.0.1", port))

    def start(self):
        self.errf = open(os.path.join(self.dir, "vaned.stderr"), "ab")
        self.proc = subprocess.Popen([self.vaned, "-c", self.conf], cwd=self.dir,
                                     stdout=self.errf, stderr=self.errf,
                                     stdin=subprocess.DEVNULL)

    def log(self):
        with open(os.path.join(self.dir, "vaned.stderr"), errors="replace") as f:
            return f.read()

    def ask(self, name=PROBE, timeout=1.0, second=False):
        """The A addresses, or None on a timeout or an error rcode."""
        q = dns.message.make_query(name, "A")
        q.flags &= ~dns.flags.RD
        u = self.udp2 if second else self.udp
        u.settimeout(timeout)
        try:
            u.send(q.to_wire())
            while True:
                r = dns.message.from_wire(u.recv(65535))
                if r.id == q.id:
                    break
        except (socket.timeout, OSError):
            return None
        if r.rcode() != dns.rcode.NOERROR:
            return None
        return {rr.address for rrset in r.answer for rr in rrset}

    def ctl(self, *args):
        return subprocess.run([self.vanectl, "-s", self.sock, "--json"] + list(args),
                              capture_output=True, text=True, timeout=30)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.udp.close()
        self.udp2.close()
        self.errf.close()
        return self.proc.returncode if self.proc else None


def node_conf(i, port, urls, backends, interval, lease):
    lines = [
        "server:",
        '  listen: [ "127.0.0.1@%d" ]' % port,
        "  udp-workers: 1",
        "  tcp-max-clients: 20",
        "  control: run/vaned.sock",
        "  state-dir: state",
        "  log-level: info",
        "rrl:",
        "  rate: 0",
        "zones:",
        "  - name: example.com",
        "    file: zones/example.com.zone",
        "checks:",
        "  - { id: tcp, type: tcp, port: %d, interval: %s, timeout: 1s, rise: 1, fall: 1 }" % (
            backends.port, interval),
        "services:",
        "  - name: %s" % PROBE,
        "    ttl: 5",
        "    policy: [health]",
        "    answers: 2",
        "    endpoints:",
        "      - { id: a, address: %s }" % PROBE_A,
        "      - { id: b, address: %s }" % PROBE_B,
    ]
    for s in range(0, len(backends.addrs), PER_SERVICE):
        lines += ["  - name: s%d.example.com" % (s // PER_SERVICE), "    ttl: 30",
                  "    policy: [health]", "    answers: 1", "    endpoints:"]
        for k in range(s, min(s + PER_SERVICE, len(backends.addrs))):
            lines.append("      - { id: e%d, address: 198.51.100.%d, check: tcp, "
                         "check-address: %s }" % (k, 1 + k % 250, backends.addrs[k]))
    lines += ["cluster:", "  name: bench", "  node: n%d" % i,
              "  etcd: [ %s ]" % ", ".join('"%s"' % u for u in urls),
              "  lease: %s" % lease]
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------- the run

def run(nodes=20, endpoints=200, changes=50, interval="5s", lease="5s", vaned=None,
        vanectl=None, etcd=None, keep=False):
    vaned = vaned or os.environ.get("VANED", os.path.join(ROOT, "build", "vaned"))
    vanectl = vanectl or os.environ.get("VANECTL",
                                        os.path.join(os.path.dirname(vaned), "vanectl"))
    etcd = etcd or os.environ.get("ETCD") or shutil.which("etcd")
    # etcd fsyncs every write: on tmpfs, the shared machine's disk is not
    # what is measured.
    shm = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None
    work = tempfile.mkdtemp(prefix="vane-fleet-bench-", dir=shm)
    res = {"nodes": nodes, "endpoints": endpoints, "interval": interval}
    members, fleet, backends = [], [], None
    try:
        ports = [(free_port(), free_port()) for _ in range(3)]
        cluster = ",".join("m%d=http://127.0.0.1:%d" % (i, p[1]) for i, p in enumerate(ports))
        members = [Etcd(work, "m%d" % i, c, p, cluster) for i, (c, p) in enumerate(ports)]
        for m in members:
            m.start(etcd)
        wait_for(lambda: all(m.ok() for m in members), "etcd quorum", 90, 0.1)
        backends = Backends(endpoints, free_port())
        urls = [m.url for m in members]
        for i in range(nodes):
            port = free_port()
            fleet.append(Node(work, "n%d" % i, port,
                              node_conf(i, port, urls, backends, interval, lease),
                              vaned, vanectl))
        t0 = time.monotonic()
        for n in fleet:
            n.start()
        both = {PROBE_A, PROBE_B}

        def serving():
            for n in fleet:
                if n.proc.poll() is not None:
                    raise RuntimeError("%s exited with %s:\n%s" % (
                        n.name, n.proc.returncode, n.log()[-3000:]))
            return all(n.ask(timeout=0.2) == both for n in fleet)
        wait_for(serving, "every node serving", 120, 0.1)
        wait_for(lambda: all("cluster: applied state revision" in n.log() for n in fleet),
                 "every node in the cluster", 60, 0.1)
        res["start_s"] = time.monotonic() - t0
        log("%d nodes up in %.1f s" % (nodes, res["start_s"]))

        def votes():
            r = members[0].rpc("/v3/kv/range", dict(prefix_range("/vane/bench/health/"),
                                                    count_only=True), timeout=15)
            return int(r.get("count", 0))

        def downs():
            r = members[0].rpc("/v3/kv/range", prefix_range("/vane/bench/health/"), timeout=15)
            return sum(1 for kv in r.get("kvs", [])
                       if base64.b64decode(kv["value"]).startswith(b"down"))

        def revision():
            return int(members[0].rpc("/v3/kv/range", {"key": "AA=="})["header"]["revision"])
        want_votes = nodes * endpoints
        wait_for(lambda: votes() >= want_votes, "every node's votes", 120, 0.2)

        # 1. Propagation of a drain.
        lat, acks, refused = [], [], 0
        for k in range(changes):
            n = fleet[k % nodes]
            verb = "drain" if k % 2 == 0 else "undrain"
            want = {PROBE_B} if verb == "drain" else both
            t0 = time.monotonic()
            # Refused (etcd too slow to answer within vaned's 1 s per member
            # on a loaded machine): counted, and tried again.
            for _ in range(5):
                p = n.ctl(verb, PROBE + "/a")
                if p.returncode == 0:
                    break
                refused += 1
            t1 = time.monotonic()
            if p.returncode != 0:
                raise RuntimeError("%s failed: %s %s" % (verb, p.stdout, p.stderr))
            pending = set(range(nodes))
            while pending:
                for j in list(pending):
                    if fleet[j].ask() == want:
                        pending.discard(j)
                if time.monotonic() - t1 > 10:
                    raise RuntimeError("change %d not on every node after 10 s" % k)
            lat.append((time.monotonic() - t1) * 1000)
            acks.append((t1 - t0) * 1000)
        res["propagation_ms"] = {"p50": statistics.median(lat), "p99": pct(lat, 0.99),
                                 "max": max(lat), "n": len(lat)}
        res["ack_ms"] = {"p50": statistics.median(acks), "p99": pct(acks, 0.99),
                         "refused_then_retried": refused}
        log("propagation to all %d nodes: p50 %.0f ms, p99 %.0f ms (n=%d); command p50 %.0f ms"
            % (nodes, res["propagation_ms"]["p50"], res["propagation_ms"]["p99"], len(lat),
               res["ack_ms"]["p50"]))

        # 2. Vote writes: quiet, then a transition of a tenth of the targets.
        quiet_s = 10
        r0 = revision()
        time.sleep(quiet_s)       # a measuring window, not a wait for a condition
        res["quiet_writes_per_s"] = (revision() - r0) / quiet_s
        flip = max(1, endpoints // 10)
        r0, t0 = revision(), time.monotonic()
        for i in range(flip):
            backends.down(i)
        wait_for(lambda: downs() >= nodes * flip, "every node voting down", 120, 0.2)
        t_down = time.monotonic() - t0
        for i in range(flip):
            backends.up(i)
        wait_for(lambda: downs() == 0, "every node voting up again", 120, 0.2)
        t_all = time.monotonic() - t0
        writes = revision() - r0
        res["transition"] = {"targets": flip, "changed_votes": 2 * nodes * flip,
                             "writes": writes, "seconds": t_all, "down_s": t_down,
                             "writes_per_s": writes / t_all}
        log("votes: quiet %.2f writes/s; %d targets down and up on %d nodes: %d writes "
            "(%d vote changes) in %.1f s, all down votes in after %.1f s"
            % (res["quiet_writes_per_s"], flip, nodes, writes, 2 * nodes * flip, t_all,
               t_down))

        # 3. Kill the etcd leader while every node is asked all the time.
        failures, asked = [0], [0]
        stop = threading.Event()

        def asker():
            while not stop.is_set():
                for n in fleet:
                    got = n.ask(timeout=1.0, second=True)
                    asked[0] += 1
                    if not got:
                        failures[0] += 1
        th = threading.Thread(target=asker)
        th.start()
        try:
            st = [m.status() for m in members]
            leader = [m for m, s in zip(members, st) if s and s[0] == s[1]]
            if not leader:
                raise RuntimeError("no etcd leader found: %r" % st)
            leader = leader[0]
            writer = fleet[0]
            t_kill = time.monotonic()
            leader.kill()
            attempts, k = 0, 0
            while True:
                attempts += 1
                p = writer.ctl("drain", PROBE + "/a")
                if p.returncode == 0:
                    break
                if time.monotonic() - t_kill > 60:
                    raise RuntimeError("writes refused for 60 s after the leader kill")
            t_ack = time.monotonic()
            wait_for(lambda: all(n.ask() == {PROBE_B} for n in fleet), "drain applied", 30)
            t_applied = time.monotonic()
            time.sleep(1)         # keep asking a little after, for late failures
        finally:
            stop.set()
            th.join()
        res["leader_kill"] = {"refused_s": t_ack - t_kill, "apply_s": t_applied - t_ack,
                              "attempts": attempts, "dns_queries": asked[0],
                              "dns_failures": failures[0]}
        log("leader kill: writes refused for %.2f s (%d attempts), applied on every node "
            "%.0f ms later; DNS: %d failures of %d queries"
            % (t_ack - t_kill, attempts, (t_applied - t_ack) * 1000, failures[0], asked[0]))
        return res
    finally:
        for n in fleet:
            rc = n.stop()
            if rc not in (0, None):
                log("%s exited with %s" % (n.name, rc))
        if backends:
            backends.close()
        for m in members:
            m.stop()
        if keep or os.environ.get("FLEET_KEEP") == "1":
            log("kept %s" % work)
        else:
            shutil.rmtree(work, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--nodes", type=int, default=20)
    ap.add_argument("--endpoints", type=int, default=200)
    ap.add_argument("--changes", type=int, default=50)
    ap.add_argument("--interval", default="5s")
    ap.add_argument("--lease", default="5s")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    res = run(a.nodes, a.endpoints, a.changes, a.interval, a.lease)
    if a.json:
        print(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
