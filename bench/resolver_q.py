#!/usr/bin/python3
"""resolver_q.py send PORT FILE N [edns]: like `dnsq.py send` (N queries from a
dnsperf file, one at a time, each waiting for its reply; prints replies
received), optionally with an EDNS0 OPT record (payload 1232, no options), as
stub resolvers such as dig send. RD is set, as every stub client sets it. Used by bench/resolver.sh (RBENCH_INSTR_EDNS=1).
"""
import socket
import struct
import sys

sys.path.insert(0, sys.path[0])
from dnsq import exchange, query  # noqa: E402


def main():
    if len(sys.argv) < 5 or sys.argv[1] != "send":
        raise SystemExit(__doc__)
    port, path, n = int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
    edns = len(sys.argv) > 5 and sys.argv[5] == "edns"
    qs = [line.split() for line in open(path) if line.strip()]
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    got = 0
    for i in range(n):
        name, qtype = qs[i % len(qs)]
        q = query(i & 0xffff, name, qtype, rd=True)  # stub clients set RD
        if edns:
            q = q[:10] + struct.pack("!H", 1) + q[12:] + \
                b"\0" + struct.pack("!HHIH", 41, 1232, 0, 0)
        try:
            exchange(s, port, q, 5)
            got += 1
        except socket.timeout:
            pass
    print(got)
    return 0 if got == n else 1


if __name__ == "__main__":
    sys.exit(main())
