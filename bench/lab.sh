#!/bin/bash
# vane-lab model speed: 1M clients, 1,000 resolvers, one simulated hour on
# one core (issue "vane-lab: measure failover ... through real resolvers",
# goal: under 60 s).  The scenario is etc/lab/evac-ttl30.yaml (default
# population, us-east down at 600 s) cut to 3600 s.  Prints the wall and
# CPU time of each round and the model's own time for lab_run().
#
# Environment: LAB_ROUNDS=3, BENCH_BUILD=build, LAB_SCENARIO=evac-ttl30,
#   LAB_CLIENTS=1000000, LAB_RESOLVERS=1000, LAB_DURATION=3600
set -eu
cd "$(dirname "$0")/.."
build=${BENCH_BUILD:-build}
rounds=${LAB_ROUNDS:-3}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
ninja -C "$build" vane-lab >/dev/null
echo "vane-lab model: ${LAB_CLIENTS:-1000000} clients, ${LAB_RESOLVERS:-1000} resolvers," \
	"${LAB_DURATION:-3600} s simulated, ${LAB_SCENARIO:-evac-ttl30}, pinned to CPU 0"
for i in $(seq "$rounds"); do
	# %e wall, %U user, %S system: the model is single-threaded.
	/usr/bin/time -f "%e %U %S %M" -o "$out/time" taskset -c 0 \
		"$build/vane-lab" run -q -o "$out" --clients "${LAB_CLIENTS:-1000000}" \
		--resolvers "${LAB_RESOLVERS:-1000}" --duration "${LAB_DURATION:-3600}" \
		"${LAB_SCENARIO:-evac-ttl30}" >"$out/stdout"
	read -r wall user sys rss <"$out/time"
	model=$(sed -n 's/^  model time: \([0-9.]*\) s/\1/p' "$out/stdout")
	echo "round $i: wall ${wall} s, cpu $(echo "$user + $sys" | bc) s, model ${model} s, max RSS $((rss / 1024)) MiB"
done
