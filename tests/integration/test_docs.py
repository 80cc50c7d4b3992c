# SPDX-License-Identifier: GPL-3.0-or-later
"""The command tables of docs/api.md and vanectl(8) are generated from the
command table vaned runs (vanectl --commands md|man): they must match the
program byte for byte, and vanectl help lists every verb of the table."""

import re
import subprocess

from conftest import REPO, VANECTL


def _block(path, begin, end):
    text = (REPO / path).read_text()
    m = re.search(re.escape(begin) + r"\n(.*?)" + re.escape(end), text, re.S)
    assert m, "%s has no generated block %r" % (path, begin)
    return m.group(1)


def _gen(fmt):
    p = subprocess.run([VANECTL, "--commands", fmt], capture_output=True, text=True,
                       timeout=30)
    assert p.returncode == 0, p.stderr
    return p.stdout


def test_api_md_table_is_generated():
    assert _block("docs/api.md", "<!-- BEGIN vanectl --commands md -->",
                  "<!-- END vanectl --commands md -->") == _gen("md"), \
        "docs/api.md is stale: regenerate with vanectl --commands md"


def test_vanectl_man_table_is_generated():
    assert _block("docs/vanectl.8", '.\\" BEGIN vanectl --commands man',
                  '.\\" END vanectl --commands man') == _gen("man"), \
        "docs/vanectl.8 is stale: regenerate with vanectl --commands man"


def test_help_lists_the_table_without_a_server():
    p = subprocess.run([VANECTL, "-s", "/nonexistent.sock", "help"], capture_output=True,
                       text=True, timeout=30)
    assert p.returncode == 0, p.stderr
    verbs = [v for v in re.findall(r"^\| ([a-z-]+) \|", _gen("md"), re.M) if v != "---"]
    assert len(verbs) >= 15
    for v in verbs:
        assert re.search(r"^  %s\b" % re.escape(v), p.stdout, re.M), v
    bad = subprocess.run([VANECTL, "--commands", "pdf"], capture_output=True, text=True,
                         timeout=30)
    assert bad.returncode == 2
