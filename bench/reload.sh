#!/bin/bash
# Reload of a 1,000,000-record zone (bench/bigzone.py) after a one-record
# change (a new A record and the SOA serial), side by side, each server
# started fresh per round:
#   - seconds from the reload command to the new serial being served;
#   - worst and 99.9th-percentile response time of queries sent without
#     pause, one at a time, during the reload (bench/reloadwatch.py);
#   - peak RSS (VmHWM) over start and reload, main process.
# Reload commands: vaned `vanectl reload`, knotd `knotc zone-reload`, nsd
# SIGHUP.  Medians printed with the ratios and goals (target 2).
#   BENCH_ROUNDS=3 bench/reload.sh      BENCH_SERVERS="vaned knotd nsd"
. "$(dirname "$0")/lib.sh"

ROUNDS=${BENCH_ROUNDS:-3}
SERVERS=${BENCH_SERVERS:-vaned knotd}
need knotd
build_all
VANECTL=$(dirname "$VANED")/vanectl
ZONE=$WORK/big.zone
msg "generating the 1M-record zone"
$PY "$BENCH_DIR/bigzone.py" "$WORK/big.orig" bench.example.

median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
hwm() { awk '/^VmHWM/ { printf "%d", $2 / 1024 }' "/proc/$1/status"; }

reload_cmd() {
	case $1 in
	vaned) echo "$VANECTL -s $WORK/vaned/vaned.sock reload" ;;
	knotd) echo "knotc -c $WORK/knotd/knot.conf zone-reload bench.example" ;;
	nsd) echo "kill -HUP $SERVER_PID" ;;
	esac
}

for r in $(seq "$ROUNDS"); do
	for s in $SERVERS; do
		cp "$WORK/big.orig" "$ZONE"
		port=$(free_port)
		(cd "$WORK" && mkdir -p "$s" && cd "$s" && "start_$s" "$port"
		 echo "$SERVER_PID" >"$WORK/pid")
		SERVER_PID=$(cat "$WORK/pid")
		SERVER_PIDS="$SERVER_PIDS $SERVER_PID"
		$PY "$BENCH_DIR/dnsq.py" ready "$port" 300 >/dev/null || die "$s did not start"
		sleep 1
		# The change: serial 1 -> 2 and one new record.
		sed -i '0,/ SOA ns1 hostmaster 1 / s// SOA ns1 hostmaster 2 /' "$ZONE"
		echo "new$r A 192.0.2.99" >>"$ZONE"
		out=$($PY "$BENCH_DIR/reloadwatch.py" "$port" 2 300 $(reload_cmd "$s")) ||
			die "$s: reload not seen"
		read -r t worst p999 n lost <<<"$out"
		sleep 2     # the old version freed
		rss=$(hwm "$SERVER_PID")
		echo "$t" >>"$WORK/t.$s"; echo "$worst" >>"$WORK/worst.$s"
		echo "$p999" >>"$WORK/p999.$s"; echo "$rss" >>"$WORK/rss.$s"
		echo "$lost" >>"$WORK/lost.$s"
		msg "round $r: $s reload ${t}s, worst ${worst} ms, p99.9 ${p999} ms, $n answered, $lost lost, peak RSS ${rss} MiB"
		stop
	done
done

echo
echo "command: BENCH_ROUNDS=$ROUNDS BENCH_SERVERS=\"$SERVERS\" bench/reload.sh   ($(date -u +%Y-%m-%dT%H:%MZ), load $(cut -d' ' -f1-3 /proc/loadavg))"
echo
echo "| server | reload s | worst ms | p99.9 ms | lost | peak RSS MiB | rounds (reload s) |"
echo "| --- | ---: | ---: | ---: | ---: | ---: | --- |"
for s in $SERVERS; do
	echo "| $s | $(median <"$WORK/t.$s") | $(median <"$WORK/worst.$s") | $(median <"$WORK/p999.$s") | $(median <"$WORK/lost.$s") | $(median <"$WORK/rss.$s") | $(tr '\n' ' ' <"$WORK/t.$s")|"
done
echo
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
if [[ " $SERVERS " == *" knotd "* && " $SERVERS " == *" vaned "* ]]; then
	for m in t worst rss; do
		v=$(median <"$WORK/$m.vaned"); k=$(median <"$WORK/$m.knotd")
		case $m in
		t) goal="<= 0.5" ;; *) goal="<= 1.0" ;;
		esac
		echo "vaned/knotd $m: $(ratio "$v" "$k")   (goal $goal)"
	done
fi
