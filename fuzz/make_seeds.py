#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Write the seed inputs of fuzz_conf, fuzz_ctl and fuzz_resolver.

fuzz/corpus/fuzz_conf/: the shipped configs and small snippets of each
section, first byte 0 (vaned.conf) or 1 (vane-resolver.conf).
fuzz/corpus/fuzz_ctl/: a control line per command (first byte 0), and an
HTTP request (first byte 1, second byte the command's index in the table,
then URL, query string and JSON body on three lines) per table entry.
fuzz/corpus/fuzz_resolver/: authority responses of every shape the
iterator meets (answer, CNAME, referral with glue, NXDOMAIN, NODATA,
compressed MX/SRV/SOA, ECS, 0x20 case).

Run with Debian's /usr/bin/python3 (dnspython).  Deterministic: files are
named by what they hold; libFuzzer's merges add hash-named ones beside them.
"""
import os
import sys

import dns.edns
import dns.flags
import dns.message
import dns.rcode
import dns.rrset

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def write(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


CONF_SNIPPETS = {
    "minimal": "server:\n  listen: [127.0.0.1@5300]\nzones:\n  - name: example.com.\n    file: example.com.zone\n",
    "services": """server:
  listen: [127.0.0.1@5300, "::1@5300"]
zones:
  - name: example.com.
    file: z.zone
services:
  - name: www.example.com.
    ttl: 30
    policy: geo
    endpoints:
      - name: a
        address: 192.0.2.1
        weight: 10
        region: eu
      - name: b
        cname: b.cdn.example.net.
        weight: 0
    health:
      check: http
      path: /healthz
      interval: 5s
""",
    "xfr": """zones:
  - name: example.com.
    file: z.zone
    notify: [192.0.2.9@53]
    allow-transfer: [192.0.2.0/24]
keys:
  - name: k1.
    algorithm: hmac-sha256
    secret: c2VjcmV0c2VjcmV0c2VjcmV0
""",
    "rrl": "rrl:\n  rate: 200\n  slip: 2\n  exempt: [127.0.0.0/8, \"::1/128\"]\ncookies:\n  enabled: true\n  require: false\n",
    "cluster": "cluster:\n  name: c1\n  node: ns1\n  etcd: [http://127.0.0.1:2379]\n",
    "anycast": "anycast:\n  addresses: [192.0.2.53]\n  self-check:\n    name: www.example.com.\n",
    "http": "http:\n  listen: 127.0.0.1@8080\n  token-file: /nonexistent\nlog:\n  level: debug\n",
    "bad-indent": "server:\n listen: [\n  - x\n",
    "two-docs": "server: {}\n---\nserver: {}\n",
    "anchors": "a: &x {listen: [1.2.3.4]}\nserver: *x\n",
    "scalar-root": "just a string\n",
}

RESOLVER_SNIPPETS = {
    "minimal": "server:\n  listen: [127.0.0.1@5353]\ncache:\n  size: 64M\n",
    "ecs": "ecs:\n  enabled: true\n  networks: [192.0.2.0/24]\n  source-v4: 24\n  source-v6: 56\n",
}


def conf_seeds():
    for rel, mode in (("etc/vaned.conf", 0), ("etc/vaned.conf.sample", 0),
                      ("etc/fleet/ns1.conf", 0), ("etc/vane-resolver.conf", 1)):
        p = os.path.join(ROOT, rel)
        if os.path.exists(p):
            with open(p, "rb") as f:
                write("fuzz_conf", "s-" + rel.replace("/", "-"), bytes([mode]) + f.read())
    for name, text in CONF_SNIPPETS.items():
        write("fuzz_conf", "s-vaned-" + name, b"\0" + text.encode())
    for name, text in RESOLVER_SNIPPETS.items():
        write("fuzz_conf", "s-resolver-" + name, b"\1" + text.encode())


CONTROL_LINES = [
    "status", "reload --force", "zone-status example.com. example.net.", "stats",
    "drain web/a --local", "undrain web/a", "weight web/a 50", "weight web/a -1",
    "ramp web/a --steps 5,25,50,100 --every 30s --resume", "ramp web/a --steps 0,101",
    "load web/a 75", "health", "explain www.example.com. AAAA --client 192.0.2.1 --ecs 198.51.100.0/24",
    "explain www.example.com. TYPE65 --client 2001:db8::1", "plan-change web --new-ttl 60s --drain a",
    "latency web a 192.0.2.0/24 35", "latency web a EU unknown", "latency-load /tmp/lat.csv",
    "anycast", "stop", "cluster", "providers plan", "help", "weight web/a 99999999999999999999",
]

HTTP_BODY = ('{"service":"web","endpoint":"a","weight":50,"steps":[5,25,50,100],'
             '"every":"60s","resume":true,"local":false,"value":10,"client":"192.0.2.0/24",'
             '"rtt":30,"file":"/tmp/x","force":true}')
HTTP_QUERY = "name=www.example.com.&type=A&client=192.0.2.1&ecs=192.0.2.0/24&since=0&new-ttl=60s"


def ctl_seeds():
    for i, line in enumerate(CONTROL_LINES):
        write("fuzz_ctl", "s-line-%02d" % i, b"\0" + line.encode())
    # The table has fewer than 32 entries; the target takes the index mod
    # its size, so every command gets a request.
    for i in range(32):
        url = "/api/v1/endpoints/web/a/drain" if i % 2 else "/api/v1/status"
        body = HTTP_BODY if i % 3 else "[1,2"
        write("fuzz_ctl", "s-http-%02d" % i,
              b"\1" + bytes([i]) + ("%s\n%s\n%s" % (url, HTTP_QUERY, body)).encode())


def response(qname, rdtype, rcode="NOERROR", answer=(), authority=(), additional=(),
             ecs=None, aa=True):
    q = dns.message.make_query(qname, rdtype, use_edns=0, payload=1232,
                               options=[ecs] if ecs else None)
    r = dns.message.make_response(q)
    r.set_rcode(dns.rcode.from_text(rcode))
    if not aa:
        r.flags &= ~dns.flags.AA
    else:
        r.flags |= dns.flags.AA
    for sec, rrs in ((r.answer, answer), (r.authority, authority), (r.additional, additional)):
        for text in rrs:
            name, ttl, rdt, *rd = text.split()
            sec.append(dns.rrset.from_text(name, int(ttl), "IN", rdt, " ".join(rd)))
    return r.to_wire()


def resolver_seeds():
    soa = "example.com. 300 SOA ns1.example.com. host.example.com. 1 7200 900 1209600 60"
    ecs = dns.edns.ECSOption("192.0.2.0", 24, 16)
    seeds = {
        "a": response("www.example.com.", "A", answer=["www.example.com. 60 A 192.0.2.1"]),
        "cname": response("WwW.ExAmPle.CoM.", "A", answer=[
            "www.example.com. 60 CNAME web.example.com.", "web.example.com. 60 A 192.0.2.2"]),
        "referral": response("www.example.com.", "A", aa=False, authority=[
            "example.com. 172800 NS ns1.example.com.", "example.com. 172800 NS ns2.example.net."],
            additional=["ns1.example.com. 172800 A 192.0.2.53",
                        "ns1.example.com. 172800 AAAA 2001:db8::53"]),
        "nxdomain": response("nx.example.com.", "A", rcode="NXDOMAIN", authority=[soa]),
        "nodata": response("www.example.com.", "MX", authority=[soa]),
        "mx-srv": response("example.com.", "ANY", answer=[
            "example.com. 60 MX 10 mail.example.com.",
            "_sip._udp.example.com. 60 SRV 1 2 5060 sip.example.com.", soa,
            "example.com. 60 TXT hello", "example.com. 60 PTR ptr.example.com.",
            "dn.example.com. 60 DNAME example.net."]),
        "ecs": response("www.example.com.", "A", answer=["www.example.com. 20 A 192.0.2.3"],
                        ecs=ecs),
        "servfail": response("www.example.com.", "A", rcode="SERVFAIL"),
    }
    for name, wire in seeds.items():
        write("fuzz_resolver", "s-" + name, wire)


def main():
    conf_seeds()
    ctl_seeds()
    resolver_seeds()
    return 0


if __name__ == "__main__":
    sys.exit(main())
