#!/usr/bin/python3
"""vaned as a secondary, beside knotd as a secondary of the same knotd
primary, in one run (ratios, not seconds).

1. First transfer: from the secondary's start to it answering the primary's
   serial, for a zone of BENCH_XFRIN_NAMES A records (AXFR with TSIG, then
   the load; vaned saves the zone and loads it like a reload).
2. A one-record change: from `knotc zone-reload` at the primary to each
   secondary answering the new address (NOTIFY + IXFR), median of
   BENCH_XFRIN_ROUNDS.

Usage: bench/xfrin.py        Environment: BENCH_BUILD=build-h, BENCH_XFRIN_NAMES=100000,
BENCH_XFRIN_ROUNDS=5, BENCH_KEEP=1 keeps the work directory.
"""
import base64
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import dns.message
import dns.query
import dns.rdatatype

ROOT = Path(__file__).resolve().parents[1]
BUILD = ROOT / os.environ.get("BENCH_BUILD", "build-h")
NAMES = int(os.environ.get("BENCH_XFRIN_NAMES", "100000"))
ROUNDS = int(os.environ.get("BENCH_XFRIN_ROUNDS", "5"))
ZONE = "xfrin.example"
SECRET = base64.b64encode(b"vane-bench-xfrin-secret-01234567").decode()


def free_port():
    while True:
        s, t = socket.socket(socket.AF_INET, socket.SOCK_DGRAM), socket.socket()
        try:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
            t.bind(("127.0.0.1", port))
            return port
        except OSError:
            continue
        finally:
            s.close()
            t.close()


def write_zone(path, serial, www):
    with open(path, "w") as f:
        f.write("$ORIGIN %s.\n$TTL 3600\n" % ZONE)
        f.write("@ IN SOA ns1 hostmaster %d 7200 3600 1209600 300\n" % serial)
        f.write("@ IN NS ns1\nns1 IN A 192.0.2.1\nwww IN A %s\n" % www)
        for i in range(NAMES):
            f.write("host%d IN A 10.%d.%d.%d\n" % (i, i >> 16 & 255, i >> 8 & 255, i & 255))


def ask(port, name, qtype):
    try:
        r = dns.query.udp(dns.message.make_query(name, qtype), "127.0.0.1", port=port,
                          timeout=0.2)
    except Exception:
        return None
    for rr in r.answer:
        if rr.rdtype == dns.rdatatype.SOA:
            return rr[0].serial
        if rr.rdtype == dns.rdatatype.A:
            return rr[0].address
    return None


def wait_for(cond, what, timeout=300.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return time.monotonic()
        time.sleep(0.002)
    raise SystemExit("xfrin bench: timed out waiting for " + what)


def knot_conf(d, port, body):
    (d / "run").mkdir(parents=True, exist_ok=True)
    (d / "storage").mkdir(exist_ok=True)
    conf = d / "knot.conf"
    conf.write_text(
        "server:\n  rundir: %(d)s/run\n  listen: 127.0.0.1@%(port)d\n  udp-workers: 1\n"
        "  tcp-workers: 1\n  background-workers: 1\ndatabase:\n  storage: %(d)s/storage\n"
        "control:\n  listen: %(d)s/run/knot.sock\nlog:\n  - target: stderr\n    any: info\n"
        "key:\n  - id: xfr-key\n    algorithm: hmac-sha256\n    secret: %(s)s\n%(body)s"
        % {"d": d, "port": port, "s": SECRET, "body": body})
    return conf


def main():
    work = Path(tempfile.mkdtemp(prefix="vane-xfrin-"))
    procs = []

    def spawn(argv, log, cwd):
        f = open(log, "wb")
        p = subprocess.Popen(argv, stdout=f, stderr=f, cwd=cwd, stdin=subprocess.DEVNULL)
        procs.append(p)
        return p

    try:
        pport, vport, kport = free_port(), free_port(), free_port()
        pd = work / "primary"
        pd.mkdir()
        zfile = pd / "z.zone"
        write_zone(zfile, 1, "192.0.2.80")
        conf = knot_conf(pd, pport,
                         "remote:\n  - id: v\n    address: 127.0.0.1@%d\n    key: xfr-key\n"
                         "  - id: k\n    address: 127.0.0.1@%d\n    key: xfr-key\n"
                         "acl:\n  - id: x\n    address: 127.0.0.1\n    key: xfr-key\n"
                         "    action: transfer\n"
                         "template:\n  - id: default\n    zonefile-sync: -1\n"
                         "    zonefile-load: difference\n    journal-content: changes\n"
                         "    semantic-checks: off\n"
                         "zone:\n  - domain: %s\n    file: %s\n    notify: [ v, k ]\n"
                         "    acl: x\n" % (vport, kport, ZONE, zfile))
        spawn(["/usr/sbin/knotd", "-c", str(conf)], pd / "knotd.log", pd)
        wait_for(lambda: ask(pport, ZONE, "SOA") == 1, "the primary")

        # Secondaries: knotd, then vaned, each timed from its start.
        kd = work / "knot-secondary"
        kd.mkdir()
        kconf = knot_conf(kd, kport,
                          "remote:\n  - id: p\n    address: 127.0.0.1@%d\n    key: xfr-key\n"
                          "acl:\n  - id: n\n    address: 127.0.0.1\n    key: xfr-key\n"
                          "    action: notify\n"
                          "template:\n  - id: default\n    zonefile-sync: -1\n"
                          "    zonefile-load: none\n    journal-content: changes\n"
                          "    semantic-checks: off\n"
                          "zone:\n  - domain: %s\n    master: p\n    acl: n\n" % (pport, ZONE))
        t0 = time.monotonic()
        spawn(["/usr/sbin/knotd", "-c", str(kconf)], kd / "knotd.log", kd)
        knot_first = wait_for(lambda: ask(kport, ZONE, "SOA") == 1, "knotd's transfer") - t0

        vd = work / "vaned"
        vd.mkdir()
        vconf = vd / "vaned.yaml"
        vconf.write_text(
            "server:\n  listen: [ \"127.0.0.1@%d\" ]\n  udp-workers: 1\n"
            "  control: run/vaned.sock\n"
            "keys:\n  - id: xfr-key\n    algorithm: hmac-sha256\n    secret: \"%s\"\n"
            "zones:\n  - name: %s\n    primary: [ \"127.0.0.1@%d\" ]\n    key: xfr-key\n"
            % (vport, SECRET, ZONE, pport))
        t0 = time.monotonic()
        spawn([str(BUILD / "vaned"), "-c", str(vconf)], vd / "vaned.log", vd)
        vaned_first = wait_for(lambda: ask(vport, ZONE, "SOA") == 1, "vaned's transfer") - t0

        tk, tv = [], []
        for r in range(ROUNDS):
            www = "192.0.2.%d" % (100 + r)
            write_zone(zfile, 2 + r, www)
            t0 = time.monotonic()
            subprocess.run(["/usr/sbin/knotc", "-s", str(pd / "run" / "knot.sock"),
                            "zone-reload", ZONE], check=True, capture_output=True)
            done = {}
            end = time.monotonic() + 60
            while len(done) < 2 and time.monotonic() < end:
                for name, port in (("knot", kport), ("vaned", vport)):
                    if name not in done and ask(port, "www." + ZONE, "A") == www:
                        done[name] = time.monotonic() - t0
                time.sleep(0.002)
            if len(done) < 2:
                raise SystemExit("xfrin bench: change %d did not arrive: %r" % (r, done))
            tk.append(done["knot"])
            tv.append(done["vaned"])
        mk, mv = statistics.median(tk), statistics.median(tv)
        print("records %d, rounds %d" % (NAMES + 3, ROUNDS))
        print("| figure | knotd secondary | vaned secondary | vaned / knotd |")
        print("| --- | --- | --- | --- |")
        print("| first transfer (AXFR + load), start to serving | %.2f s | %.2f s | %.2f |"
              % (knot_first, vaned_first, vaned_first / knot_first))
        print("| one-record change, zone-reload at the primary to the new answer "
              "(median) | %.3f s | %.3f s | %.2f |" % (mk, mv, mv / mk))
        print("vaned log:", [l for l in (vd / "vaned.log").read_text().splitlines()
                             if "IXFR" in l or "AXFR" in l][:3])
    finally:
        for p in procs:
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(30)
                except subprocess.TimeoutExpired:
                    p.kill()
        if not os.environ.get("BENCH_KEEP"):
            shutil.rmtree(work, ignore_errors=True)
        else:
            print("work directory:", work, file=sys.stderr)


if __name__ == "__main__":
    main()
