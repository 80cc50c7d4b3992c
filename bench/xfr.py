#!/usr/bin/python3
"""Zone transfers: vaned against knotd in the same run (ratios, not seconds).

1. AXFR time of a large zone (BENCH_XFR_NAMES hosts, default 200,000 A records
   plus AAAA on every tenth) with TSIG, by kdig, median of BENCH_XFR_ROUNDS,
   from vaned and from knotd serving the same file.
2. Propagation of a one-record change to a Knot secondary by NOTIFY + IXFR:
   the time from the reload command (vanectl reload / knotc zone-reload) to
   the secondary answering the new serial, with vaned as the primary and with
   knotd as the primary (zonefile-load: difference), median of the rounds.

Usage: bench/xfr.py [--append]   (--append adds the results to bench/RESULTS.md)
Environment: BENCH_BUILD=build (meson dir with vaned), BENCH_XFR_NAMES,
BENCH_XFR_ROUNDS=3, BENCH_KEEP=1 keeps the work directory.
The zone is generated in the work directory and never committed.
"""
import base64
import os
import re
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
BUILD = ROOT / os.environ.get("BENCH_BUILD", "build")
VANED, VANECTL = BUILD / "vaned", BUILD / "vanectl"
NAMES = int(os.environ.get("BENCH_XFR_NAMES", "200000"))
ROUNDS = int(os.environ.get("BENCH_XFR_ROUNDS", "3"))
ZONE = "xfrbench.example"
SECRET = base64.b64encode(b"vane-bench-xfr-secret-0123456789").decode()
KEY = "hmac-sha256:xfr-key:" + SECRET


def log(msg):
    print(time.strftime("%H:%M:%S"), "xfr bench:", msg, file=sys.stderr, flush=True)


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


def write_zone(path, serial, www="192.0.2.80"):
    with open(path, "w") as f:
        f.write("$ORIGIN %s.\n$TTL 3600\n" % ZONE)
        f.write("@ IN SOA ns1 hostmaster %d 7200 3600 1209600 300\n" % serial)
        f.write("@ IN NS ns1\nns1 IN A 192.0.2.1\nwww IN A %s\n" % www)
        for i in range(NAMES):
            f.write("host%d IN A 10.%d.%d.%d\n" % (i, i >> 16 & 255, i >> 8 & 255, i & 255))
            if i % 10 == 0:
                f.write("host%d IN AAAA 2001:db8::%x:%x\n" % (i, i >> 16, i & 0xffff))


def serial_of(port):
    q = dns.message.make_query(ZONE, "SOA")
    try:
        r = dns.query.udp(q, "127.0.0.1", port=port, timeout=0.2)
    except Exception:
        return None
    for rr in r.answer:
        if rr.rdtype == dns.rdatatype.SOA:
            return rr[0].serial
    return None


def wait_for(cond, what, timeout=120.0, step=0.002):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = cond()
        if v:
            return v
        time.sleep(step)
    raise SystemExit("xfr bench: timed out waiting for " + what)


class Proc:
    def __init__(self, argv, logpath, cwd):
        self.logf = open(logpath, "wb")
        self.p = subprocess.Popen(argv, stdout=self.logf, stderr=self.logf, cwd=cwd,
                                  stdin=subprocess.DEVNULL)

    def stop(self):
        if self.p.poll() is None:
            self.p.terminate()
            try:
                self.p.wait(30)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
        self.logf.close()


PROCS = []


def start_vaned(work, zfile, notify_port=None):
    d = work / "vaned"
    d.mkdir(exist_ok=True)
    port = free_port()
    conf = d / "vaned.yaml"
    conf.write_text(
        "server:\n  listen: [ \"127.0.0.1@%d\" ]\n  udp-workers: 1\n  control: run/vaned.sock\n"
        "keys:\n  - id: xfr-key\n    algorithm: hmac-sha256\n    secret: \"%s\"\n"
        "zones:\n  - name: %s\n    file: %s\n"
        "    allow-transfer: [ { address: 127.0.0.1, key: xfr-key } ]\n%s"
        % (port, SECRET, ZONE, zfile,
           "    notify: [ \"127.0.0.1@%d\" ]\n" % notify_port if notify_port else ""))
    p = Proc([str(VANED), "-c", str(conf)], d / "vaned.log", d)
    PROCS.append(p)
    wait_for(lambda: serial_of(port) or p.p.poll() is not None, "vaned")
    if p.p.poll() is not None:
        raise SystemExit("vaned exited:\n" + (d / "vaned.log").read_text()[-2000:])
    return p, port, conf


def knot_conf(d, port, zones_text, extra=""):
    (d / "run").mkdir(parents=True, exist_ok=True)
    (d / "storage").mkdir(exist_ok=True)
    conf = d / "knot.conf"
    conf.write_text(
        "server:\n  rundir: %(d)s/run\n  listen: 127.0.0.1@%(port)d\n  udp-workers: 1\n"
        "  tcp-workers: 1\n  background-workers: 1\n"
        "database:\n  storage: %(d)s/storage\n"
        "control:\n  listen: %(d)s/run/knot.sock\n"
        "log:\n  - target: stderr\n    any: info\n"
        "key:\n  - id: xfr-key\n    algorithm: hmac-sha256\n    secret: %(secret)s\n"
        "%(extra)s"
        "template:\n  - id: default\n    storage: %(d)s/storage\n    zonefile-sync: -1\n"
        "    journal-content: changes\n    semantic-checks: off\n"
        "zone:\n%(zones)s" % {"d": d, "port": port, "secret": SECRET, "zones": zones_text,
                              "extra": extra})
    return conf


def start_knot_primary(work, zfile, notify_port=None):
    d = work / "knot-primary"
    port = free_port()
    extra = ("acl:\n  - id: xfr\n    address: 127.0.0.1\n    key: xfr-key\n"
             "    action: transfer\n")
    zones = "  - domain: %s\n    file: %s\n    acl: xfr\n    zonefile-load: difference\n" % (
        ZONE, zfile)
    if notify_port:
        extra += ("remote:\n  - id: sec\n    address: 127.0.0.1@%d\n    key: xfr-key\n"
                  % notify_port)
        zones += "    notify: sec\n"
    conf = knot_conf(d, port, zones, extra)
    p = Proc(["/usr/sbin/knotd", "-c", str(conf)], d / "knotd.log", d)
    PROCS.append(p)
    wait_for(lambda: serial_of(port), "knotd primary")
    return p, port, d


def start_knot_secondary(work, name, port, primary_port):
    d = work / name
    extra = ("remote:\n  - id: primary\n    address: 127.0.0.1@%d\n    key: xfr-key\n"
             "acl:\n  - id: notify\n    address: 127.0.0.1\n    key: xfr-key\n"
             "    action: notify\n" % primary_port)
    zones = ("  - domain: %s\n    master: primary\n    acl: notify\n"
             "    zonefile-load: none\n" % ZONE)
    conf = knot_conf(d, port, zones, extra)
    p = Proc(["/usr/sbin/knotd", "-c", str(conf)], d / "knotd.log", d)
    PROCS.append(p)
    return p


def cpu_seconds(pid):
    """User + system CPU time of a process (and its threads), in seconds."""
    f = open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")


def axfr_time(port):
    t0 = time.monotonic()
    r = subprocess.run(["kdig", "-y", KEY, "@127.0.0.1", "-p", str(port), ZONE, "AXFR",
                        "+noall", "+stats"], capture_output=True, text=True, timeout=300)
    dt = time.monotonic() - t0
    m = re.search(r"Received (\d+) B \((\d+) messages, (\d+) records\)", r.stdout)
    if r.returncode != 0 or not m or ";; ERROR" in r.stdout + r.stderr:
        raise SystemExit("xfr bench: kdig AXFR failed:\n" + r.stdout[-2000:] + r.stderr)
    return dt, int(m.group(1)), int(m.group(2)), int(m.group(3))


def propagation(primary, zfile, sec_port, serial, reload):
    """Write a one-record change at `serial`, reload the primary, time until
    the secondary answers the serial."""
    write_zone(zfile, serial, www="192.0.2.%d" % (serial % 200 + 1))
    t0 = time.monotonic()
    reload()
    wait_for(lambda: serial_of(sec_port) == serial, "secondary at %d" % serial)
    return time.monotonic() - t0


def main():
    append = "--append" in sys.argv
    work = Path(tempfile.mkdtemp(prefix="vane-xfr-bench."))
    procs = PROCS
    try:
        log("generating %d names in %s" % (NAMES, work))
        vz, kz = work / "vaned.zone", work / "knot.zone"
        write_zone(vz, 1)
        shutil.copy(vz, kz)
        # The secondaries' ports are known before the primaries start.
        sv_port, sk_port = free_port(), free_port()
        v, vport, vconf = start_vaned(work, vz, notify_port=sv_port)
        k, kport, kdir = start_knot_primary(work, kz, notify_port=sk_port)

        res = {"vaned": [], "knotd": []}
        cpu = {"vaned": [], "knotd": []}
        info = {}
        for rnd in range(ROUNDS):
            for name, port, proc in (("vaned", vport, v), ("knotd", kport, k)):
                c0 = cpu_seconds(proc.p.pid)
                dt, size, msgs, recs = axfr_time(port)
                cpu[name].append(cpu_seconds(proc.p.pid) - c0)
                res[name].append(dt)
                info[name] = (size, msgs, recs)
                log("AXFR round %d %s: %.3f s (server CPU %.3f s), %d B, %d messages, "
                    "%d records" % (rnd + 1, name, dt, cpu[name][-1], size, msgs, recs))
        ax = {n: statistics.median(t) for n, t in res.items()}
        axc = {n: statistics.median(t) for n, t in cpu.items()}

        start_knot_secondary(work, "sec-of-vaned", sv_port, vport)
        start_knot_secondary(work, "sec-of-knotd", sk_port, kport)
        wait_for(lambda: serial_of(sv_port) == 1, "secondary of vaned bootstrapped", 300)
        wait_for(lambda: serial_of(sk_port) == 1, "secondary of knotd bootstrapped", 300)

        def vreload():
            r = subprocess.run([str(VANECTL), "-c", str(vconf), "reload"],
                               capture_output=True, text=True)
            if r.returncode != 0:
                raise SystemExit("vanectl reload failed: " + r.stdout + r.stderr)

        def kreload():
            r = subprocess.run(["knotc", "-s", str(kdir / "run" / "knot.sock"), "zone-reload",
                                ZONE], capture_output=True, text=True)
            if r.returncode != 0:
                raise SystemExit("knotc zone-reload failed: " + r.stdout + r.stderr)

        prop = {"vaned": [], "knotd": []}
        for rnd in range(ROUNDS):
            serial = 2 + rnd
            prop["vaned"].append(propagation("vaned", vz, sv_port, serial, vreload))
            prop["knotd"].append(propagation("knotd", kz, sk_port, serial, kreload))
            log("IXFR round %d: vaned %.3f s, knotd %.3f s"
                % (rnd + 1, prop["vaned"][-1], prop["knotd"][-1]))
        pr = {n: statistics.median(t) for n, t in prop.items()}
        used_ixfr = "IXFR, incoming" in (work / "sec-of-vaned" / "knotd.log").read_text()
    finally:
        for p in procs:
            p.stop()
        if not os.environ.get("BENCH_KEEP"):
            shutil.rmtree(work, ignore_errors=True)
        else:
            log("kept " + str(work))

    recs = info["vaned"][2]
    lines = [
        "",
        "### Zone transfers, vaned vs knotd (%s)" % time.strftime("%Y-%m-%dT%H:%MZ",
                                                                 time.gmtime()),
        "",
        "Command: `BENCH_BUILD=%s BENCH_XFR_NAMES=%d BENCH_XFR_ROUNDS=%d bench/xfr.py --append`"
        % (BUILD.name, NAMES, ROUNDS),
        "(knotd %s; TSIG hmac-sha256 on every message; medians of %d rounds)."
        % (subprocess.run(["knotd", "--version"], capture_output=True,
                          text=True).stdout.split()[-1], ROUNDS),
        "",
        "| measurement | vaned | knotd | ratio vaned/knotd |",
        "|---|---:|---:|---:|",
        "| AXFR of %d records by kdig (s) | %.3f | %.3f | **%.2f** |"
        % (recs, ax["vaned"], ax["knotd"], ax["vaned"] / ax["knotd"]),
        "| server CPU per AXFR (s, user+system from /proc) | %.3f | %.3f | **%.2f** |"
        % (axc["vaned"], axc["knotd"], axc["vaned"] / max(axc["knotd"], 0.001)),
        "| AXFR bytes / messages | %d / %d | %d / %d | %.2f |"
        % (info["vaned"][0], info["vaned"][1], info["knotd"][0], info["knotd"][1],
           info["vaned"][0] / info["knotd"][0]),
        "| one-record change: reload to Knot secondary at new serial (s) | %.3f | %.3f | "
        "**%.2f** |" % (pr["vaned"], pr["knotd"], pr["vaned"] / pr["knotd"]),
        "",
        "The propagation time includes each primary's reload of the whole %d-record zone "
        "(vaned: load, then one merge of the old and new versions for the journal; knotd: "
        "zonefile-load difference). The secondary of vaned used IXFR: %s."
        % (recs, "yes" if used_ixfr else "NO"),
        "",
    ]
    text = "\n".join(lines)
    print(text)
    if append:
        with open(ROOT / "bench" / "RESULTS.md", "a") as f:
            f.write(text)


if __name__ == "__main__":
    main()
