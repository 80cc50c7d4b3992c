# SPDX-License-Identifier: GPL-3.0-or-later
"""The short version of bench/fleet.py: 4 vaned nodes probing 8 endpoints
each, one three-member etcd, all on loopback (the full run, 20 nodes and
200 endpoints, is in bench/RESULTS.md).

- a drain on one node after another reaches every node within 1 s (p99);
- health votes write only changes: almost nothing while nothing changes,
  and about one write per changed (node, target) in a transition;
- killing the etcd leader pauses writes only until a new leader is
  elected, and no DNS query to any node fails meanwhile.

Runs the ASan build unless a release build is at hand ($VANE_RELEASE_BUILD),
as the timings are the point.
"""

import os
import shutil
import sys

import pytest

from conftest import RELEASE_BUILD, REPO, VANECTL, VANED

sys.path.insert(0, str(REPO / "bench"))
import fleet as fleet_bench  # noqa: E402

pytestmark = pytest.mark.skipif(
    shutil.which("etcd") is None,
    reason="etcd is not installed (apt-get install etcd-server etcd-client)")

if os.access(RELEASE_BUILD / "vaned", os.X_OK) and os.access(RELEASE_BUILD / "vanectl", os.X_OK):
    VANED, VANECTL = str(RELEASE_BUILD / "vaned"), str(RELEASE_BUILD / "vanectl")


def test_fleet_scale_short():
    res = fleet_bench.run(nodes=4, endpoints=8, changes=10, interval="1s", lease="2s",
                          vaned=VANED, vanectl=VANECTL)
    print("\nfleet scale (4 nodes): %r" % res)
    assert res["propagation_ms"]["p99"] < 1000, res
    # Every probe written would be 4 nodes x 8 targets = 32 writes/s.
    assert res["quiet_writes_per_s"] < 1, res
    t = res["transition"]
    assert t["changed_votes"] <= t["writes"] <= t["changed_votes"] + 8, res
    k = res["leader_kill"]
    assert k["dns_failures"] == 0 and k["dns_queries"] > 100, res
    assert k["refused_s"] < 10 and k["apply_s"] < 1, res
