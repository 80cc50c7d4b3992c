# SPDX-License-Identifier: GPL-3.0-or-later
"""Response rate limiting and DNS cookies on the real UDP and TCP paths.

A flood from 127.0.0.1 (one /24) gets at most `rate` full answers a second;
every second limited answer is slipped (TC=1, no records) and the rest are
dropped, so the reflected bytes stay below the flood's own size.  A client in
another /24 (127.0.1.1, also loopback) is answered in full meanwhile, as are
queries carrying a valid server cookie (RFC 7873, RFC 9018) and everything
over TCP.  With require-cookie, UDP queries with a COOKIE option but no valid
server cookie get BADCOOKIE and a fresh cookie.  /metrics counts what was
limited, slipped and dropped.
"""

import socket
import time

import pytest

import dns.edns
import dns.flags
import dns.message
import dns.rcode

from conftest import parse_response, tcp_exchange, udp_exchange
from http_helpers import get, http_factory  # noqa: F401

RATE = 20
CLIENT_COOKIE = bytes.fromhex("0102030405060708")
SECRET = "00112233445566778899aabbccddeeff"
CONF = """rrl:
  rate: %d
  slip: 2
cookies:
  secret: %s
""" % (RATE, SECRET)


def query(name="www.example.com", qtype="A", cookie=None, qid=0x4242):
    opts = [] if cookie is None else [dns.edns.GenericOption(10, cookie)]
    q = dns.message.make_query(name, qtype, use_edns=0, payload=1232, options=opts)
    q.flags &= ~dns.flags.RD
    q.id = qid
    return q


def cookie_of(resp):
    for o in resp.options:
        if o.otype == 10:
            return o.data if hasattr(o, "data") else o.to_wire()
    return None


def flood(port, wires, src="127.0.0.1", settle=1.0):
    """Send every wire as fast as possible from one socket; return the
    responses that came back, as (bytes) in arrival order, and the seconds
    the sending took."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((src, 0))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    got = []
    try:
        t0 = time.monotonic()
        for w in wires:
            s.sendto(w, ("127.0.0.1", port))
        took = time.monotonic() - t0
        s.settimeout(settle)
        while True:
            try:
                data, _ = s.recvfrom(65535)
            except socket.timeout:
                break
            got.append(data)
    finally:
        s.close()
    return got, took


def classify(datas):
    full = slipped = 0
    for d in datas:
        r = parse_response(d)
        if r.flags & dns.flags.TC:
            assert not r.answer and not r.authority, "a slip answer carries no records"
            slipped += 1
        else:
            assert r.answer, "a full answer"
            full += 1
    return full, slipped


@pytest.fixture
def rrl_vaned(vaned_factory):
    return vaned_factory(extra_server=CONF, rrl="")


def test_flood_is_limited_and_slipped(rrl_vaned):
    v = rrl_vaned
    n = 400
    wires = [query(qid=i).to_wire() for i in range(n)]
    got, took = flood(v.port, wires)
    full, slipped = classify(got)
    limited = n - full
    # The burst (one second's worth) plus what refilled while sending.
    assert full <= RATE * (1 + took) + 2, (full, took)
    assert full >= RATE // 2
    # slip 2: every second limited answer goes out truncated.
    assert abs(slipped - limited / 2) <= 2, (slipped, limited)
    bytes_in = sum(len(w) for w in wires)
    bytes_out = sum(len(d) for d in got)
    assert bytes_out / bytes_in <= 2.0, (bytes_out, bytes_in)

    # Meanwhile: another /24 gets every answer, and TCP is never limited.
    other, _ = flood(v.port, [query(qid=i).to_wire() for i in range(RATE // 2)],
                     src="127.0.1.1", settle=0.5)
    assert classify(other) == (RATE // 2, 0)
    r = dns.message.from_wire(tcp_exchange(v.port, query().to_wire()))
    assert r.rcode() == dns.rcode.NOERROR and r.answer and not r.flags & dns.flags.TC

    # One log line for the prefix, not one per answer.
    text = v.stderr_text()
    assert text.count("rrl: limiting 127.0.0.0/24") == 1, text[-2000:]


def test_valid_cookie_is_not_limited(rrl_vaned):
    v = rrl_vaned
    # A server cookie for 127.0.0.1, learnt over TCP (same address).
    r = dns.message.from_wire(tcp_exchange(v.port, query(cookie=CLIENT_COOKIE).to_wire()))
    full_cookie = cookie_of(r)
    assert len(full_cookie) == 24 and full_cookie[:8] == CLIENT_COOKIE
    assert full_cookie[8] == 1, "RFC 9018 version 1"

    n = 200
    got, _ = flood(v.port, [query(cookie=full_cookie, qid=i).to_wire() for i in range(n)])
    assert classify(got) == (n, 0)
    for d in got[:5]:
        assert cookie_of(parse_response(d)) == full_cookie  # young: echoed

    # Without it, from the same address, the limit applies.
    got, _ = flood(v.port, [query(qid=i).to_wire() for i in range(n)])
    full, slipped = classify(got)
    assert full <= RATE + 5 and slipped > 0


def test_require_cookie(vaned_factory):
    v = vaned_factory(extra_server=CONF + "  require-cookie: true\n", rrl="")
    r = dns.message.from_wire(tcp_exchange(v.port, query(cookie=CLIENT_COOKIE).to_wire()))
    # Over TCP the address is proven: a full answer.
    assert r.rcode() == dns.rcode.NOERROR and r.answer
    full_cookie = cookie_of(r)

    # UDP with only a client cookie: BADCOOKIE (23) and a fresh cookie.
    r = parse_response(udp_exchange(v.port, query(cookie=CLIENT_COOKIE).to_wire()))
    assert r.rcode() == dns.rcode.BADCOOKIE
    assert not r.answer
    assert cookie_of(r)[:8] == CLIENT_COOKIE

    # With the cookie: answered.  Without any COOKIE option: answered too.
    r = parse_response(udp_exchange(v.port, query(cookie=full_cookie).to_wire()))
    assert r.rcode() == dns.rcode.NOERROR and r.answer
    r = parse_response(udp_exchange(v.port, query().to_wire()))
    assert r.rcode() == dns.rcode.NOERROR and r.answer

    # A malformed cookie is FORMERR (RFC 7873 5.2.2).
    r = parse_response(udp_exchange(v.port, query(cookie=b"x" * 9).to_wire()))
    assert r.rcode() == dns.rcode.FORMERR


def test_metrics(http_factory):
    v = http_factory({"rrl": {"rate": RATE, "slip": 2}}, rrl="")
    n = 200
    got, _ = flood(v.port, [query(qid=i).to_wire() for i in range(n)])
    full, slipped = classify(got)
    st, text, _ = get(v, "/metrics")
    assert st == 200
    m = {}
    for line in text.splitlines():
        if line.startswith("vane_rrl_"):
            k, val = line.rsplit(" ", 1)
            m[k] = float(val)
    limited = m['vane_rrl_limited_total{class="positive"}']
    assert limited == n - full
    assert m['vane_rrl_slipped_total{class="positive"}'] == slipped
    assert m['vane_rrl_dropped_total{class="positive"}'] == limited - slipped
    assert m['vane_rrl_limited_total{class="nxdomain"}'] == 0
    assert m["vane_rrl_evicted_total"] == 0
