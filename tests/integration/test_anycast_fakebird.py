# SPDX-License-Identifier: GPL-3.0-or-later
"""vaned's BIRD client against a scripted BIRD control socket.

No root, namespaces or BIRD needed (the lab in test_anycast.py runs the real
thing): a small server speaks the birdc line protocol (greeting 0001, reply
lines with a four-digit code and '-' or ' ', 0000 at the end) and records
what vaned asks.  Checked: vaned disables at start and enables only after
`rise` passing self-checks; it follows BIRD's real state; a BIRD that stops
answering is dropped after bird-timeout and reconnected; SIGTERM disables
first and keeps answering for drain-time.
"""

import json
import socket
import threading
import time

from conftest import free_port, make_query, exchange, wait_until

HEADER = "2002-Name       Proto      Table      State  Since         Info\n"


class FakeBird:
    def __init__(self, path):
        self.path = str(path)
        self.up = False
        self.hang = False
        self.log = []            # (monotonic, command)
        self.connections = 0
        self.lock = threading.Lock()
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(self.path)
        self.sock.listen(4)
        self.sock.settimeout(0.2)
        self.stopping = False
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while not self.stopping:
            try:
                conn, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            with self.lock:
                self.connections += 1
            threading.Thread(target=self._client, args=(conn,), daemon=True).start()

    def _reply(self, cmd):
        if cmd.startswith("show protocols"):
            row = "1002-anycast    Static     master4    %-6s 17:08:39.275  \n" % (
                "up" if self.up else "down")
            return HEADER + row + "0000 \n"
        if cmd.startswith("enable"):
            was, self.up = self.up, True
            return ("0010-anycast: already enabled\n" if was else
                    "0011-anycast: enabled\n") + "0000 \n"
        if cmd.startswith("disable"):
            was, self.up = self.up, False
            return ("0009-anycast: disabled\n" if was else
                    "0008-anycast: already disabled\n") + "0000 \n"
        return "9001 syntax error\n"

    def _client(self, conn):
        conn.sendall(b"0001 BIRD 2.0.12 ready.\n")
        buf = b""
        try:
            while not self.stopping:
                data = conn.recv(4096)
                if not data:
                    return
                buf += data
                while b"\n" in buf:
                    line, buf = buf.split(b"\n", 1)
                    cmd = line.decode()
                    with self.lock:
                        self.log.append((time.monotonic(), cmd))
                        hang = self.hang
                    if hang:
                        continue
                    conn.sendall(self._reply(cmd).encode())
        except OSError:
            pass
        finally:
            conn.close()

    def commands(self, prefix):
        with self.lock:
            return [(t, c) for t, c in self.log if c.startswith(prefix)]

    def close(self):
        self.stopping = True
        self.sock.close()


ANYCAST = """anycast:
  addresses: [ "127.0.0.1@{port}" ]
  bird-socket: {sock}
  protocol: anycast
  self-check: {{ name: example.com, interval: 100ms, timeout: 80ms, rise: 3, fall: 2 }}
  hold-down: 0s
  drain-time: 700ms
  bird-timeout: 300ms
"""


def start(vaned_factory, tmp_path):
    bird = FakeBird(tmp_path / "bird.ctl")
    v = vaned_factory(start=False, udp_workers=1)
    port = free_port()
    with open(v.conf_path, "a") as f:
        f.write(ANYCAST.format(port=port, sock=tmp_path / "bird.ctl"))
    v.start()
    return bird, v, port


def status(v):
    p = v.ctl("anycast", json_out=True)
    return json.loads(p.stdout) if p.returncode == 0 else {}


def test_announces_after_rise_and_follows_bird(vaned_factory, tmp_path):
    bird, v, port = start(vaned_factory, tmp_path)
    try:
        wait_until(lambda: bird.up, "vaned enabling the protocol")
        cmds = [c for _, c in bird.log if not c.startswith("show")]
        # Withdrawn first (a restart announces nothing it has not checked).
        assert cmds[0] == 'disable "anycast"' and 'enable "anycast"' in cmds, cmds
        st = status(v)
        assert st["announced"] and "passed 3 times" in st["reason"], st
        # The answer really comes through the anycast address.
        r = exchange(port, make_query("example.com", "SOA"))
        assert r is not None and r.answer
        # Someone disables it behind vaned's back: it is enabled again.
        n = len(bird.commands("enable"))
        bird.up = False
        wait_until(lambda: len(bird.commands("enable")) > n and bird.up,
                   "vaned enabling again after BIRD said down")
        assert status(v)["transitions"] == 1   # no transition: only BIRD corrected
    finally:
        v.stop()
        bird.close()


def test_bird_timeout_reconnects(vaned_factory, tmp_path):
    bird, v, port = start(vaned_factory, tmp_path)
    try:
        wait_until(lambda: bird.up, "vaned enabling the protocol")
        assert bird.connections == 1
        bird.hang = True
        wait_until(lambda: bird.connections >= 2, "a reconnect after the timeout", 10)
        wait_until(lambda: "did not answer in 300 ms" in v.stderr_text(), "the timeout logged")
        bird.hang = False
        wait_until(lambda: status(v).get("bird_connected") and
                   status(v).get("bird_protocol_up"), "connected again", 10)
        assert status(v)["announced"]
    finally:
        v.stop()
        bird.close()


def test_sigterm_withdraws_then_drains(vaned_factory, tmp_path):
    bird, v, port = start(vaned_factory, tmp_path)
    try:
        wait_until(lambda: bird.up, "vaned enabling the protocol")
        t0 = time.monotonic()
        v.proc.send_signal(15)
        wait_until(lambda: not bird.up, "the withdraw", 5)
        t_disable = bird.commands("disable")[-1][0]
        # Still answering during drain-time, on the anycast address too.
        r = exchange(port, make_query("example.com", "SOA"), timeout=1)
        assert r is not None and r.answer, "no answer during the drain"
        rc = v.wait_exit()
        t_exit = time.monotonic()
        assert rc == 0
        assert t_disable - t0 < 0.5
        assert t_exit - t_disable >= 0.6, (t_exit - t_disable)
        assert "anycast: stopped: stopping" in v.stderr_text()
    finally:
        bird.close()
