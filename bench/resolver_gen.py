#!/usr/bin/python3
"""Generate the private internet of the resolver benchmark (deterministic).

Usage: resolver_gen.py OUTDIR PREFIX NAMES [ZONES]

PREFIX is a free 127.X.Y; the authorities are PREFIX.1 (root), PREFIX.2 (the
TLD `rbench.`) and PREFIX.3 (ZONES second-level zones z0.rbench ...). Writes:

  OUTDIR/root.hints        . NS a.root.rbench. + its A record (PREFIX.1)
  OUTDIR/root.zone         root zone: delegates rbench. with glue
  OUTDIR/rbench.zone       TLD: delegates zJ.rbench. to ns.zJ.rbench. (glue PREFIX.3)
  OUTDIR/zJ.rbench.zone    NAMES / ZONES hosts each: hostI.zJ.rbench. A
  OUTDIR/names.txt         dnsperf file, every host once (A), zones interleaved
                           (name i is in zone i % ZONES), so any chunk of the file
                           walks every zone

TTLs are one day so nothing expires during a run. One NS per zone: upstream
selection has no choice to make, which keeps callgrind runs repeatable.
"""
import sys


def soa(origin):
    return (f"$ORIGIN {origin}\n$TTL 86400\n"
            f"@ IN SOA ns.{origin} hostmaster.{origin} 1 7200 3600 1209600 300\n")


def main():
    out, pfx, names = sys.argv[1], sys.argv[2], int(sys.argv[3])
    zones = int(sys.argv[4]) if len(sys.argv) > 4 else 10
    w = lambda f, t: open(f"{out}/{f}", "w").write(t)

    w("root.hints", f".  3600000 NS a.root.rbench.\n"
                    f"a.root.rbench. 3600000 A {pfx}.1\n")
    w("root.zone", soa(".").replace("ns..", "a.root.rbench.")
      .replace("hostmaster..", "hostmaster.rbench.") +
      "@ IN NS a.root.rbench.\n"
      "rbench. IN NS ns.rbench.\n"
      f"ns.rbench. IN A {pfx}.2\n"
      f"a.root.rbench. IN A {pfx}.1\n")
    tld = [soa("rbench."), "@ IN NS ns\n", f"ns IN A {pfx}.2\n",
           f"a.root IN A {pfx}.1\n"]
    for j in range(zones):
        tld.append(f"z{j} IN NS ns.z{j}\nns.z{j} IN A {pfx}.3\n")
    w("rbench.zone", "".join(tld))
    hosts = [[] for _ in range(zones)]
    lines = []
    for i in range(names):
        j = i % zones
        hosts[j].append(f"host{i} IN A 10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}\n")
        lines.append(f"host{i}.z{j}.rbench. A\n")
    for j in range(zones):
        w(f"z{j}.rbench.zone", soa(f"z{j}.rbench.") + "@ IN NS ns\n" +
          f"ns IN A {pfx}.3\n" + "".join(hosts[j]))
    w("names.txt", "".join(lines))


if __name__ == "__main__":
    main()
