#!/bin/bash
# vane-resolver against Debian's unbound, in one run, on a private internet of
# vaned authorities on 127.X.Y.1-3 port 53 (root, TLD `rbench.`, and
# RBENCH_ZONES second-level zones holding RBENCH_NAMES A records between them;
# bench/resolver_gen.py). Needs root (port 53). Both resolvers: 2 UDP
# workers/threads, root hints pointing at the private root, QNAME minimisation on,
# a cache large enough that nothing is evicted.
#
#   1. cache-miss path: the name list is cut into RBENCH_MISS_ROUNDS chunks; each
#      round, each resolver resolves the next chunk once (cold names) with
#      `dnsperf -n 1`: qps, and upstream queries per resolution counted at the
#      authorities (`vanectl stats` queries) and by vane-resolver's own
#      upstream_queries.
#   2. memory: RSS after all names are cached minus RSS with an empty cache,
#      scaled to 100k names.
#   3. cache-hit qps: dnsperf loops over all the (now warmed) names, interleaved
#      rounds, median.
#   4. instructions per cache hit (callgrind): two runs per resolver, each warms
#      the same RBENCH_INSTR_WARM names one at a time, then sends N1 or N2 hits
#      from them; (Ir(N2) - Ir(N1)) / (N2 - N1).
#
# Environment:
#   RBENCH_NAMES=100000      names in the private internet (all are resolved)
#   RBENCH_ZONES=10          second-level zones
#   RBENCH_MISS_ROUNDS=5     cache-miss rounds (chunks of the names)
#   RBENCH_MISS_DNSPERF="-c 16 -T 2 -q 200 -t 5"
#   BENCH_ROUNDS=5 BENCH_SECONDS=6   cache-hit rounds and dnsperf run length
#   BENCH_DNSPERF="-c 16 -T 2 -q 1000 -t 1"   cache-hit load shape (as run.sh)
#   RBENCH_INSTR=1           0 skips the callgrind part
#   RBENCH_INSTR_WARM=2000 RBENCH_N1=2000 RBENCH_N2=42000
#   RBENCH_INSTR_EDNS=1      callgrind hits carry an EDNS0 OPT (1232), as dig's do
#   RBENCH_PROFILE="vane-resolver"   print instructions per hit by function
#   VANE_RESOLVER=path       vane-resolver binary (default: BENCH_BUILD's)
#   BENCH_BUILD=build        meson dir (vaned, vane-resolver, vanectl)
#   BENCH_KEEP=1             keep the work dir
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"	# make runs `sh bench/run.sh`
. "$(dirname "$0")/lib.sh"

NAMES=${RBENCH_NAMES:-100000}
ZONES=${RBENCH_ZONES:-10}
MISS_ROUNDS=${RBENCH_MISS_ROUNDS:-5}
MISS_ARGS=${RBENCH_MISS_DNSPERF:--c 16 -T 2 -q 200 -t 5}
ROUNDS=${BENCH_ROUNDS:-5}
SECONDS_=${BENCH_SECONDS:-6}
HIT_ARGS=${BENCH_DNSPERF:--c 16 -T 2 -q 1000 -t 1}
INSTR=${RBENCH_INSTR:-1}
WARM=${RBENCH_INSTR_WARM:-2000}
EDNS=$([ "${RBENCH_INSTR_EDNS:-0}" != 0 ] && echo edns || echo plain)
N1=${RBENCH_N1:-2000}
N2=${RBENCH_N2:-42000}
RESOLVERS="vane-resolver unbound"

[ "$(id -u)" = 0 ] || die "needs root: the authorities listen on port 53"
need dnsperf
need unbound
need unbound-control
[ "$INSTR" = 0 ] || need valgrind
build_all
VRES=${VANE_RESOLVER:-$ROOT/$BUILD/vane-resolver}
VCTL=$ROOT/$BUILD/vanectl
{ [ -x "$VRES" ] && [ -x "$VCTL" ]; } || die "vane-resolver or vanectl not built in $BUILD"

# A 127.X.Y whose .1-.3 are free on port 53 (UDP and TCP).
PFX=$($PY - <<-'EOP'
	import random, socket
	def ok(a):
	    for k in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
	        s = socket.socket(socket.AF_INET, k)
	        try:
	            s.bind((a, 53))
	        except OSError:
	            return False
	        finally:
	            s.close()
	    return True
	for _ in range(200):
	    p = "127.%d.%d" % (random.randint(50, 250), random.randint(0, 250))
	    if all(ok("%s.%d" % (p, h)) for h in (1, 2, 3)):
	        print(p)
	        break
	EOP
)
[ -n "$PFX" ] || die "no free 127.X.Y.0/24 on port 53"
msg "private internet on $PFX.1-3:53, $NAMES names in $ZONES zones"
$PY "$BENCH_DIR/resolver_gen.py" "$WORK" "$PFX" "$NAMES" "$ZONES"
NAMEFILE=$WORK/names.txt

# ---------------------------------------------------------------- authorities
AUTH_PIDS=""
# start_auth N WORKERS ZONE...: vaned on $PFX.N@53.
start_auth() {
	local n=$1 workers=$2 d=$WORK/auth$1 z
	shift 2
	mkdir -p "$d"
	{
		echo "server:"
		echo "  listen: [ \"$PFX.$n@53\" ]"
		echo "  udp-workers: $workers"
		echo "  control: vaned.sock"
		# The resolver is one client asking for everyone: never limit it.
		echo "rrl:"
		echo "  rate: 1000000"
		echo "zones:"
		for z in "$@"; do
			echo "  - name: \"$z\""
			echo "    file: $WORK/$([ "$z" = . ] && echo root || echo "$z").zone"
		done
	} >"$d/vaned.yaml"
	"$VANED" -c "$d/vaned.yaml" >"$d/vaned.log" 2>&1 &
	AUTH_PIDS="$AUTH_PIDS $!"
	SERVER_PIDS="$SERVER_PIDS $!"
}
start_auth 1 1 .
start_auth 2 1 rbench
# shellcheck disable=SC2046
start_auth 3 2 $(seq -f 'z%g.rbench' 0 $((ZONES - 1)))
for n in 1 2 3; do
	# Control sockets are relative to the config file.
	i=0
	until "$VCTL" -s "$WORK/auth$n/vaned.sock" --json stats >/dev/null 2>&1; do
		[ $i -ge 600 ] && { tail "$WORK/auth$n/vaned.log" >&2; die "authority $n did not start"; }
		i=$((i + 1))
		sleep 0.1
	done
done

# auth_queries: queries answered by all authorities so far.
auth_queries() {
	local n t=0 q
	for n in 1 2 3; do
		q=$("$VCTL" -s "$WORK/auth$n/vaned.sock" --json stats |
			$PY -c 'import json,sys; print(json.load(sys.stdin)["queries"])')
		t=$((t + q))
	done
	echo "$t"
}

# ---------------------------------------------------------------- resolvers
# start_vane-resolver PORT / start_unbound PORT: sets SERVER_PID.
start_vane-resolver() {
	local d=$WORK/vane-resolver
	mkdir -p "$d/run"
	cat >"$d/resolver.yaml" <<-EOC
	server:
	  listen: [ "127.0.0.1@$1" ]
	  udp-workers: 2
	  control: run/resolver.sock
	resolver:
	  root-hints: $WORK/root.hints
	  cache-size: 1G
	  qname-minimisation: on
	  prefetch: off
	EOC
	$WRAP "$VRES" -c "$d/resolver.yaml" >"$WORK/vane-resolver.log" 2>&1 &
	SERVER_PID=$!
}

# Large caches (nothing evicted), iterator only (no validator), no rate limits.
start_unbound() {
	local d=$WORK/unbound
	mkdir -p "$d"
	cat >"$d/unbound.conf" <<-EOC
	server:
	  interface: 127.0.0.1@$1
	  port: $1
	  do-ip6: no
	  num-threads: 2
	  so-reuseport: yes
	  username: ""
	  chroot: ""
	  directory: "$d"
	  pidfile: ""
	  use-syslog: no
	  logfile: ""
	  verbosity: 0
	  root-hints: "$WORK/root.hints"
	  do-not-query-localhost: no
	  access-control: 127.0.0.0/8 allow
	  module-config: "iterator"
	  qname-minimisation: yes
	  prefetch: no
	  edns-buffer-size: 1232
	  msg-cache-size: 512m
	  rrset-cache-size: 1g
	  key-cache-size: 1m
	  neg-cache-size: 1m
	  num-queries-per-thread: 4096
	  outgoing-range: 8192
	  ratelimit: 0
	  ip-ratelimit: 0
	  local-zone: "rbench." nodefault
	remote-control:
	  control-enable: yes
	  control-interface: $d/unbound.ctl
	  control-use-cert: no
	EOC
	$WRAP unbound -d -c "$d/unbound.conf" >"$WORK/unbound.log" 2>&1 &
	SERVER_PID=$!
}

rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
median() { sort -n "$1" | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
qps_of() { awk '/Queries per second/ { printf "%d\n", $4 }' "$1"; }
completed() { awk '/Queries completed/ { print $3 }' "$1"; }
rcodes() { sed -n 's/^ *Response codes: *//p' "$1"; }
vstat() {
	"$VCTL" -s "$WORK/vane-resolver/run/resolver.sock" --json stats |
		$PY -c "import json,sys; print(json.load(sys.stdin).get('$1', 0))"
}

declare -A PORT PID
for r in $RESOLVERS; do
	PORT[$r]=$(free_port)
	start "$r" "${PORT[$r]}" 60	# readiness: one NXDOMAIN for bench.example (root)
	PID[$r]=$SERVER_PID
	rss_kb "$SERVER_PID" >"$WORK/rss0.$r"
done

# ---------------------------------------------------------------- 1. misses
chunk=$(( (NAMES + MISS_ROUNDS - 1) / MISS_ROUNDS ))
split -l "$chunk" -d -a 3 "$NAMEFILE" "$WORK/chunk."
msg "cache-miss: $MISS_ROUNDS rounds x $chunk cold names; dnsperf -n 1 $MISS_ARGS"
vup0=$(vstat upstream_queries)
for round in $(seq 1 "$MISS_ROUNDS"); do
	f=$(printf '%s/chunk.%03d' "$WORK" $((round - 1)))
	n=$(wc -l <"$f")
	for r in $RESOLVERS; do
		out=$WORK/miss.$r.$round
		a=$(auth_queries)
		# shellcheck disable=SC2086
		dnsperf -s 127.0.0.1 -p "${PORT[$r]}" -d "$f" -n 1 $MISS_ARGS \
			>"$out" 2>/dev/null || die "dnsperf (misses) against $r failed"
		b=$(auth_queries)
		qps_of "$out" >>"$WORK/missqps.$r"
		awk -v d=$((b - a)) -v n="$n" 'BEGIN { printf "%.3f\n", d / n }' >>"$WORK/up.$r"
		msg "miss round $round/$MISS_ROUNDS $r: $(qps_of "$out") qps," \
			"$(completed "$out")/$n completed ($(rcodes "$out")), $((b - a)) upstream"
	done
done
vup=$(( $(vstat upstream_queries) - vup0 ))

# ---------------------------------------------------------------- 2. memory
for r in $RESOLVERS; do
	rss_kb "${PID[$r]}" >"$WORK/rss1.$r"
done
(unbound-control -c "$WORK/unbound/unbound.conf" stats_noreset >"$WORK/unbound.stats" 2>&1) || true
"$VCTL" -s "$WORK/vane-resolver/run/resolver.sock" --json stats >"$WORK/vane.stats" 2>&1 || true

# ---------------------------------------------------------------- 3. hits
msg "cache-hit: $ROUNDS rounds x ${SECONDS_}s over $NAMES warmed names; dnsperf $HIT_ARGS"
vmiss0=$(vstat misses)
for round in $(seq 1 "$ROUNDS"); do
	for r in $RESOLVERS; do
		out=$WORK/hit.$r.$round
		# shellcheck disable=SC2086
		dnsperf -s 127.0.0.1 -p "${PORT[$r]}" -d "$NAMEFILE" -l "$SECONDS_" $HIT_ARGS \
			>"$out" 2>/dev/null || die "dnsperf (hits) against $r failed"
		qps_of "$out" >>"$WORK/hitqps.$r"
		msg "hit round $round/$ROUNDS $r: $(qps_of "$out") qps ($(rcodes "$out"))"
	done
done
vmiss=$(( $(vstat misses) - vmiss0 ))
for r in $RESOLVERS; do
	SERVER_PID=${PID[$r]}
	stop
done

# ---------------------------------------------------------------- 4. callgrind
# ir NAME N: total Ir of a callgrind run of NAME that warms $WARM names, then
# answers N cache hits from them, one query at a time.
ir() {
	local name=$1 n=$2 port out got
	out=$WORK/cg.$name.$n
	mkdir -p "$out"
	port=$(free_port)
	WRAP="valgrind --tool=callgrind --separate-threads=no --trace-children=yes
		--callgrind-out-file=$out/callgrind.out.%p" start "$name" "$port" 120
	got=$(DNSQ_RD=1 $PY "$BENCH_DIR/dnsq.py" send "$port" "$WORK/warm.txt" "$WARM") ||
		die "$name warm-up: only $got of $WARM answered"
	got=$($PY "$BENCH_DIR/resolver_q.py" send "$port" "$WORK/warm.txt" "$n" "$EDNS") ||
		die "$name answered only $got of $n hits"
	stop
	cat "$out"/callgrind.out.* | awk '/^summary:/ { s += $2 } END { printf "%d", s }'
}
if [ "$INSTR" != 0 ]; then
	head -n "$WARM" "$NAMEFILE" >"$WORK/warm.txt"
	for r in $RESOLVERS; do
		msg "$r: callgrind, $WARM warm-up + $N1 hits"
		a=$(ir "$r" "$N1")
		msg "$r: callgrind, $WARM warm-up + $N2 hits"
		b=$(ir "$r" "$N2")
		echo "$a $b $(( (b - a) / (N2 - N1) ))" >"$WORK/ir.$r"
		msg "$r: $(( (b - a) / (N2 - N1) )) instructions/hit"
	done
fi

# ---------------------------------------------------------------- report
echo
echo "command: RBENCH_NAMES=$NAMES RBENCH_ZONES=$ZONES RBENCH_MISS_ROUNDS=$MISS_ROUNDS" \
	"RBENCH_N1=$N1 RBENCH_N2=$N2 BENCH_ROUNDS=$ROUNDS BENCH_SECONDS=$SECONDS_ RBENCH_INSTR_EDNS=${RBENCH_INSTR_EDNS:-0} bench/resolver.sh"
echo "         misses: dnsperf -n 1 $MISS_ARGS; hits: dnsperf -l $SECONDS_ $HIT_ARGS"
echo "date:    $(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) cores, $(uname -r)," \
	"$(unbound -V | head -n 1), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "cache misses ($MISS_ROUNDS rounds of $chunk cold names; upstream = queries seen by the authorities)"
printf '%-14s %10s %12s   %s\n' resolver "median qps" "upstream/res" "rounds qps"
for r in $RESOLVERS; do
	printf '%-14s %10s %12s   %s\n' "$r" "$(median "$WORK/missqps.$r")" \
		"$(median "$WORK/up.$r")" "$(tr '\n' ' ' <"$WORK/missqps.$r")"
done
echo "vane-resolver's own upstream_queries: $vup for $NAMES names" \
	"($(awk -v a="$vup" -v n="$NAMES" 'BEGIN { printf "%.3f", a / n }')/resolution)"
echo
echo "memory (RSS, KiB)"
printf '%-14s %10s %10s %14s\n' resolver empty "$NAMES names" "per 100k names"
for r in $RESOLVERS; do
	a=$(cat "$WORK/rss0.$r")
	b=$(cat "$WORK/rss1.$r")
	printf '%-14s %10s %10s %14s\n' "$r" "$a" "$b" $(( (b - a) * 100000 / NAMES ))
done
grep -E '^mem\.cache\.|^total\.num\.queries=' "$WORK/unbound.stats" 2>/dev/null | sed 's/^/unbound: /' || true
echo
echo "cache hits ($ROUNDS interleaved rounds over $NAMES warmed names)"
printf '%-14s %10s   %s\n' resolver "median qps" "rounds"
for r in $RESOLVERS; do
	printf '%-14s %10s   %s   (%s)\n' "$r" "$(median "$WORK/hitqps.$r")" \
		"$(tr '\n' ' ' <"$WORK/hitqps.$r")" "$(rcodes "$WORK/hit.$r.1")"
done
echo "vane-resolver cache misses during the hit rounds: $vmiss"
awk -v a="$(median "$WORK/hitqps.vane-resolver")" -v b="$(median "$WORK/hitqps.unbound")" \
	'BEGIN { printf "vane-resolver/unbound qps %.3f (target >= 1.0)\n", a / b }'
if [ "$INSTR" != 0 ]; then
	echo
	echo "instructions per cache hit (callgrind; $WARM names warmed in both runs; $EDNS queries; $(valgrind --version))"
	printf '%-14s %14s %14s %10s\n' resolver "Ir(N1=$N1)" "Ir(N2=$N2)" "instr/hit"
	for r in $RESOLVERS; do
		read -r a b p <"$WORK/ir.$r"
		printf '%-14s %14s %14s %10s\n' "$r" "$a" "$b" "$p"
	done
	awk -v a="$(cut -d' ' -f3 "$WORK/ir.vane-resolver")" -v b="$(cut -d' ' -f3 "$WORK/ir.unbound")" \
		'BEGIN { printf "vane-resolver/unbound %.3f (target <= 0.5)\n", a / b }'
	for r in ${RBENCH_PROFILE:-vane-resolver}; do
		echo
		echo "$r: instructions per hit by function (exclusive)"
		$PY "$BENCH_DIR/cgdiff.py" "$WORK/cg.$r.$N1" "$WORK/cg.$r.$N2" "$N1" "$N2" 25 |
			sed "s|[^ ]*/\.\./src/|src/|"
	done
fi
