# SPDX-License-Identifier: GPL-3.0-or-later
"""Replayer for Unbound testbound / Deckard .rpl scenarios against
vane-resolver: parse.py reads a scenario, upstream.py plays its RANGE
entries as fake authoritative servers on loopback addresses, run.py drives
the STEPs with vane-resolver in fake-time mode.  `python3 -m rpl.run` (from
tests/integration) runs every selected scenario and prints a report."""
