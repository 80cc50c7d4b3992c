#!/usr/bin/python3
"""reloadwatch.py PORT SERIAL SECONDS CMD...: run CMD (which starts a reload),
and meanwhile query 127.0.0.1:PORT without pause, one query at a time: an A
query for h1.bench.example., and every 20th bench.example. SOA, until the SOA
serial is SERIAL.  Prints: seconds from CMD to the new serial, the worst
response time in ms, the 99.9th percentile in ms, queries answered, queries
lost (no answer within 1 s).  Used by bench/reload.sh."""
import socket
import struct
import subprocess
import sys
import time

sys.path.insert(0, sys.path[0])
from dnsq import query  # noqa: E402


def skip_name(b, i):
    while True:
        n = b[i]
        if n == 0:
            return i + 1
        if n & 0xC0:
            return i + 2
        i += 1 + n


def soa_serial(r):
    """Serial of the first answer record (a SOA), wherever other sections are."""
    i = skip_name(r, 12) + 4
    i = skip_name(r, i) + 10      # owner, type, class, TTL, RDLENGTH
    i = skip_name(r, skip_name(r, i))
    return struct.unpack("!I", r[i:i + 4])[0]


def main():
    if len(sys.argv) < 5:
        raise SystemExit(__doc__)
    port, serial, limit = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(1.0)
    lat, lost, qid = [], 0, 0
    t0 = time.monotonic()
    proc = subprocess.Popen(sys.argv[4:], stdout=subprocess.DEVNULL)
    done = None
    while done is None and time.monotonic() < t0 + limit:
        qid = (qid + 1) & 0xffff
        soa = qid % 20 == 0
        pkt = query(qid, "bench.example." if soa else "h1.bench.example.",
                    "SOA" if soa else "A")
        t = time.monotonic()
        s.sendto(pkt, ("127.0.0.1", port))
        try:
            while True:
                r = s.recv(65535)
                if r[:2] == pkt[:2]:
                    break
        except socket.timeout:
            lost += 1
            continue
        now = time.monotonic()
        lat.append(now - t)
        if soa and r[3] & 15 == 0 and struct.unpack("!H", r[6:8])[0] > 0:
            if soa_serial(r) == serial:
                done = now - t0
    proc.wait()
    if done is None:
        print("serial %d not seen within %.0f s" % (serial, limit), file=sys.stderr)
        return 1
    lat.sort()
    p999 = lat[min(len(lat) - 1, int(len(lat) * 0.999))]
    print("%.3f %.2f %.2f %d %d" % (done, lat[-1] * 1000, p999 * 1000, len(lat), lost))
    return 0


if __name__ == "__main__":
    sys.exit(main())
