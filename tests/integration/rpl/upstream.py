# SPDX-License-Identifier: GPL-3.0-or-later
"""Fake upstream servers for a scenario: one UDP socket and one TCP listener
per scenario address, mapped to a loopback address on port 53.  A query is
answered from the first RANGE entry valid at the current step, served at
that address, whose MATCH accepts it; no match means no answer (as in
testbound).  A records pointing at a scenario address are rewritten to the
mapped loopback address, so glue and root hints lead to the fake servers."""

import selectors
import socket
import struct
import threading
import time

import dns.edns
import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.opcode
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rrset

from .parse import fqdn

CLASSES = {"IN", "CH", "HS", "ANY", "NONE", "CLASS1"}


def parse_rr(line, amap=None):
    """'owner [ttl] [class] type rdata' -> (name, ttl, rdclass, rdtype,
    rdata text); A rdata found in amap is rewritten."""
    f = line.split()
    owner = f[0]
    j = 1
    ttl = 3600
    rdclass = "IN"
    for _ in range(2):
        if j < len(f) and f[j].isdigit():
            ttl = int(f[j])
            j += 1
        elif j < len(f) and f[j].upper() in CLASSES:
            rdclass = f[j].upper()
            j += 1
    rdtype = f[j].upper()
    rdata = " ".join(f[j + 1:])
    if amap and rdtype == "A" and rdata.strip() in amap:
        rdata = amap[rdata.strip()]
    return owner, ttl, rdclass, rdtype, rdata


def build_rrsets(lines, amap):
    out = []
    index = {}
    for line in lines:
        owner, ttl, rdclass, rdtype, rdata = parse_rr(line, amap)
        name = dns.name.from_text(owner)
        rc = dns.rdataclass.from_text(rdclass)
        rt = dns.rdatatype.from_text(rdtype)
        rd = dns.rdata.from_text(rc, rt, rdata, origin=dns.name.root,
                                 relativize=False)
        key = (name, rc, rt)
        if key not in index:
            rs = dns.rrset.RRset(name, rc, rt)
            index[key] = rs
            out.append(rs)
        index[key].add(rd, ttl)
    return out


def is_subdomain(child, parent):
    return child == parent or parent == "." or child.endswith("." + parent)


def entry_matches(entry, q, transport):
    qn = fqdn(q.question[0].name.to_text()) if q.question else None
    qt = dns.rdatatype.to_text(q.question[0].rdtype) if q.question else None
    eq = entry.question()
    m = entry.match
    if "opcode" in m and dns.opcode.to_text(q.opcode()) != entry.opcode:
        return False
    if m & {"qtype", "question", "all"} and (eq is None or eq[1] != qt):
        return False
    if m & {"qname", "question", "all"} and (eq is None or eq[0] != qn):
        return False
    if "subdomain" in m and (eq is None or qn is None or
                             not is_subdomain(qn, eq[0])):
        return False
    if "TCP" in m and transport != "tcp":
        return False
    if "UDP" in m and transport != "udp":
        return False
    return True


SUPPORTED_MATCH = {"opcode", "qtype", "qname", "subdomain", "question",
                   "all", "TCP", "UDP", "flags", "rcode", "answer", "ttl"}


class Upstream:
    def __init__(self, scenario, amap, port=53):
        self.sc = scenario
        self.amap = amap                       # scenario addr -> loopback
        self.rev = {v: k for k, v in amap.items()}
        self.port = port
        self.step = 0
        self.log = []                          # (step, addr, qname, qtype, transport)
        self.lock = threading.Lock()
        self.sel = selectors.DefaultSelector()
        self.socks = []
        self.stop_ev = threading.Event()
        self.thread = None

    def start(self):
        for addr in self.amap.values():
            u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            u.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            u.bind((addr, self.port))
            u.setblocking(False)
            t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            t.bind((addr, self.port))
            t.listen(16)
            t.setblocking(False)
            self.sel.register(u, selectors.EVENT_READ, ("udp", addr))
            self.sel.register(t, selectors.EVENT_READ, ("tcp", addr))
            self.socks += [u, t]
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()
        return self

    def stop(self):
        self.stop_ev.set()
        if self.thread:
            self.thread.join(5)
        for s in self.socks:
            s.close()
        self.sel.close()

    def _loop(self):
        while not self.stop_ev.is_set():
            for key, _ in self.sel.select(0.05):
                kind, addr = key.data
                sock = key.fileobj
                try:
                    if kind == "udp":
                        data, peer = sock.recvfrom(65535)
                        resp = self.answer(data, addr, "udp")
                        if resp is not None:
                            sock.sendto(resp, peer)
                    else:
                        conn, _ = sock.accept()
                        threading.Thread(target=self._tcp, args=(conn, addr),
                                         daemon=True).start()
                except Exception:  # noqa: BLE001 - keep serving; a bad
                    continue           # entry shows up as a timeout

    def _tcp(self, conn, addr):
        conn.settimeout(5)
        try:
            while True:
                hdr = conn.recv(2)
                if len(hdr) < 2:
                    return
                (ln,) = struct.unpack("!H", hdr)
                data = b""
                while len(data) < ln:
                    chunk = conn.recv(ln - len(data))
                    if not chunk:
                        return
                    data += chunk
                try:
                    resp = self.answer(data, addr, "tcp")
                except Exception:  # noqa: BLE001
                    resp = None
                if resp is not None:
                    conn.sendall(struct.pack("!H", len(resp)) + resp)
        except OSError:
            return
        finally:
            conn.close()

    def find_entry(self, q, addr, transport):
        sc_addr = self.rev[addr]
        step = self.step
        for r in self.sc.ranges:
            if not (r.start <= step <= r.end):
                continue
            if r.addresses and sc_addr not in r.addresses:
                continue
            for e in r.entries:
                if entry_matches(e, q, transport):
                    return e
        return None

    def answer(self, data, addr, transport):
        try:
            q = dns.message.from_wire(data)
        except dns.exception.DNSException:
            return None
        if not q.question:
            return None
        with self.lock:
            self.log.append((self.step, addr,
                             fqdn(q.question[0].name.to_text()),
                             dns.rdatatype.to_text(q.question[0].rdtype),
                             transport))
        e = self.find_entry(q, addr, transport)
        if e is None:
            return None
        return self.build(q, e, transport)

    def build(self, q, e, transport):
        r = dns.message.Message(id=q.id)
        flags = 0
        for f, bit in (("QR", dns.flags.QR), ("AA", dns.flags.AA),
                       ("TC", dns.flags.TC), ("RD", dns.flags.RD),
                       ("RA", dns.flags.RA), ("AD", dns.flags.AD),
                       ("CD", dns.flags.CD)):
            if f in e.flags:
                flags |= bit
        r.flags = flags
        r.set_opcode(dns.opcode.from_text(e.opcode))
        try:
            r.set_rcode(dns.rcode.from_text(e.rcode))
        except dns.rcode.UnknownRcode:
            r.set_rcode(dns.rcode.SERVFAIL)
        # Echo the question as the resolver sent it (case included), as a
        # real server does; testbound's copy_query.
        r.question = list(q.question)
        r.answer = build_rrsets(e.sections["ANSWER"], self.amap)
        r.authority = build_rrsets(e.sections["AUTHORITY"], self.amap)
        r.additional = build_rrsets(e.sections["ADDITIONAL"], self.amap)
        payload = 512
        if q.edns >= 0:
            payload = max(512, q.payload)
            r.use_edns(0, dns.flags.DO if "DO" in e.flags else 0, 1232)
        limit = payload if transport == "udp" else 65535
        try:
            return r.to_wire(max_size=limit)
        except dns.exception.TooBig:
            r.answer, r.authority, r.additional = [], [], []
            r.flags |= dns.flags.TC
            return r.to_wire()
