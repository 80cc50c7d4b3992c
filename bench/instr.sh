#!/bin/bash
# User-space instructions per query, measured with callgrind.
#
# Each server runs twice under `valgrind --tool=callgrind` (all threads summed),
# once receiving N1 and once N2 queries from the same file, sent one at a time
# (each waits for its answer, so every recvmmsg returns one packet: the worst
# case for batching, and the same for every server). Then
#     instructions/query = (Ir(N2) - Ir(N1)) / (N2 - N1)
# so start-up, zone loading and shutdown cancel out.
#
# Environment:
#   INSTR_SERVERS="vaned knotd nsd gdnsd null"
#   INSTR_N1=2000 INSTR_N2=12000
#   INSTR_PROFILE="vaned"   also print where the instructions per query go
#                           (functions, via bench/cgdiff.py) for these servers
#   BENCH_NAMES, BENCH_BUILD, VANED, BENCH_KEEP: as for bench/run.sh
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"	# make runs `sh bench/run.sh`
. "$(dirname "$0")/lib.sh"

SERVERS=${INSTR_SERVERS:-vaned knotd nsd gdnsd null}
N1=${INSTR_N1:-2000}
N2=${INSTR_N2:-12000}

need valgrind
for s in $SERVERS; do
	case $s in
	vaned) build_all ;;
	null) ;;
	*) need "$s" ;;
	esac
done
[ -x "$WORK/nullserver" ] || cc -O2 -pthread -o "$WORK/nullserver" "$BENCH_DIR/nullserver.c"
gen_data

# ir NAME N: total Ir of one callgrind run of NAME answering N queries.
ir() {
	local name=$1 n=$2 port out got
	out=$WORK/cg.$name.$n
	mkdir -p "$out"
	port=$(free_port)
	# The readiness probe sends one query; it is in both runs, so it cancels.
	WRAP="valgrind --tool=callgrind --separate-threads=no --trace-children=yes
		--callgrind-out-file=$out/callgrind.out.%p" start "$name" "$port" 120
	got=$($PY "$BENCH_DIR/dnsq.py" send "$port" "$QUERIES" "$n") ||
		die "$name answered only $got of $n queries"
	stop
	# One file per process (nsd-style forks); threads are already summed.
	cat "$out"/callgrind.out.* | awk '/^summary:/ { s += $2 } END { printf "%d", s }'
}

printf '%-7s %14s %14s %12s\n' server "Ir(N1=$N1)" "Ir(N2=$N2)" "instr/query" >"$WORK/table"
for s in $SERVERS; do
	msg "$s: callgrind with $N1 queries"
	a=$(ir "$s" "$N1")
	msg "$s: callgrind with $N2 queries"
	b=$(ir "$s" "$N2")
	per=$(( (b - a) / (N2 - N1) ))
	msg "$s: $per instructions/query"
	printf '%-7s %14s %14s %12s\n' "$s" "$a" "$b" "$per" >>"$WORK/table"
	echo "$per" >"$WORK/per.$s"
done

echo
echo "command: INSTR_N1=$N1 INSTR_N2=$N2 bench/instr.sh   ($(valgrind --version))"
echo "date:    $(date -u +%Y-%m-%dT%H:%M:%SZ), $(uname -m), $(uname -r)"
cat "$WORK/table"
if [ -f "$WORK/per.vaned" ]; then
	echo
	for s in $SERVERS; do
		[ "$s" = vaned ] && continue
		awk -v a="$(cat "$WORK/per.vaned")" -v b="$(cat "$WORK/per.$s")" -v n="$s" \
			'BEGIN { printf "vaned/%-6s %.3f\n", n, a / b }'
	done
fi
for s in ${INSTR_PROFILE:-}; do
	[ -f "$WORK/per.$s" ] || continue
	echo
	echo "$s: instructions per query by function (exclusive)"
	$PY "$BENCH_DIR/cgdiff.py" "$WORK/cg.$s.$N1" "$WORK/cg.$s.$N2" "$N1" "$N2" 20 |
		sed "s|[^ ]*/\.\./src/|src/|"
done
