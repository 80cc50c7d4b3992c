#!/bin/bash
# vane-lab live against model (issue 15): each scenario run live (real
# vaned, vane-resolver and unbound on loopback; needs root), then the model
# on the same layout, LIVE_ROUNDS times; one markdown row per run and mode.
# Live runs take their duration in real time (evac-live-ttl5 40 s,
# evac-live-ttl30 7 min, rogue-live, zombie-live, zombie-live-cap and
# herd-live-* 40-45 s) plus the servers' start.
#
# Usage: bench/lab-live.sh [SCENARIO...]   (default: evac-live-ttl5 evac-live-ttl30)
# Environment: LIVE_ROUNDS=1, BENCH_BUILD=build
set -eu
cd "$(dirname "$0")/.."
build=${BENCH_BUILD:-build}
rounds=${LIVE_ROUNDS:-1}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
ninja -C "$build" vane-lab vaned vane-resolver vanectl >/dev/null
[ $# -gt 0 ] || set -- evac-live-ttl5 evac-live-ttl30
echo "| scenario | round | mode | detect | RTO 95 | RTO 99 | RTO 100 | per kind RTO 100 | outage | herd peak / before | ramp over step | share us-east | auth q/s | failed |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
for sc in "$@"; do
	for i in $(seq "$rounds"); do
		"$build/vane-lab" run --live -q -o "$out/$i" --bindir "$build" "$sc" >"$out/stdout" 2>&1 ||
			{ cat "$out/stdout" >&2; exit 1; }
		for mode in live model; do
			/usr/bin/python3 - "$out/$i/$sc-$mode.json" "$sc" "$i" "$mode" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
s = lambda v: "-" if v < 0 else "%g s" % round(v, 1)
kinds = ", ".join("%s %s" % (k, s(v["rto100"])) for k, v in d["by_kind"].items())
herd = "-" if d["herd_base"] <= 0 else "%.0f%% (%.0f/%.0f conn/s)" % (
    100 * d["herd_peak"] / d["herd_base"], d["herd_peak"], d["herd_base"])
over = "-" if d["ramp_over"] <= -1 else "%+.0f points" % (100 * d["ramp_over"])
print("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %.1f%% | %.2f | %d |" % (
    sys.argv[2], sys.argv[3], sys.argv[4], s(d["detect"]), s(d["rto95"]), s(d["rto99"]),
    s(d["rto100"]), kinds, s(d["outage"]), herd, over, 100 * d["share"]["us-east"],
    d["auth_qps"], d["failed"]))
PY
		done
	done
done
