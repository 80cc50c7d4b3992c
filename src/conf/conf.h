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
#define CONF_COOKIE_SECRET_LEN 16 /* SipHash-2-4 key (RFC 9018 4.4) */

/* A listen address, "ADDR@PORT" (or "ADDR" for port 53). */
struct conf_listen {
	char *text;                      /* as written */
	struct sockaddr_storage addr;
	socklen_t addrlen;
};

/* A TSIG key (`keys:`); the secret is decoded by conf_check_xfr. */
#define CONF_SECRET_MAX 256
struct conf_key {
	char *id;                        /* also the key name on the wire */
	char *algorithm;                 /* hmac-sha256 | hmac-sha512 */
	char *secret;                    /* base64 */
	char *secret_file;               /* resolved; a file holding the base64 secret */
	uint8_t secret_data[CONF_SECRET_MAX];
	unsigned secret_len;
	unsigned line;
};

/* An `allow-transfer:` entry: an address or prefix, and an optional key. */
struct conf_acl {
	char *address;                   /* "ADDR" or "ADDR/LEN" */
	char *key;                       /* id in keys:, or NULL */
	struct sockaddr_storage addr;    /* parsed by conf_check_xfr */
	unsigned prefix;                 /* bits */
	int key_index;                   /* into keys, or -1 */
	unsigned line;
};

/* A `notify:` entry: "ADDR@PORT", or a map with the key that signs it. */
struct conf_notify {
	struct conf_listen address;
	char *key;                       /* id in keys:, or NULL: as allow-transfer */
	int key_index;                   /* into keys, or -1; set by conf_check_xfr */
	unsigned line;
};

struct conf_zone {
	char *name;                      /* apex, presentation form */
	char *file;                      /* resolved against the config's directory */
	struct conf_notify *notify;      /* secondaries told of every new serial */
	unsigned nnotify;
	struct conf_acl *allow_transfer;
	unsigned nallow_transfer;
	char *export;                    /* steered names in transfers: open | healthy | none */
	unsigned export_interval_ms;     /* healthy: 0 = the server's export-interval */
	unsigned journal_max_mb;         /* IXFR journal bound; 0 = no journal */
	char *catalog_role;              /* none | generate (RFC 9432 producer) */
	char *catalog_zone;              /* the catalog listing this zone, or NULL */
	bool catalog;                    /* catalog_role is generate (no file) */
	bool zonemd;                     /* add a ZONEMD at load (RFC 8976) */
	/* A secondary zone: transferred from these primaries instead of read
	 * from `file:`; `file` is then set to its saved copy in state-dir. */
	struct conf_listen *primary;
	unsigned nprimary;
	char *key;                       /* TSIG key id for the transfers, or NULL */
	int key_index;                   /* into keys, or -1 */
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

/* A second DNS provider that vaned keeps in step (`providers:`,
 * conf/providers.c; docs/providers.md). */
struct conf_provider {
	char *name;                      /* unique; names it in vanectl and metrics */
	char *type;                      /* powerdns */
	char *api;                       /* HTTP API base URL, "http://127.0.0.1:8081" */
	char *api_key_file;              /* resolved; holds the X-API-Key */
	char *server_id;                 /* PowerDNS server id, default localhost */
	char **zones;                    /* canonical names; each one of vaned's zones */
	unsigned nzones;
	struct conf_listen dns;          /* where it answers DNS; text NULL: no DNS checks */
	unsigned drift_interval_ms;
	char **drift_subnets;            /* ECS samples, "ADDR/LEN"; none: random /24s */
	unsigned ndrift_subnets;
	unsigned drift_samples;          /* ECS queries per steered name per round */
	unsigned drift_threshold;        /* mismatching rounds before the alert */
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
	unsigned deletion_guard_ms;      /* default 15m; 0 = off */
	unsigned export_interval_ms;     /* export: healthy, default 30s */
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
	char *http_lab_reports;          /* resolved; vane-lab's reports; NULL = not served */

	/* dnstap: dnstap_socket NULL = off. */
	char *dnstap_socket;
	unsigned dnstap_sample;          /* log 1 in N queries, default 1 */
	bool dnstap_log_queries, dnstap_log_responses;
	char *dnstap_identity;           /* NULL = the host name */
	char *dnstap_version;            /* NULL = "vaned VERSION" */

	struct conf_zone *zones;
	unsigned nzones;

	struct conf_key *keys;           /* TSIG keys for transfers and NOTIFY */
	unsigned nkeys;

	/* geo: both NULL when the section is absent (the database is then
	 * GEO_DEFAULT_DB, opened only when a service needs it). */
	char *geo_database;
	char *geo_nets;

	/* latency: */
	char *latency_file;              /* NULL = no latency table at start */

	/* rrl: response rate limiting of UDP answers (serve/rrl.h). */
	unsigned rrl_rate;               /* answers/s per bucket; 0 = off; default 200 */
	unsigned rrl_slip;               /* default 2 */
	unsigned rrl_ipv4_prefix;        /* default 24 */
	unsigned rrl_ipv6_prefix;        /* default 56 */
	char **rrl_exempt;               /* "ADDR/LEN" or "ADDR", validated */
	unsigned rrl_nexempt;
	unsigned rrl_table_size;         /* buckets; default 65536 */

	/* cookies: DNS cookies (RFC 7873, RFC 9018; lib/cookie.h). */
	bool cookies_enabled;            /* default true */
	char *cookie_secret;             /* 32 hex digits as written; NULL = random at start */
	uint8_t cookie_secret_data[CONF_COOKIE_SECRET_LEN]; /* decoded when given */
	bool cookie_has_secret;
	unsigned cookie_rotate_ms;       /* default 1d */
	bool require_cookie;             /* default false */

	struct conf_check *checks;
	unsigned nchecks;
	struct conf_service *services;
	unsigned nservices;

	/* anycast: off when no address is given (docs/anycast.md).  The
	 * addresses also join `listen` (conf_load), so vaned answers on them. */
	struct conf_listen *anycast_addr;
	unsigned nanycast_addr;
	char *anycast_bird_socket;       /* resolved; default /run/bird/bird.ctl */
	char *anycast_protocol;          /* the BIRD static protocol, default "anycast" */
	char *anycast_uplink;            /* a BIRD BGP protocol that must be up; NULL = none */
	char *anycast_check_name;        /* canary asked through the anycast address */
	unsigned anycast_check_interval_ms, anycast_check_timeout_ms;
	unsigned anycast_check_rise, anycast_check_fall;
	unsigned anycast_hold_down_ms;
	unsigned anycast_drain_ms;
	unsigned anycast_bird_timeout_ms;
	char **anycast_peers;            /* base URLs of other sites' HTTP APIs */
	unsigned nanycast_peers;
	/* cluster: cluster_name NULL = one node on its own (no etcd). */
	char *cluster_name;              /* key prefix /vane/NAME/ */
	char *cluster_node;              /* unique per node */
	char **cluster_etcd;             /* etcd client URLs */
	unsigned ncluster_etcd;
	char *cluster_quorum;            /* "majority" or a number of vantages */
	unsigned cluster_lease_ms;       /* TTL of the node's lease */

	struct conf_provider *providers; /* second providers (conf/providers.c) */
	unsigned nproviders;
	char *cluster_cert, *cluster_key;   /* TLS client certificate to etcd; NULL = none */
	char *cluster_ca;                /* CA bundle that signed etcd's; NULL = the system's */
};

/* What `file` says of a generated catalog zone (conf/catalog.c). */
#define CONF_CATALOG_FILE "(generated catalog)"

/* The key with this id, or -1. */
int conf_key_find(const struct vane_conf *conf, const char *id);

/* Problems are reported through a vane_report_fn (lib/report.h): `file` is
 * the path as given to conf_load; line 0 means the whole file. */

/*
 * Read and validate `path`.  Every problem goes to `err` (NULL: stderr).
 * Returns 0 and `*out`, or a negative VANE_E* code after reporting at least
 * one error.  Checks only the config itself, not the zone files.
 */
int conf_load(const char *path, vane_report_fn err, void *ctx,
	      struct vane_conf **out) VANE_WUR;
/* conf_load() of `len` bytes of YAML in memory, as if read from `path`
 * (relative paths in it resolve against path's folder).  conf_load() reads
 * the file and ends here; the fuzzer calls it without a file per input. */
int conf_load_text(const char *path, const char *text, size_t len, vane_report_fn err,
		   void *ctx, struct vane_conf **out) VANE_WUR;

void conf_free(struct vane_conf *conf);

/* Every setting the nodes of a fleet should share (all but the CONF_NODE
 * keys: addresses, paths of this node, its name), one `key=value` line each
 * in schema order: what a fleet's config digest is taken over. */
void conf_write_shared(FILE *out, const struct vane_conf *conf);

/* Write the configuration reference (vaned.conf(5) body) generated from the
 * schema table, in the given format: "man" (roff) or "md". */
void conf_write_reference(FILE *out, const char *format);
