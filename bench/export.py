#!/usr/bin/python3
"""export: healthy: how fast a drain reaches a secondary, next to the same
change made by hand at a knotd primary (ratios, not seconds).

vaned serves a large zone (BENCH_EXPORT_NAMES hosts, default 200,000, the
zone of bench/xfr.py) with a steered name api (endpoints a and b), export:
healthy, export-interval 1s, and a Knot secondary with TSIG.  knotd serves
the same zone with api as two A records, and has a Knot secondary too.
Each round:
  - vaned: `vanectl drain api/b`, time until the secondary answers api
    without b; then `undrain`, time until b is back;
  - knotd: the zone file edited to drop b (new serial) and `knotc
    zone-reload`, time until its secondary answers api without b; then back;
  - knotd by transaction: `knotc zone-begin/zone-unset/zone-commit` drops
    b's record (zone-set puts it back), no zone file read: the quickest hand
    edit Knot offers.
It also reads, from vaned's log, how long each new version took on vaned's
loop thread (the endpoint set, the difference, the journal).

Usage: bench/export.py [--append]   (--append adds the results to bench/RESULTS.md)
Environment: BENCH_BUILD=build, BENCH_EXPORT_NAMES, BENCH_EXPORT_ROUNDS=3,
BENCH_KEEP=1 keeps the work directory.
"""
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import dns.message
import dns.query
import dns.rdatatype

sys.path.insert(0, str(Path(__file__).resolve().parent))
import xfr  # noqa: E402  (the zone, knotd set-up and process helpers)

ROUNDS = int(os.environ.get("BENCH_EXPORT_ROUNDS", "3"))
xfr.NAMES = int(os.environ.get("BENCH_EXPORT_NAMES", "200000"))
ZONE, SECRET = xfr.ZONE, xfr.SECRET
API = "api." + ZONE
A, B = "198.51.100.1", "198.51.100.2"


def log(msg):
    print(time.strftime("%H:%M:%S"), "export bench:", msg, file=sys.stderr, flush=True)


def api_addrs(port):
    q = dns.message.make_query(API, "A")
    try:
        r = dns.query.udp(q, "127.0.0.1", port=port, timeout=0.2)
    except Exception:
        return None
    return {rd.address for rr in r.answer if rr.rdtype == dns.rdatatype.A for rd in rr}


def start_vaned(work, zfile, notify_port):
    d = work / "vaned"
    d.mkdir(exist_ok=True)
    port = xfr.free_port()
    conf = d / "vaned.yaml"
    conf.write_text(
        "server:\n  listen: [ \"127.0.0.1@%d\" ]\n  udp-workers: 1\n  control: run/vaned.sock\n"
        "keys:\n  - id: xfr-key\n    algorithm: hmac-sha256\n    secret: \"%s\"\n"
        "zones:\n  - name: %s\n    file: %s\n"
        "    allow-transfer: [ { address: 127.0.0.1, key: xfr-key } ]\n"
        "    notify: [ \"127.0.0.1@%d\" ]\n    export: healthy\n    export-interval: 1s\n"
        "services:\n  - name: %s\n    answers: 2\n    endpoints:\n"
        "      - id: a\n        address: [ %s ]\n      - id: b\n        address: [ %s ]\n"
        % (port, SECRET, ZONE, zfile, notify_port, API, A, B))
    p = xfr.Proc([str(xfr.VANED), "-c", str(conf)], d / "vaned.log", d)
    xfr.PROCS.append(p)
    xfr.wait_for(lambda: xfr.serial_of(port) or p.p.poll() is not None, "vaned")
    if p.p.poll() is not None:
        raise SystemExit("vaned exited:\n" + (d / "vaned.log").read_text()[-2000:])
    return p, port, conf, d / "vaned.log"


def knot_zone(path, serial, with_b):
    xfr.write_zone(path, serial)
    with open(path, "a") as f:
        f.write("api 30 IN A %s\n" % A)
        if with_b:
            f.write("api 30 IN A %s\n" % B)


def timed(action, cond, what):
    t0 = time.monotonic()
    action()
    xfr.wait_for(cond, what, timeout=60)
    return time.monotonic() - t0


def run(argv):
    r = subprocess.run(argv, capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit("%s failed: %s%s" % (argv[0], r.stdout, r.stderr))


def main():
    append = "--append" in sys.argv
    work = Path(tempfile.mkdtemp(prefix="vane-export-bench."))
    try:
        log("generating %d names in %s" % (xfr.NAMES, work))
        vz, kz = work / "vaned.zone", work / "knot.zone"
        xfr.write_zone(vz, 1)
        knot_zone(kz, 1, True)
        sv_port, sk_port = xfr.free_port(), xfr.free_port()
        v, vport, vconf, vlog = start_vaned(work, vz, sv_port)
        k, kport, kdir = xfr.start_knot_primary(work, kz, notify_port=sk_port)
        xfr.start_knot_secondary(work, "sec-of-vaned", sv_port, vport)
        xfr.start_knot_secondary(work, "sec-of-knotd", sk_port, kport)
        xfr.wait_for(lambda: api_addrs(sv_port) == {A, B}, "secondary of vaned", 300)
        xfr.wait_for(lambda: api_addrs(sk_port) == {A, B}, "secondary of knotd", 300)

        ctl = [str(xfr.VANECTL), "-c", str(vconf)]
        kctl = ["knotc", "-s", str(kdir / "run" / "knot.sock"), "zone-reload", ZONE]
        res = {"vaned": [], "knotd": [], "knotc": []}
        ksock = ["knotc", "-s", str(kdir / "run" / "knot.sock")]

        def ktxn(drop):
            run(ksock + ["zone-begin", ZONE])
            if drop:
                run(ksock + ["zone-unset", ZONE, "api", "A", B])
            else:
                run(ksock + ["zone-set", ZONE, "api", "30", "A", B])
            run(ksock + ["zone-commit", ZONE])
        serial = 1
        for rnd in range(ROUNDS):
            for drop in (True, False):
                want = {A} if drop else {A, B}
                # A quiet export-interval first: the change is not held back.
                time.sleep(1.1)
                res["vaned"].append(timed(
                    lambda: run(ctl + ["drain" if drop else "undrain", API + "/b"]),
                    lambda: api_addrs(sv_port) == want, "vaned's secondary"))
                # Steps of 10: knotd's transactions below take serial + 1.
                serial += 10
                knot_zone(kz, serial, not drop)
                res["knotd"].append(timed(lambda: run(kctl),
                                          lambda: api_addrs(sk_port) == want,
                                          "knotd's secondary"))
                log("round %d %s: vaned %.3f s, knotd %.3f s" % (
                    rnd + 1, "drain" if drop else "undrain", res["vaned"][-1],
                    res["knotd"][-1]))
            for drop in (True, False):
                want = {A} if drop else {A, B}
                res["knotc"].append(timed(lambda: ktxn(drop),
                                          lambda: api_addrs(sk_port) == want,
                                          "knotd's secondary (transaction)"))
            log("round %d knotc transactions: %.3f s, %.3f s" % (
                rnd + 1, res["knotc"][-2], res["knotc"][-1]))
        text = vlog.read_text()
        loop_ms = [int(m) for m in re.findall(r"export: healthy: serial \d+ -> \d+, .* (\d+) ms",
                                              text)]
        used_ixfr = "IXFR, incoming" in (work / "sec-of-vaned" / "knotd.log").read_text()
    finally:
        for p in xfr.PROCS:
            p.stop()
        if not os.environ.get("BENCH_KEEP"):
            shutil.rmtree(work, ignore_errors=True)

    med = {n: statistics.median(t) for n, t in res.items()}
    when = time.strftime("%Y-%m-%dT%H:%MZ", time.gmtime())
    out = [
        "### export: healthy, a drain reaching a Knot secondary (%s)" % when,
        "",
        "`BENCH_EXPORT_NAMES=%d BENCH_EXPORT_ROUNDS=%d bench/export.py`, %s build; "
        "shared 2-core VM, other agents' builds and tests running (noisy)."
        % (xfr.NAMES, ROUNDS, os.environ.get("BENCH_BUILD", "build")),
        "",
        "| figure | vaned (drain, export-interval 1s) | knotd (file edit + zone-reload) "
        "| ratio |",
        "| --- | --- | --- | --- |",
        "| change -> secondary answers it, median of %d | %.3f s | %.3f s | %.2f |"
        % (len(res["vaned"]), med["vaned"], med["knotd"], med["vaned"] / med["knotd"]),
        "| change -> secondary, max | %.3f s | %.3f s | |"
        % (max(res["vaned"]), max(res["knotd"])),
        "| knotd by knotc transaction (drop b), median of %d / ratio vaned:knotd | "
        "| %.3f s | %.2f |" % (len(res["knotc"]), statistics.median(res["knotc"]),
                              med["vaned"] / statistics.median(res["knotc"])),
        "| new version on vaned's loop thread, median / max | %s | | |"
        % ("%d / %d ms" % (statistics.median(loop_ms), max(loop_ms)) if loop_ms else "-"),
        "| secondary of vaned used IXFR | %s | | |" % ("yes" if used_ixfr else "no"),
        "",
    ]
    print("\n".join(out))
    if append:
        with open(xfr.ROOT / "bench" / "RESULTS.md", "a") as f:
            f.write("\n" + "\n".join(out))


if __name__ == "__main__":
    main()
