#!/bin/sh
# Instructions per cookie MAC, native SipHash-2-4 vs OpenSSL EVP_MAC
# (bench/cookie_mac.c), under callgrind: (Ir(N2) - Ir(N1)) / (N2 - N1).
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d /tmp/vane-cookiemac.XXXXXX)
trap 'rm -rf "$work"' EXIT
cc -O3 -I"$root/src" -o "$work/cookie_mac" "$root/bench/cookie_mac.c" \
	"$root/src/lib/siphash.c" -lcrypto
ir() {
	valgrind --tool=callgrind --callgrind-out-file="$work/cg.$1.$2" \
		"$work/cookie_mac" "$1" "$2" >/dev/null 2>&1
	awk '/^summary:/ { print $2 }' "$work/cg.$1.$2"
}
for impl in native evp; do
	a=$(ir "$impl" 10000)
	b=$(ir "$impl" 110000)
	echo "$impl: $(( (b - a) / 100000 )) instructions per MAC (28 bytes)"
done
