#!/bin/sh
# The one list of Debian 12 packages Vane needs to build, test and benchmark.
# Installs whatever is missing; does nothing (and needs no network) when all
# are present.  Run as root, or it tells you what to install.
set -eu

PKGS="
build-essential pkg-config meson ninja-build clang libclang-rt-14-dev
libknot-dev liburcu-dev libuv1-dev libyaml-dev libcmocka-dev
libcurl4-openssl-dev libmicrohttpd-dev libjansson-dev libssl-dev
libmaxminddb-dev libloc-dev libloc-database
knot knot-dnsutils nsd unbound gdnsd dnsperf bind9-dnsutils
python3-dnspython python3-pytest valgrind iproute2 procps bird2
libfstrm-dev libprotobuf-c-dev protobuf-c-compiler dnstap-ldns fstrm-bin
prometheus chromium nodejs
etcd-server etcd-client
pdns-server pdns-backend-sqlite3 pdns-backend-geoip sqlite3
zonemaster-cli
"

# The browser test's npm packages (playwright-core, pinned by
# tests/browser/package-lock.json), only when missing: a no-op once
# installed.  A failure only warns: test_dashboard.py then skips.
npm_deps() {
	dir="$(cd "$(dirname "$0")/.." && pwd)/tests/browser"
	if [ -f "$dir/package-lock.json" ] && [ ! -d "$dir/node_modules/playwright-core" ] &&
	   command -v npm >/dev/null 2>&1; then
		echo "deps: npm ci --prefix tests/browser" >&2
		npm ci --prefix "$dir" --no-audit --no-fund >&2 ||
			echo "deps: npm ci failed; the browser test will be skipped" >&2
	fi
}

missing=""
for p in $PKGS; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing="$missing $p"
	fi
done

if [ -z "$missing" ]; then
	npm_deps
	exit 0
fi

echo "deps: installing:$missing" >&2
if [ "$(id -u)" -ne 0 ]; then
	echo "deps: not root; run: apt-get install$missing" >&2
	exit 1
fi

# Package post-install scripts must not start knotd/nsd/unbound/gdnsd on
# port 53: the tests start their own copies on free loopback ports.
policy=/usr/sbin/policy-rc.d
created_policy=0
if [ ! -e "$policy" ]; then
	printf '#!/bin/sh\nexit 101\n' >"$policy"
	chmod 755 "$policy"
	created_policy=1
fi
cleanup() { if [ "$created_policy" = 1 ]; then rm -f "$policy"; fi; }
trap cleanup EXIT

export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/dev/null || apt-get update -q
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $missing
npm_deps
