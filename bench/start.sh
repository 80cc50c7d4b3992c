#!/bin/bash
# Start-up on a 1,000,000-record zone (bench/bigzone.py), side by side:
#   1. zone check: `vaned --check` against kzonecheck and nsd-checkzone
#      (wall time and CPU time, user + system, of the whole process);
#   2. start to first answer: from exec to the first NOERROR answer to
#      bench.example. SOA (bench/dnsq.py ready), vaned against knotd and nsd,
#      plus the server's own CPU time at that moment (/proc, main process).
# Rounds interleave the programs; medians are printed, then the ratios and
# the goals (issue "Faster where operators feel it", target 1).
#   BENCH_ROUNDS=3 bench/start.sh      BENCH_SERVERS="vaned knotd nsd"
. "$(dirname "$0")/lib.sh"

ROUNDS=${BENCH_ROUNDS:-3}
SERVERS=${BENCH_SERVERS:-vaned knotd nsd}
need knotd
need kzonecheck
build_all
ZONE=$WORK/big.zone
msg "generating the 1M-record zone"
$PY "$BENCH_DIR/bigzone.py" "$ZONE" bench.example.
cat >"$WORK/check.yaml" <<EOC
zones:
  - name: bench.example
    file: $ZONE
EOC

median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
ticks=$(getconf CLK_TCK)
cpu_of() { awk -v t="$ticks" '{ printf "%.3f", ($14 + $15) / t }' "/proc/$1/stat"; }

declare -A CHECK=(
	[vaned]="$VANED -c $WORK/check.yaml --check"
	[kzonecheck]="kzonecheck -o bench.example. $ZONE"
	[nsd-checkzone]="nsd-checkzone bench.example. $ZONE"
)
CHECKERS="vaned kzonecheck"
command -v nsd-checkzone >/dev/null && CHECKERS="$CHECKERS nsd-checkzone"
for r in $(seq "$ROUNDS"); do
	for c in $CHECKERS; do
		/usr/bin/time -o "$WORK/t" -f "%e %U %S" ${CHECK[$c]} >/dev/null 2>"$WORK/check.err" ||
			{ cat "$WORK/check.err" >&2; die "$c failed"; }
		read -r e u s <"$WORK/t"
		echo "$e" >>"$WORK/check.wall.$c"
		echo "$u $s" | awk '{ print $1 + $2 }' >>"$WORK/check.cpu.$c"
		msg "round $r: $c ${e}s wall, $(tail -n 1 "$WORK/check.cpu.$c")s cpu"
	done
done

for r in $(seq "$ROUNDS"); do
	for s in $SERVERS; do
		command -v "${s/vaned/$VANED}" >/dev/null || continue
		port=$(free_port)
		"start_$s" "$port"
		SERVER_PIDS="$SERVER_PIDS $SERVER_PID"
		t=$($PY "$BENCH_DIR/dnsq.py" ready "$port" 300) || die "$s not ready in 300 s"
		cpu=$(cpu_of "$SERVER_PID")
		echo "$t" >>"$WORK/start.wall.$s"
		echo "$cpu" >>"$WORK/start.cpu.$s"
		msg "round $r: $s answered after ${t}s (${cpu}s cpu)"
		stop
	done
done

echo
echo "command: BENCH_ROUNDS=$ROUNDS bench/start.sh   ($(date -u +%Y-%m-%dT%H:%MZ), load $(cut -d' ' -f1-3 /proc/loadavg))"
echo "zone: 1,000,002 records (bench/bigzone.py), $(($(stat -c %s "$ZONE") / 1048576)) MiB"
echo
echo "| program | median wall s | median cpu s | rounds (wall) |"
echo "| --- | ---: | ---: | --- |"
for c in $CHECKERS; do
	echo "| $c | $(median <"$WORK/check.wall.$c") | $(median <"$WORK/check.cpu.$c") | $(tr '\n' ' ' <"$WORK/check.wall.$c")|"
done
for s in $SERVERS; do
	[ -f "$WORK/start.wall.$s" ] || continue
	echo "| $s start to first answer | $(median <"$WORK/start.wall.$s") | $(median <"$WORK/start.cpu.$s") | $(tr '\n' ' ' <"$WORK/start.wall.$s")|"
done
echo
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
vc=$(median <"$WORK/check.wall.vaned"); kc=$(median <"$WORK/check.wall.kzonecheck")
vcc=$(median <"$WORK/check.cpu.vaned"); kcc=$(median <"$WORK/check.cpu.kzonecheck")
echo "vaned --check / kzonecheck: wall $(ratio "$vc" "$kc"), cpu $(ratio "$vcc" "$kcc")   (goal <= 1.0)"
if [ -f "$WORK/start.wall.knotd" ] && [ -f "$WORK/start.wall.vaned" ]; then
	vs=$(median <"$WORK/start.wall.vaned"); ks=$(median <"$WORK/start.wall.knotd")
	vsc=$(median <"$WORK/start.cpu.vaned"); ksc=$(median <"$WORK/start.cpu.knotd")
	echo "vaned / knotd start to first answer: wall $(ratio "$vs" "$ks"), cpu $(ratio "$vsc" "$ksc")   (goal <= 0.5)"
fi
