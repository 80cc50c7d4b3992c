# SPDX-License-Identifier: GPL-3.0-or-later
"""Replay .rpl scenarios (Unbound testbound / Deckard) against vane-resolver.

Every scenario listed in rpl/passing.txt must pass (rcode and answer section
of each CHECK_ANSWER; TTLs where the scenario checks them; CHECK_OUT_QUERY
seen upstream).  The other runnable iterator scenarios are reported by
`python3 -m rpl.run`, not failed."""

import os
from pathlib import Path

import pytest

from resolver_helpers import VANE_RESOLVER, _need_port53
from rpl.run import TESTDATA, load_list, run_scenario

LIST = Path(__file__).resolve().parent / "rpl" / "passing.txt"
PASSING = load_list(LIST) if LIST.exists() else []


@pytest.mark.parametrize("scenario", PASSING)
def test_rpl_scenario(scenario, tmp_path):
    _need_port53()
    if not os.access(VANE_RESOLVER, os.X_OK):
        pytest.skip("no vane-resolver at %s" % VANE_RESOLVER)
    path = TESTDATA / scenario
    if not path.exists():
        pytest.skip("scenario data missing: %s" % path)
    res = run_scenario(str(path), tmp_path)
    assert res.status == "pass", "%s: %s %s" % (scenario, res.status,
                                                res.reason)


def test_passing_list_is_well_formed():
    seen = set()
    for s in PASSING:
        assert s.count("/") == 1 and s.endswith(".rpl"), s
        assert s not in seen, "duplicate %s" % s
        seen.add(s)
