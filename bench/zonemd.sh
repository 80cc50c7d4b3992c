#!/bin/bash
# What `zonemd: true` (RFC 8976, SIMPLE, SHA-384) adds to the load of a
# 1,000,000-record zone (bench/bigzone.py), side by side with knotd's own
# `zonemd-generate: zonemd-sha384`:
#   - vaned: wall time of `vaned --check` (parse, build, ZONEMD) without
#     and with zonemd, medians of BENCH_ROUNDS, and the digest time vaned
#     logs itself;
#   - knotd: seconds from start to the zone's SOA answered, without and
#     with zonemd-generate, one round each (a start is slow).
# Prints the added seconds and the ratio with/without for each.
#   BENCH_ROUNDS=3 bench/zonemd.sh      BENCH_BUILD=build-h bench/zonemd.sh
. "$(dirname "$0")/lib.sh"

ROUNDS=${BENCH_ROUNDS:-3}
need knotd
build_all
ZONE=$WORK/big.zone
msg "generating the 1M-record zone"
$PY "$BENCH_DIR/bigzone.py" "$ZONE" bench.example.

median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
now() { date +%s.%N; }

vaned_conf() {   # vaned_conf FILE true|false
	cat >"$1" <<-EOC
	server:
	  listen: [ "127.0.0.1@$(free_port)" ]
	zones:
	  - name: bench.example
	    file: $ZONE
	    zonemd: $2
	EOC
}

for md in false true; do
	vaned_conf "$WORK/vaned-$md.yaml" "$md"
	for r in $(seq "$ROUNDS"); do
		t0=$(now)
		"$VANED" --check -c "$WORK/vaned-$md.yaml" >"$WORK/check.log" 2>&1 ||
			{ cat "$WORK/check.log" >&2; die "vaned --check failed"; }
		t=$(echo "$(now) - $t0" | bc -l)
		echo "$t" >>"$WORK/vaned.$md"
		own=$(sed -n 's/.*ZONEMD SIMPLE SHA-384 computed in \([0-9]*\) ms.*/\1/p' "$WORK/check.log")
		[ -n "$own" ] && echo "$own" >>"$WORK/own"
		msg "vaned zonemd=$md round $r: ${t}s${own:+ (digest ${own} ms)}"
	done
done

knot_start() {   # knot_start true|false: seconds to the zone served
	local d=$WORK/knotd-$1 port gen=""
	port=$(free_port)
	mkdir -p "$d/db"
	[ "$1" = true ] && gen="    zonemd-generate: zonemd-sha384"
	cat >"$d/knot.conf" <<-EOC
	server:
	    rundir: $d
	    listen: 127.0.0.1@$port
	    background-workers: 1
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
	$gen
	EOC
	local t0
	t0=$(now)
	knotd -c "$d/knot.conf" >"$WORK/knotd-$1.log" 2>&1 &
	SERVER_PID=$!
	SERVER_PIDS="$SERVER_PIDS $SERVER_PID"
	$PY "$BENCH_DIR/dnsq.py" ready "$port" 300 >/dev/null || die "knotd did not serve"
	echo "$(now) - $t0" | bc -l
	stop
}

for md in false true; do
	t=$(knot_start "$md")
	echo "$t" >"$WORK/knotd.$md"
	msg "knotd zonemd-generate=$md: ${t}s"
done

vf=$(median <"$WORK/vaned.false"); vt=$(median <"$WORK/vaned.true")
kf=$(cat "$WORK/knotd.false"); kt=$(cat "$WORK/knotd.true")
own=$( [ -s "$WORK/own" ] && median <"$WORK/own" || echo "-")
printf '\n%-34s %10s %10s %10s %8s\n' "1M records, load" "plain s" "zonemd s" "added s" "ratio"
printf '%-34s %10.2f %10.2f %10.2f %8.2f\n' "vaned --check (median of $ROUNDS)" "$vf" "$vt" \
	"$(echo "$vt - $vf" | bc -l)" "$(echo "$vt / $vf" | bc -l)"
printf '%-34s %10.2f %10.2f %10.2f %8.2f\n' "knotd start to served (1 round)" "$kf" "$kt" \
	"$(echo "$kt - $kf" | bc -l)" "$(echo "$kt / $kf" | bc -l)"
printf 'vaned digest alone (its log, median): %s ms\n' "$own"
