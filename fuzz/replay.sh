#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Build the fuzz targets and replay the committed corpus (fuzz/corpus/<target>/)
# through each one under ASan+UBSan.  Exits non-zero on any crash, leak,
# sanitizer report or broken invariant, and ends with a one-line summary.
# Uses libFuzzer (-runs=0) when clang can link it, else the standalone
# replayer (fuzz/replay_main.c).
set -u

root=$(cd "$(dirname "$0")/.." && pwd)
out=${VANE_FUZZ_BUILD:-$root/build-fuzz}

mode=libfuzzer
bindir=$out
if ! echo 'int LLVMFuzzerTestOneInput(const char *d, long n){return 0;}' |
	clang -x c -fsanitize=fuzzer -o /dev/null - 2>/dev/null; then
	mode=standalone
	bindir=$out/standalone
fi
if [ $mode = libfuzzer ]; then
	"$root/fuzz/build.sh" >/dev/null || { echo "fuzz replay: FAILED (build)"; exit 1; }
else
	"$root/fuzz/build.sh" --standalone >/dev/null ||
		{ echo "fuzz replay: FAILED (build)"; exit 1; }
fi

mkdir -p "$out/artifacts"
status=0
summary=
for bin in "$bindir"/fuzz_*; do
	[ -f "$bin" ] && [ -x "$bin" ] || continue
	t=$(basename "$bin")
	corpus=$root/fuzz/corpus/$t
	[ -d "$corpus" ] || { summary="$summary $t:no-corpus"; continue; }
	n=$(find "$corpus" -type f | wc -l)
	log=$out/replay-$t.log
	: >"$log"
	if [ $mode = libfuzzer ]; then
		"$bin" -runs=0 -timeout=10 -rss_limit_mb=2048 -artifact_prefix="$out/artifacts/$t-" "$corpus" >>"$log" 2>&1
	else
		"$bin" "$corpus" >>"$log" 2>&1
	fi
	rc=$?
	if [ $rc -eq 0 ]; then
		summary="$summary $t:$n-ok"
	else
		summary="$summary $t:FAILED(rc=$rc)"
		status=1
		# The failing input and the sanitizer's first lines, for the log reader.
		grep -E 'INVARIANT|ERROR|runtime error|SUMMARY|Running:|Test unit' "$log" |
			tail -n 8 >&2
	fi
done
if [ $status -eq 0 ]; then
	echo "fuzz replay: ok ($mode):$summary"
else
	echo "fuzz replay: FAILED ($mode):$summary (logs: $out/replay-*.log)"
fi
exit $status
