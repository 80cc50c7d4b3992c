#!/bin/sh
# Everything `make test` runs: unit tests (release and ASan+UBSan builds),
# the integration suite against the sanitizer build, and the fuzz corpus
# replay.  Prints one summary line at the end: "N passed, N failed".
set -u
cd "$(dirname "$0")/.."
PY=/usr/bin/python3
BUILD=${BUILD:-build}
ASAN_BUILD=${ASAN_BUILD:-build-asan}
passed=0
failed=0
skipped=0
log=$(mktemp -d)

step() { echo "==> $*"; }

# meson test's summary has "Ok: N" and "Fail: N" lines.
count_meson() {
	ok=$(sed -n 's/^Ok: *\([0-9]*\).*/\1/p' "$1" | tail -1)
	fail=$(sed -n 's/^Fail: *\([0-9]*\).*/\1/p' "$1" | tail -1)
	skip=$(sed -n 's/^Skipped: *\([0-9]*\).*/\1/p' "$1" | tail -1)
	passed=$((passed + ${ok:-0}))
	failed=$((failed + ${fail:-0}))
	skipped=$((skipped + ${skip:-0}))
}

build() {
	dir=$1
	shift
	if [ ! -f "$dir/build.ninja" ]; then
		meson setup "$dir" "$@" >"$log/setup-$dir.log" 2>&1 || {
			cat "$log/setup-$dir.log"
			return 1
		}
	fi
	ninja -C "$dir" >"$log/ninja-$dir.log" 2>&1 || {
		cat "$log/ninja-$dir.log"
		return 1
	}
}

step "layers (scripts/check-layers)"
if sh scripts/check-layers; then
	passed=$((passed + 1))
else
	failed=$((failed + 1))
fi

step "build (release)"
if ! build "$BUILD"; then
	echo "$passed passed, $((failed + 1)) failed, $skipped skipped"
	exit 1
fi
step "build (ASan+UBSan)"
if ! build "$ASAN_BUILD" -Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debug; then
	echo "$passed passed, $((failed + 1)) failed, $skipped skipped"
	exit 1
fi

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$PWD/tests/lsan.supp:print_suppressions=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

step "unit tests (release)"
meson test -C "$BUILD" --suite unit --print-errorlogs 2>&1 | tee "$log/unit.log"
count_meson "$log/unit.log"

step "unit tests (ASan+UBSan)"
meson test -C "$ASAN_BUILD" --suite unit --print-errorlogs 2>&1 | tee "$log/unit-asan.log"
count_meson "$log/unit-asan.log"

step "integration tests (ASan+UBSan vaned, vane-resolver and vanectl)"
# -rs lists every skip with its reason above the summary line.
VANE_BUILD="$PWD/$ASAN_BUILD" VANE_RELEASE_BUILD="$PWD/$BUILD" \
	$PY -m pytest -q -rs -p no:cacheprovider tests/integration 2>&1 | tee "$log/pytest.log"
p=$(tail -1 "$log/pytest.log" | grep -o '[0-9]* passed' | grep -o '[0-9]*')
f=$(tail -1 "$log/pytest.log" | grep -o '[0-9]* failed' | grep -o '[0-9]*')
e=$(tail -1 "$log/pytest.log" | grep -o '[0-9]* error' | grep -o '[0-9]*')
s=$(tail -1 "$log/pytest.log" | grep -o '[0-9]* skipped' | grep -o '[0-9]*')
skipped=$((skipped + ${s:-0}))
passed=$((passed + ${p:-0}))
failed=$((failed + ${f:-0} + ${e:-0}))
if [ -z "${p:-}" ] && [ -z "${f:-}" ] && [ -z "${e:-}" ]; then
	failed=$((failed + 1)) # pytest did not even report
fi

if [ -x fuzz/replay.sh ] || [ -f fuzz/replay.sh ]; then
	step "fuzz corpus replay"
	if sh fuzz/replay.sh; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
	fi
fi

rm -rf "$log"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
