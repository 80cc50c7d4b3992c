#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
#
# fuzz/run.sh [SECONDS]: build the libFuzzer targets and fuzz each for its
# share of SECONDS (default 60 in total); FUZZ_TARGETS="fuzz_ctl fuzz_conf"
# fuzzes only those, in that order; FUZZ_RUNS=N stops each target after N
# executions instead (SECONDS is then only a cap).  New inputs that add coverage are
# merged into fuzz/corpus/<target>/ (commit them); crashes are saved in
# build-fuzz/artifacts/.  Exits non-zero when a target crashed.
set -u

root=$(cd "$(dirname "$0")/.." && pwd)
out=${VANE_FUZZ_BUILD:-$root/build-fuzz}
total=${1:-60}

"$root/fuzz/build.sh" || exit 1
targets=${FUZZ_TARGETS:-}
if [ -z "$targets" ]; then
	for f in "$out"/fuzz_*; do
		[ -f "$f" ] && [ -x "$f" ] && targets="$targets $(basename "$f")"
	done
fi
count=$(echo "$targets" | wc -w)
per=$((total / count))
[ "$per" -lt 1 ] && per=1

runs=
[ -n "${FUZZ_RUNS:-}" ] && runs="-runs=$FUZZ_RUNS"

mkdir -p "$out/artifacts"
status=0
summary=
for t in $targets; do
	corpus=$root/fuzz/corpus/$t
	work=$out/work/$t
	mkdir -p "$corpus" "$work"
	case $t in
	fuzz_zone) maxlen=4096 ;;
	fuzz_conf) maxlen=8192 ;;   # the shipped configs are seeds
	*) maxlen=2048 ;;
	esac
	before=$(find "$corpus" -type f | wc -l)
	# New units go to the scratch dir first (the first corpus dir) ...
	# shellcheck disable=SC2086
	"$out/$t" -max_total_time="$per" $runs -timeout=10 -rss_limit_mb=2048 \
		-max_len=$maxlen -print_final_stats=1 \
		-artifact_prefix="$out/artifacts/$t-" "$work" "$corpus" \
		>"$out/$t.log" 2>&1
	rc=$?
	# ... and only those that add coverage are merged into the corpus.
	"$out/$t" -merge=1 -timeout=10 "$corpus" "$work" >>"$out/$t.log" 2>&1
	after=$(find "$corpus" -type f | wc -l)
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$out/$t.log")
	if [ $rc -ne 0 ]; then
		status=1
		summary="$summary $t:CRASH"
		grep -E 'INVARIANT|ERROR|runtime error|SUMMARY|Test unit' "$out/$t.log" |
			tail -n 6 >&2
	else
		summary="$summary $t:ok(${execs:-?} execs, corpus $before->$after)"
	fi
done
if [ $status -eq 0 ]; then
	echo "fuzz run: ok ${per}s per target:$summary"
else
	echo "fuzz run: FAILED:$summary (artifacts in $out/artifacts)"
fi
exit $status
