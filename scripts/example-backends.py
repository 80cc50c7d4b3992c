#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Tiny HTTP backends for the example endpoints of etc/vaned.conf, so that
`make run` shows them up and a health transition can be tried by hand.

  example-backends.py [--dir DIR] NAME=ADDR:PORT...   serve until the parent exits
  example-backends.py [--dir DIR] kill NAME           NAME stops answering
  example-backends.py [--dir DIR] revive NAME         NAME answers again

Each backend answers every GET with 200 "NAME ok".  `kill` closes its
listening socket (probes then get "connection refused", as from a dead
server); `revive` binds it again.  The two talk through DIR/NAME.down.
Only Debian's python3 standard library is used."""

import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DEFAULT_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                           "..", "run", "backends")


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        body = ("%s ok\n" % self.server.backend_name).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, fmt, *args):
        pass


class Server(ThreadingHTTPServer):
    allow_reuse_address = True
    daemon_threads = True


class Backend:
    def __init__(self, name, addr, port):
        self.name, self.addr, self.port = name, addr, port
        self.httpd = None

    def up(self):
        if self.httpd:
            return True
        try:
            self.httpd = Server((self.addr, self.port), Handler)
        except OSError as e:
            print("example-backends: %s on %s:%d: %s" % (
                self.name, self.addr, self.port, e), file=sys.stderr)
            return False
        self.httpd.backend_name = self.name
        threading.Thread(target=self.httpd.serve_forever,
                         kwargs={"poll_interval": 0.2}, daemon=True).start()
        return True

    def down(self):
        if self.httpd:
            self.httpd.shutdown()
            self.httpd.server_close()
            self.httpd = None


def serve(ctl_dir, specs):
    os.makedirs(ctl_dir, exist_ok=True)
    backends = []
    for spec in specs:
        name, _, where = spec.partition("=")
        addr, _, port = where.rpartition(":")
        if not name or not addr or not port.isdigit():
            sys.exit("example-backends: bad backend %r (want NAME=ADDR:PORT)"
                     % spec)
        backends.append(Backend(name, addr, int(port)))
    for b in backends:
        try:
            os.unlink(os.path.join(ctl_dir, b.name + ".down"))
        except FileNotFoundError:
            pass
        if b.up():
            print("example-backends: %s on http://%s:%d/" % (
                b.name, b.addr, b.port), file=sys.stderr)
    parent = os.getppid()
    # Follow the kill/revive markers; leave with the process that started
    # us (make run), so nothing is left listening after vaned stops.
    while os.getppid() == parent:
        for b in backends:
            dead = os.path.exists(os.path.join(ctl_dir, b.name + ".down"))
            if dead and b.httpd:
                b.down()
                print("example-backends: %s killed" % b.name, file=sys.stderr)
            elif not dead and not b.httpd and b.up():
                print("example-backends: %s revived" % b.name, file=sys.stderr)
        time.sleep(0.2)
    for b in backends:
        b.down()


def main(argv):
    ctl_dir = DEFAULT_DIR
    if len(argv) >= 2 and argv[0] == "--dir":
        ctl_dir, argv = argv[1], argv[2:]
    if len(argv) == 2 and argv[0] in ("kill", "revive"):
        os.makedirs(ctl_dir, exist_ok=True)
        marker = os.path.join(ctl_dir, argv[1] + ".down")
        if argv[0] == "kill":
            open(marker, "w").close()
        elif os.path.exists(marker):
            os.unlink(marker)
        return 0
    if not argv or any(a.startswith("-") for a in argv):
        print(__doc__, file=sys.stderr)
        return 2
    try:
        serve(ctl_dir, argv)
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
