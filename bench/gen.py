#!/usr/bin/python3
"""Generate the benchmark zone and dnsperf query file (deterministic).

Usage: gen.py OUTDIR [NAMES]

Writes OUTDIR/bench.example.zone and OUTDIR/queries.txt. The zone has NAMES
hosts with A records, plus AAAA, MX and TXT on subsets, a CNAME or two, a
wildcard and two delegations with glue. The query mix (fixed seed) is roughly:
A 45%, AAAA 15%, MX 5%, TXT 5%, CNAME 3%, wildcard 5%, referral 4%,
NODATA 5%, SOA/NS at apex 3%, NXDOMAIN 10%.
"""
import random
import sys

ORIGIN = "bench.example."


def zone(names):
    out = [f"$ORIGIN {ORIGIN}", "$TTL 3600",
           "@ IN SOA ns1 hostmaster 2024010101 7200 3600 1209600 300",
           "@ IN NS ns1", "@ IN NS ns2",
           "@ IN MX 10 mail",
           "ns1 IN A 192.0.2.1", "ns2 IN A 192.0.2.2",
           "mail IN A 192.0.2.3",
           "www IN CNAME host1", "web IN CNAME host2",
           "*.wild IN A 192.0.2.100", "*.wild IN AAAA 2001:db8::100",
           # Delegations with in-zone glue below the cut.
           "sub IN NS ns.sub", "ns.sub IN A 192.0.2.53",
           "child IN NS ns1.child", "child IN NS ns2.child",
           "ns1.child IN A 192.0.2.54", "ns2.child IN A 192.0.2.55"]
    for i in range(names):
        h = f"host{i}"
        out.append(f"{h} IN A 10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}")
        if i % 3 == 0:
            out.append(f"{h} IN AAAA 2001:db8::{i:x}")
        if i % 10 == 0:
            out.append(f"{h} IN MX 10 mail")
        if i % 10 == 5:
            out.append(f'{h} IN TXT "v=spf1 ip4:10.0.0.0/8 -all" "host {i}"')
    return "\n".join(out) + "\n"


def queries(names, count=20000):
    rnd = random.Random(2)
    mix = [(45, "A"), (15, "AAAA"), (5, "MX"), (5, "TXT"), (3, "CNAME"),
           (5, "WILD"), (4, "REF"), (5, "NODATA"), (3, "APEX"), (10, "NX")]
    total = sum(w for w, _ in mix)
    out = []
    for _ in range(count):
        r = rnd.randrange(total)
        for w, kind in mix:
            if r < w:
                break
            r -= w
        i = rnd.randrange(names)
        if kind == "A":
            q = f"host{i}.{ORIGIN} A"
        elif kind == "AAAA":
            q = f"host{i - i % 3}.{ORIGIN} AAAA"
        elif kind == "MX":
            q = f"host{i - i % 10}.{ORIGIN} MX"
        elif kind == "TXT":
            q = f"host{(i - i % 10 + 5) % names}.{ORIGIN} TXT"
        elif kind == "CNAME":
            q = f"{rnd.choice(['www', 'web'])}.{ORIGIN} A"
        elif kind == "WILD":
            q = f"x{i}.wild.{ORIGIN} {rnd.choice(['A', 'AAAA'])}"
        elif kind == "REF":
            q = f"h{i}.{rnd.choice(['sub', 'child'])}.{ORIGIN} A"
        elif kind == "NODATA":
            j = i if i % 3 else (i + 1 if i + 1 < names else 1)
            q = f"host{j}.{ORIGIN} AAAA"  # name exists, has no AAAA
        elif kind == "APEX":
            q = f"{ORIGIN} {rnd.choice(['SOA', 'NS', 'MX'])}"
        else:
            q = f"nx{i}-{rnd.randrange(1 << 20)}.{ORIGIN} A"
        out.append(q)
    return "\n".join(out) + "\n"


def main():
    outdir = sys.argv[1]
    names = int(sys.argv[2]) if len(sys.argv) > 2 else 5000
    with open(f"{outdir}/bench.example.zone", "w") as f:
        f.write(zone(names))
    with open(f"{outdir}/queries.txt", "w") as f:
        f.write(queries(names))


if __name__ == "__main__":
    main()
