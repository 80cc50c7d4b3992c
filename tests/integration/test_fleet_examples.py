# SPDX-License-Identifier: GPL-3.0-or-later
"""The three-node example of docs/fleet.md (etc/fleet/) passes
`vaned --check`, and its nodes differ only in node-local keys: the
shared settings the nodes hash into their config digest are the same."""

from pathlib import Path

from steer_helpers import check_vaned

FLEET = Path(__file__).resolve().parents[2] / "etc" / "fleet"
NODE_LOCAL = ("listen:", "nsid:", "node:", "cert:", "key:", "# Node ns",
              "# Check it:")


def test_example_configs_check():
    for i in (1, 2, 3):
        p = check_vaned(FLEET / ("ns%d.conf" % i))
        assert p.returncode == 0, (i, p.stdout, p.stderr)


def test_example_nodes_share_everything_else():
    def shared(i):
        lines = (FLEET / ("ns%d.conf" % i)).read_text().splitlines()
        return [l for l in lines if not l.strip().startswith(NODE_LOCAL)]
    assert shared(1) == shared(2) == shared(3)
