/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * vane-resolver's schema table.  Same machinery as vaned's (conf/schema.c):
 * a new setting is a new entry here.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf/resolver_conf.h"
#include "conf/schema.h"

#define R(field) offsetof(struct resolver_conf, field)

int rconf_parse_size(const char *s, uint64_t *out)
{
	char num[32];
	size_t n = 0;
	uint64_t v, mul = 1;

	while (isdigit((unsigned char)s[n]) && n < sizeof(num) - 1) {
		num[n] = s[n];
		n++;
	}
	num[n] = '\0';
	if (n == 0 || conf_parse_uint(num, &v) != 0)
		return VANE_EINVAL;
	switch (s[n]) {
	case '\0': break;
	case 'k': case 'K': mul = 1ull << 10; n++; break;
	case 'm': case 'M': mul = 1ull << 20; n++; break;
	case 'g': case 'G': mul = 1ull << 30; n++; break;
	default: return VANE_EINVAL;
	}
	if (s[n] != '\0')
		return VANE_EINVAL;
	if (v > UINT64_MAX / mul)
		return VANE_ERANGE;
	*out = v * mul;
	return 0;
}

int rconf_parse_net(const char *s, struct rconf_net *out)
{
	char buf[64];
	const char *slash = strchr(s, '/');
	size_t len = slash ? (size_t)(slash - s) : strlen(s);
	unsigned max;

	if (len >= sizeof(buf))
		return VANE_EINVAL;
	memcpy(buf, s, len);
	buf[len] = '\0';
	memset(out, 0, sizeof(*out));
	if (inet_pton(AF_INET, buf, out->addr) == 1) {
		out->family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, buf, out->addr) == 1) {
		out->family = AF_INET6;
		max = 128;
	} else {
		return VANE_EINVAL;
	}
	out->prefix = max;
	if (slash) {
		uint64_t p;
		if (conf_parse_uint(slash + 1, &p) != 0 || p > max)
			return VANE_EINVAL;
		out->prefix = (unsigned)p;
	}
	return 0;
}

static bool check_size(void *base, const struct conf_item *item, char *msg, size_t msgsize)
{
	struct resolver_conf *c = base;
	if (rconf_parse_size(c->cache_size_text, &c->cache_size) != 0 ||
	    c->cache_size < 65536) {
		snprintf(msg, msgsize, "expected a size of at least 64k such as \"64M\"");
		return false;
	}
	return true;
}

static bool check_net(void *base, const struct conf_item *item, char *msg, size_t msgsize)
{
	struct rconf_net n;
	const char *s = *(char **)base;
	if (rconf_parse_net(s, &n) != 0) {
		snprintf(msg, msgsize, "expected an address or network such as \"10.0.0.0/8\"");
		return false;
	}
	return true;
}

static const char *default_ncpu(char *buf, size_t size)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	snprintf(buf, size, "%ld", n < 1 ? 1 : n > 64 ? 64 : n);
	return buf;
}

static const char *const log_levels[] = { "error", "warning", "info", "debug", NULL };

static const struct conf_item listen_elem = {
	.name = "listen", .type = CONF_LISTEN, .flags = CONF_UNIQUE,
};

static const struct conf_item allow_elem = {
	.name = "allow", .type = CONF_STR, .check = check_net,
};

static const struct conf_item server_items[] = {
	{ .name = "listen", .type = CONF_LIST, .offset = R(listen),
	  .count_off = R(nlisten), .elem = &listen_elem, .elem_size = sizeof(struct conf_listen),
	  .min = 1, .def = "127.0.0.1@53",
	  .help = "Addresses to serve DNS on (UDP and TCP), each \"ADDR@PORT\" or \"ADDR\"." },
	{ .name = "udp-workers", .type = CONF_UINT, .offset = R(udp_workers),
	  .min = 1, .max = 64, .def_fn = default_ncpu, .def_doc = "number of online CPUs",
	  .help = "UDP worker threads answering cache hits, each with its own "
		  "SO_REUSEPORT socket." },
	{ .name = "tcp-idle-timeout", .type = CONF_DURATION, .offset = R(tcp_idle_timeout_ms),
	  .min = 100, .max = 86400 * 1000, .def = "10s",
	  .help = "Close a client TCP connection idle for this long (RFC 7766 6.2.3)." },
	{ .name = "control", .type = CONF_PATH, .offset = R(control),
	  .def = "run/resolver.sock",
	  .help = "Unix socket for vanectl." },
	{ .name = "log-level", .type = CONF_ENUM, .offset = R(log_level),
	  .values = log_levels, .def = "info",
	  .help = "Least severe message written to the log." },
	{ NULL },
};

/* ---- forward:, stub:, zones-ttl: ---- */

#define RZ(field) offsetof(struct rconf_zone, field)
#define RT(field) offsetof(struct rconf_zone_ttl, field)

static const struct conf_item zone_to_elem = {
	.name = "to", .type = CONF_LISTEN,
};

static const struct conf_item forward_items[] = {
	{ .name = "zone", .type = CONF_DNAME, .flags = CONF_REQUIRED | CONF_UNIQUE,
	  .offset = RZ(zone),
	  .help = "Names at or below this zone are sent to `to`." },
	{ .name = "to", .type = CONF_LIST, .flags = CONF_REQUIRED, .offset = RZ(to),
	  .count_off = RZ(nto), .elem = &zone_to_elem,
	  .elem_size = sizeof(struct conf_listen), .min = 1, .max = RCONF_ZONE_MAXTO,
	  .help = "Servers, each \"ADDR@PORT\" or \"ADDR\" (port 53), fastest first." },
	{ NULL },
};

static const struct conf_item forward_elem = {
	.name = "forward", .type = CONF_MAP, .flags = CONF_LINE, .children = forward_items,
	.line_off = RZ(line),
};

static const struct conf_item stub_elem = {
	.name = "stub", .type = CONF_MAP, .flags = CONF_LINE, .children = forward_items,
	.line_off = RZ(line),
};

static const struct conf_item zone_ttl_items[] = {
	{ .name = "zone", .type = CONF_DNAME, .flags = CONF_REQUIRED | CONF_UNIQUE,
	  .offset = RT(zone),
	  .help = "Names at or below this zone get this entry's min-ttl." },
	{ .name = "min-ttl", .type = CONF_DURATION, .flags = CONF_REQUIRED,
	  .offset = RT(min_ttl_ms), .min = 0, .max = 86400 * 1000u,
	  .help = "Floor for their cached positive TTLs, instead of resolver.min-ttl." },
	{ NULL },
};

static const struct conf_item zone_ttl_elem = {
	.name = "zones-ttl", .type = CONF_MAP, .flags = CONF_LINE, .children = zone_ttl_items,
	.line_off = RT(line),
};

static const struct conf_item resolver_items[] = {
	{ .name = "root-hints", .type = CONF_PATH, .offset = R(root_hints),
	  .def = RCONF_DEFAULT_HINTS,
	  .help = "Root hints in master file format (NS and A/AAAA records for the root)." },
	{ .name = "cache-size", .type = CONF_STR, .offset = R(cache_size_text), .def = "64M",
	  .check = check_size,
	  .help = "Most memory the cache may hold, e.g. \"64M\"; least recently used "
		  "entries are evicted beyond it." },
	{ .name = "min-ttl", .type = CONF_DURATION, .offset = R(min_ttl_ms),
	  .min = 0, .max = 86400 * 1000u, .def = "0",
	  .help = "Floor for cached TTLs (bare numbers are seconds)." },
	{ .name = "max-ttl", .type = CONF_DURATION, .offset = R(max_ttl_ms),
	  .min = 1000, .max = 7 * 86400 * 1000u, .def = "86400",
	  .help = "Ceiling for cached TTLs." },
	{ .name = "negative-max-ttl", .type = CONF_DURATION, .offset = R(neg_max_ttl_ms),
	  .min = 0, .max = 86400 * 1000u, .def = "3600",
	  .help = "Ceiling for NXDOMAIN and NODATA TTLs (RFC 2308)." },
	{ .name = "serve-stale", .type = CONF_BOOL, .offset = R(serve_stale), .def = "on",
	  .help = "Answer from expired entries with TTL 30 when every authority fails "
		  "(RFC 8767)." },
	{ .name = "stale-max-age", .type = CONF_DURATION, .offset = R(stale_max_age_ms),
	  .min = 0, .max = 30 * 86400 * 1000u, .def = "1d",
	  .help = "How long past expiry an entry may still be served stale." },
	{ .name = "prefetch", .type = CONF_BOOL, .offset = R(prefetch), .def = "on",
	  .help = "Refresh popular entries shortly before they expire." },
	{ .name = "ecs", .type = CONF_BOOL, .offset = R(ecs), .def = "off",
	  .help = "Send the client's subnet to authorities (RFC 7871) and cache answers "
		  "by the scope they return." },
	{ .name = "ecs-prefix-v4", .type = CONF_UINT, .offset = R(ecs_prefix_v4),
	  .min = 0, .max = 32, .def = "24",
	  .help = "Bits of an IPv4 client address sent upstream." },
	{ .name = "ecs-prefix-v6", .type = CONF_UINT, .offset = R(ecs_prefix_v6),
	  .min = 0, .max = 128, .def = "56",
	  .help = "Bits of an IPv6 client address sent upstream." },
	{ .name = "qname-minimisation", .type = CONF_BOOL, .offset = R(qname_min), .def = "on",
	  .help = "Send authorities only the labels they need (RFC 9156, relaxed)." },
	{ .name = "allow", .type = CONF_LIST, .offset = R(allow), .count_off = R(nallow),
	  .elem = &allow_elem, .elem_size = sizeof(char *),
	  .help = "Client networks that get recursion; others get REFUSED. "
		  "Default: loopback (127.0.0.0/8 and ::1)." },
	{ .name = "max-upstream-queries", .type = CONF_UINT, .offset = R(max_upstream),
	  .min = 4, .max = 1000, .def = "20",
	  .help = "Work limit: upstream queries per client query, against NXNS and "
		  "cyclic delegations." },
	{ .name = "upstream-timeout", .type = CONF_DURATION, .offset = R(upstream_timeout_ms),
	  .min = 10, .max = 10000, .def = "800ms",
	  .help = "Wait for an authority's answer before trying another (real time, also "
		  "under fake-time)." },
	{ .name = "upstream-port", .type = CONF_UINT, .flags = CONF_RESTART,
	  .offset = R(upstream_port),
	  .min = 1, .max = 65535, .def = "53",
	  .help = "Port of the authorities found by iteration (root hints, referrals); "
		  "tests run private internets on another port. forward: and stub: "
		  "servers carry their own." },
	{ .name = "forward", .type = CONF_LIST, .flags = CONF_RESTART, .offset = R(forward), .count_off = R(nforward),
	  .elem = &forward_elem, .elem_size = sizeof(struct rconf_zone),
	  .help = "Forward zones: queries at or below `zone` go with RD=1 to the "
		  "resolvers in `to`, without iteration. Default: none." },
	{ .name = "stub", .type = CONF_LIST, .flags = CONF_RESTART, .offset = R(stub), .count_off = R(nstub),
	  .elem = &stub_elem, .elem_size = sizeof(struct rconf_zone),
	  .help = "Stub zones: names at or below `zone` are iterated (RD=0) starting "
		  "from the authorities in `to` instead of the root. The longest "
		  "matching forward: or stub: zone wins. Default: none." },
	{ .name = "zones-ttl", .type = CONF_LIST, .flags = CONF_RESTART, .offset = R(zones_ttl),
	  .count_off = R(nzones_ttl), .elem = &zone_ttl_elem,
	  .elem_size = sizeof(struct rconf_zone_ttl),
	  .help = "Per-zone min-ttl: `{ zone: example.com, min-ttl: 300 }` floors "
		  "positive TTLs of names at or below the zone (the longest match wins) "
		  "instead of min-ttl. Default: none." },
	{ .name = "fake-time", .type = CONF_BOOL, .offset = R(fake_time), .def = "false",
	  .help = "Tests only: the clock moves only with `vanectl time +SECONDS`." },
	{ NULL },
};

static const struct conf_item root_items[] = {
	{ .name = "server", .type = CONF_MAP, .children = server_items,
	  .help = "Listening and control." },
	{ .name = "resolver", .type = CONF_MAP, .children = resolver_items,
	  .help = "Recursion and cache." },
	{ NULL },
};

static const struct conf_item resolver_root = {
	.name = "", .type = CONF_MAP, .children = root_items,
};

static void stderr_err(void *ctx, const char *file, unsigned long line, const char *msg)
{
	if (line)
		fprintf(stderr, "%s:%lu: %s\n", file, line, msg);
	else
		fprintf(stderr, "%s: %s\n", file, msg);
}

static int parse_nets(struct resolver_conf *c)
{
	static const char *const loopback[] = { "127.0.0.0/8", "::1/128" };
	unsigned n = c->nallow ? c->nallow : 2;
	c->nets = calloc(n, sizeof(*c->nets));
	if (!c->nets)
		return VANE_ENOMEM;
	for (unsigned i = 0; i < n; i++) {
		const char *s = c->nallow ? c->allow[i] : loopback[i];
		if (rconf_parse_net(s, &c->nets[i]) != 0)
			return VANE_EINVAL;
	}
	c->nnets = n;
	return 0;
}

static void err_at(vane_report_fn err, void *ctx, const char *file, unsigned line,
		   const char *fmt, const char *zone)
{
	char msg[512];
	snprintf(msg, sizeof(msg), fmt, zone);
	err(ctx, file, line, msg);
}

/* Cross-field checks of forward:, stub: and zones-ttl: (each list's own
 * duplicates are caught by CONF_UNIQUE).  Returns the number of errors. */
static unsigned check_zones(const struct resolver_conf *c, const char *file,
			    vane_report_fn err, void *ctx)
{
	unsigned errors = 0;
	for (unsigned i = 0; i < c->nstub; i++)
		for (unsigned j = 0; j < c->nforward; j++)
			if (!strcmp(c->stub[i].zone, c->forward[j].zone)) {
				err_at(err, ctx, file, c->stub[i].line,
				       "stub zone %s is also a forward zone", c->stub[i].zone);
				errors++;
			}
	for (unsigned i = 0; i < c->nzones_ttl; i++)
		if (c->zones_ttl[i].min_ttl_ms > c->max_ttl_ms) {
			err_at(err, ctx, file, c->zones_ttl[i].line,
			       "zones-ttl %s: min-ttl is above max-ttl", c->zones_ttl[i].zone);
			errors++;
		}
	return errors;
}

/* Load `text` as the config at `path`; `abs` (taken) is its absolute path. */
static int load_text(const char *path, char *abs, const char *text, size_t len,
		     vane_report_fn err, void *ctx, struct resolver_conf **out)
{
	int ret = VANE_ENOMEM;
	struct resolver_conf *c = calloc(1, sizeof(*c));

	if (!c) {
		free(abs);
		return VANE_ENOMEM;
	}
	c->path = abs;
	if (!abs)
		goto fail;
	c->dir = strdup(abs);
	if (!c->dir)
		goto fail;
	char *slash = strrchr(c->dir, '/');
	if (slash)
		slash[slash == c->dir ? 1 : 0] = '\0';
	ret = conf_parse_schema_text(&resolver_root, path, c->dir, text, len, err, ctx, c);
	if (ret != 0)
		goto fail;
	if (c->min_ttl_ms > c->max_ttl_ms) {
		err(ctx, path, 0, "min-ttl is above max-ttl");
		ret = VANE_ESYNTAX;
		goto fail;
	}
	if (check_zones(c, path, err, ctx) != 0) {
		ret = VANE_ESYNTAX;
		goto fail;
	}
	ret = parse_nets(c);
	if (ret != 0)
		goto fail;
	*out = c;
	return 0;
fail:
	resolver_conf_free(c);
	return ret;
}

int resolver_conf_load(const char *path, vane_report_fn err, void *ctx,
		       struct resolver_conf **out)
{
	char *text = NULL;
	size_t len = 0;

	if (!err)
		err = stderr_err;
	char *abs = realpath(path, NULL);
	if (!abs) {
		int ret = -errno;
		err(ctx, path, 0, vane_strerror(ret));
		return ret;
	}
	int ret = conf_read_file(path, err, ctx, &text, &len);
	if (ret != 0) {
		free(abs);
		return ret;
	}
	ret = load_text(path, abs, text, len, err, ctx, out);
	free(text);
	return ret;
}

int resolver_conf_load_text(const char *path, const char *text, size_t len,
			    vane_report_fn err, void *ctx, struct resolver_conf **out)
{
	char cwd[4096];

	if (!err)
		err = stderr_err;
	/* Lexically absolute: there need be no file to resolve. */
	if (path[0] != '/' && !getcwd(cwd, sizeof(cwd)))
		return -errno;
	return load_text(path, conf_path_join(path[0] == '/' ? "" : cwd, path), text, len,
			 err, ctx, out);
}

void resolver_conf_restart_changes(const struct resolver_conf *a,
				   const struct resolver_conf *b,
				   void (*fn)(void *ctx, const char *key), void *ctx)
{
	conf_restart_changes(&resolver_root, a, b, fn, ctx);
}

void resolver_conf_free(struct resolver_conf *c)
{
	if (!c)
		return;
	conf_free_schema(&resolver_root, c);
	free(c->nets);
	free(c->path);
	free(c->dir);
	free(c);
}
