# SPDX-License-Identifier: GPL-3.0-or-later
"""vane-resolver's runtime (src/resolverd over src/rt): answers leave from
the address the query came to on a wildcard listener, a second instance
never takes over a live control socket, and reload then stop end cleanly
(every worker joined, exit code 0, no sanitizer report).  No upstream is
needed: the answers checked here are the resolver's own (REFUSED)."""

import socket
import subprocess
import time

import dns.message
import dns.rcode
import dns.rdataclass

from resolver_helpers import VANE_RESOLVER, VaneResolver


def _hints(tmp_path):
    h = tmp_path / "root.hints"
    # An address nothing listens on: these tests never go upstream.
    h.write_text(".\t3600000\tIN\tNS\ta.root.test.\n"
                 "a.root.test.\t3600000\tIN\tA\t127.255.255.254\n")
    return h


def _exchange_from(src, dst, port, q):
    """Send q from src to dst:port unconnected; (reply, reply source)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.bind((src, 0))
        s.settimeout(5)
        s.sendto(q.to_wire(), (dst, port))
        end = time.monotonic() + 5
        while time.monotonic() < end:
            data, peer = s.recvfrom(65535)
            r = dns.message.from_wire(data)
            if r.id == q.id:
                return r, peer[0]
        return None, None
    finally:
        s.close()


def test_wildcard_listener_answers_from_query_address(tmp_path):
    r = VaneResolver(tmp_path / "r", _hints(tmp_path), listen_addr="0.0.0.0",
                     allow=["127.0.0.1/32"])
    r.start()
    try:
        # Answered by a UDP worker itself: the ACL refuses 127.0.0.3.
        q = dns.message.make_query("www.example.", "A")
        resp, src = _exchange_from("127.0.0.3", "127.0.0.2", r.port, q)
        assert resp is not None and resp.rcode() == dns.rcode.REFUSED
        assert src == "127.0.0.2"
        # Answered by the loop thread (a miss handed over): CHAOS class is
        # refused there.
        q = dns.message.make_query("version.bind.", "TXT",
                                   rdclass=dns.rdataclass.CH)
        resp, src = _exchange_from("127.0.0.1", "127.0.0.4", r.port, q)
        assert resp is not None and resp.rcode() == dns.rcode.REFUSED
        assert src == "127.0.0.4"
    finally:
        r.stop_and_check()


def test_second_instance_leaves_live_control_socket(tmp_path):
    first = VaneResolver(tmp_path / "a", _hints(tmp_path))
    first.start()
    try:
        second = VaneResolver(tmp_path / "b", _hints(tmp_path))
        # Same control socket as the first: it must refuse to start.
        second.conf_path.write_text(second.conf_path.read_text().replace(
            "control: run/resolver.sock",
            "control: %s" % first.socket_path))
        p = subprocess.run([VANE_RESOLVER, "-c", str(second.conf_path)],
                           capture_output=True, text=True, timeout=20,
                           cwd=str(second.dir))
        assert p.returncode != 0, p.stderr
        assert first.socket_path.exists()
        assert first.ctl_json("status")["program"] == "vane-resolver"
    finally:
        first.stop_and_check()


def test_reload_then_stop_joins_cleanly(tmp_path):
    r = VaneResolver(tmp_path / "r", _hints(tmp_path), udp_workers=3)
    r.start()
    try:
        text = r.conf_path.read_text().replace("max-ttl: 86400",
                                               "max-ttl: 600")
        r.conf_path.write_text(text)
        r.ctl_json("reload")
        # The workers still answer after the reload.
        q = dns.message.make_query("version.bind.", "TXT",
                                   rdclass=dns.rdataclass.CH)
        resp, _ = _exchange_from("127.0.0.1", r.addr, r.port, q)
        assert resp is not None and resp.rcode() == dns.rcode.REFUSED
        assert r.ctl_json("stop")
        r.proc.wait(timeout=60)     # exits by itself: workers joined
    finally:
        r.stop_and_check()
        assert not r.socket_path.exists()
