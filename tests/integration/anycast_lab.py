# SPDX-License-Identifier: GPL-3.0-or-later
"""The anycast lab: network namespaces, veth links, Debian's BIRD and two vaned.

    client (192.0.2.2) -- router (BIRD, AS 65000) --+-- node1 (BIRD AS 65001, vaned)
                                                    +-- node2 (BIRD AS 65002, vaned)

Each node has the service address 203.0.113.53/32 on lo and a BIRD static
protocol `anycast` (disabled at start: vaned enables it) exported over eBGP
with BFD to the router.  The router prefers node1 (local-pref 200 over 100),
so traffic is on node1 whenever node1 announces.  Addresses come from the
documentation ranges and exist only inside the namespaces made here.

Used by test_anycast.py; nothing here runs outside those namespaces, and
stop() removes every process and namespace it made, whatever happened.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

ANYCAST = "203.0.113.53"
NODE_ANSWER = {"192.0.2.101": "node1", "192.0.2.102": "node2"}

# Short timers so the whole lab fits in about a minute and a half.
BFD = "interval 100 ms; multiplier 3;"
BGP_TIMERS = ("hold time 3; keepalive time 1; connect delay time 1; connect retry time 1; "
              "error wait time 1, 2; error forget time 5;")

ROUTER_CONF = """
router id 192.0.2.1;
log "{dir}/bird.log" all;
protocol device {{ scan time 1; }}
protocol kernel {{ ipv4 {{ export all; import none; }}; }}
protocol bfd {{ interface "r*" {{ {bfd} }}; }}
protocol bgp node1 {{
  local 198.51.100.1 as 65000; neighbor 198.51.100.2 as 65001;
  {timers} bfd on;
  ipv4 {{ import filter {{ bgp_local_pref = 200; accept; }}; export none; }};
}}
protocol bgp node2 {{
  local 198.51.100.5 as 65000; neighbor 198.51.100.6 as 65002;
  {timers} bfd on;
  ipv4 {{ import filter {{ bgp_local_pref = 100; accept; }}; export none; }};
}}
"""

# The node's BIRD config is etc/bird-anycast.conf with the lab's addresses
# and timers (that file documents each part).
NODE_CONF = """
router id {addr};
log "{dir}/bird.log" all;
protocol device {{ scan time 1; }}
protocol bfd {{ interface "e0" {{ {bfd} }}; }}
protocol static anycast {{
  disabled;
  ipv4;
  route {anycast}/32 blackhole;
}}
protocol bgp upstream {{
  local {addr} as {asn}; neighbor {gw} as 65000;
  {timers} bfd on;
  ipv4 {{ import none; export where proto = "anycast"; }};
}}
"""

ZONE = """$ORIGIN example.com.
$TTL 30
@ SOA ns1 hostmaster 1 3600 600 86400 30
@ NS ns1
ns1 A {anycast}
whoami A {answer}
"""

ZONE_NET = """$ORIGIN example.net.
$TTL 30
@ SOA ns1.example.com. hostmaster 1 3600 600 86400 30
@ NS ns1.example.com.
www A 192.0.2.80
"""

VANED_CONF = """
server:
  listen: [ "127.0.0.1@53", "{addr}@53" ]
  udp-workers: 1
  control: {dir}/vaned.sock
  state-dir: {dir}/state
  log-level: info
http:
  listen: "{addr}@8053"
zones:
  - name: example.com
    file: {dir}/example.com.zone
  - name: example.net
    file: {dir}/example.net.zone
anycast:
  addresses: [ {anycast} ]
  bird-socket: {dir}/bird.ctl
  protocol: anycast
  uplink: upstream
  self-check: {{ name: whoami.example.com, interval: 200ms, timeout: 400ms, rise: 3, fall: 2 }}
  hold-down: 1s
  drain-time: 1s
  bird-timeout: 1s
  peers: [ "http://{peer}:8053" ]
# DNS-only failover, for comparison: the same two sites as endpoints of a
# steered name, health-checked by DNS queries to their unicast addresses.
checks:
  - id: dns
    type: dns
    query: "whoami.example.com A"
    interval: 200ms
    timeout: 150ms
    rise: 2
    fall: 2
services:
  - name: svc.example.com
    ttl: {dns_ttl}
    policy: [health, priority]
    answers: 1
    endpoints:
      - id: node1
        address: 198.51.100.2
        priority: 0
        check: dns
      - id: node2
        address: 198.51.100.6
        priority: 1
        check: dns
"""

# The DNS-only client's resolver: Debian's unbound in the client namespace,
# asking both nodes' unicast addresses for example.com.
DNS_TTL = 5
UNBOUND_CONF = """
server:
  interface: 127.0.0.1
  port: 53
  do-ip6: no
  do-not-query-localhost: no
  access-control: 127.0.0.0/8 allow
  username: ""
  chroot: ""
  directory: "{dir}"
  pidfile: "{dir}/unbound.pid"
  use-syslog: no
  logfile: "{dir}/unbound.log"
  module-config: "iterator"
  prefetch: no
  serve-expired: no
stub-zone:
  name: "example.com"
  stub-addr: 198.51.100.2
  stub-addr: 198.51.100.6
remote-control:
  control-enable: no
"""

# The DNS-only client: every 10 ms, resolve svc.example.com through the
# resolver (cached for its TTL) and ask the address it got; one line per
# attempt, "seq sent node|lost ttl", ttl being what the resolver returned.
DNS_PROBER = r"""
import sys, time
import dns.exception, dns.message, dns.query
out, duration = sys.argv[1], float(sys.argv[2])
names = {names}
f = open(out, "w", buffering=1)
start = time.monotonic()
seq = 0
while time.monotonic() - start < duration:
    t = start + seq * 0.010
    now = time.monotonic()
    if now < t:
        time.sleep(t - now)
    sent = time.monotonic()
    who, ttl = "lost", "-"
    try:
        r = dns.query.udp(dns.message.make_query("svc.example.com", "A"), "127.0.0.1",
                          timeout=0.2)
        ttl = str(r.answer[0].ttl)
        q = dns.message.make_query("whoami.example.com", "A")
        q.flags = 0
        a = dns.query.udp(q, r.answer[0][0].address, timeout=0.2)
        who = names.get(a.answer[0][0].address, "other")
    except (dns.exception.Timeout, IndexError, OSError):
        pass
    f.write("%d %.6f %s %s\n" % (seq, sent, who, ttl))
    seq = max(seq + 1, int((time.monotonic() - start) / 0.010))
f.close()
"""

# The client: one query every 10 ms to the anycast address for a bounded
# time; each result is a line "seq sent_monotonic node|lost" as it
# completes, so the test can poll the file while it runs.
PROBER = r"""
import select, socket, struct, sys, time
import dns.message
out, duration, interval = sys.argv[1], float(sys.argv[2]), 0.010
names = {names}
q = b"\x00\x00\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x06whoami\x07example\x03com\x00\x00\x01\x00\x01"
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setblocking(False)
f = open(out, "w", buffering=1)
pending = {{}}
start = time.monotonic()
seq = 0
timeout = 0.5
while True:
    now = time.monotonic()
    if now - start < duration and now >= start + seq * interval:
        pending[seq] = now
        s.sendto(struct.pack("!H", seq & 0xffff) + q[2:], ("{anycast}", 53))
        seq += 1
    for k in [k for k, t in pending.items() if now - t > timeout]:
        f.write("%d %.6f lost\n" % (k, pending.pop(k)))
    if now - start >= duration and not pending:
        break
    wait = max(0.0, min(start + seq * interval - time.monotonic(), 0.005))
    r, _, _ = select.select([s], [], [], wait)
    while r:
        try:
            data = s.recv(512)
        except BlockingIOError:
            break
        qid = struct.unpack("!H", data[:2])[0]
        k = next((k for k in pending if k & 0xffff == qid), None)
        if k is None:
            continue
        sent = pending.pop(k)
        who = "other"
        try:
            m = dns.message.from_wire(data)
            for rr in m.answer:
                for rd in rr:
                    who = names.get(rd.to_text(), "other")
        except Exception:
            pass
        f.write("%d %.6f %s\n" % (k, sent, who))
f.close()
"""


def run(*args, check=True, timeout=20):
    p = subprocess.run(args, capture_output=True, text=True, timeout=timeout)
    if check and p.returncode != 0:
        raise RuntimeError("%s: %s" % (" ".join(args), p.stderr.strip()))
    return p


def wait_for(what, cond, timeout=20.0, step=0.05):
    """Poll `cond` until it returns something true; fail after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        v = cond()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError("timed out after %.0f s waiting for %s" % (timeout, what))
        time.sleep(step)


class Probe:
    """A bounded run of the client's queries."""

    def __init__(self, lab, seconds, dns_only=False):
        self.path = lab.dir / ("probe-%d.txt" % time.monotonic_ns())
        code = (DNS_PROBER.format(names=repr(NODE_ANSWER)) if dns_only else
                PROBER.format(names=repr(NODE_ANSWER), anycast=ANYCAST))
        self.proc = subprocess.Popen(
            ["ip", "netns", "exec", lab.ns["client"], sys.executable, "-c", code,
             str(self.path), str(seconds)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        lab.procs.append(self.proc)

    def rows(self):
        try:
            text = self.path.read_text()
        except FileNotFoundError:
            return []
        rows = []
        for line in text.splitlines():
            parts = line.split()
            if len(parts) >= 3:
                rows.append((int(parts[0]), float(parts[1]), parts[2]) + tuple(parts[3:]))
        return sorted(rows)

    def wait_answers(self, node, n=10, timeout=20.0):
        """Until the last `n` results all came from `node`."""
        def ok():
            r = self.rows()
            return len(r) >= n and all(x[2] == node for x in r[-n:])
        try:
            wait_for("%d answers in a row from %s" % (n, node), ok, timeout)
        except AssertionError as e:
            alive = "running" if self.proc.poll() is None else "ended"
            raise AssertionError("%s (prober %s; last rows %s)"
                                 % (e, alive, self.rows()[-n:])) from None

    def finish(self, timeout=60.0):
        self.proc.wait(timeout=timeout)
        return self.rows()

    def stop(self):
        """End a prober started with room to spare, once its rows suffice."""
        self.proc.terminate()
        self.proc.wait(timeout=10)
        return self.rows()


def summary(rows, t0, to):
    """After the event at `t0`: lost queries, and when traffic settled on
    `to` (the send time of the first query after the last one that did not
    reach `to`), in ms after t0."""
    after = [r for r in rows if r[1] >= t0]
    lost = [r for r in rows if r[2] == "lost"]
    lost_after = [r for r in after if r[2] == "lost"]
    bad = [r for r in after if r[2] != to]
    if not after:
        settled = None
    elif not bad:
        settled = 0.0
    else:
        nxt = [r for r in after if r[0] > bad[-1][0]]
        settled = (nxt[0][1] - t0) * 1000 if nxt else None
    return {"lost": len(lost), "lost_after": len(lost_after), "settled_ms": settled,
            "queries": len(rows),
            "last_loss_ms": (lost_after[-1][1] - t0) * 1000 if lost_after else None}


class Lab:
    def __init__(self, tmp, vaned, vanectl):
        self.dir = Path(tmp)
        self.vaned, self.vanectl = vaned, vanectl
        tag = "vac%d" % (os.getpid() % 100000)
        self.ns = {n: "%s-%s" % (tag, n) for n in ("client", "router", "node1", "node2")}
        self.made = []
        self.procs = []
        self.bird = {}
        self.vaned_proc = {}
        self.node = {
            "node1": {"addr": "198.51.100.2", "gw": "198.51.100.1", "asn": 65001,
                      "peer": "198.51.100.6", "answer": "192.0.2.101"},
            "node2": {"addr": "198.51.100.6", "gw": "198.51.100.5", "asn": 65002,
                      "peer": "198.51.100.2", "answer": "192.0.2.102"},
        }

    # ---- plumbing ----

    def nsrun(self, ns, *args, check=True):
        return run("ip", "netns", "exec", self.ns[ns], *args, check=check)

    def build(self):
        for ns in self.ns.values():
            run("ip", "netns", "add", ns)
            self.made.append(ns)
        link = lambda a, an, b, bn: run("ip", "link", "add", an, "netns", self.ns[a], "type",
                                        "veth", "peer", "name", bn, "netns", self.ns[b])
        link("client", "c0", "router", "r0")
        link("router", "r1", "node1", "e0")
        link("router", "r2", "node2", "e0")
        addrs = {"client": [("c0", "192.0.2.2/24")],
                 "router": [("r0", "192.0.2.1/24"), ("r1", "198.51.100.1/30"),
                            ("r2", "198.51.100.5/30")],
                 "node1": [("e0", "198.51.100.2/30"), ("lo", ANYCAST + "/32")],
                 "node2": [("e0", "198.51.100.6/30"), ("lo", ANYCAST + "/32")]}
        for ns, items in addrs.items():
            self.nsrun(ns, "ip", "link", "set", "lo", "up")
            for dev, a in items:
                self.nsrun(ns, "ip", "addr", "add", a, "dev", dev)
                self.nsrun(ns, "ip", "link", "set", dev, "up")
        self.nsrun("client", "ip", "route", "add", "default", "via", "192.0.2.1")
        self.nsrun("router", "sysctl", "-qw", "net.ipv4.ip_forward=1")
        for n, info in self.node.items():
            for net in ("192.0.2.0/24", "198.51.100.0/24"):
                self.nsrun(n, "ip", "route", "replace", net, "via", info["gw"])
        # BIRD on the router and the nodes.
        self.start_bird("router", ROUTER_CONF.format(dir=self.sub("router"), bfd=BFD,
                                                     timers=BGP_TIMERS))
        for n, info in self.node.items():
            d = self.sub(n)
            (d / "example.com.zone").write_text(ZONE.format(anycast=ANYCAST,
                                                            answer=info["answer"]))
            (d / "example.net.zone").write_text(ZONE_NET)
            (d / "vaned.conf").write_text(VANED_CONF.format(dir=d, anycast=ANYCAST,
                                                            dns_ttl=DNS_TTL, **info))
            self.start_bird(n, NODE_CONF.format(dir=d, bfd=BFD, timers=BGP_TIMERS,
                                                anycast=ANYCAST, **info))

    def sub(self, name):
        d = self.dir / name
        d.mkdir(exist_ok=True)
        return d

    def start_bird(self, ns, conf):
        d = self.sub(ns)
        (d / "bird.conf").write_text(conf)
        p = subprocess.Popen(["ip", "netns", "exec", self.ns[ns], "bird", "-f", "-c",
                              str(d / "bird.conf"), "-s", str(d / "bird.ctl"), "-P",
                              str(d / "bird.pid")],
                             stdout=subprocess.DEVNULL, stderr=open(d / "bird.err", "w"))
        self.procs.append(p)
        self.bird[ns] = p
        wait_for("BIRD on " + ns, lambda: (d / "bird.ctl").exists() or p.poll() is not None, 10)
        assert p.poll() is None, (d / "bird.err").read_text()

    def birdc(self, ns, *cmd):
        return run("birdc", "-s", str(self.dir / ns / "bird.ctl"), *cmd, check=False).stdout

    def start_vaned(self, n, supervised=True):
        """vaned in the node's namespace.  Supervised: the lab's stand-in for
        the systemd drop-in etc/systemd/vaned.service.d/anycast.conf
        (ExecStopPost): when vaned exits, however it exits, disable the
        BIRD protocol."""
        d = self.sub(n)
        for f in ("vaned.pid", "vaned.sock"):
            (d / f).unlink(missing_ok=True)
        env = dict(os.environ, ASAN_OPTIONS=os.environ.get("ASAN_OPTIONS", "detect_leaks=0"))
        after = ('[ -e "$2/no-watchdog" ] || birdc -s "$2/bird.ctl" disable anycast >/dev/null'
                 if supervised else "true")
        script = '"$0" -c "$1" 2>>"$2/vaned.log" & echo $! >"$2/vaned.pid"; wait $!; %s' % after
        p = subprocess.Popen(["ip", "netns", "exec", self.ns[n], "sh", "-c", script,
                              self.vaned, str(d / "vaned.conf"), str(d)], env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.procs.append(p)
        self.vaned_proc[n] = p
        wait_for("vaned pid on " + n, lambda: (d / "vaned.pid").exists() and
                 (d / "vaned.pid").read_text().strip(), 10)
        wait_for("vaned control socket on " + n, lambda: (d / "vaned.sock").exists(), 60)

    def vaned_pid(self, n):
        return int((self.dir / n / "vaned.pid").read_text())

    def ctl(self, n, *args, check=True):
        p = run(self.vanectl, "-c", str(self.dir / n / "vaned.conf"), *args, check=False,
                timeout=30)
        if check and p.returncode != 0:
            raise RuntimeError("vanectl %s on %s: %s %s" % (args, n, p.stdout, p.stderr))
        return p

    def anycast(self, n):
        p = self.ctl(n, "--json", "anycast", check=False)
        try:
            return json.loads(p.stdout)
        except ValueError:
            return {}

    def endpoint_up(self, n, endpoint):
        """Whether `n`'s vaned has `endpoint` of svc.example.com up."""
        p = self.ctl(n, "--json", "health", check=False)
        try:
            rows = json.loads(p.stdout)["endpoints"]
        except (ValueError, KeyError):
            return None
        return any(r.get("endpoint") == endpoint and r.get("state") == "up" for r in rows)

    def route_via(self):
        """The router's kernel next hop for the anycast address: node1, node2 or None."""
        out = self.nsrun("router", "ip", "-4", "route", "show", ANYCAST + "/32",
                         check=False).stdout
        if "198.51.100.2" in out:
            return "node1"
        if "198.51.100.6" in out:
            return "node2"
        return None

    def wait_serving(self, node, timeout=30):
        wait_for("%s announced" % node, lambda: self.anycast(node).get("announced"), timeout)
        wait_for("router routing to %s" % node, lambda: self.route_via() == node, timeout)

    def probe(self, seconds, dns_only=False):
        return Probe(self, seconds, dns_only)

    def start_resolver(self):
        """unbound in the client namespace, for the DNS-only comparison."""
        d = self.sub("client")
        (d / "unbound.conf").write_text(UNBOUND_CONF.format(dir=d))
        p = subprocess.Popen(["ip", "netns", "exec", self.ns["client"], "unbound", "-d", "-c",
                              str(d / "unbound.conf")], stdout=subprocess.DEVNULL,
                             stderr=open(d / "unbound.err", "w"))
        self.procs.append(p)
        script = ("import dns.message,dns.query;print(dns.query.udp(dns.message.make_query("
                  "'svc.example.com','A'),'127.0.0.1',timeout=0.5).answer[0][0].address)")
        wait_for("unbound answering", lambda: p.poll() is not None or self.nsrun(
            "client", sys.executable, "-c", script, check=False).stdout.strip(), 20, 0.2)
        assert p.poll() is None, (d / "unbound.err").read_text()

    # ---- teardown ----

    def stop(self):
        for p in self.procs:
            if p.poll() is None:
                try:
                    p.send_signal(signal.SIGCONT)
                except ProcessLookupError:
                    pass
        for n in ("node1", "node2"):
            try:
                os.kill(self.vaned_pid(n), signal.SIGKILL)
            except (OSError, ValueError):
                pass
        for p in self.procs:
            if p.poll() is None:
                p.kill()
        for p in self.procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        # Anything still inside our namespaces was started by this lab.
        for ns in self.made:
            pids = run("ip", "netns", "pids", ns, check=False).stdout.split()
            for pid in pids:
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except OSError:
                    pass
        for ns in reversed(self.made):
            run("ip", "netns", "del", ns, check=False)
        self.made = []


def can_run():
    """None when the lab can run here, else the reason it cannot."""
    if os.geteuid() != 0:
        return "the anycast lab needs root (network namespaces)"
    for prog in ("ip", "bird", "birdc"):
        if shutil.which(prog) is None:
            return "%s not installed (scripts/deps.sh: iproute2, bird2)" % prog
    name = "vac-probe-%d" % os.getpid()
    p = subprocess.run(["ip", "netns", "add", name], capture_output=True, text=True)
    if p.returncode != 0:
        return "cannot create network namespaces: %s" % p.stderr.strip()
    subprocess.run(["ip", "netns", "del", name], capture_output=True)
    return None
