# SPDX-License-Identifier: GPL-3.0-or-later
"""A minimal MaxMind DB (format 2.0) writer for tests: IPv4 networks to
{country: {iso_code}, continent: {code}}.

Debian has no tool that writes .mmdb files, and the provider test needs
one geo database that both vaned (libmaxminddb) and PowerDNS's geoip
backend (libmaxminddb too) read, so that they can agree on regions.
Written from the format's specification (maxmind.github.io/MaxMind-DB):
a binary search tree of 24-bit records, 16 zero bytes, a data section,
then "\\xab\\xcd\\xefMaxMind.com" and a metadata map.
"""

import ipaddress
import struct
import time

META_MARKER = b"\xab\xcd\xefMaxMind.com"


def _ctrl(type_num, size):
    """Control byte(s) for a field of `size` (a length or a count)."""
    out = b""
    if type_num <= 7:
        first = type_num << 5
    else:
        first = 0
        out_ext = bytes([type_num - 7])
    if size < 29:
        first |= size
        extra = b""
    elif size < 29 + 256:
        first |= 29
        extra = bytes([size - 29])
    elif size < 285 + 65536:
        first |= 30
        extra = struct.pack(">H", size - 285)
    else:
        first |= 31
        extra = struct.pack(">I", size - 65821)[1:]
    out = bytes([first])
    if type_num > 7:
        out += out_ext
    return out + extra


class U16(int):
    pass


class U32(int):
    pass


class U64(int):
    pass


def _uint(type_num, value):
    b = value.to_bytes((value.bit_length() + 7) // 8, "big") if value else b""
    return _ctrl(type_num, len(b)) + b


def encode(value):
    # libmaxminddb checks the metadata's integer types exactly.
    if isinstance(value, U16):
        return _uint(5, value)
    if isinstance(value, U32):
        return _uint(6, value)
    if isinstance(value, U64):
        return _uint(9, value)
    if isinstance(value, str):
        b = value.encode()
        return _ctrl(2, len(b)) + b
    if isinstance(value, dict):
        out = _ctrl(7, len(value))
        for k, v in value.items():
            out += encode(k) + encode(v)
        return out
    if isinstance(value, list):
        out = _ctrl(11, len(value))
        for v in value:
            out += encode(v)
        return out
    if isinstance(value, float):
        return _ctrl(3, 8) + struct.pack(">d", value)
    if isinstance(value, int):
        if value < 0:
            raise ValueError("negative")
        b = value.to_bytes((value.bit_length() + 7) // 8, "big") if value else b""
        if len(b) <= 2:
            return _ctrl(5, len(b)) + b
        if len(b) <= 4:
            return _ctrl(6, len(b)) + b
        return _ctrl(9, len(b)) + b
    raise TypeError(type(value))


class _Node:
    __slots__ = ("kids", "num")

    def __init__(self):
        self.kids = [None, None]   # None: no data; _Node; or ("data", offset)


def write_mmdb(path, nets):
    """nets: iterable of (cidr, country, continent) for IPv4 networks;
    overlapping networks: the more specific wins."""
    data = b""
    offsets = {}
    root = _Node()
    entries = sorted(((ipaddress.IPv4Network(c), cc, ct) for c, cc, ct in nets),
                     key=lambda e: e[0].prefixlen)
    for net, cc, ct in entries:
        key = (cc, ct)
        if key not in offsets:
            offsets[key] = len(data)
            data += encode({"continent": {"code": ct}, "country": {"iso_code": cc}})
        leaf = ("data", offsets[key])
        bits = int(net.network_address)
        node = root
        for i in range(net.prefixlen):
            bit = (bits >> (31 - i)) & 1
            if i == net.prefixlen - 1:
                node.kids[bit] = leaf
                break
            nxt = node.kids[bit]
            if not isinstance(nxt, _Node):
                # Push a shorter network's data down both sides.
                child = _Node()
                child.kids = [nxt, nxt]
                node.kids[bit] = child
                nxt = child
            node = nxt
    # Number the nodes breadth first.
    order = [root]
    i = 0
    while i < len(order):
        for k in order[i].kids:
            if isinstance(k, _Node):
                order.append(k)
        i += 1
    for n, node in enumerate(order):
        node.num = n
    count = len(order)

    def rec(k):
        if k is None:
            return count
        if isinstance(k, _Node):
            return k.num
        return count + 16 + k[1]

    tree = bytearray()
    for node in order:
        left, right = rec(node.kids[0]), rec(node.kids[1])
        tree += left.to_bytes(3, "big") + right.to_bytes(3, "big")
    meta = encode({
        "binary_format_major_version": U16(2),
        "binary_format_minor_version": U16(0),
        "build_epoch": U64(int(time.time())),
        "database_type": "Vane-Test-Country",
        "description": {"en": "vane provider test"},
        "ip_version": U16(4),
        "languages": ["en"],
        "node_count": U32(count),
        "record_size": U16(24),
    })
    with open(path, "wb") as f:
        f.write(bytes(tree) + b"\x00" * 16 + data + META_MARKER + meta)
