#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Build the fuzz targets into build-fuzz/ with clang:
#   fuzz/build.sh               libFuzzer + ASan + UBSan (the normal case)
#   fuzz/build.sh --standalone  ASan + UBSan with fuzz/replay_main.c instead of
#                               libFuzzer, for replaying the corpus where
#                               libFuzzer is not available
# A plain compile of the few src/ folders the targets need (lib, zone, auth)
# keeps this independent of the main meson build and its other dependencies.
# The literal quotes in $cflags (-DFUZZ_ZONE_FILE="...") are meant.
# shellcheck disable=SC2089,SC2090
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
out=${VANE_FUZZ_BUILD:-$root/build-fuzz}
src=${VANE_FUZZ_SRC:-$root/src}   # another tree, e.g. a patched copy
mode=libfuzzer
[ "${1:-}" = "--standalone" ] && mode=standalone

cc=${CC:-clang}
case "$cc" in *clang*) ;; *) [ $mode = libfuzzer ] && cc=clang ;; esac
san="-fsanitize=address,undefined -fno-sanitize-recover=undefined"
if [ $mode = libfuzzer ]; then
	objsan="$san -fsanitize=fuzzer-no-link"
	linksan="$san -fsanitize=fuzzer"
	objdir=$out/obj
	bindir=$out
else
	objsan=$san
	linksan=$san
	objdir=$out/obj-standalone
	bindir=$out/standalone
fi
cflags="-std=gnu11 -D_GNU_SOURCE -g -O1 -fno-omit-frame-pointer -Wall -Wextra
	-Wno-unused-parameter -Wno-missing-field-initializers -I$src -I$root
	-DFUZZ_ZONE_FILE=\"$root/fuzz/zones/fuzz.zone\""
have_auth=
[ -f "$src/auth/answer.c" ] && have_auth=1 && cflags="$cflags -DFUZZ_HAVE_AUTH"
libs=$(pkg-config --libs libzscanner libloc libmaxminddb libcrypto yaml-0.1 jansson)
cflags="$cflags $(pkg-config --cflags libloc libmaxminddb yaml-0.1 jansson)"

mkdir -p "$objdir" "$bindir"
rm -f "$objdir"/*.o

# Library sources the targets link against; auth only once it exists.
srcs="$src/lib/*.c $src/zone/*.c"
# The answer path steers names, so it needs steer/ and geo/ too.
[ -n "$have_auth" ] && srcs="$srcs $src/auth/*.c $src/geo/*.c $(for f in steer chain trace fixmath set latency; do printf " %s" "$src/steer/$f.c"; done)"
# RRL's slip cut, for fuzz_edns (only the pure file of serve/).
have_rrl=
[ -n "$have_auth" ] && [ -f "$src/serve/rrl.c" ] && have_rrl=1 && srcs="$srcs $src/serve/rrl.c"
# The config loaders (fuzz_conf), the command table and the HTTP API's
# routing (fuzz_ctl; not ctl.c or http.c, which need libuv and
# libmicrohttpd), and the resolver's messages (fuzz_resolver): pure files.
have_more=
if [ -f "$src/conf/conf.c" ] && [ -f "$src/ctl/routes.c" ] && [ -f "$src/resolver/msg.c" ]; then
	have_more=1
	srcs="$srcs $src/conf/*.c $src/ctl/cmd.c $src/ctl/routes.c $src/resolver/msg.c"
fi
srcs="$srcs $root/fuzz/dnscheck.c $root/fuzz/fuzz_common.c"
[ $mode = standalone ] && srcs="$srcs $root/fuzz/replay_main.c"

# Two compile jobs at a time (the machine has two cores).
pids=
n=0
for f in $srcs; do
	d=$(basename "$(dirname "$f")")
	# shellcheck disable=SC2086
	$cc $cflags $objsan -c "$f" -o "$objdir/${d}_$(basename "$f" .c).o" &
	pids="$pids $!"
	n=$((n + 1))
	if [ $((n % 2)) -eq 0 ]; then
		for p in $pids; do wait "$p" || fail=1; done
		pids=
	fi
done
for p in $pids; do wait "$p" || fail=1; done
if [ -n "${fail:-}" ]; then
	echo "fuzz/build.sh: compile failed" >&2
	exit 1
fi

targets="fuzz_zone"
[ -n "$have_auth" ] && targets="fuzz_query $targets"
[ -n "$have_rrl" ] && targets="fuzz_edns $targets"
[ -n "$have_more" ] && targets="$targets fuzz_conf fuzz_ctl fuzz_resolver"
for t in $targets; do
	# shellcheck disable=SC2086
	$cc $cflags $linksan "$root/fuzz/$t.c" "$objdir"/*.o $libs -o "$bindir/$t"
done
echo "fuzz/build.sh: built $targets in $bindir ($mode)"
