# SPDX-License-Identifier: GPL-3.0-or-later
"""ISC genreport's `opcodeflg` and `opcode` probes, over the wire.

genreport sends opcode 15 as a header-only request with every flag bit set
(`dig +noedns +header-only +opcode=15 +tcflag +rec +raflag +cd +ad +aaflag
+zflag`) and counts as ok only: the opcode echoed, NOTIMP, no record in any
section, no OPT, and none of AA, TC, RD, RA, Z, AD, CD (they are defined for
QUERY only; genreport tags an echoed RD "rd", which is where knotd 3.2
fails).  Checked here for every opcode vaned does not implement, over UDP
and TCP, with and without the flags.
"""

import struct

import pytest

from conftest import tcp_exchange, udp_exchange

ALL_FLAGS = (0x07, 0xF0)   # AA TC RD in byte 2; RA Z AD CD in byte 3
NOTIMP = 4


def request(opcode, flags):
    return struct.pack("!HBBHHHH", 0x5a5a, opcode << 3 | flags[0], flags[1], 0, 0, 0, 0)


@pytest.mark.parametrize("tcp", [False, True], ids=["udp", "tcp"])
def test_unknown_opcodes_get_bare_notimp(vaned, tcp):
    # 0 is QUERY and 4 NOTIFY (answered); every other opcode is NOTIMP.
    for opcode in [1, 2, 3] + list(range(5, 16)):
        for flags in ((0, 0), ALL_FLAGS):
            wire = request(opcode, flags)
            r = tcp_exchange(vaned.port, wire) if tcp else udp_exchange(vaned.port, wire)
            assert r is not None and len(r) == 12, (opcode, flags, r)
            rid, b2, b3, qd, an, ns, ar = struct.unpack("!HBBHHHH", r)
            what = "opcode %d flags %s: %02x %02x" % (opcode, flags, b2, b3)
            assert rid == 0x5a5a, what
            assert b2 == 0x80 | opcode << 3, what     # QR and the opcode, no AA TC RD
            assert b3 == NOTIMP, what                  # no RA Z AD CD
            assert (qd, an, ns, ar) == (0, 0, 0, 0), what
