#!/usr/bin/python3
"""Generate the steering benchmark data (deterministic): steergen.py OUTDIR HTTP_PORTS

Writes into OUTDIR:
  steer.example.zone    SOA, NS, `static` A (the static name); `api` and the
                        scale services svcN are steered (not in the zone)
  nets.txt              256 /24s 10.0.X.0/24 -> 8 countries on 5 continents
                        (vaned `geo: nets:`; the geo filter's data)
  static.txt api.txt    dnsperf query files (one name each, A)
  steer-api.yaml        vaned `services:` for api: 12 endpoints, 3 per country
                        in US, DE, JP, BR, policy [health, geo, weighted]
  scale-checks.yaml     vaned `checks:` + `services:` for the scale test:
  scale-nochecks.yaml   79 services, 5,000 endpoints (64 per service, the last
                        8), HTTP checks every 2 s against 127.x.y.z (one per endpoint) on the
                        HTTP_PORTS (comma list, round-robin per service); the
                        nochecks variant is the same without `check:`
  gdnsd-weighted.cfg    gdnsd plugins stanza: api = weighted, same 12 addresses
  gdnsd-geoip.cfg       gdnsd plugins stanza: api = geoip (nets-only map, the
                        same 256 /24s) -> weighted per datacenter
"""
import sys

ZONE = "steer.example"
# country, continent, lat, lon: the endpoints' and the nets' locations
COUNTRIES = [("US", "NA", 40.7, -74.0), ("DE", "EU", 50.1, 8.7),
             ("JP", "AS", 35.7, 139.7), ("BR", "SA", -23.5, -46.6),
             ("FR", "EU", 48.9, 2.4), ("CA", "NA", 43.7, -79.4),
             ("AU", "OC", -33.9, 151.2), ("GB", "EU", 51.5, -0.1)]
EP_COUNTRIES = COUNTRIES[:4]
WEIGHTS = [50, 30, 20]
SCALE_EPS = 5000
SCALE_PER_SVC = 64


def ep_addr(ci, j):
    return "192.0.%d.%d" % (2 + ci, 10 + j)


def zone():
    return "\n".join([
        "$ORIGIN %s." % ZONE, "$TTL 3600",
        "@ IN SOA ns1 hostmaster 2024010101 7200 3600 1209600 300",
        "@ IN NS ns1", "ns1 IN A 192.0.2.1",
        "static IN A 192.0.2.80", ""])


def nets():
    out = ["# CIDR CONTINENT COUNTRY LAT LON (bench/steergen.py)"]
    for x in range(256):
        c, cont, lat, lon = COUNTRIES[x % len(COUNTRIES)]
        out.append("10.0.%d.0/24 %s %s %.1f %.1f" % (x, cont, c, lat, lon))
    return "\n".join(out) + "\n"


def api_yaml():
    out = ["services:", "  - name: api.%s" % ZONE, "    ttl: 30",
           "    policy: [health, geo, weighted]", "    answers: 1",
           "    all-down: open", "    ecs: on", "    endpoints:"]
    for ci, (c, cont, lat, lon) in enumerate(EP_COUNTRIES):
        for j, w in enumerate(WEIGHTS):
            out += ["      - id: %s%d" % (c.lower(), j),
                    "        address: %s" % ep_addr(ci, j),
                    "        location: { continent: %s, country: %s, lat: %.1f, lon: %.1f }"
                    % (cont, c, lat, lon),
                    "        weight: %d" % w]
    return "\n".join(out) + "\n"


def scale_yaml(ports, checks):
    out = []
    if checks:
        out.append("checks:")
        for p in ports:
            out += ["  - id: web%d" % p, "    type: http", "    port: %d" % p,
                    "    path: /health", "    expect: 200", "    interval: 2s",
                    "    timeout: 1s", "    rise: 2", "    fall: 2"]
    out += api_yaml().splitlines()
    n, s = 0, 0
    while n < SCALE_EPS:
        k = min(SCALE_PER_SVC, SCALE_EPS - n)
        out += ["  - name: svc%d.%s" % (s, ZONE), "    ttl: 30",
                "    policy: [health, weighted]", "    answers: 1",
                "    all-down: open", "    endpoints:"]
        for e in range(k):
            out += ["      - id: e%d" % e,
                    "        address: 10.%d.%d.%d" % (100 + s // 256, s % 256, e + 1),
                    "        weight: 10"]
            if checks:
                # One address per endpoint: vaned shares a probe between
                # endpoints with the same check and address, so 127.0.0.1
                # everywhere would be 8 probes, not 5,000.
                i = n + e + 1
                out += ["        check: web%d" % ports[s % len(ports)],
                        "        check-address: 127.%d.%d.%d" % (
                            1 + (i >> 16), (i >> 8) & 255, i & 255)]
        n += k
        s += 1
    return "\n".join(out) + "\n"


def gdnsd_weighted_res(name, cis):
    lines = ["    %s => {" % name]
    for ci in cis:
        c = EP_COUNTRIES[ci][0]
        for j, w in enumerate(WEIGHTS):
            lines.append("      %s%d => [ %s, %d ]" % (c.lower(), j, ep_addr(ci, j), w))
    lines.append("    }")
    return lines


def gdnsd_weighted():
    # service_types => up: no monitoring (gdnsd's default would probe HTTP
    # port 80 and mark everything down); vaned's api has no checks either.
    out = ["plugins => {", "  weighted => {", "    service_types => up"]
    out += gdnsd_weighted_res("api", range(len(EP_COUNTRIES)))
    out += ["  }", "}"]
    return "\n".join(out) + "\n"


def gdnsd_geoip():
    dcs = [c.lower() for c, _, _, _ in EP_COUNTRIES]
    out = ["plugins => {", "  weighted => {", "    service_types => up"]
    for ci in range(len(EP_COUNTRIES)):
        out += gdnsd_weighted_res("api_" + dcs[ci], [ci])
    out += ["  }", "  geoip => {", "    maps => {", "      bench => {",
            "        datacenters => [ %s ]" % ", ".join(dcs), "        nets => {"]
    # Same data as nets.txt: countries with an endpoint map to their own
    # datacenter first; the others to the datacenters of their continent
    # (FR, GB -> de; CA -> us), then the rest, as vaned's geo filter does.
    cont_dc = {"NA": "us", "EU": "de", "AS": "jp", "SA": "br"}
    for x in range(256):
        c, cont, _, _ = COUNTRIES[x % len(COUNTRIES)]
        first = c.lower() if c.lower() in dcs else cont_dc.get(cont, "us")
        order = [first] + [d for d in dcs if d != first]
        out.append("          10.0.%d.0/24 => [ %s ]" % (x, ", ".join(order)))
    out += ["        }", "      }", "    }", "    resources => {", "      api => {",
            "        map => bench", "        dcmap => {"]
    for d in dcs:
        out.append("          %s => %%weighted!api_%s" % (d, d))
    out += ["        }", "      }", "    }", "  }", "}"]
    return "\n".join(out) + "\n"


def main():
    d = sys.argv[1]
    ports = [int(p) for p in sys.argv[2].split(",")]
    files = {"steer.example.zone": zone(), "nets.txt": nets(),
             "static.txt": "static.%s A\n" % ZONE, "api.txt": "api.%s A\n" % ZONE,
             "steer-api.yaml": api_yaml(),
             "scale-checks.yaml": scale_yaml(ports, True),
             "scale-nochecks.yaml": scale_yaml(ports, False),
             "gdnsd-weighted.cfg": gdnsd_weighted(), "gdnsd-geoip.cfg": gdnsd_geoip()}
    for name, text in files.items():
        with open("%s/%s" % (d, name), "w") as f:
            f.write(text)


if __name__ == "__main__":
    main()
