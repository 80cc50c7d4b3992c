#!/bin/sh
# Soak test of vaned: dnsperf at full rate, a reload every 5 s, backends
# flapping every 3 s, a drain and a ramp under way; passes when no query is
# lost (tolerance 0.01%), no SERVFAIL, RSS flat after warm-up (+-5%) and
# nothing crashes.  10 minutes by default; SOAK_SECONDS=30 in make test
# (tests/integration/test_soak.py).  See bench/soak.py for the knobs.
#   bench/soak.sh                       # build/vaned, 600 s
#   VANED=build-h/vaned SOAK_SECONDS=60 bench/soak.sh
set -eu
exec /usr/bin/python3 "$(dirname "$0")/soak.py" "$@"
