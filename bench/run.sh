#!/bin/bash
# make bench: dnsperf qps of vaned against knotd, nsd, gdnsd and the null server
# (the ceiling: echoes packets, no DNS work), same zone, same query mix (about
# 10% NXDOMAIN), 2 UDP workers each, one server running at a time. Rounds are
# interleaved and the median is reported, since the machine is noisy.
#
# Environment:
#   BENCH_SECONDS=6         dnsperf run length per server per round
#   BENCH_ROUNDS=5          interleaved rounds (median reported)
#   BENCH_SERVERS="vaned knotd nsd gdnsd null"
#   BENCH_DNSPERF="-c 16 -T 2 -q 1000 -t 1"   load shape (tuned for 2 cores)
#   BENCH_NAMES=5000        hosts in the generated zone
#   BENCH_BUILD=build       meson build dir for vaned (or VANED=/path/to/vaned)
#   BENCH_INSTR=0           skip the instructions-per-query part (bench/instr.sh)
#   BENCH_STEER=0           skip the traffic-steering part (bench/steer.sh, ~3.5 min)
#   BENCH_RESOLVER=0        skip vane-resolver vs unbound (bench/resolver.sh, root, ~3 min)
#   BENCH_KEEP=1            keep the work dir (configs, logs, dnsperf output)
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"	# make runs `sh bench/run.sh`
. "$(dirname "$0")/lib.sh"

SECONDS_=${BENCH_SECONDS:-6}
ROUNDS=${BENCH_ROUNDS:-5}
SERVERS=${BENCH_SERVERS:-vaned knotd nsd gdnsd null}
DNSPERF_ARGS=${BENCH_DNSPERF:--c 16 -T 2 -q 1000 -t 1}

need dnsperf
for s in $SERVERS; do
	case $s in
	vaned) build_all ;;
	null) ;;
	*) need "$s" ;;
	esac
done
[ -x "$WORK/nullserver" ] || cc -O2 -pthread -o "$WORK/nullserver" "$BENCH_DIR/nullserver.c"
gen_data

# run_one NAME ROUND: start NAME, run dnsperf, stop; records qps in $WORK/qps.NAME.
run_one() {
	local name=$1 round=$2 port out qps
	port=$(free_port)
	start "$name" "$port"
	out=$WORK/dnsperf.$name.$round
	# shellcheck disable=SC2086
	dnsperf -s 127.0.0.1 -p "$port" -d "$QUERIES" -l "$SECONDS_" $DNSPERF_ARGS \
		>"$out" 2>/dev/null || die "dnsperf against $name failed"
	stop
	qps=$(awk '/Queries per second/ { printf "%d", $4 }' "$out")
	[ -n "$qps" ] || die "no qps in dnsperf output for $name"
	echo "$qps" >>"$WORK/qps.$name"
	msg "round $round/$ROUNDS $name: $qps qps ($(completed "$out") completed)"
}

completed() { awk '/Queries completed/ { gsub(/[()]/, "", $4); print $4 }' "$1"; }
rcodes() { sed -n 's/^ *Response codes: *//p' "$1"; }
median() { sort -n "$1" | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

msg "servers: $SERVERS; $ROUNDS rounds x ${SECONDS_}s each; dnsperf $DNSPERF_ARGS"
for round in $(seq 1 "$ROUNDS"); do
	for s in $SERVERS; do
		run_one "$s" "$round"
	done
done

echo
echo "command: BENCH_SECONDS=$SECONDS_ BENCH_ROUNDS=$ROUNDS bench/run.sh" \
	"(dnsperf -l $SECONDS_ $DNSPERF_ARGS)"
echo "date:    $(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) cores, $(uname -r)"
printf '%-7s %10s   %-36s %s\n' server "median qps" "rounds" "responses (round 1)"
for s in $SERVERS; do
	printf '%-7s %10s   %-36s %s\n' "$s" "$(median "$WORK/qps.$s")" \
		"$(tr '\n' ' ' <"$WORK/qps.$s")" "$(rcodes "$WORK/dnsperf.$s.1")"
done
echo
if [[ " $SERVERS " == *" vaned "* ]]; then
	v=$(median "$WORK/qps.vaned")
	for s in $SERVERS; do
		[ "$s" = vaned ] && continue
		awk -v a="$v" -v b="$(median "$WORK/qps.$s")" -v n="$s" \
			'BEGIN { printf "vaned/%-6s %.3f\n", n, a / b }'
	done
fi

if [ "${BENCH_INSTR:-1}" != 0 ]; then
	echo
	msg "instructions per query (bench/instr.sh)"
	# Same binary as above: VANED is set by build_all.
	VANED=${VANED:-} INSTR_SERVERS=${INSTR_SERVERS:-$SERVERS} "$BENCH_DIR/instr.sh"
fi

if [ "${BENCH_STEER:-1}" != 0 ]; then
	echo
	msg "traffic steering (bench/steer.sh)"
	VANED=${VANED:-} "$BENCH_DIR/steer.sh"
fi

if [ "${BENCH_RESOLVER:-1}" != 0 ]; then
	echo
	if [ "$(id -u)" = 0 ]; then
		msg "vane-resolver against unbound (bench/resolver.sh)"
		"$BENCH_DIR/resolver.sh"
	else
		msg "skipping bench/resolver.sh: its authorities need port 53 (root)"
	fi
fi
