# shellcheck shell=bash
# Shared by bench/run.sh and bench/instr.sh: build, zone, server start/stop.
# Source it; it sets BENCH_DIR, ROOT, WORK and a cleanup trap.

set -eu

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$BENCH_DIR")
PY=/usr/bin/python3
BUILD=${BENCH_BUILD:-build}		# meson build dir holding vaned
BENCH_NAMES=${BENCH_NAMES:-5000}	# hosts in the generated zone
WRAP=${WRAP:-}				# command prefix for servers (instr.sh: valgrind)
SERVER_PIDS=""

msg() { printf '%s bench: %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { msg "error: $*"; exit 1; }

WORK=$(mktemp -d /tmp/vane-bench.XXXXXX)

cleanup() {
	local pid
	for pid in $SERVER_PIDS; do
		kill -TERM "$pid" 2>/dev/null || true
	done
	for pid in $SERVER_PIDS; do
		wait_exit "$pid" 10 || kill -KILL "$pid" 2>/dev/null || true
	done
	if [ -n "${BENCH_KEEP:-}" ]; then
		msg "kept work dir $WORK"
	else
		rm -rf "$WORK"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

# wait_exit PID SECONDS: wait for a process to be gone.
wait_exit() {
	local i=0
	while kill -0 "$1" 2>/dev/null; do
		[ "$i" -ge $(($2 * 10)) ] && return 1
		i=$((i + 1))
		sleep 0.1
	done
	wait "$1" 2>/dev/null || true
	return 0
}

need() {
	command -v "$1" >/dev/null 2>&1 || die "$1 not found (run scripts/deps.sh)"
}

# Build vaned (meson dir $BUILD) and the null server (into $WORK).
build_all() {
	if [ -z "${VANED:-}" ]; then
		if [ ! -f "$ROOT/$BUILD/build.ninja" ]; then
			msg "meson setup $BUILD"
			(cd "$ROOT" && meson setup "$BUILD" >/dev/null) || die "meson setup failed"
		fi
		msg "building vaned ($BUILD)"
		ninja -C "$ROOT/$BUILD" >"$WORK/build.log" 2>&1 ||
			{ tail -n 30 "$WORK/build.log" >&2; die "build failed"; }
		VANED=$ROOT/$BUILD/vaned
	fi
	[ -x "$VANED" ] || die "$VANED not built"
	cc -O2 -pthread -o "$WORK/nullserver" "$BENCH_DIR/nullserver.c" || die "cc nullserver"
}

gen_data() {
	msg "generating zone ($BENCH_NAMES names) and query file"
	$PY "$BENCH_DIR/gen.py" "$WORK" "$BENCH_NAMES"
	ZONE=$WORK/bench.example.zone
	QUERIES=$WORK/queries.txt	# used by run.sh and instr.sh
	export QUERIES
}

free_port() { $PY "$BENCH_DIR/dnsq.py" port; }

# start_SERVER PORT: start one server in the background on 127.0.0.1@PORT with
# 2 UDP workers; sets SERVER_PID. Logs go to $WORK/SERVER.log.
start_vaned() {
	local d=$WORK/vaned
	mkdir -p "$d"
	cat >"$d/vaned.yaml" <<-EOC
	server:
	  listen: [ "127.0.0.1@$1" ]
	  udp-workers: 2
	  control: vaned.sock
	# One client sends everything: a rate it never reaches keeps the RRL
	# check on the measured path without limiting (default 200/s would).
	# BENCH_RRL_RATE=0 turns RRL off, to measure what the check costs.
	rrl:
	  rate: ${BENCH_RRL_RATE:-1000000}
	zones:
	  - name: bench.example
	    file: $ZONE
	EOC
	$WRAP "$VANED" -c "$d/vaned.yaml" >"$WORK/vaned.log" 2>&1 &
	SERVER_PID=$!
}

# socket-affinity binds each UDP worker to its own SO_REUSEPORT socket, the same
# shape as vaned (Knot's recommended setting for throughput).
start_knotd() {
	local d=$WORK/knotd
	mkdir -p "$d/db"
	cat >"$d/knot.conf" <<-EOC
	server:
	    rundir: $d
	    listen: 127.0.0.1@$1
	    udp-workers: 2
	    tcp-workers: 1
	    background-workers: 1
	    socket-affinity: on
	database:
	    storage: $d/db
	log:
	  - target: stderr
	    any: warning
	template:
	  - id: default
	    storage: $WORK
	    zonefile-sync: -1
	    zonefile-load: whole
	    journal-content: none
	zone:
	  - domain: bench.example
	    file: $ZONE
	EOC
	$WRAP knotd -c "$d/knot.conf" >"$WORK/knotd.log" 2>&1 &
	SERVER_PID=$!
}

# NSD's default response rate limiting would throttle a benchmark: off.
# reuseport gives each of the 2 server processes its own socket, like the others.
start_nsd() {
	local d=$WORK/nsd
	mkdir -p "$d"
	cat >"$d/nsd.conf" <<-EOC
	server:
	    server-count: 2
	    ip-address: 127.0.0.1@$1
	    reuseport: yes
	    username: ""
	    chroot: ""
	    zonesdir: "$d"
	    database: ""
	    zonelistfile: "$d/zone.list"
	    xfrdfile: "$d/xfrd.state"
	    xfrdir: "$d"
	    pidfile: "$d/nsd.pid"
	    logfile: "$WORK/nsd.log"
	    tcp-count: 10
	    verbosity: 0
	    rrl-ratelimit: 0
	    rrl-whitelist-ratelimit: 0
	remote-control:
	    control-enable: no
	zone:
	    name: bench.example
	    zonefile: "$ZONE"
	EOC
	$WRAP nsd -d -c "$d/nsd.conf" >>"$WORK/nsd.log" 2>&1 &
	SERVER_PID=$!
}

# udp_rcvbuf: gdnsd's maximum; NSD and vaned enlarge their buffers by default.
start_gdnsd() {
	local d=$WORK/gdnsd
	mkdir -p "$d/zones" "$d/run" "$d/state"
	cp "$ZONE" "$d/zones/bench.example"
	cat >"$d/config" <<-EOC
	options => {
	    listen => [ 127.0.0.1:$1 ]
	    udp_threads => 2
	    tcp_threads => 1
	    udp_rcvbuf => 1048576
	    run_dir => $d/run
	    state_dir => $d/state
	}
	EOC
	$WRAP gdnsd -c "$d" start >"$WORK/gdnsd.log" 2>&1 &
	SERVER_PID=$!
}

start_null() {
	$WRAP "$WORK/nullserver" "$1" 2 >"$WORK/null.log" 2>&1 &
	SERVER_PID=$!
}

# start NAME PORT [TIMEOUT]: start and wait until it answers.
start() {
	local name=$1 port=$2 timeout=${3:-30}
	"start_$name" "$port"
	SERVER_PIDS="$SERVER_PIDS $SERVER_PID"
	if ! $PY "$BENCH_DIR/dnsq.py" wait "$port" "$timeout"; then
		tail -n 20 "$WORK/$name.log" >&2 || true
		die "$name did not answer on port $port within ${timeout}s"
	fi
}

# stop: SIGTERM the last started server and wait until it has exited.
stop() {
	kill -TERM "$SERVER_PID" 2>/dev/null || true
	if ! wait_exit "$SERVER_PID" 60; then
		msg "server $SERVER_PID did not stop; killing"
		kill -KILL "$SERVER_PID" 2>/dev/null || true
		wait_exit "$SERVER_PID" 5 || true
	fi
	SERVER_PIDS=$(echo "$SERVER_PIDS" | tr ' ' '\n' | grep -vx "$SERVER_PID" | tr '\n' ' ' || true)
}
