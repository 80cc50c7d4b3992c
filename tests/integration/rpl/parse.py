# SPDX-License-Identifier: GPL-3.0-or-later
"""Parser for the testbound / Deckard .rpl scenario format.

Only what the iterator scenarios use: the CONFIG section (kept as key/value
lines plus stub-zone / forward-zone blocks), RANGE_BEGIN/RANGE_END with
ADDRESS lines, ENTRY_BEGIN/ENTRY_END with MATCH, ADJUST, REPLY and SECTIONs,
and STEP n TYPE [ELAPSE n]."""

import re


class Entry:
    def __init__(self):
        self.match = set()
        self.adjust = set()
        self.flags = set()     # QR AA TC RD RA AD CD DO
        self.rcode = "NOERROR"
        self.opcode = "QUERY"
        self.sections = {"QUESTION": [], "ANSWER": [], "AUTHORITY": [],
                         "ADDITIONAL": []}
        self.raw = False       # RAW / HEX sections: not supported
        self.edns = False      # explicit EDNS data in the entry
        self.lineno = 0

    def question(self):
        """(qname lower-case with trailing dot, qtype text) or None."""
        for line in self.sections["QUESTION"]:
            f = line.split()
            f = [x for x in f if x.upper() not in ("IN", "CH")]
            if len(f) >= 2:
                return (fqdn(f[0]), f[1].upper())
            if len(f) == 1:
                return (fqdn(f[0]), "A")
        return None


class Range:
    def __init__(self, start, end):
        self.start = start
        self.end = end
        self.addresses = []
        self.entries = []


class Step:
    def __init__(self, num, kind, elapse=0, address=None):
        self.num = num
        self.kind = kind
        self.elapse = elapse
        self.address = address
        self.entry = None


class Scenario:
    def __init__(self, path):
        self.path = path
        self.name = path.rsplit("/", 1)[-1]
        self.config = []       # (key, value) in order, blocks included
        self.title = ""
        self.ranges = []
        self.steps = []

    def config_value(self, key, default=None):
        for k, v in self.config:
            if k == key:
                return v
        return default

    def config_values(self, key):
        return [v for k, v in self.config if k == key]

    def stub_zones(self):
        """[(name, [addr])] of stub-zone: blocks."""
        out, cur = [], None
        for k, v in self.config:
            if k == "stub-zone":
                cur = [None, []]
                out.append(cur)
            elif k in ("forward-zone", "server", "auth-zone", "rpz",
                       "remote-control", "view"):
                cur = None
            elif cur is not None and k == "name":
                cur[0] = fqdn(v)
            elif cur is not None and k == "stub-addr":
                cur[1].append(v.split("@")[0])
        return [(n, a) for n, a in out]

    def server_addresses(self):
        addrs = []
        for r in self.ranges:
            for a in r.addresses:
                if a not in addrs:
                    addrs.append(a)
        for _, al in self.stub_zones():
            for a in al:
                if a not in addrs:
                    addrs.append(a)
        return addrs


def fqdn(name):
    name = name.strip().lower()
    return name if name.endswith(".") else name + "."


def _unquote(v):
    v = v.strip()
    if len(v) >= 2 and v[0] == v[-1] == '"':
        return v[1:-1]
    return v


def _strip_comment(line):
    # ';' starts a comment outside quotes; '#' too in CONFIG.
    out, q = [], False
    for ch in line:
        if ch == '"':
            q = not q
        if ch == ";" and not q:
            break
        out.append(ch)
    return "".join(out).rstrip()


def _join_parens(lines):
    """Join RRs spread over lines with ( ... )."""
    out, buf, depth = [], "", 0
    for line in lines:
        depth += line.count("(") - line.count(")")
        buf = (buf + " " + line) if buf else line
        if depth <= 0:
            out.append(buf.replace("(", " ").replace(")", " "))
            buf, depth = "", 0
    if buf:
        out.append(buf.replace("(", " ").replace(")", " "))
    return out


REPLY_FLAGS = {"QR", "AA", "TC", "RD", "RA", "AD", "CD", "DO"}
OPCODES = {"QUERY", "IQUERY", "STATUS", "NOTIFY", "UPDATE"}


def parse(path):
    sc = Scenario(str(path))
    lines = open(path, encoding="utf-8", errors="replace").read().splitlines()
    i = 0
    n = len(lines)
    # CONFIG: until CONFIG_END
    while i < n:
        raw = lines[i]
        i += 1
        s = raw.split("#", 1)[0].strip() if not raw.lstrip().startswith(
            ";") else ""
        if not s:
            continue
        if s.startswith("CONFIG_END"):
            break
        if ":" in s:
            k, v = s.split(":", 1)
            sc.config.append((k.strip(), _unquote(v)))
    cur_range = None
    cur_entry = None
    cur_section = None
    sec_lines = []
    cur_step = None

    def flush_section():
        if cur_entry is not None and cur_section is not None:
            cur_entry.sections.setdefault(cur_section, [])
            cur_entry.sections[cur_section] += _join_parens(sec_lines)

    while i < n:
        line = _strip_comment(lines[i]).strip()
        lineno = i + 1
        i += 1
        if not line:
            continue
        w = line.split()
        kw = w[0]
        if kw == "SCENARIO_BEGIN":
            sc.title = line[len(kw):].strip()
        elif kw == "SCENARIO_END":
            break
        elif kw == "RANGE_BEGIN":
            cur_range = Range(int(w[1]), int(w[2]))
            sc.ranges.append(cur_range)
        elif kw == "RANGE_END":
            cur_range = None
        elif kw == "ADDRESS" and cur_entry is None:
            if cur_range is not None:
                cur_range.addresses.append(w[1])
            elif cur_step is not None:
                cur_step.address = w[1]
        elif kw == "STEP":
            cur_step = Step(int(w[1]), w[2])
            rest = w[3:]
            for j, x in enumerate(rest):
                if x == "ELAPSE" and j + 1 < len(rest):
                    cur_step.elapse = float(rest[j + 1])
                if x == "ADDRESS" and j + 1 < len(rest):
                    cur_step.address = rest[j + 1]
            sc.steps.append(cur_step)
        elif kw == "ENTRY_BEGIN":
            cur_entry = Entry()
            cur_entry.lineno = lineno
            cur_section = None
            sec_lines = []
        elif kw == "ENTRY_END":
            flush_section()
            if cur_range is not None:
                cur_range.entries.append(cur_entry)
            elif cur_step is not None:
                cur_step.entry = cur_entry
            cur_entry = None
            cur_section = None
        elif cur_entry is not None:
            if kw == "MATCH":
                cur_entry.match |= set(w[1:])
            elif kw == "ADJUST":
                cur_entry.adjust |= set(w[1:])
            elif kw == "REPLY":
                for f in w[1:]:
                    u = f.upper()
                    if u in REPLY_FLAGS:
                        cur_entry.flags.add(u)
                    elif u in OPCODES:
                        cur_entry.opcode = u
                    else:
                        cur_entry.rcode = u
            elif kw == "SECTION":
                flush_section()
                cur_section = w[1].upper()
                sec_lines = []
            elif kw in ("RAW", "HEX_ANSWER_BEGIN", "HEX_EDNSDATA_BEGIN"):
                cur_entry.raw = True
                cur_section = None
            elif kw in ("HEX_ANSWER_END", "HEX_EDNSDATA_END"):
                pass
            elif kw == "EDNS_DATA" or kw.startswith("EDNSDATA"):
                cur_entry.edns = True
            elif cur_section is not None:
                sec_lines.append(line)
    return sc
