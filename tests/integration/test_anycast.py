# SPDX-License-Identifier: GPL-3.0-or-later
"""Anycast through real BIRD in network namespaces (see anycast_lab.py).

A client sends a query every 10 ms to 203.0.113.53; the router (BIRD, BFD,
eBGP) sends it to node1 while node1 announces, else to node2.  Each case
measures when traffic settled on the other node after the event and how
many queries got no answer, and writes the figures to
$VANE_BUILD/anycast-lab.json (bench/RESULTS.md quotes them).

Skips, with the reason, where namespaces cannot be made (not root, no
`ip netns`, no BIRD).  Every namespace and process goes at the end.
"""

import json
import os
import shutil
import signal
import subprocess
import time

import pytest

from anycast_lab import DNS_TTL, Lab, can_run, summary, wait_for
from conftest import BUILD, RELEASE_BUILD, SANITIZER_MARKERS, VANECTL, VANED

# The lab measures failover in milliseconds through real BGP and BFD: it runs
# the release build when there is one (make test builds it), as the soak and
# memory tests do; a sanitizer build's slowness would be measured instead.
if os.access(RELEASE_BUILD / "vaned", os.X_OK) and os.access(RELEASE_BUILD / "vanectl", os.X_OK):
    VANED, VANECTL = str(RELEASE_BUILD / "vaned"), str(RELEASE_BUILD / "vanectl")

REASON = can_run()
pytestmark = pytest.mark.skipif(REASON is not None, reason=REASON or "")

RESULTS = {}


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    lab = Lab(tmp_path_factory.mktemp("anycast-lab"), VANED, VANECTL)
    t0 = time.monotonic()
    try:
        lab.build()
        lab.start_vaned("node1")
        lab.start_vaned("node2")
        lab.wait_serving("node1", timeout=60)
        wait_for("node2 announced", lambda: lab.anycast("node2").get("announced"), 30)
        RESULTS["setup_s"] = round(time.monotonic() - t0, 2)
        yield lab
    finally:
        lab.stop()
        RESULTS["lab_s"] = round(time.monotonic() - t0, 2)
        out = BUILD / "anycast-lab.json"
        try:
            out.write_text(json.dumps(RESULTS, indent=2, sort_keys=True) + "\n")
        except OSError:
            pass
        print("\nanycast lab:", json.dumps(RESULTS, sort_keys=True))


def restore(lab):
    """Both nodes running with good zones, node1 announced and carrying the
    traffic, whatever an earlier case left behind."""
    from anycast_lab import ZONE_NET
    for n in ("node1", "node2"):
        if lab.vaned_proc[n].poll() is not None:
            lab.start_vaned(n)
        z = lab.dir / n / "example.net.zone"
        if z.read_text() != ZONE_NET:
            z.write_text(ZONE_NET)
            lab.ctl(n, "reload", check=False)
    lab.wait_serving("node1", timeout=30)


def break_zone(lab, node):
    (lab.dir / node / "example.net.zone").write_text("this is not a zone file\n")
    lab.ctl(node, "reload", check=False)   # fails: the zone keeps its old version


def repair_zone(lab, node):
    from anycast_lab import ZONE_NET
    (lab.dir / node / "example.net.zone").write_text(ZONE_NET)
    lab.ctl(node, "reload")


def test_announced_state_and_metrics(lab):
    # BIRD's view is polled each self-check: the first poll may predate the enable.
    st = wait_for("BIRD's protocol up", lambda: (lambda s: s.get("bird_protocol_up") and s)(
        lab.anycast("node1")), 5)
    assert st["enabled"] and st["state"] == "announced" and st["healthy"]
    assert st["bird_connected"]
    assert st["uplink_up"] is True
    assert "passed 3 times" in st["reason"]
    assert st["addresses"] == ["203.0.113.53"]
    assert "203.0.113.53/32" in lab.birdc("router", "show", "route", "203.0.113.53/32")
    script = ("import urllib.request;print(urllib.request.urlopen("
              "'http://198.51.100.2:8053/metrics',timeout=5).read().decode())")
    text = lab.nsrun("node1", "python3", "-c", script).stdout
    assert "vane_anycast_announced 1" in text
    # One transition (the announce), or more if a loaded machine made a check fail.
    assert "vane_anycast_transitions_total %d" % lab.anycast("node1")["transitions"] in text
    assert 'vane_anycast_last_transition_info{state="announced",reason="self-check passed' in text
    script = script.replace("/metrics", "/api/v1/events")
    events = json.loads(lab.nsrun("node1", "python3", "-c", script).stdout)["events"]
    assert any(e["kind"] == "anycast" and e["text"].startswith("announced: ") for e in events)


def test_zone_failure_hands_over_to_the_healthy_peer(lab):
    restore(lab)
    p = lab.probe(8)
    p.wait_answers("node1")
    t0 = time.monotonic()
    break_zone(lab, "node1")
    p.wait_answers("node2")
    st = lab.anycast("node1")
    assert st["state"] == "withdrawn" and "soft failure" in st["reason"], st
    assert "example.net" in st["reason"]
    assert st["healthy_peers"] == 1
    t1 = time.monotonic()
    repair_zone(lab, "node1")
    p.wait_answers("node1", timeout=30)
    rows = p.finish()
    s = summary([r for r in rows if r[1] < t1], t0, "node2")
    s["back_on_node1_ms"] = summary(rows, t1, "node1")["settled_ms"]
    RESULTS["zone_failure"] = s
    # A soft withdraw: node1 answers until the route has moved.
    assert s["lost_after"] == 0, s


def test_last_healthy_site_keeps_announcing(lab):
    restore(lab)
    p = lab.probe(8)
    p.wait_answers("node1")
    break_zone(lab, "node2")
    wait_for("node2 withdrawn (node1 is healthy)",
             lambda: lab.anycast("node2").get("state") == "withdrawn", 15)
    break_zone(lab, "node1")
    # node1 asks node2, which is not healthy: node1 is the last site and stays.
    wait_for("node1 keeping the route",
             lambda: lab.anycast("node1").get("kept_last_site"), 15)
    st1 = lab.anycast("node1")
    assert st1["announced"] and not st1["healthy"], st1
    # node2, withdrawn for a soft reason, sees no healthy peer and comes back too.
    wait_for("node2 announcing as a last site",
             lambda: lab.anycast("node2").get("announced"), 15)
    assert "last healthy site" in lab.anycast("node2")["reason"]
    repair_zone(lab, "node1")
    repair_zone(lab, "node2")
    rows = p.finish()
    s = summary(rows, rows[0][1], "node1")
    RESULTS["both_soft"] = s
    assert s["lost"] == 0, s
    assert lab.anycast("node1")["announced"]


def test_link_down_then_up(lab):
    restore(lab)
    p = lab.probe(14)
    p.wait_answers("node1")
    before = lab.anycast("node1")["transitions"]
    t_down = time.monotonic()
    lab.nsrun("router", "ip", "link", "set", "r1", "down")
    p.wait_answers("node2")
    # node1's BIRD loses its BGP session (BFD): vaned's uplink check fails.
    wait_for("node1 withdrawn", lambda: lab.anycast("node1").get("state") == "withdrawn", 10)
    assert "uplink upstream" in lab.anycast("node1")["reason"]
    t_up = time.monotonic()
    lab.nsrun("router", "ip", "link", "set", "r1", "up")
    p.wait_answers("node1", timeout=30)
    st = lab.anycast("node1")
    assert st["transitions"] >= before + 2 and "passed 3 times" in st["reason"], st
    rows = p.finish()
    down = summary([r for r in rows if r[1] < t_up], t_down, "node2")
    up = summary(rows, t_up, "node1")
    RESULTS["link_down"] = down
    RESULTS["link_up"] = up
    # Back to node1 only once its route is announced again: nothing lost.
    assert up["lost_after"] == 0, up


def test_frozen_node_moves_within_bfd_time(lab):
    restore(lab)
    p = lab.probe(6)
    p.wait_answers("node1")
    pid = lab.vaned_pid("node1")
    bird = lab.bird["node1"].pid
    t0 = time.monotonic()
    os.kill(pid, signal.SIGSTOP)
    os.kill(bird, signal.SIGSTOP)
    try:
        p.wait_answers("node2")
        rows = p.finish()
    finally:
        os.kill(bird, signal.SIGCONT)
        os.kill(pid, signal.SIGCONT)
    s = summary(rows, t0, "node2")
    RESULTS["freeze"] = s
    # BFD: 3 missed 100 ms intervals, then the router's kernel route.
    assert s["settled_ms"] is not None and s["settled_ms"] < 500, s
    restore(lab)


def test_vanectl_stop_loses_no_query(lab):
    restore(lab)
    p = lab.probe(6)
    p.wait_answers("node1")
    t0 = time.monotonic()
    lab.ctl("node1", "stop")
    p.wait_answers("node2")
    lab.vaned_proc["node1"].wait(timeout=30)
    rows = p.finish()
    s = summary(rows, t0, "node2")
    RESULTS["vanectl_stop"] = s
    assert s["lost_after"] == 0, s
    lab.start_vaned("node1")
    restore(lab)


def test_kill9_without_and_with_the_watchdog(lab):
    restore(lab)
    d = lab.dir / "node1"
    # Without anything on BIRD's side: BFD and BGP stay up, the route stays,
    # and node1's share of the traffic is black-holed.
    p = lab.probe(4)
    p.wait_answers("node1")
    (d / "no-watchdog").write_text("")
    t0 = time.monotonic()
    os.kill(lab.vaned_pid("node1"), signal.SIGKILL)
    lab.vaned_proc["node1"].wait(timeout=10)
    # Half a second of queries (50) lost, the route still on node1: the
    # black hole.  A query counts as lost 500 ms after it was sent, so this
    # is about 1 s after the kill.
    wait_for("50 queries lost after the kill", lambda: sum(
        1 for r in p.rows() if r[1] >= t0 and r[2] == "lost") >= 50, 5)
    assert lab.route_via() == "node1"
    lab.birdc("node1", "disable", "anycast")   # what the watchdog would have done
    t1 = time.monotonic()
    p.wait_answers("node2")
    rows = p.finish()
    RESULTS["kill9_no_watchdog"] = dict(summary(rows, t0, "node2"),
                                        manual_disable_after_ms=round((t1 - t0) * 1000))
    assert RESULTS["kill9_no_watchdog"]["lost_after"] >= 50
    (d / "no-watchdog").unlink()
    lab.start_vaned("node1")
    restore(lab)
    # With the watchdog (the ExecStopPost drop-in): disabled when vaned dies.
    # Beside it, the same event for a DNS-only client: svc.example.com is
    # steered by the nodes' vaned (TTL DNS_TTL, DNS health check every
    # 200 ms, fall 2) and resolved through unbound in the client namespace.
    lab.start_resolver()
    # The DNS-only client asks the announced node (node1, just restarted),
    # so node1's own vaned must see itself up again, not only node2's.
    for n in ("node2", "node1"):
        wait_for("%s sees node1 up" % n, lambda n=n: lab.endpoint_up(n, "node1"), 20)
    # Both probers get room for the waits before the kill (unbound's cached
    # answer may name node2 for up to DNS_TTL); they are stopped once the
    # traffic has settled on node2 and a second of it is recorded.
    p = lab.probe(60)
    dp = lab.probe(60, dns_only=True)
    p.wait_answers("node1")
    dp.wait_answers("node1", timeout=DNS_TTL + 20)
    t0 = time.monotonic()
    os.kill(lab.vaned_pid("node1"), signal.SIGKILL)
    wait_for("node2's health check seeing node1 down",
             lambda: lab.endpoint_up("node2", "node1") is False, 10, step=0.01)
    detect = (time.monotonic() - t0) * 1000
    p.wait_answers("node2")
    rows = p.stop()
    dp.wait_answers("node2", timeout=DNS_TTL + 10)
    drows = dp.stop()
    s = summary(rows, t0, "node2")
    RESULTS["kill9_watchdog"] = s
    ttl_left = [r[3] for r in drows if r[1] < t0 and len(r) > 3 and r[3] != "-"]
    RESULTS["dns_only_kill9"] = dict(summary(drows, t0, "node2"), ttl_s=DNS_TTL,
                                     detection_ms=round(detect),
                                     cached_ttl_left_s=int(ttl_left[-1]) if ttl_left else None)
    assert s["settled_ms"] is not None and s["settled_ms"] < 1000, s


def test_bird_restart_is_followed(lab):
    """BIRD restarts under a running vaned: vaned reconnects, sees the
    protocol disabled (BIRD's config starts it so) and enables it again."""
    wait_for("node2 announced", lambda: lab.anycast("node2").get("announced"), 30)
    before = lab.anycast("node2")["transitions"]
    old = lab.bird["node2"]
    old.terminate()
    old.wait(timeout=10)
    (lab.dir / "node2" / "bird.ctl").unlink(missing_ok=True)
    wait_for("vaned seeing BIRD gone",
             lambda: lab.anycast("node2").get("bird_connected") is False, 10)
    lab.start_bird("node2", (lab.dir / "node2" / "bird.conf").read_text())
    wait_for("BIRD's protocol enabled again", lambda: "anycast    Static     master4    up"
             in lab.birdc("node2", "show", "protocols", "anycast"), 30)
    st = lab.anycast("node2")
    assert st["bird_connected"] and st["announced"], st
    # BIRD's restart may take the uplink down: then a withdraw and an announce.
    assert st["transitions"] >= before, st


CLUSTER_CONF = """
cluster:
  name: lab
  node: {node}
  etcd: [ "http://198.51.100.1:2379" ]
  lease: 2s
"""


def use_cluster(lab, on):
    """Both nodes restarted with their anycast peers from the cluster (no
    `peers:`; the other node's record in etcd) or back on `peers:`."""
    for n in ("node1", "node2"):
        conf = lab.dir / n / "vaned.conf"
        text = conf.read_text()
        base, _, _ = text.partition("\ncluster:\n")
        if on:
            base = base.replace("  peers: [", "  # peers: [")
            text = base.rstrip("\n") + "\n" + CLUSTER_CONF.format(node=n)
        else:
            text = base.replace("  # peers: [", "  peers: [")
        conf.write_text(text)
        lab.ctl(n, "stop", check=False)
        lab.vaned_proc[n].wait(timeout=30)
        lab.start_vaned(n)


def test_peers_from_the_cluster(lab):
    """Without `peers:`, a node in a cluster takes the other nodes' anycast
    state from their records in etcd: a soft failure hands over to a node
    whose record says healthy and announced, and the last healthy site
    keeps announcing (etcd in the router's namespace, reachable from both)."""
    if not shutil.which("etcd"):
        pytest.skip("etcd is not installed (apt-get install etcd-server)")
    d = lab.sub("etcd")
    url = "http://198.51.100.1:2379"
    etcd = subprocess.Popen(
        ["ip", "netns", "exec", lab.ns["router"], "etcd", "--name", "lab",
         "--data-dir", str(d / "data"), "--listen-client-urls", url,
         "--advertise-client-urls", url, "--listen-peer-urls", "http://198.51.100.1:2380",
         "--initial-advertise-peer-urls", "http://198.51.100.1:2380",
         "--initial-cluster", "lab=http://198.51.100.1:2380", "--heartbeat-interval", "100",
         "--election-timeout", "1000", "--log-level", "error"],
        stdout=subprocess.DEVNULL, stderr=open(d / "etcd.log", "w"))
    lab.procs.append(etcd)
    try:
        use_cluster(lab, True)
        restore(lab)
        wait_for("node2 announced", lambda: lab.anycast("node2").get("announced"), 30)

        def records():
            p = lab.ctl("node1", "--json", "cluster", check=False)
            try:
                return {r["node"]: r.get("anycast", {}) for r in json.loads(p.stdout)["nodes"]}
            except (ValueError, KeyError):
                return {}
        wait_for("both nodes' anycast state in etcd", lambda: all(
            records().get(n, {}).get("announced") for n in ("node1", "node2")), 30)

        p = lab.probe(20)
        p.wait_answers("node1")
        t0 = time.monotonic()
        break_zone(lab, "node1")
        p.wait_answers("node2")
        st = lab.anycast("node1")
        assert st["state"] == "withdrawn" and "soft failure" in st["reason"], st
        assert st["healthy_peers"] == 1, st
        # node2 fails softly too: node1's record says withdrawn, so node2 is
        # the last site and stays; node1 sees no healthy peer and returns.
        t1 = time.monotonic()
        break_zone(lab, "node2")
        wait_for("node2 keeping the route",
                 lambda: lab.anycast("node2").get("kept_last_site"), 15)
        wait_for("node1 announcing as a last site",
                 lambda: lab.anycast("node1").get("announced"), 15)
        assert "last healthy site" in lab.anycast("node1")["reason"]
        t2 = time.monotonic()
        repair_zone(lab, "node1")
        repair_zone(lab, "node2")
        p.wait_answers("node1", timeout=30)
        rows = p.stop()
        lost_at = [(round((r[1] - t1) * 1000), r[2]) for r in rows if r[2] == "lost"]
        s = summary([r for r in rows if r[1] < t1], t0, "node2")
        s["lost"] = summary(rows, t0, "node1")["lost"]
        RESULTS["cluster_peers"] = s
        # Soft withdraws and returns: node1 answers until the route moves.
        assert s["lost"] == 0, (s, "ms after node2 broke (repair at %d ms):" % (
            (t2 - t1) * 1000), lost_at[:3], lost_at[-3:])
    finally:
        use_cluster(lab, False)
        etcd.terminate()
        etcd.wait(timeout=10)
        restore(lab)


def test_no_sanitizer_reports(lab):
    """Every vaned of the lab (and the one stopped cleanly) logged no
    sanitizer report."""
    for n in ("node1", "node2"):
        log = (lab.dir / n / "vaned.log").read_text(errors="replace")
        for m in SANITIZER_MARKERS:
            assert m not in log, "%s: %s" % (n, log[log.index(m):][:2000])
