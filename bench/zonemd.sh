#!/bin/bash
# What `zonemd: true` (RFC 8976, SIMPLE, SHA-384) adds to the load of a
# 1,000,000-record zone (bench/bigzone.py), side by side with knotd's own
# `zonemd-generate: zonemd-sha384`:
#   - vaned: wall and CPU (user + sys) time of `vaned --check` (parse,
#     build, ZONEMD) without and with zonemd, medians of BENCH_ROUNDS, and
#     the digest's wall time that vaned logs itself;
#   - knotd: wall seconds from start to the zone's SOA answered and the CPU
#     it used until then, without and with zonemd-generate, BENCH_ROUNDS.
# Prints the added seconds and the ratio with/without for each.  On a
# shared machine the CPU figures are the ones to compare; wall time moves
# with the load.
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
		/usr/bin/time -o "$WORK/time" -f "%e %U %S" \
			"$VANED" --check -c "$WORK/vaned-$md.yaml" >"$WORK/check.log" 2>&1 ||
			{ cat "$WORK/check.log" >&2; die "vaned --check failed"; }
		read -r t u sy <"$WORK/time"
		cpu=$(echo "$u + $sy" | bc -l)
		echo "$t" >>"$WORK/vaned.$md"; echo "$cpu" >>"$WORK/vcpu.$md"
		own=$(sed -n 's/.*ZONEMD SIMPLE SHA-384 computed in \([0-9]*\) ms.*/\1/p' "$WORK/check.log")
		[ -n "$own" ] && echo "$own" >>"$WORK/own"
		msg "vaned zonemd=$md round $r: ${t}s wall, ${cpu}s CPU${own:+ (digest ${own} ms)}"
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
	local t ticks
	t=$(echo "$(now) - $t0" | bc -l)
	ticks=$(awk '{ print $14 + $15 }' "/proc/$SERVER_PID/stat")
	printf '%.2f %.2f\n' "$t" "$(echo "$ticks / $(getconf CLK_TCK)" | bc -l)"
	stop
}

for md in false true; do
	for r in $(seq "$ROUNDS"); do
		read -r t cpu <<<"$(knot_start "$md")"
		echo "$t" >>"$WORK/knotd.$md"; echo "$cpu" >>"$WORK/kcpu.$md"
		msg "knotd zonemd-generate=$md round $r: ${t}s wall, ${cpu}s CPU"
	done
done

row() {   # row LABEL PLAIN ZONEMD
	printf '%-38s %9.2f %9.2f %9.2f %7.2f\n' "$1" "$2" "$3" "$(echo "$3 - $2" | bc -l)" \
		"$(echo "$3 / $2" | bc -l)"
}
own=$( [ -s "$WORK/own" ] && median <"$WORK/own" || echo "-")
printf '\n%-38s %9s %9s %9s %7s\n' "1M records, medians of $ROUNDS" "plain s" "zonemd s" \
	"added s" "ratio"
row "vaned --check, CPU" "$(median <"$WORK/vcpu.false")" "$(median <"$WORK/vcpu.true")"
row "knotd start to served, CPU" "$(median <"$WORK/kcpu.false")" "$(median <"$WORK/kcpu.true")"
row "vaned --check, wall" "$(median <"$WORK/vaned.false")" "$(median <"$WORK/vaned.true")"
row "knotd start to served, wall" "$(median <"$WORK/knotd.false")" "$(median <"$WORK/knotd.true")"
printf 'vaned digest alone (its log, wall, median): %s ms\n' "$own"
