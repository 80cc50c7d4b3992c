#!/bin/bash
# Steering benchmark (issue 3, "Speed and scale"), run by `make bench` after
# bench/run.sh (BENCH_STEER=0 skips it). Four parts:
#
# 1. qps of a steered name (api.steer.example, 12 endpoints in 4 countries,
#    policy [health, geo, weighted]) against a static name (static.steer.example)
#    in the same vaned run, every query carrying an ECS option (dnsperf -E).
#    vaned: geo data from a nets file (bench/steergen.py), ECS 10.0.1.0/24;
#    vaned_libloc: no nets file, Debian's libloc database, ECS 46.4.0.0/24.
# 2. The same against gdnsd 3.8.1: `weighted` plugin alone (gdnsd_weighted) and
#    `geoip` with a nets-only map (no .mmdb on this machine) delegating to
#    `weighted` per datacenter (gdnsd_geoip), same addresses and weights.
# 3. Instructions per query (callgrind difference method, as bench/instr.sh),
#    static and steered, each query with a different /24 in its ECS option.
# 4. Scale: 5,000 endpoints (79 services) with HTTP checks every 2 s against
#    bench/httpd.c on loopback: vaned CPU from /proc/PID/stat, probes/s, all
#    endpoints up, and qps of both names with and without checks configured.
#
# dnsperf sends the same -E option with every query, so in parts 1-2 every
# query has the same client subnet (geo cache hit after the first); part 3
# varies the /24 per query.
#
# Environment:
#   STEER_SECONDS=3   dnsperf run length;  STEER_ROUNDS=3  interleaved rounds
#   STEER_IDLE=6      part 4: seconds of probes-only CPU and probes/s measurement
#   STEER_SERVERS="vaned vaned_libloc gdnsd_weighted gdnsd_geoip"
#   STEER_QPS=1 STEER_INSTR=1 STEER_SCALE=1   parts 1-2, 3 and 4 (0 skips)
#   INSTR_N1=2000 INSTR_N2=12000  INSTR_PROFILE=1: per-function breakdown
#   BENCH_DNSPERF, BENCH_BUILD, VANED, BENCH_KEEP: as for bench/run.sh
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

SECONDS_=${STEER_SECONDS:-3}
IDLE=${STEER_IDLE:-6}		# part 4: seconds of probes-only CPU measurement
ROUNDS=${STEER_ROUNDS:-3}
SERVERS=${STEER_SERVERS:-vaned vaned_libloc gdnsd_weighted gdnsd_geoip}
DNSPERF_ARGS=${BENCH_DNSPERF:--c 16 -T 2 -q 1000 -t 1}
N1=${INSTR_N1:-2000}
N2=${INSTR_N2:-12000}
NPORTS=8
ECS_NETS=10.0.1.0/24	# DE in nets.txt
ECS_LIBLOC=46.4.0.0/24	# DE in Debian's libloc database

need dnsperf
need gdnsd
build_all
cc -O2 -Wall -o "$WORK/httpd" "$BENCH_DIR/httpd.c" || die "cc httpd"
HTTP_PORTS=$(for _ in $(seq 1 $NPORTS); do free_port; done | sort -u | paste -sd, -)
$PY "$BENCH_DIR/steergen.py" "$WORK" "$HTTP_PORTS"
VANECTL=$(dirname "$VANED")/vanectl

# ecs_hex CIDR: the dnsperf -E value of an ECS option (code 8, RFC 7871 6):
# family 1, source prefix, scope 0, the prefix's address bytes.
ecs_hex() {
	local ip=${1%/*} len=${1#*/} hex
	# shellcheck disable=SC2086  # split the address into its bytes
	hex=$(printf '%02x' ${ip//./ } | head -c $(((len + 7) / 8 * 2)))
	printf '8:0001%02x00%s' "$len" "$hex"
}

# vaned_conf NAME EXTRA_YAML NETS(0|1) PORT: write $WORK/NAME/vaned.yaml.
vaned_conf() {
	local d=$WORK/$1
	mkdir -p "$d/state"
	{
		cat <<-EOC
		server:
		  listen: [ "127.0.0.1@$4" ]
		  udp-workers: 2
		  control: vaned.sock
		  state-dir: $d/state
		rrl:
		  rate: 1000000           # one client sends everything (see lib.sh)
		zones:
		  - name: steer.example
		    file: $WORK/steer.example.zone
		EOC
		[ "$3" = 1 ] && printf 'geo:\n  nets: %s\n' "$WORK/nets.txt"
		cat "$WORK/$2"
	} >"$d/vaned.yaml"
}

start_vsteer() {	# NAME: vaned with $WORK/NAME/vaned.yaml
	$WRAP "$VANED" -c "$WORK/$1/vaned.yaml" >"$WORK/$1.log" 2>&1 &
	SERVER_PID=$!
}
start_vaned() { vaned_conf vaned steer-api.yaml 1 "$1"; start_vsteer vaned; }
start_vaned_libloc() { vaned_conf vaned_libloc steer-api.yaml 0 "$1"; start_vsteer vaned_libloc; }
start_vaned_checks() { vaned_conf vaned_checks scale-checks.yaml 1 "$1"; start_vsteer vaned_checks; }
start_vaned_nochecks() { vaned_conf vaned_nochecks scale-nochecks.yaml 1 "$1"; start_vsteer vaned_nochecks; }

# start_gdnsd_KIND PORT: `api` is DYNA KIND!api; plugins from steergen.py.
start_gdnsd_kind() {
	local k=$1 d=$WORK/gdnsd_$1
	mkdir -p "$d/zones" "$d/run" "$d/state"
	cp "$WORK/steer.example.zone" "$d/zones/steer.example"
	echo "api DYNA $k!api" >>"$d/zones/steer.example"
	{
		cat <<-EOC
		options => {
		    listen => [ 127.0.0.1:$2 ]
		    udp_threads => 2
		    tcp_threads => 1
		    udp_rcvbuf => 1048576
		    run_dir => $d/run
		    state_dir => $d/state
		}
		EOC
		cat "$WORK/gdnsd-$k.cfg"
	} >"$d/config"
	$WRAP gdnsd -c "$d" start >"$WORK/gdnsd_$k.log" 2>&1 &
	SERVER_PID=$!
}
start_gdnsd_weighted() { start_gdnsd_kind weighted "$1"; }
start_gdnsd_geoip() { start_gdnsd_kind geoip "$1"; }

completed() { awk '/Queries completed/ { gsub(/[()]/, "", $4); print $4 }' "$1"; }
median() { sort -n "$1" | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a / b }'; }

# perf SERVER PORT QNAME ECS ROUND: one dnsperf run; appends qps to $WORK/qps.SERVER.QNAME.
perf() {
	local out=$WORK/dnsperf.$1.$3.$5 qps
	# shellcheck disable=SC2086
	dnsperf -s 127.0.0.1 -p "$2" -d "$WORK/$3.txt" -l "$SECONDS_" -E "$(ecs_hex "$4")" \
		$DNSPERF_ARGS >"$out" 2>/dev/null || die "dnsperf against $1 failed"
	qps=$(awk '/Queries per second/ { printf "%d", $4 }' "$out")
	[ -n "$qps" ] || die "no qps in dnsperf output for $1"
	echo "$qps" >>"$WORK/qps.$1.$3"
	msg "round $5 $1 $3: $qps qps ($(completed "$out") completed)"
}

# round_one SERVER ROUND [ECS]: start, static and steered (order alternates), stop.
round_one() {
	local s=$1 r=$2 ecs=${3:-$ECS_NETS} port
	[ "$s" = vaned_libloc ] && ecs=$ECS_LIBLOC
	port=$(free_port)
	start "$s" "$port"
	if [ $((r % 2)) = 1 ]; then
		perf "$s" "$port" static "$ecs" "$r"; perf "$s" "$port" api "$ecs" "$r"
	else
		perf "$s" "$port" api "$ecs" "$r"; perf "$s" "$port" static "$ecs" "$r"
	fi
	stop
}

row() {	# SERVER: markdown row of medians and rounds
	local s=$1 st ap
	st=$(median "$WORK/qps.$s.static"); ap=$(median "$WORK/qps.$s.api")
	printf '| %s | %s | %s | %s | %s / %s |\n' "$s" "$st" "$ap" "$(ratio "$ap" "$st")" \
		"$(tr '\n' ' ' <"$WORK/qps.$s.static" | sed 's/ $//')" \
		"$(tr '\n' ' ' <"$WORK/qps.$s.api" | sed 's/ $//')"
}

REPORT=$WORK/report
: >"$REPORT"
out() { echo "$*" | tee -a "$REPORT"; }

# ---- parts 1 and 2: qps ----
[ "${STEER_QPS:-1}" != 0 ] || SERVERS=""
[ -z "$SERVERS" ] || msg "steer qps: $SERVERS; $ROUNDS rounds x 2 names x ${SECONDS_}s; dnsperf $DNSPERF_ARGS"
for r in $(seq 1 "$ROUNDS"); do
	for s in $SERVERS; do
		round_one "$s" "$r"
	done
done
if [ -n "$SERVERS" ]; then
out
out "command: STEER_SECONDS=$SECONDS_ STEER_ROUNDS=$ROUNDS bench/steer.sh" \
	"(dnsperf -l $SECONDS_ $DNSPERF_ARGS -E <ECS>; ECS $ECS_NETS = $(ecs_hex $ECS_NETS)," \
	"vaned_libloc $ECS_LIBLOC)"
out "date: $(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
out
out "| server | static qps | steered qps | steered/static | rounds static / steered |"
out "|--------|-----------:|------------:|------:|---|"
for s in $SERVERS; do out "$(row "$s")"; done
out
for s in $SERVERS; do
	[ "${s#gdnsd}" != "$s" ] || continue
	if [[ " $SERVERS " == *" vaned "* ]]; then
		out "vaned steered / $s steered: $(ratio "$(median "$WORK/qps.vaned.api")" \
			"$(median "$WORK/qps.$s.api")")"
	fi
done
fi

# ---- part 3: instructions per query ----
# ir SERVER QFILE N: total Ir of a callgrind run answering N queries with ECS.
ir() {
	local s=$1 q=$2 n=$3 port o=$WORK/cg.$1.$2.$3 got
	mkdir -p "$o"
	port=$(free_port)
	WRAP="valgrind --tool=callgrind --separate-threads=no --trace-children=yes
		--callgrind-out-file=$o/callgrind.out.%p" start "$s" "$port" 120
	got=$($PY "$BENCH_DIR/dnsq.py" send "$port" "$WORK/$q.txt" "$n" 10.0) ||
		die "$s answered only $got of $n queries"
	stop
	cat "$o"/callgrind.out.* | awk '/^summary:/ { s += $2 } END { printf "%d", s }'
}

if [ "${STEER_INSTR:-1}" != 0 ]; then
	need valgrind
	out
	out "command: INSTR_N1=$N1 INSTR_N2=$N2 bench/steer.sh (part 3; dnsq.py send ... 10.0:" \
		"ECS 10.0.X.0/24, X = query number mod 256; $(valgrind --version))"
	out
	out "| server | name | Ir (N1=$N1) | Ir (N2=$N2) | instructions/query |"
	out "|--------|------|------:|------:|------:|"
	for s in vaned gdnsd_geoip gdnsd_weighted; do
		for q in static api; do
			[ "$s" = gdnsd_weighted ] && [ "$q" = static ] && continue
			msg "$s $q: callgrind with $N1 and $N2 queries"
			a=$(ir "$s" "$q" "$N1"); b=$(ir "$s" "$q" "$N2")
			per=$(((b - a) / (N2 - N1)))
			echo "$per" >"$WORK/per.$s.$q"
			out "| $s | $q | $a | $b | $per |"
		done
	done
	out
	out "vaned steered/static: $(ratio "$(cat "$WORK/per.vaned.api")" "$(cat "$WORK/per.vaned.static")")" \
		" gdnsd_geoip steered/static: $(ratio "$(cat "$WORK/per.gdnsd_geoip.api")" \
		"$(cat "$WORK/per.gdnsd_geoip.static")")"
	if [ "${INSTR_PROFILE:-0}" != 0 ]; then
		for q in api static; do
			out
			out "vaned $q: instructions per query by function (exclusive)"
			$PY "$BENCH_DIR/cgdiff.py" "$WORK/cg.vaned.$q.$N1" "$WORK/cg.vaned.$q.$N2" \
				"$N1" "$N2" 25 | sed "s|[^ ]*/\.\./src/|src/|" | tee -a "$REPORT"
		done
	fi
fi

# ---- part 4: 5,000 health-checked endpoints ----
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
# thread_ticks PID COMM: CPU ticks of the threads of PID named COMM.
thread_ticks() {
	local t n=0
	for t in /proc/"$1"/task/*; do
		[ "$(cat "$t/comm" 2>/dev/null)" = "$2" ] &&
			n=$((n + $(awk '{ print $14 + $15 }' "$t/stat")))
	done
	echo $n
}
http_count() {	# requests served by httpd so far (GET /count on its first port)
	$PY - "${HTTP_PORTS%%,*}" <<-'EOP'
	import sys, urllib.request
	print(urllib.request.urlopen("http://127.0.0.1:%s/count" % sys.argv[1], timeout=5).read().decode())
	EOP
}
# health_summary NAME: "UP PROBED TOTAL" over all endpoints with a check.
health_summary() {
	"$VANECTL" -c "$WORK/$1/vaned.yaml" health --json 2>/dev/null | $PY -c '
import json, sys
e = [x for x in json.load(sys.stdin)["endpoints"] if x.get("check")]
print(sum(x["state"] == "up" for x in e), sum(x["origin"] == "probed" for x in e), len(e))' \
		2>/dev/null || echo "0 0 -1"
}

if [ "${STEER_SCALE:-1}" != 0 ]; then
	"$WORK/httpd" "$HTTP_PORTS" >"$WORK/httpd.log" 2>&1 &
	HTTPD_PID=$!
	SERVER_PIDS="$SERVER_PIDS $HTTPD_PID"	# cleanup stops it too
	until grep -qs ready "$WORK/httpd.log"; do
		kill -0 $HTTPD_PID 2>/dev/null || die "httpd failed: $(cat "$WORK/httpd.log")"
		sleep 0.05
	done
	hz=$(getconf CLK_TCK)
	for r in $(seq 1 "$ROUNDS"); do
		for s in vaned_nochecks vaned_checks; do
			port=$(free_port)
			start "$s" "$port" 60
			if [ "$s" = vaned_checks ]; then
				# Every endpoint probed and up (rise 2: two probes 2 s apart).
				t0=$(date +%s)
				while :; do
					kill -0 "$SERVER_PID" 2>/dev/null ||
						die "$s exited: $(tail -n 3 "$WORK/$s.log")"
					read -r up probed total < <(health_summary "$s")
					[ "$up" = "$total" ] && [ "$probed" = "$total" ] && break
					[ $(($(date +%s) - t0)) -gt 60 ] &&
						die "only $up of $total endpoints up ($probed probed) after 60 s"
					sleep 0.5
				done
				msg "round $r: all $total endpoints probed and up after $(($(date +%s) - t0)) s"
				# Idle window: probes only.
				# The per-thread reads spawn processes: outside the
				# window of the probe count, which they would stretch.
				m0=$(cpu_ticks "$SERVER_PID/task/$SERVER_PID")
				p0=$(thread_ticks "$SERVER_PID" vane-probe)
				c0=$(cpu_ticks "$SERVER_PID"); h0=$(http_count); sleep "$IDLE"
				h1=$(http_count); c1=$(cpu_ticks "$SERVER_PID")
				m1=$(cpu_ticks "$SERVER_PID/task/$SERVER_PID")
				p1=$(thread_ticks "$SERVER_PID" vane-probe)
				echo "$(( (c1 - c0) * 1000 / hz / IDLE ))" >>"$WORK/cpu_idle"	# permille of one core
				echo "$(( (m1 - m0) * 1000 / hz / IDLE ))" >>"$WORK/cpu_main"
				echo "$(( (p1 - p0) * 1000 / hz / IDLE ))" >>"$WORK/cpu_probe"
				echo "$(( (h1 - h0) / IDLE ))" >>"$WORK/probes_idle"
				grep -c 'up->down' "$WORK/$s.log" >>"$WORK/went_down" || true
				c0=$(cpu_ticks "$SERVER_PID"); h0=$(http_count); t0=$(date +%s%N)
			fi
			perf "$s" "$port" static "$ECS_NETS" "$r"
			perf "$s" "$port" api "$ECS_NETS" "$r"
			if [ "$s" = vaned_checks ]; then
				t1=$(date +%s%N); c1=$(cpu_ticks "$SERVER_PID"); h1=$(http_count)
				echo "$(( (h1 - h0) * 1000000000 / (t1 - t0) ))" >>"$WORK/probes_load"
				read -r up probed total < <(health_summary "$s")
				echo "$up/$total" >>"$WORK/up_after"
			fi
			stop
		done
	done
	out
	out "command: STEER_SECONDS=$SECONDS_ STEER_ROUNDS=$ROUNDS bench/steer.sh (part 4:" \
		"$total HTTP-checked endpoints, 79 services, interval 2s, httpd on ports $HTTP_PORTS)"
	out
	out "| vaned | static qps | steered qps | steered/static | rounds static / steered |"
	out "|-------|-----------:|------------:|------:|---|"
	out "$(row vaned_nochecks)"
	out "$(row vaned_checks)"
	out
	out "with/without checks: static $(ratio "$(median "$WORK/qps.vaned_checks.static")" \
		"$(median "$WORK/qps.vaned_nochecks.static")"), steered $(ratio \
		"$(median "$WORK/qps.vaned_checks.api")" "$(median "$WORK/qps.vaned_nochecks.api")")"
	out "probes/s idle ($IDLE s window): $(tr '\n' ' ' <"$WORK/probes_idle");" \
		"during dnsperf: $(tr '\n' ' ' <"$WORK/probes_load")"
	out "vaned CPU, probes only ($IDLE s window, % of one core): $(awk \
		'{ printf "%.1f ", $1 / 10 }' "$WORK/cpu_idle")"
	out "  of which the main loop thread: $(awk '{ printf "%.1f ", $1 / 10 }' \
		"$WORK/cpu_main")and the probe thread (vane-probe): $(awk \
		'{ printf "%.1f ", $1 / 10 }' "$WORK/cpu_probe")"
	out "vaned CPU while answering dnsperf, probes running or not: see the qps table"
	out "health up->down transitions logged by the end of the idle window (first probes" \
		"of all endpoints start at once): $(tr '\n' ' ' <"$WORK/went_down")"
	out "endpoints up after the qps runs: $(tr '\n' ' ' <"$WORK/up_after")"
fi

echo
msg "steering report"
cat "$REPORT"
