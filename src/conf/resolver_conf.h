/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * vane-resolver's configuration: its own schema table (conf/resolver_schema.c)
 * on the same machinery as vaned's (conf/schema.h), so parsing, `--check`
 * and error messages (`file:line: message`) behave the same.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "conf/conf.h"
#include "lib/report.h"

/* An `allow:` network, parsed. */
struct rconf_net {
	int family;                      /* AF_INET or AF_INET6 */
	uint8_t addr[16];
	unsigned prefix;
};

/* A `forward:` or `stub:` entry: where queries at or below `zone` go. */
#define RCONF_ZONE_MAXTO 13              /* as many servers as a cut keeps */
struct rconf_zone {
	char *zone;                      /* presentation: lower case, final dot */
	struct conf_listen *to;          /* "ADDR@PORT" or "ADDR" (port 53) */
	unsigned nto;
	unsigned line;                   /* of the entry, for cross-checks */
};

/* A `zones-ttl:` entry: a min-ttl for names at or below `zone`. */
struct rconf_zone_ttl {
	char *zone;
	unsigned min_ttl_ms;
	unsigned line;
};

struct resolver_conf {
	char *path;                      /* absolute */
	char *dir;

	/* server: */
	struct conf_listen *listen;
	unsigned nlisten;
	unsigned udp_workers;
	unsigned tcp_idle_timeout_ms;
	char *control;
	char *log_level;

	/* resolver: */
	char *root_hints;
	char *cache_size_text;
	uint64_t cache_size;             /* bytes, from cache_size_text */
	unsigned min_ttl_ms, max_ttl_ms, neg_max_ttl_ms, stale_max_age_ms;
	bool serve_stale;
	bool prefetch;
	bool ecs;
	unsigned ecs_prefix_v4, ecs_prefix_v6;
	bool qname_min;
	char **allow;
	unsigned nallow;
	struct rconf_net *nets;          /* parsed allow, or loopback by default */
	unsigned nnets;
	bool fake_time;
	unsigned max_upstream;           /* work limit per client query */
	unsigned upstream_timeout_ms;
	unsigned upstream_port;          /* of authorities found by iteration */
	struct rconf_zone *forward;      /* RD=1 to resolvers, no iteration */
	unsigned nforward;
	struct rconf_zone *stub;         /* iterate from these authorities */
	unsigned nstub;
	struct rconf_zone_ttl *zones_ttl;
	unsigned nzones_ttl;
};

/* Where the shipped IANA hints are installed. */
#define RCONF_DEFAULT_HINTS "/etc/vane/root.hints"

/* Load and validate `path`; problems go to `err` (NULL: stderr). */
int resolver_conf_load(const char *path, vane_report_fn err, void *ctx,
		       struct resolver_conf **out) VANE_WUR;
/* The same from `len` bytes of YAML in memory, as if read from `path`;
 * resolver_conf_load() reads the file and ends in the same code. */
int resolver_conf_load_text(const char *path, const char *text, size_t len,
			    vane_report_fn err, void *ctx, struct resolver_conf **out) VANE_WUR;
void resolver_conf_free(struct resolver_conf *conf);

/* Call `fn` with the dotted key of each restart-only setting (forward:,
 * stub:, zones-ttl:, upstream-port:) that differs between `a` and `b`. */
void resolver_conf_restart_changes(const struct resolver_conf *a,
				   const struct resolver_conf *b,
				   void (*fn)(void *ctx, const char *key), void *ctx);

/* Parse "10.0.0.0/8", "::1/128" or a bare address.  Returns 0 or VANE_EINVAL. */
int rconf_parse_net(const char *s, struct rconf_net *out);
/* Parse "64M", "1G", "512k", "1000000".  Returns 0 or VANE_EINVAL/ERANGE. */
int rconf_parse_size(const char *s, uint64_t *out);
