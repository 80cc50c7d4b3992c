#!/usr/bin/python3
"""Per-query profile from two callgrind runs: cgdiff.py DIR_N1 DIR_N2 N1 N2 [TOP]

Runs callgrind_annotate (exclusive cost per function) on the output files of
both runs and prints the functions whose cost grows with the query count,
as instructions per query, largest first. Start-up cost cancels out.
"""
import glob
import re
import subprocess
import sys
from collections import Counter

LINE = re.compile(r"^\s*([\d,]+)\s+\([ \d.]+%\)\s+(.*)$")


def costs(d):
    c = Counter()
    for f in glob.glob(f"{d}/callgrind.out.*"):
        out = subprocess.run(["callgrind_annotate", "--inclusive=no", "--threshold=100",
                              "--auto=no", f], capture_output=True, text=True).stdout
        for line in out.splitlines():
            m = LINE.match(line)
            if m and "PROGRAM TOTALS" not in m.group(2):
                fn = re.sub(r"'\d+", "", m.group(2))  # merge recursion levels
                fn = re.sub(r" \[.*\]$", "", fn)
                c[fn] += int(m.group(1).replace(",", ""))
    return c


def main():
    d1, d2, n1, n2 = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    top = int(sys.argv[5]) if len(sys.argv) > 5 else 25
    a, b = costs(d1), costs(d2)
    per = {fn: (b[fn] - a.get(fn, 0)) / (n2 - n1) for fn in b}
    total = sum(per.values())
    print(f"{'instr/query':>11}  function   (total {total:.0f})")
    for fn, v in sorted(per.items(), key=lambda kv: -kv[1])[:top]:
        print(f"{v:11.1f}  {fn}")


if __name__ == "__main__":
    main()
