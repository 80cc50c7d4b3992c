#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Second-provider benchmark (issue 12): vaned and PowerDNS side by side.

1. Propagation: `vanectl drain` (and undrain) of one endpoint, then the time
   until PowerDNS answers without it (with it) for a client subnet of that
   endpoint's country, polled every 2 ms.  vaned answers the change before
   the verb returns (it is durable before acknowledged), so this is the
   push: translation on vaned's loop, the PATCH, PowerDNS's next answer.
2. qps of the same steered name (policy [health, geo, weighted], 3
   endpoints in 3 countries, one MaxMind DB shared by both) from vaned and
   from PowerDNS's LUA record, dnsperf with one ECS option per run.
   PowerDNS runs with its caches off, as in the tests (every answer runs
   the LUA record; vaned computes every answer too), then again with its
   default caches.

Usage: VANE_BUILD=build bench/provider.py [rounds] [seconds]
"""

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
os.environ.setdefault("VANE_BUILD", str(REPO / "build"))
sys.path.insert(0, str(REPO / "tests" / "integration"))

import dns.edns  # noqa: E402
import dns.message  # noqa: E402
import dns.query  # noqa: E402

from conftest import free_port  # noqa: E402
from provider_helpers import Pdns, make_geo_db, pdns_missing  # noqa: E402

BUILD = Path(os.environ["VANE_BUILD"])
NETS = [("10.0.0.0/8", "US", "NA"), ("10.64.0.0/10", "DE", "EU"),
        ("10.192.0.0/11", "JP", "AS")]
EP = {"us": "192.0.2.1", "de": "192.0.2.2", "jp": "192.0.2.3"}
DE_SUBNET = "10.70.1.0/24"


def ask(port, subnet):
    q = dns.message.make_query("api.example.com", "A", use_edns=0,
                               options=[dns.edns.ECSOption(subnet.split("/")[0],
                                                          int(subnet.split("/")[1]))])
    try:
        r = dns.query.udp(q, "127.0.0.1", port=port, timeout=1)
    except dns.exception.Timeout:
        return set()
    return {rd.address for rr in r.answer for rd in rr}


def vaned_conf(d, port, mmdb, pd):
    eps = "".join(
        "      - { id: %s, address: %s, location: { continent: %s, country: %s } }\n"
        % (e, a, ct, cc) for (e, a), (_, cc, ct) in zip(EP.items(), NETS))
    (d / "zones").mkdir(parents=True, exist_ok=True)
    (d / "zones" / "example.com.zone").write_text(
        "$ORIGIN example.com.\n$TTL 300\n@ SOA ns1 hostmaster 1 3600 900 604800 300\n"
        "@ NS ns1\nns1 A 192.0.2.53\n")
    (d / "vaned.yaml").write_text(
        "server:\n  listen: [ \"127.0.0.1@%d\" ]\n  udp-workers: 1\n  control: vaned.sock\n"
        "  state-dir: state\nrrl:\n  rate: 0\n"
        "zones:\n  - name: example.com\n    file: zones/example.com.zone\n"
        "geo:\n  database: %s\n"
        "services:\n  - name: api.example.com\n    policy: [ health, geo, weighted ]\n"
        "    endpoints:\n%s"
        "providers:\n  - name: pdns\n    api: %s\n    api-key-file: %s\n"
        "    zones: [ example.com ]\n    dns: 127.0.0.1@%d\n    drift-interval: 5s\n"
        % (port, mmdb, eps, pd.api, pd.key_file, pd.port))


def wait(cond, timeout=10.0, step=0.002):
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if cond():
            return time.monotonic() - t0
        time.sleep(step)
    raise SystemExit("timed out")


def dnsperf(port, seconds, datafile):
    ecs = "8:00011800" + "0a4601"   # family 1, /24, scope 0: 10.70.1.0/24
    out = subprocess.run(["dnsperf", "-s", "127.0.0.1", "-p", str(port), "-d", str(datafile),
                          "-l", str(seconds), "-c", "4", "-q", "200", "-E", ecs],
                         capture_output=True, text=True).stdout
    qps = lost = None
    for line in out.splitlines():
        if "Queries per second" in line:
            qps = float(line.split()[-1])
        if "Queries lost" in line:
            lost = line.split(":", 1)[1].strip()
    if qps is None:
        raise SystemExit("dnsperf: no qps\n" + out)
    print("  port %d: %.0f qps, lost %s" % (port, qps, lost))
    return qps


def main():
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    seconds = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    why = pdns_missing()
    if why:
        raise SystemExit("skip: " + why)
    work = Path(tempfile.mkdtemp(prefix="vane-bench-provider-"))
    mmdb = make_geo_db(work / "geo.mmdb", NETS)
    pd = Pdns(work / "pdns", mmdb).start()
    pd.create_zone("example.com")
    port = free_port()
    vd = work / "vaned"
    vd.mkdir()
    vaned_conf(vd, port, mmdb, pd)
    v = subprocess.Popen([str(BUILD / "vaned"), "-c", str(vd / "vaned.yaml")],
                         stdout=open(vd / "vaned.log", "w"), stderr=subprocess.STDOUT)
    ctl = [str(BUILD / "vanectl"), "-s", str(vd / "vaned.sock")]
    try:
        wait(lambda: ask(pd.port, DE_SUBNET) == {EP["de"]}, 20)
        drain, undrain = [], []
        for _ in range(rounds):
            subprocess.run(ctl + ["drain", "api.example.com/de"], check=True,
                           capture_output=True)
            t0 = time.monotonic()
            assert EP["de"] not in ask(port, DE_SUBNET)
            wait(lambda: ask(pd.port, DE_SUBNET) not in (set(), {EP["de"]}))
            drain.append(time.monotonic() - t0)
            subprocess.run(ctl + ["undrain", "api.example.com/de"], check=True,
                           capture_output=True)
            t0 = time.monotonic()
            wait(lambda: ask(pd.port, DE_SUBNET) == {EP["de"]})
            undrain.append(time.monotonic() - t0)
        data = work / "q.txt"
        data.write_text("api.example.com A\n")
        qv, qp = [], []
        for _ in range(2):
            qv.append(dnsperf(port, seconds, data))
            qp.append(dnsperf(pd.port, seconds, data))
        # PowerDNS again with its default caches (packet cache 20 s).
        pd.stop()
        conf = pd.dir / "pdns.conf"
        conf.write_text("".join(ln + "\n" for ln in conf.read_text().splitlines()
                                if "cache" not in ln))
        pd.start()
        wait(lambda: ask(pd.port, DE_SUBNET) == {EP["de"]}, 20)
        qc = [dnsperf(pd.port, seconds, data) for _ in range(2)]
        ms = lambda xs: "%.1f / %.1f / %.1f" % (1000 * statistics.median(xs),
                                                 1000 * sorted(xs)[int(0.9 * (len(xs) - 1))],
                                                 1000 * max(xs))
        print("drain reaches PowerDNS, ms (median / p90 / max of %d): %s" % (rounds, ms(drain)))
        print("undrain reaches PowerDNS, ms (median / p90 / max of %d): %s" % (rounds, ms(undrain)))
        print("qps steered name with ECS: vaned %s, pdns %s, ratio vaned/pdns %.2f" % (
            [int(x) for x in qv], [int(x) for x in qp], max(qv) / max(qp)))
        print("pdns with its default caches: %s, ratio vaned/pdns %.2f" % (
            [int(x) for x in qc], max(qv) / max(qc)))
    finally:
        v.terminate()
        v.wait(10)
        pd.stop()


if __name__ == "__main__":
    main()
