/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Vane's configuration: YAML read through one schema table (conf/schema.c)
 * into the structs below.  The same table drives validation (`vaned --check`),
 * the reference documentation, and error messages that name the key and the
 * line.  Unknown keys and bad values are errors; nothing is ignored.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>

#include "lib/errcode.h"
#include "lib/report.h"

#define CONF_NSID_MAX 64 /* what auth/answer.h carries */

/* A listen address, "ADDR@PORT" (or "ADDR" for port 53). */
struct conf_listen {
	char *text;                      /* as written */
	struct sockaddr_storage addr;
	socklen_t addrlen;
};

struct conf_zone {
	char *name;                      /* apex, presentation form */
	char *file;                      /* resolved against the config's directory */
	unsigned line;                   /* where the entry starts, for messages */
};

/* A health check template (`checks:`).  Type-specific values are checked
 * when loading (conf/services.c); defaults per type are resolved there. */
struct conf_check {
	char *id;
	char *type;                      /* tcp | http | https | dns | exec */
	unsigned port;                   /* 0 = the type's default (80, 443, 53) */
	char *path;                      /* http(s), default "/" */
	char *host;                      /* http(s) Host header / SNI; NULL = address */
	char *expect;                    /* http(s): status (default 200); dns: rcode name */
	char *body;                      /* http(s): substring the body must contain */
	char *query;                     /* dns: "NAME TYPE" */
	char *command;                   /* exec: {address} {port} {endpoint} {service} */
	unsigned interval_ms, timeout_ms;
	unsigned rise, fall;
	bool insecure;                   /* https: skip certificate verification */
	unsigned line;
};

/* An endpoint's location; codes are upper case, NULL when not given. */
struct conf_location {
	char *continent;
	char *country;
	double lat, lon;
	bool has_lat, has_lon;
};

struct conf_endpoint {
	char *id;                        /* unique within the service */
	char **address;                  /* IPv4/IPv6 text, validated */
	unsigned naddress;
	char *cname;                     /* instead of addresses (gdnsd DYNC style) */
	struct conf_location location;
	unsigned weight, priority, capacity;
	char *standby;                   /* auto | never */
	char *check;                     /* id of a `checks:` entry, or NULL */
	char *check_address;             /* what to probe; NULL = first address, v4 first */
	unsigned line;
};

struct conf_service {
	char *name;                      /* canonical presentation form */
	unsigned ttl, ttl_degraded;      /* ttl_degraded 0 = off */
	char *recovery;                  /* ramp | instant */
	unsigned *recovery_steps;        /* percentages; none given = 10,25,50,100 */
	unsigned nrecovery_steps;
	unsigned recovery_interval_ms;
	char **policy;                   /* filter names, in order */
	unsigned npolicy;                /* 0 in the file: [health, weighted] */
	unsigned answers;                /* 0 = all */
	char *all_down;                  /* open | empty | servfail */
	bool ecs;
	char *sticky;                    /* none | subnet */
	unsigned sticky_prefix_v4, sticky_prefix_v6;
	unsigned latency_margin_ms;
	double shed_low, shed_high;
	struct conf_endpoint *endpoints;
	unsigned nendpoints;
	unsigned line;
};

struct vane_conf {
	char *path;                      /* the config file itself, absolute */
	char *dir;                       /* its directory: base for relative paths */

	/* server: */
	struct conf_listen *listen;
	unsigned nlisten;
	unsigned udp_workers;            /* default: number of CPUs */
	unsigned tcp_workers;            /* reserved; TCP runs on one thread of its own */
	unsigned tcp_max_clients;        /* default 1000 */
	unsigned tcp_idle_timeout_ms;    /* default 10s */
	unsigned tcp_max_per_addr;       /* default 50 */
	unsigned tcp_first_query_ms;     /* default 2s */
	unsigned tcp_buffer_limit;       /* bytes; default 64 MiB */
	unsigned max_udp_payload;        /* default 1232 */
	char *control;                   /* control socket path, resolved; default run/vaned.sock */
	char *state_dir;                 /* resolved; default "state" next to the config */
	char *nsid;                      /* NULL = off; "hex:..." or text */
	uint8_t nsid_data[CONF_NSID_MAX];  /* nsid decoded: the EDNS NSID payload */
	unsigned nsid_len;               /* 0 = off */
	char *identity;                  /* CH TXT id.server; NULL = refuse */
	char *version;                   /* CH TXT version.server; NULL = refuse */
	char *log_level;                 /* error|warning|info|debug, default info */
	char *log_target;                /* stderr | syslog, default stderr */
	char *user;                      /* drop to this user after binding; NULL = stay */

	/* http: http_listen.text NULL = no HTTP API. */
	struct conf_listen http_listen;
	char *http_token_file;           /* resolved; NULL = writes refused */

	/* dnstap: dnstap_socket NULL = off. */
	char *dnstap_socket;
	unsigned dnstap_sample;          /* log 1 in N queries, default 1 */
	bool dnstap_log_queries, dnstap_log_responses;
	char *dnstap_identity;           /* NULL = the host name */
	char *dnstap_version;            /* NULL = "vaned VERSION" */

	struct conf_zone *zones;
	unsigned nzones;

	/* geo: both NULL when the section is absent (the database is then
	 * GEO_DEFAULT_DB, opened only when a service needs it). */
	char *geo_database;
	char *geo_nets;

	/* latency: */
	char *latency_file;              /* NULL = no latency table at start */

	struct conf_check *checks;
	unsigned nchecks;
	struct conf_service *services;
	unsigned nservices;
};

/* Problems are reported through a vane_report_fn (lib/report.h): `file` is
 * the path as given to conf_load; line 0 means the whole file. */

/*
 * Read and validate `path`.  Every problem goes to `err` (NULL: stderr).
 * Returns 0 and `*out`, or a negative VANE_E* code after reporting at least
 * one error.  Checks only the config itself, not the zone files.
 */
int conf_load(const char *path, vane_report_fn err, void *ctx,
	      struct vane_conf **out) VANE_WUR;

void conf_free(struct vane_conf *conf);

/* Write the configuration reference (vaned.conf(5) body) generated from the
 * schema table, in the given format: "man" (roff) or "md". */
void conf_write_reference(FILE *out, const char *format);
