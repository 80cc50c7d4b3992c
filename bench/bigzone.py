#!/usr/bin/python3
"""bigzone.py FILE [ORIGIN]: write a deterministic 1,000,000-record zone
(700k A, 150k AAAA, 100k TXT, 25k MX, 25k CNAME, plus SOA and NS) for the
start-up and reload benchmarks (bench/start.sh, bench/reload.sh).  The file
is about 30 MB and is generated, never committed.
"""
import sys


def main():
    if len(sys.argv) < 2:
        raise SystemExit(__doc__)
    path = sys.argv[1]
    origin = sys.argv[2] if len(sys.argv) > 2 else "big.example."
    w = open(path, "w").write
    w(f"$ORIGIN {origin}\n$TTL 3600\n")
    w("@ SOA ns1 hostmaster 1 3600 600 86400 300\n@ NS ns1\nns1 A 192.0.2.1\n")
    # A: 699,999 hosts plus ns1 above.
    for i in range(699999):
        w(f"h{i} A 10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}\n")
    for i in range(150000):
        w(f"h{i} AAAA 2001:db8::{i >> 16:x}:{i & 0xffff:x}\n")
    for i in range(100000):
        w(f"h{i * 7} TXT \"v=spf1 ip4:10.0.0.0/8 -all {i}\"\n")
    for i in range(25000):
        w(f"m{i} MX 10 h{i}\n")
    for i in range(25000):
        w(f"c{i} CNAME h{i * 3}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
