#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Attacks on an authoritative server, side by side (issue 11, "Face the
internet"): vaned, knotd and nsd in one run, each pinned with taskset to
CPU 0 while the attacker runs on CPU 1.

  reflect   Reflection: queries for a ~3 KB TXT answer with EDNS 4096 from a
            spoofed /24 (32 source addresses in 127.0.X.0/24 on loopback), first
            at full rate, then at 2,000 queries/s from another /24.  Reported:
            UDP bytes out / bytes in (the amplification factor), and the
            share of answers a client in another prefix (127.0.1.1, 20 q/s)
            got meanwhile.  vaned: default config (rrl rate 200, slip 2);
            knotd: mod-rrl rate-limit 200, slip 2; nsd: its defaults.  All
            three with a 4096-byte UDP payload limit (their default, 1232,
            would truncate the answer anyway).
  noread    1,000 TCP clients (4 per address, 127.0.3.0/24..) pipeline
            queries and never read.  Reported: RSS after, minus RSS idle.
  ctl       Control latency: median of `vanectl status` (`knotc status`)
            idle, then while the 1,000 non-readers sit and 4 clients pipeline
            queries over TCP as fast as they can; for vaned also the control
            socket's own round trip, without starting a process.  nsd has no control
            socket enabled here (and its nsd-control is TLS), so it is '-'.

Usage: VANED=build/vaned bench/attack/attack.py [reflect|noread|ctl|all]
       ATTACK_SERVERS="vaned knotd nsd" ATTACK_SECONDS=5
Needs root for SO_RCVBUFFORCE (or a large net.core.rmem_max), taskset, and
enough file descriptors (it raises its own limit to 20,000).
"""

import multiprocessing
import os
import resource
import selectors
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent / "tests" / "integration"))
os.environ.setdefault("VANED", str(HERE.parent.parent / "build" / "vaned"))
os.environ.setdefault("VANECTL", str(Path(os.environ["VANED"]).parent / "vanectl"))

import conftest  # noqa: E402
import dns.message  # noqa: E402

SERVERS = os.environ.get("ATTACK_SERVERS", "vaned knotd nsd").split()
SECONDS = float(os.environ.get("ATTACK_SECONDS", "5"))
SERVER_CPU, ATTACK_CPU = "0", 1
ZONE_NAME = "attack.example"


def zone_text():
    # 12 TXT records of 4 x 60 bytes: an answer of about 3,100 bytes, under
    # EDNS 4096 and over 1232 (clients that ask for 4096 get it over UDP).
    lines = ["$ORIGIN attack.example.", "$TTL 3600",
             "@ SOA ns1 hostmaster 1 3600 600 86400 300",
             "@ NS ns1", "ns1 A 127.0.0.1", "www A 192.0.2.1"]
    for i in range(12):
        strs = " ".join('"%s"' % (chr(97 + (i + j) % 26) * 60) for j in range(4))
        lines.append("big TXT %s" % strs)
    return "\n".join(lines) + "\n"


def taskset(argv):
    return ["taskset", "-c", SERVER_CPU] + argv


def start(name, d):
    d.mkdir(parents=True, exist_ok=True)
    zones_dir = d / "zones"
    zones_dir.mkdir(exist_ok=True)
    (zones_dir / "attack.example.zone").write_text(zone_text())
    zones = [(ZONE_NAME, "attack.example.zone")]
    conftest.ZONES_DIR = zones_dir
    if name == "vaned":
        # The defaults: rrl rate 200, slip 2, cookies on, tcp-max-clients 1000.
        s = conftest.Vaned(d, zones=zones, udp_workers=1, tcp_max_clients=1000,
                           tcp_idle_timeout="10s", rrl="", start=False,
                           extra_server="  max-udp-payload: 4096")
        s.probe_zone = ZONE_NAME
        s._spawn(taskset([conftest.VANED, "-c", str(s.conf_path)]))
        return s
    if name == "knotd":
        s = conftest.Knotd(d, zones=zones, start=False)
        text = s.conf_path.read_text().replace("  tcp-idle-timeout: 2\n",
                                               "  udp-max-payload: 4096\n")
        text = text.replace("template:\n  - id: default\n",
                            "mod-rrl:\n  - id: default\n    rate-limit: 200\n    slip: 2\n"
                            "template:\n  - id: default\n    global-module: mod-rrl/default\n")
        s.conf_path.write_text(text)
        s.probe_zone = ZONE_NAME
        s._spawn(taskset([conftest.KNOTD, "-c", str(s.conf_path)]))
        return s
    s = conftest.Nsd(d, zones=zones, start=False)
    text = s.conf_path.read_text()
    for line in ("  rrl-ratelimit: 0\n", "  rrl-whitelist-ratelimit: 0\n", "  tcp-timeout: 2\n"):
        text = text.replace(line, "")
    text = text.replace("  do-ip6: no\n", "  do-ip6: no\n  ipv4-edns-size: 4096\n")
    s.conf_path.write_text(text)
    s.probe_zone = ZONE_NAME
    s._spawn(taskset([conftest.NSD, "-d", "-c", str(s.conf_path)]))
    return s


def big_query(qid):
    q = dns.message.make_query("big." + ZONE_NAME, "TXT", use_edns=0, payload=4096)
    q.flags = 0   # as a resolver asks an authoritative server (RD=0)
    q.id = qid
    return q.to_wire()


def udp_socket(src):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((src, 0))
    s.setblocking(False)
    try:
        s.setsockopt(socket.SOL_SOCKET, 33, 8 << 20)   # SO_RCVBUFFORCE
    except OSError:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    return s


def drain(socks, stats):
    for s in socks:
        while True:
            try:
                data = s.recv(65535)
            except BlockingIOError:
                break
            stats["out"] += len(data)
            stats["answers"] += 1
            if data[2] & 0x02:
                stats["tc"] += 1


def bystander(port, stop, result):
    """A client in another prefix: 20 queries a second, each must get a
    full answer (not truncated) within 1 s."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.1.1", 0))
    s.settimeout(1.0)
    sent = ok = 0
    qid = 0
    while not stop.is_set():
        qid = (qid + 1) & 0xFFFF
        w = big_query(qid)
        sent += 1
        s.sendto(w, ("127.0.0.1", port))
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline:
            try:
                d = s.recv(65535)
            except socket.timeout:
                break
            if d[:2] == w[:2]:
                ok += 0 if d[2] & 0x02 else 1
                break
        time.sleep(0.05)
    s.close()
    result.update(sent=sent, ok=ok)


def flood(port, prefix, seconds, qps=None):
    """Queries from 127.0.PREFIX.2..254 for `seconds`, as fast as possible
    or at `qps`; returns bytes in, bytes out, queries, answers, slips."""
    socks = [udp_socket("127.0.%d.%d" % (prefix, i)) for i in range(2, 255, 8)]
    wires = [big_query(i) for i in range(256)]
    st = {"in": 0, "out": 0, "answers": 0, "tc": 0, "queries": 0}
    t0 = time.monotonic()
    n = 0
    while True:
        now = time.monotonic()
        if now - t0 >= seconds:
            break
        if qps is not None:
            due = int((now - t0) * qps)
            if n >= due:
                time.sleep(min(0.001, (n + 1) / qps - (now - t0)))
                continue
        s = socks[n % len(socks)]
        w = wires[n & 255]
        try:
            s.sendto(w, ("127.0.0.1", port))
            st["in"] += len(w)
            st["queries"] += 1
        except BlockingIOError:
            pass
        n += 1
        if n % 256 == 0:
            drain(socks, st)
    end = time.monotonic() + 1.0
    while time.monotonic() < end:
        drain(socks, st)
        time.sleep(0.05)
    for s in socks:
        s.close()
    st["seconds"] = seconds
    return st


def reflect(name, d):
    s = start(name, d)
    rows = []
    try:
        for label, prefix, qps in (("full rate", 0, None), ("2,000 q/s", 2, 2000)):
            stop = threading.Event()
            by = {}
            t = threading.Thread(target=bystander, args=(s.port, stop, by))
            t.start()
            st = flood(s.port, prefix, SECONDS, qps)
            stop.set()
            t.join()
            rows.append((label, st, by))
    finally:
        s.kill()
    return rows


def rss_kib(pid):
    """RSS of pid and its children (nsd forks its servers)."""
    total = 0
    pids = [pid]
    try:
        out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
        pids += [int(p) for p in out.split()]
    except OSError:
        pass
    for p in pids:
        try:
            for line in open("/proc/%d/status" % p):
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total


def non_readers(port, n=1000):
    """n TCP clients that send pipelined queries until their socket buffer
    is full and never read; returns the sockets (kept open)."""
    w = dns.message.make_query("www." + ZONE_NAME, "A").to_wire()
    frame = (struct.pack("!H", len(w)) + w) * 500
    socks = []
    for i in range(n):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.bind(("127.0.%d.%d" % (3 + i // 1000, 2 + (i // 4) % 250), 0))
        s.settimeout(2)
        try:
            s.connect(("127.0.0.1", port))
            s.setblocking(False)
            s.send(frame)
        except OSError:
            pass
        socks.append(s)
    # Keep writing for a while: the server answers until its output
    # buffers fill, and a server that keeps reading keeps buffering.
    t_end = time.monotonic() + 3
    while time.monotonic() < t_end:
        for s in socks:
            try:
                s.send(frame)
            except OSError:
                pass
        time.sleep(0.1)
    return socks


def noread(name, d):
    s = start(name, d)
    try:
        time.sleep(0.5)
        idle = rss_kib(s.proc.pid)
        socks = non_readers(s.port)
        time.sleep(1)
        after = rss_kib(s.proc.pid)
        # How long until a new client is answered (the table may be full
        # until the non-readers are dropped)?
        t0 = time.monotonic()
        ok = None
        while ok is None and time.monotonic() - t0 < 15:
            try:
                if conftest.tcp_exchange(s.port, dns.message.make_query(
                        "www." + ZONE_NAME, "A").to_wire(), timeout=1) is not None:
                    ok = "after %.1f s" % (time.monotonic() - t0)
            except OSError:
                time.sleep(0.2)
        ok = ok or "not in 15 s"
        for k in socks:
            k.close()
    finally:
        s.kill()
    return idle, after, ok


def ctl_cmd(name, s):
    if name == "vaned":
        return [conftest.VANECTL, "-s", str(s.socket_path), "status"]
    if name == "knotd":
        return ["knotc", "-s", str(s.dir / "run" / "knot.sock"), "status"]
    return None


def ctl_latency(argv, n=20):
    times = []
    for _ in range(n):
        t0 = time.monotonic()
        p = subprocess.run(argv, capture_output=True, timeout=60)
        times.append(time.monotonic() - t0)
        if p.returncode != 0:
            raise RuntimeError("%s: %s" % (argv, p.stderr))
        time.sleep(0.05)
    return statistics.median(times)


def ctl_raw_latency(path, n=20):
    """vaned only: the control socket's own round trip for `status` (one
    line in, JSON until EOF out), without starting a process."""
    times = []
    for _ in range(n):
        t0 = time.monotonic()
        c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        c.settimeout(30)
        c.connect(str(path))
        c.sendall(b"status\n")
        while c.recv(65536):
            pass
        c.close()
        times.append(time.monotonic() - t0)
        time.sleep(0.05)
    return statistics.median(times)


def pipeliner(port, stop):
    w = dns.message.make_query("www." + ZONE_NAME, "A").to_wire()
    frame = (struct.pack("!H", len(w)) + w) * 200
    try:
        s = conftest.tcp_connect(port)
        s.settimeout(2)
        while not stop.is_set():
            s.sendall(frame)
            got = 0
            while got < 200 * 40 and not stop.is_set():
                data = s.recv(65536)
                if not data:
                    return
                got += len(data)
    except OSError:
        pass


def ctl(name, d):
    s = start(name, d)
    argv = ctl_cmd(name, s)
    if argv is None:
        s.kill()
        return None
    raw = (lambda: ctl_raw_latency(s.socket_path)) if name == "vaned" else (lambda: None)
    try:
        idle = ctl_latency(argv)
        idle_raw = raw()
        socks = non_readers(s.port)
        # Processes, not threads: the latency measurement must not wait
        # for the flooders' interpreter lock.
        stop = multiprocessing.Event()
        ts = [multiprocessing.Process(target=pipeliner, args=(s.port, stop))
              for _ in range(4)]
        for t in ts:
            t.start()
        try:
            busy = ctl_latency(argv)
            busy_raw = raw()
        finally:
            stop.set()
            for t in ts:
                t.join(5)
                if t.is_alive():
                    t.kill()
            for k in socks:
                k.close()
    finally:
        s.kill()
    return idle, busy, idle_raw, busy_raw


def main():
    what = sys.argv[1] if len(sys.argv) > 1 else "all"
    os.sched_setaffinity(0, {ATTACK_CPU})
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 20000)), hard))
    print("attack bench, %s, servers on CPU %s, attacker on CPU %d, %s s floods" % (
        time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), SERVER_CPU, ATTACK_CPU,
        SECONDS))
    with tempfile.TemporaryDirectory(prefix="vane-attack.") as tmp:
        for name in SERVERS:
            d = Path(tmp) / name
            if what in ("reflect", "all"):
                for label, st, by in reflect(name, d / "reflect"):
                    print("%-6s reflect %-9s: %7d q (%6.0f q/s), %6d answers (%d TC), "
                          "%9d B in, %10d B out, factor %.2f; other prefix %d/%d" % (
                              name, label, st["queries"], st["queries"] / st["seconds"],
                              st["answers"], st["tc"], st["in"], st["out"],
                              st["out"] / max(1, st["in"]), by.get("ok", 0),
                              by.get("sent", 0)), flush=True)
            if what in ("noread", "all"):
                idle, after, ok = noread(name, d / "noread")
                print("%-6s noread: RSS idle %d KiB, with 1,000 non-readers %d KiB "
                      "(%+.1f MiB); a new client answered: %s" % (
                          name, idle, after, (after - idle) / 1024, ok), flush=True)
            if what in ("ctl", "all"):
                r = ctl(name, d / "ctl")
                if r is None:
                    print("%-6s ctl: -" % name, flush=True)
                else:
                    print("%-6s ctl: status median idle %.1f ms, under TCP flood %.1f ms "
                          "(%.2fx)" % (name, r[0] * 1000, r[1] * 1000, r[1] / r[0]),
                          flush=True)
                    if r[2] is not None:
                        print("%-6s ctl: socket round trip median idle %.2f ms, under "
                              "TCP flood %.2f ms (%.2fx)" % (name, r[2] * 1000, r[3] * 1000,
                                                             r[3] / r[2]), flush=True)


if __name__ == "__main__":
    main()
