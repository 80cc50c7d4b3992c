# SPDX-License-Identifier: GPL-3.0-or-later
"""Helpers for the traffic-steering integration tests (issue 3).

- SteerVaned: conftest's Vaned with `geo:`, `checks:`, `services:` (and any
  other top-level section) appended to its config, and a state directory.
- steer_factory: a fixture that starts SteerVaned instances and stops them at
  teardown (exit 0, no sanitizer report), like conftest's vaned_factory.
- HealthServer: a real HTTP server on a loopback address that the test
  starts, kills and restarts (GET /health -> 200 "ok").
- DNS helpers: queries with an ECS option (dnspython), raw ECS options for
  malformed input, addresses and ECS scope of a response.
- vanectl helpers: JSON replies, the rows of `health --json`, the trace of
  `explain --json`, tolerant of the exact nesting of the reply.
- wait_until / measure: poll a condition (never fixed sleeps), bounded.
"""

import json
import socket
import struct
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
import yaml

import dns.edns
import dns.flags
import dns.message
import dns.rcode
import dns.rdatatype

from conftest import (VANED, Vaned, exchange, finish_started, free_port,
                      parse_response, wait_until)

# ---------------------------------------------------------------------------
# vaned with services


class SteerVaned(Vaned):
    """vaned whose config has extra top-level sections (a dict dumped as
    YAML after `zones:`) and a state directory under its work dir."""

    name = "vaned"

    def __init__(self, workdir, steer=None, state_dir="state", **kw):
        self.steer = steer or {}
        self.state_dir_name = state_dir
        extra = kw.pop("extra_server", "")
        extra += "\n  state-dir: %s" % state_dir
        super().__init__(workdir, extra_server=extra.strip("\n"), **kw)

    @property
    def state_dir(self):
        return self.dir / self.state_dir_name

    def conf_text(self):
        text = super().conf_text()
        if self.steer:
            text += yaml.safe_dump(self.steer, sort_keys=False,
                                   default_flow_style=False)
        return text

    def set_steer(self, steer):
        self.steer = steer
        self.write_conf()

    def log_lines(self):
        return self.stderr_text().splitlines()


@pytest.fixture
def steer_factory(tmp_path):
    """Start SteerVaned instances: make(steer_dict, name=..., **Vaned kw).
    Each is stopped at teardown and must exit 0 without sanitizer reports."""
    started = []

    def make(steer, name="vaned", **kw):
        v = SteerVaned(tmp_path / name, steer=steer, **kw)
        started.append(v)
        return v

    yield make
    finish_started(started, exited="nonzero")


def service(name, endpoints, **opts):
    """A service entry: name, endpoints, and options with '_' for '-'."""
    svc = {"name": name}
    for k, val in opts.items():
        svc[k.replace("_", "-")] = val
    svc["endpoints"] = endpoints
    return svc


def endpoint(ep_id, address=None, **opts):
    ep = {"id": ep_id}
    if address is not None:
        ep["address"] = address
    for k, val in opts.items():
        ep[k.replace("_", "-")] = val
    return ep


def check_vaned(conf_path, timeout=60):
    import subprocess
    return subprocess.run([VANED, "--check", "-c", str(conf_path)],
                          capture_output=True, text=True, timeout=timeout)


def measure(cond, what, timeout, step=0.02):
    """Seconds until cond() first holds (fails after timeout)."""
    t0 = time.monotonic()
    wait_until(cond, what, timeout, step)
    return time.monotonic() - t0


# ---------------------------------------------------------------------------
# DNS

ECS_CODE = 8


def ecs_option(prefix):
    """dnspython ECS option from 'ADDR/LEN'."""
    addr, ln = prefix.split("/")
    return dns.edns.ECSOption(addr, int(ln))


def raw_ecs(family, source, addr_bytes, scope=0):
    """A raw ECS option (possibly malformed) as a GenericOption."""
    data = struct.pack("!HBB", family, source, scope) + bytes(addr_bytes)
    return dns.edns.GenericOption(ECS_CODE, data)


def query(port, name, qtype="A", ecs=None, options=None, tcp=False,
          timeout=3.0):
    """Ask vaned; ecs is 'ADDR/LEN' or None.  Returns the parsed response."""
    opts = list(options or [])
    if ecs is not None:
        opts.append(ecs_option(ecs))
    q = dns.message.make_query(name, qtype, use_edns=0, payload=1232,
                               options=opts)
    q.flags &= ~dns.flags.RD
    r = exchange(port, q, tcp=tcp, timeout=timeout)
    assert r is not None, "no response to %s %s (ecs %s)" % (name, qtype, ecs)
    return r


def answer_rrset(r, name, qtype):
    rt = dns.rdatatype.from_text(qtype) if isinstance(qtype, str) else qtype
    for rr in r.answer:
        if rr.rdtype == rt and rr.name.to_text().lower().rstrip(".") == \
                name.lower().rstrip("."):
            return rr
    return None


def addrs(r, qtype="A"):
    """Addresses of every A (or AAAA) record in the answer section."""
    rt = dns.rdatatype.from_text(qtype)
    out = []
    for rr in r.answer:
        if rr.rdtype == rt:
            out += [rd.address for rd in rr]
    return out


def ecs_scope(r):
    """SCOPE PREFIX-LENGTH of the ECS option in a response, None if absent."""
    for opt in r.options:
        if opt.otype == ECS_CODE:
            if isinstance(opt, dns.edns.ECSOption):
                return opt.scopelen
            return opt.data[3]
    return None


def ecs_echo(r):
    """(family, source, scope) of the response's ECS option, or None."""
    for opt in r.options:
        if opt.otype == ECS_CODE:
            data = opt.to_wire() if hasattr(opt, "to_wire") else opt.data
            fam, src, scope = struct.unpack("!HBB", data[:4])
            return fam, src, scope
    return None


class UdpClient:
    """One UDP socket for many queries (fast loops of thousands)."""

    def __init__(self, port, addr="127.0.0.1"):
        self.port = port
        self.addr = addr
        self.s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.s.settimeout(2.0)
        self.s.connect((addr, port))

    def ask(self, name, qtype="A", ecs=None):
        opts = [ecs_option(ecs)] if ecs else []
        q = dns.message.make_query(name, qtype, use_edns=0, payload=1232,
                                   options=opts)
        q.flags &= ~dns.flags.RD
        wire = q.to_wire()
        for _ in range(3):
            self.s.send(wire)
            try:
                while True:
                    data = self.s.recv(65535)
                    r = parse_response(data)
                    if r.id == q.id:
                        return r
            except socket.timeout:
                continue
        pytest.fail("no response to %s %s" % (name, qtype))

    def close(self):
        self.s.close()


# ---------------------------------------------------------------------------
# HTTP health servers

class _Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        srv = self.server
        srv.hits += 1
        if self.path.split("?")[0] == srv.health_path:
            code, body = srv.status, srv.body
        else:
            code, body = 404, b"not found"
        self.send_response(code)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, fmt, *args):
        pass


class _HTTPServer(HTTPServer):
    allow_reuse_address = True
    daemon_threads = True


class HealthServer:
    """A real HTTP server on (addr, port) in a thread.  stop() closes the
    listening socket (probes then get connection refused); start() binds the
    same address and port again."""

    def __init__(self, addr="127.0.0.1", port=None, path="/health"):
        self.addr = addr
        self.port = port or free_port_on([addr])
        self.path = path
        self.httpd = None
        self.thread = None
        self.status = 200
        self.body = b"ok"

    def start(self):
        assert self.httpd is None
        deadline = time.monotonic() + 10
        while True:
            try:
                self.httpd = _HTTPServer((self.addr, self.port), _Handler)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        self.httpd.health_path = self.path
        self.httpd.status = self.status
        self.httpd.body = self.body
        self.httpd.hits = 0
        self.thread = threading.Thread(target=self.httpd.serve_forever,
                                       kwargs={"poll_interval": 0.05},
                                       daemon=True)
        self.thread.start()
        return self

    @property
    def hits(self):
        return self.httpd.hits if self.httpd else 0

    def stop(self):
        if self.httpd is None:
            return
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(5)
        self.httpd = None
        self.thread = None

    def set_status(self, code):
        self.status = code
        if self.httpd:
            self.httpd.status = code


@pytest.fixture
def health_servers():
    """Factory for HealthServer instances, all stopped at teardown."""
    made = []

    def make(addr="127.0.0.1", port=None, start=True):
        h = HealthServer(addr, port)
        made.append(h)
        if start:
            h.start()
        return h

    yield make
    for h in made:
        h.stop()


def free_port_on(addrs):
    """A TCP port free on every address in addrs (loopback 127.0.0.x)."""
    for _ in range(200):
        port = free_port()
        ok = True
        for a in addrs:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            try:
                s.bind((a, port))
            except OSError:
                ok = False
            finally:
                s.close()
        if ok:
            return port
    raise RuntimeError("no common free port")


# ---------------------------------------------------------------------------
# vanectl

def ctl(v, *args, json_out=False):
    return v.ctl(*[str(a) for a in args], json_out=json_out)


def ctl_ok(v, *args):
    """Run vanectl (text mode); fail unless it exits 0."""
    p = ctl(v, *args)
    assert p.returncode == 0, "vanectl %s: rc %d\nstdout: %s\nstderr: %s" % (
        " ".join(map(str, args)), p.returncode, p.stdout, p.stderr)
    return p


def ctl_json(v, *args):
    p = ctl(v, *args, json_out=True)
    try:
        obj = json.loads(p.stdout)
    except ValueError:
        pytest.fail("vanectl --json %s: not JSON (rc %d): %r / %r" % (
            " ".join(map(str, args)), p.returncode, p.stdout, p.stderr))
    return p, obj


def _walk(obj):
    yield obj
    if isinstance(obj, dict):
        for val in obj.values():
            yield from _walk(val)
    elif isinstance(obj, list):
        for val in obj:
            yield from _walk(val)


def _get(d, *names, default=None):
    for n in names:
        if n in d:
            return d[n]
    return default


def health_rows(obj):
    """Rows of `vanectl --json health`: a dict per endpoint with at least a
    service and an endpoint name, wherever the reply nests them.  Also
    accepts {"services":[{"name":..., "endpoints":[{"id":...}]}]}."""
    rows = []
    for node in _walk(obj):
        if isinstance(node, dict) and "service" in node and \
                ("endpoint" in node or "id" in node) and \
                isinstance(_get(node, "endpoint", "id"), str):
            rows.append(node)
    if rows:
        return rows
    for node in _walk(obj):
        if isinstance(node, dict) and isinstance(node.get("endpoints"), list) \
                and isinstance(_get(node, "name", "service"), str):
            for ep in node["endpoints"]:
                if isinstance(ep, dict):
                    row = dict(ep)
                    row["service"] = _get(node, "name", "service")
                    rows.append(row)
    return rows


def norm_svc(name):
    return name.lower().rstrip(".")


def health_row(v, svc, ep):
    """The `health --json` row of svc/ep (fails if missing)."""
    p, obj = ctl_json(v, "health")
    assert p.returncode == 0 and obj.get("ok") is True, (p.stdout, p.stderr)
    for row in health_rows(obj):
        if norm_svc(row["service"]) == norm_svc(svc) and \
                _get(row, "endpoint", "id") == ep:
            return row
    pytest.fail("no health row for %s/%s in %r" % (svc, ep, obj))


def row_state(row):
    """'up' / 'down' (lower case) from a health row."""
    st = _get(row, "state", "health", "status")
    if isinstance(st, bool):
        return "up" if st else "down"
    if st is None and "up" in row:
        return "up" if row["up"] else "down"
    return str(st).lower()


def row_weight(row):
    w = _get(row, "weight", "effective_weight", "effective-weight")
    return None if w is None else int(w)


def row_drained(row):
    return bool(_get(row, "drained", default=False))


def explain_trace(v, name, qtype, client, ecs=None):
    """The steer trace object of `vanectl --json explain` (dict with
    'steps' and 'result'), and the full reply."""
    args = ["explain", name, qtype, "--client", client]
    if ecs:
        args += ["--ecs", ecs]
    p, obj = ctl_json(v, *args)
    assert p.returncode == 0 and obj.get("ok") is True, (p.stdout, p.stderr)
    for node in _walk(obj):
        if isinstance(node, dict) and "steps" in node and "result" in node:
            return node, obj
    pytest.fail("no trace (steps/result) in explain reply %r" % obj)


def trace_ep(trace, ep_id):
    for e in trace["endpoints"]:
        if e["id"] == ep_id:
            return e
    pytest.fail("endpoint %s not in trace %r" % (ep_id, trace))


def log_has(v, *words, start=0):
    """A line of vaned's stderr (from byte offset start) with every word."""
    text = v.stderr_text()[start:]
    for line in text.splitlines():
        if all(w in line for w in words):
            return line
    return None


def log_offset(v):
    return len(v.stderr_text())


def module_vaned(tmp_path_factory, steer, name="vaned", files=None, **kw):
    """Generator for module-scoped fixtures: start one SteerVaned (after
    writing `files`, a dict of relative path -> text, into its directory),
    yield it, then stop it and check exit status and sanitizer output."""
    d = tmp_path_factory.mktemp(name)
    for rel, text in (files or {}).items():
        p = d / name / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    v = SteerVaned(d / name, steer=steer, **kw)
    yield v
    if v.proc is not None and v.proc.poll() is None:
        v.stop_and_check()
    else:
        v._close()
        rep = v.sanitizer_report()
        assert rep is None, "sanitizer report in vaned stderr:\n" + rep
        assert v.proc is None or v.proc.returncode == 0, \
            "vaned died with rc %s" % v.proc.returncode


class BlackHole:
    """A TCP listener on (addr, port) that never accepts: connections
    complete in the kernel's backlog but no byte ever comes back, so an HTTP
    probe runs into its timeout instead of failing at once."""

    def __init__(self, addr, port):
        self.s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        deadline = time.monotonic() + 10
        while True:
            try:
                self.s.bind((addr, port))
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        self.s.listen(64)

    def close(self):
        if self.s is not None:
            self.s.close()
            self.s = None


def stats_services(v):
    """{service name: {"answers": n, "fallbacks": n, "endpoints": {id: n}}}
    from `vanectl --json stats`, wherever the reply nests it."""
    p, obj = ctl_json(v, "stats")
    assert p.returncode == 0 and obj.get("ok") is True, (p.stdout, p.stderr)
    for node in _walk(obj):
        if isinstance(node, dict) and isinstance(node.get("services"), dict):
            svcs = node["services"]
            if all(isinstance(x, dict) and "endpoints" in x
                   for x in svcs.values()):
                return {norm_svc(k): x for k, x in svcs.items()}, node
    pytest.fail("no per-service steering stats in %r" % obj)
