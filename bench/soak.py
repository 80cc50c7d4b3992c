#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Soak vaned (issue "Face the internet"; run by bench/soak.sh).

For SOAK_SECONDS (default 600): dnsperf as fast as its window allows
against a static and a steered name, a reload with a changed zone every
5 s, four HTTP backends that flap (each goes away and comes back every
3 s, out of step; all but e0's), and an operator drain plus a ramp back under way all
the time.  Passes when dnsperf lost at most SOAK_LOST_TOLERANCE (default
0.0001, i.e. 0.01%) of its queries and got no SERVFAIL, every reload
succeeded, RSS stayed within +-5% of its value after the warm-up (the
first fifth of the run, at least 10 s), and vaned is alive and stops
cleanly.  Prints the figures; exit status 0 on pass.

Everything is on 127.0.0.1 with free ports.  Environment: VANED, VANECTL
(binaries), SOAK_SECONDS, SOAK_LOST_TOLERANCE, SOAK_KEEP=1 (keep the work
directory).
"""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
ZONE_SRC = os.path.join(ROOT, "tests", "integration", "zones", "example.com.zone")
SECONDS = int(os.environ.get("SOAK_SECONDS", "600"))
TOLERANCE = float(os.environ.get("SOAK_LOST_TOLERANCE", "0.0001"))
VANED = os.environ.get("VANED", os.path.join(ROOT, "build", "vaned"))
VANECTL = os.environ.get("VANECTL", os.path.join(os.path.dirname(VANED), "vanectl"))
SVC = "api.example.com"


def log(msg):
    sys.stderr.write("%s soak: %s\n" % (time.strftime("%H:%M:%S"), msg))
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


class _Ok(BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *a):
        pass


class Backend:
    """An HTTP server that can go away (port closed) and come back."""

    def __init__(self):
        self.port = free_port()
        self.httpd = None

    def up(self):
        if self.httpd:
            return
        for _ in range(100):
            try:
                self.httpd = HTTPServer(("127.0.0.1", self.port), _Ok)
                break
            except OSError:
                time.sleep(0.02)
        threading.Thread(target=self.httpd.serve_forever,
                         kwargs={"poll_interval": 0.05}, daemon=True).start()

    def down(self):
        if self.httpd:
            self.httpd.shutdown()
            self.httpd.server_close()
            self.httpd = None


def zone_text(serial):
    text = open(ZONE_SRC).read().replace("2024010101", str(serial), 1)
    bulk = "".join("bulk%d A 10.%d.%d.%d\n" % (i, serial % 256, i >> 8 & 255, i & 255)
                   for i in range(2000))
    return text + "gen TXT \"serial %d\"\n" % serial + bulk


def conf_text(port, backends):
    eps, checks = [], []
    for i, b in enumerate(backends):
        checks.append('  - { id: c%d, type: http, port: %d, path: "/", interval: 500ms, '
                      'timeout: 500ms, rise: 1, fall: 1 }' % (i, b.port))
        eps.append('      - { id: e%d, address: 192.0.2.%d, check: c%d, '
                   'check-address: 127.0.0.1 }' % (i, i + 1, i))
    return "\n".join([
        "server:",
        '  listen: [ "127.0.0.1@%d" ]' % port,
        "  udp-workers: 2",
        "  control: run/vaned.sock",
        "  state-dir: state",
        # One dnsperf client sends everything: RRL (on by default) would
        # limit it, as in bench/lib.sh.
        "rrl:",
        "  rate: 1000000",
        "zones:",
        "  - name: example.com",
        "    file: example.com.zone",
        "checks:",
        *checks,
        "services:",
        "  - name: %s" % SVC,
        "    ttl: 30",
        "    policy: [ health, weighted ]",
        "    answers: 2",
        "    endpoints:",
        *eps,
    ]) + "\n"


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def ctl(sock, *args):
    return subprocess.run([VANECTL, "-s", sock, *args], capture_output=True, text=True,
                          timeout=30)


def wait_ready(port, deadline):
    q = bytes.fromhex("abcd0000000100000000000007657861"
                      "6d706c6503636f6d0000060001")
    while time.monotonic() < deadline:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(0.2)
        try:
            s.sendto(q, ("127.0.0.1", port))
            s.recv(4096)
            return True
        except OSError:
            time.sleep(0.1)
        finally:
            s.close()
    return False


def parse_dnsperf(out):
    def num(label):
        m = re.search(r"%s:\s+(\d+)" % label, out)
        return int(m.group(1)) if m else -1
    rc = dict((k, int(v)) for k, v in re.findall(
        r"([A-Z]+) (\d+)", (re.search(r"Response codes:\s+(.*)", out) or [None, ""])[1]))
    qps = re.search(r"Queries per second:\s+([\d.]+)", out)
    return {"sent": num("Queries sent"), "completed": num("Queries completed"),
            "lost": num("Queries lost"), "rcodes": rc,
            "qps": float(qps.group(1)) if qps else 0.0}


def main():
    work = tempfile.mkdtemp(prefix="vane-soak.")
    backends = [Backend() for _ in range(4)]
    for b in backends:
        b.up()
    port = free_port()
    sock = os.path.join(work, "run", "vaned.sock")
    serial = 1000
    with open(os.path.join(work, "example.com.zone"), "w") as f:
        f.write(zone_text(serial))
    conf = os.path.join(work, "vaned.yaml")
    with open(conf, "w") as f:
        f.write(conf_text(port, backends))
    with open(os.path.join(work, "queries.txt"), "w") as f:
        f.write("www.example.com A\n%s A\nexample.com SOA\nbulk17.example.com A\n"
                "nothere.example.com A\nmail.example.com MX\n%s AAAA\n" % (SVC, SVC))
    errf = open(os.path.join(work, "vaned.stderr"), "w")
    vaned = subprocess.Popen([VANED, "-c", conf], stdout=errf, stderr=errf)
    result = {"seconds": SECONDS, "passed": False}
    problems = []
    perf = None
    try:
        if not wait_ready(port, time.monotonic() + 60):
            raise RuntimeError("vaned did not start")
        perf = subprocess.Popen(
            ["/usr/bin/dnsperf", "-s", "127.0.0.1", "-p", str(port), "-d",
             os.path.join(work, "queries.txt"), "-l", str(SECONDS), "-c", "4",
             "-q", "200", "-t", "2"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        t0 = time.monotonic()
        warm = max(10.0, SECONDS / 5.0)
        rss, reloads, failed_reloads, verbs = [], 0, 0, 0
        next_reload, next_flap, next_verb, flap_i, ramping = 5.0, 3.0, 2.0, 0, False
        while perf.poll() is None:
            now = time.monotonic() - t0
            if vaned.poll() is not None:
                problems.append("vaned exited with %s" % vaned.returncode)
                break
            rss.append((now, rss_kib(vaned.pid)))
            if now >= next_reload:
                serial += 1
                path = os.path.join(work, "example.com.zone")
                with open(path + ".tmp", "w") as f:
                    f.write(zone_text(serial))
                os.rename(path + ".tmp", path)
                p = ctl(sock, "reload")
                reloads += 1
                if p.returncode != 0:
                    failed_reloads += 1
                    problems.append("reload failed: %s" % (p.stdout + p.stderr).strip())
                next_reload += 5.0
            if now >= next_flap:
                # One backend at a time goes away or comes back; e0's
                # stays, so that its drain and ramp do not abort.
                b = backends[1 + flap_i % (len(backends) - 1)]
                (b.down if b.httpd else b.up)()
                flap_i += 1
                next_flap += 3.0
            if now >= next_verb:
                # Keep an operator change under way: drain e0, then ramp
                # it back in steps, over and over.
                args = (["ramp", SVC + "/e0", "--steps", "10,50,100", "--every", "2s"]
                        if ramping else ["drain", SVC + "/e0"])
                p = ctl(sock, *args)
                verbs += 1
                if p.returncode != 0 and "not persisted" not in p.stdout + p.stderr:
                    problems.append("%s failed: %s" % (args[0], p.stdout + p.stderr))
                ramping = not ramping
                next_verb += 7.0
            time.sleep(0.25)
        out, _ = perf.communicate(timeout=SECONDS + 60)
        d = parse_dnsperf(out)
        after = [r for t, r in rss if t >= warm]
        base = after[0] if after else 0
        lo, hi = (min(after), max(after)) if after else (0, 0)
        result.update({"dnsperf": d, "reloads": reloads, "failed_reloads": failed_reloads,
                       "operator_verbs": verbs, "flaps": flap_i,
                       "rss_kib_after_warmup": base, "rss_kib_min": lo, "rss_kib_max": hi,
                       "rss_drift": round((hi - base) / base, 4) if base else None})
        if d["sent"] <= 0:
            problems.append("dnsperf output unreadable:\n" + out)
        elif d["lost"] > TOLERANCE * d["sent"]:
            problems.append("dnsperf lost %d of %d queries" % (d["lost"], d["sent"]))
        if d["rcodes"].get("SERVFAIL", 0) or d["rcodes"].get("REFUSED", 0):
            problems.append("bad rcodes: %r" % d["rcodes"])
        if base and (hi > base * 1.05 or lo < base * 0.95):
            problems.append("RSS not flat after warm-up: %d KiB, then %d..%d KiB"
                            % (base, lo, hi))
        if vaned.poll() is None:
            vaned.send_signal(signal.SIGTERM)
            rc = vaned.wait(timeout=30)
            if rc != 0:
                problems.append("vaned exited %d on SIGTERM" % rc)
        errf.flush()
        text = open(os.path.join(work, "vaned.stderr")).read()
        if "AddressSanitizer" in text or "runtime error:" in text:
            problems.append("sanitizer report in vaned's log")
    except Exception as e:   # noqa: BLE001 - reported as a failure
        problems.append(repr(e))
    finally:
        if perf and perf.poll() is None:
            perf.kill()
        if vaned.poll() is None:
            vaned.kill()
            vaned.wait()
        for b in backends:
            b.down()
        errf.close()
        if os.environ.get("SOAK_KEEP"):
            log("kept %s" % work)
        else:
            shutil.rmtree(work, ignore_errors=True)
    result["problems"] = problems
    result["passed"] = not problems
    print(json.dumps(result, indent=1))
    return 0 if not problems else 1


if __name__ == "__main__":
    sys.exit(main())
