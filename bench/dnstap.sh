#!/bin/bash
# bench/dnstap.sh: the qps cost of dnstap logging in vaned.  dnsperf against
# vaned with dnstap off, on with every query logged (sample 1), and on with
# 1 in 100 (sample 100); the collector is Debian's fstrm_capture writing to
# /dev/null on the same machine, as a local collector would.  Rounds alternate
# the variants; medians and ratios to "off" are printed.
#
#   BENCH_SECONDS=6   dnsperf run length    BENCH_ROUNDS=3   rounds
#   BENCH_BUILD=build meson build dir       BENCH_DNSPERF="-c 16 -T 2 -q 1000 -t 1"
. "$(dirname "$0")/lib.sh"

SECONDS_=${BENCH_SECONDS:-6}
ROUNDS=${BENCH_ROUNDS:-3}
DNSPERF_ARGS=${BENCH_DNSPERF:--c 16 -T 2 -q 1000 -t 1}
VARIANTS="off sample1 sample100"

need dnsperf
need fstrm_capture
build_all
gen_data

# start_tap PORT SAMPLE: vaned with a dnstap section and its collector.
start_tap() {
	local d=$WORK/vaned-tap sock=$WORK/dnstap.sock
	mkdir -p "$d"
	rm -f "$sock"
	fstrm_capture -t protobuf:dnstap.Dnstap -u "$sock" -w /dev/null \
		>"$WORK/fstrm.log" 2>&1 &
	CAP_PID=$!
	SERVER_PIDS="$SERVER_PIDS $CAP_PID"
	for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.05; done
	cat >"$d/vaned.yaml" <<-EOC
	server:
	  listen: [ "127.0.0.1@$1" ]
	  udp-workers: 2
	  control: vaned.sock
	rrl:
	  rate: 1000000           # one client sends everything (see lib.sh)
	dnstap:
	  socket: $sock
	  sample: $2
	zones:
	  - name: bench.example
	    file: $ZONE
	EOC
	"$VANED" -c "$d/vaned.yaml" >"$WORK/vaned-tap.log" 2>&1 &
	SERVER_PID=$!
}

run_variant() {
	local v=$1 round=$2 port out qps
	port=$(free_port)
	CAP_PID=""
	case $v in
	off) start_vaned "$port" ;;
	sample1) start_tap "$port" 1 ;;
	sample100) start_tap "$port" 100 ;;
	esac
	SERVER_PIDS="$SERVER_PIDS $SERVER_PID"
	$PY "$BENCH_DIR/dnsq.py" wait "$port" 30 ||
		die "vaned ($v) did not start"
	out=$WORK/dnsperf.$v.$round
	# shellcheck disable=SC2086
	dnsperf -s 127.0.0.1 -p "$port" -d "$QUERIES" -l "$SECONDS_" $DNSPERF_ARGS \
		>"$out" 2>/dev/null || die "dnsperf ($v) failed"
	kill -TERM "$SERVER_PID"; wait_exit "$SERVER_PID" 10 || kill -KILL "$SERVER_PID"
	if [ -n "$CAP_PID" ]; then
		kill -INT "$CAP_PID"; wait_exit "$CAP_PID" 10 || kill -KILL "$CAP_PID"
	fi
	qps=$(awk '/Queries per second/ { printf "%d", $4 }' "$out")
	[ -n "$qps" ] || die "no qps in dnsperf output ($v)"
	echo "$qps" >>"$WORK/qps.$v"
	msg "round $round/$ROUNDS dnstap $v: $qps qps"
}

median() { sort -n "$1" | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

msg "dnstap cost: $ROUNDS rounds x ${SECONDS_}s; dnsperf $DNSPERF_ARGS"
for round in $(seq 1 "$ROUNDS"); do
	for v in $VARIANTS; do
		run_variant "$v" "$round"
	done
done

base=$(median "$WORK/qps.off")
printf '\n%-12s %10s %8s   (median of %s rounds, qps)\n' variant qps "vs off" "$ROUNDS"
for v in $VARIANTS; do
	m=$(median "$WORK/qps.$v")
	printf '%-12s %10d %8s\n' "$v" "$m" "$(awk -v a="$m" -v b="$base" 'BEGIN { printf "%.2f", a / b }')"
done
