#!/usr/bin/python3
"""Queries at full rate while a large AXFR runs (issue 12, Performance).

vaned serves a zone of BENCH_XFR_NAMES hosts (default 1,000,000: 1.1M
records, as bench/xfr.py writes it); dnsperf sends A queries for random
hosts as fast as vaned answers them (no rate cap, BENCH_LOAD_CLIENTS
sockets) for BENCH_LOAD_SECONDS, twice: alone, then while kdig pulls the
whole zone by AXFR in a loop.  Reported: queries sent, completed and lost,
and the rate, for both; "loses nothing" means lost == 0 during the AXFRs.
RRL exempts loopback (it would drop the flood by design).

Usage: bench/xfr_load.py   Environment: BENCH_BUILD=build, BENCH_XFR_NAMES,
BENCH_LOAD_SECONDS=5, BENCH_LOAD_CLIENTS=4.
"""
import importlib.util
import os
import random
import re
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path

spec = importlib.util.spec_from_file_location("xfr", Path(__file__).with_name("xfr.py"))
xfr = importlib.util.module_from_spec(spec)
spec.loader.exec_module(xfr)

SECONDS = int(os.environ.get("BENCH_LOAD_SECONDS", "5"))
CLIENTS = int(os.environ.get("BENCH_LOAD_CLIENTS", "4"))


def dnsperf(port, qfile):
    r = subprocess.run(["dnsperf", "-s", "127.0.0.1", "-p", str(port), "-d", str(qfile),
                        "-l", str(SECONDS), "-c", str(CLIENTS), "-t", "2", "-q", "200"],
                       capture_output=True, text=True, timeout=SECONDS + 60)
    out = r.stdout
    num = lambda pat: int(re.search(pat, out).group(1))
    qps = float(re.search(r"Queries per second:\s+([\d.]+)", out).group(1))
    return {"sent": num(r"Queries sent:\s+(\d+)"), "completed": num(r"Queries completed:\s+(\d+)"),
            "lost": num(r"Queries lost:\s+(\d+)"), "qps": qps}


def main():
    work = Path(tempfile.mkdtemp(prefix="vane-xfr-load."))
    try:
        zfile = work / "zone"
        xfr.log("generating %d names" % xfr.NAMES)
        xfr.write_zone(zfile, 1)
        qfile = work / "queries"
        rnd = random.Random(1)
        with open(qfile, "w") as f:
            for _ in range(100000):
                f.write("host%d.%s A\n" % (rnd.randrange(xfr.NAMES), xfr.ZONE))
        # RRL exempts loopback: the flood is the measurement, not an attack.
        v, port, conf = xfr.start_vaned(work, zfile)
        text = conf.read_text().replace("server:\n", "rrl:\n  exempt: [ 127.0.0.0/8 ]\nserver:\n", 1)
        conf.write_text(text)
        v.stop()
        xfr.PROCS.remove(v)
        p = xfr.Proc([str(xfr.VANED), "-c", str(conf)], work / "vaned" / "vaned2.log",
                     work / "vaned")
        xfr.PROCS.append(p)
        xfr.wait_for(lambda: xfr.serial_of(port), "vaned restarted")
        alone = dnsperf(port, qfile)
        xfr.log("alone: %s" % alone)
        stop, axfrs = threading.Event(), []

        def pull():
            while not stop.is_set():
                axfrs.append(xfr.axfr_time(port))

        t = threading.Thread(target=pull)
        t.start()
        time.sleep(0.5)   # the first AXFR is under way
        during = dnsperf(port, qfile)
        stop.set()
        t.join()
        xfr.log("during %d AXFRs: %s" % (len(axfrs), during))
    finally:
        for p in xfr.PROCS:
            p.stop()
        shutil.rmtree(work, ignore_errors=True)
    recs = axfrs[0][3] if axfrs else 0
    print("\n| dnsperf %d s, %d sockets | sent | completed | lost | q/s |" % (SECONDS, CLIENTS))
    print("|---|---:|---:|---:|---:|")
    for name, r in (("alone", alone), ("during %d AXFRs of %d records (%.2f s each, median)"
                                      % (len(axfrs), recs, sorted(a[0] for a in axfrs)[len(axfrs) // 2]
                                         if axfrs else 0), during)):
        print("| %s | %d | %d | %d | %.0f |" % (name, r["sent"], r["completed"], r["lost"], r["qps"]))


if __name__ == "__main__":
    main()
