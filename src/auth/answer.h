/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The authoritative answer path: query bytes plus a zone snapshot in,
 * response bytes out.  Pure: no I/O, no clock, no locks, no allocation.
 * Follows RFC 1034 4.3.2 with RFC 2308 (negative answers), RFC 4592
 * (wildcards), RFC 6891 (EDNS) and RFC 8482 (minimal ANY); where the RFCs
 * leave room it behaves as Knot DNS does.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sys/socket.h>

#include "geo/geo.h"
#include "lib/cookie.h"
#include "lib/pkt.h"
#include "steer/latency.h"
#include "steer/set.h"
#include "zone/zonedb.h"

/* Answer-path settings from the configuration. */
struct auth_conf {
	uint16_t max_udp;        /* largest UDP response we send (default 1232) */
	uint8_t nsid_len;        /* 0 = NSID disabled */
	uint8_t nsid[64];
	const char *identity;    /* CH TXT id.server / hostname.bind, NULL = REFUSED */
	const char *version;     /* CH TXT version.server / version.bind, NULL = REFUSED */
	/* DNS cookies (RFC 7873, RFC 9018); need auth_client.cookie_mac too. */
	bool cookies;            /* answer COOKIE options with a server cookie */
	bool require_cookie;     /* UDP without a valid server cookie: BADCOOKIE */
	uint32_t cookie_rotate_s; /* secret rotation interval; 0 = never */
	uint8_t cookie_secret[COOKIE_SECRET_LEN]; /* master secret */
};

/*
 * Steering state the query path reads: every pointer is an immutable
 * snapshot (or NULL), published by the server with RCU.
 */
struct auth_steer {
	const struct steer_set *set;            /* steered names; NULL = none */
	/* Services a reload deleted within the deletion-guard window: only
	 * their names and TTLs are used, to cap negative TTLs as if they were
	 * still steered (the zombie outage after a forced delete); NULL = none. */
	const struct steer_set *removed;
	const struct steer_health *health;      /* NULL = every endpoint up */
	const struct steer_admin *const *admin; /* per service index; NULL entries = defaults */
	const struct geo_db *geo;               /* NULL = no geo data */
	const struct steer_latency_table *latency; /* NULL = no latency data */
};

/* Per-query facts about the asker, supplied by the transport. */
struct auth_client {
	const struct sockaddr *src;  /* query source; NULL = unknown */
	uint64_t now_ms;             /* wall clock, read once per batch */
	uint64_t rand;               /* fresh random bits for this query */
	struct geo_cache *geo_cache; /* this thread's cache; may be NULL */
	struct steer_trace *trace;   /* explain only; NULL on the query path */
	struct cookie_mac *cookie_mac; /* this thread's; NULL = no server cookies */
};

#define AUTH_RESULT_EPS 8

/* The shape of an answer, for response rate limiting. */
enum auth_kind {
	AUTH_ANSWER = 0,         /* records in the answer section */
	AUTH_NODATA,             /* the name exists, the type does not */
	AUTH_NXDOMAIN,
	AUTH_REFERRAL,           /* a delegation to a child zone */
	AUTH_ERROR,              /* REFUSED, FORMERR, NOTIMP, SERVFAIL, ... */
};

/* What the server needs to know about an answer, for statistics. */
struct auth_result {
	uint16_t qtype;
	uint8_t rcode;           /* full rcode, extended included */
	bool tc;
	int32_t service;         /* steered service answered, or -1 */
	bool fallback;           /* the service's all-down handling fired */
	bool all_drained;        /* all-down open with every endpoint drained:
				  * answered as empty (the runtime logs it) */
	uint8_t scope;           /* ECS scope returned */
	bool xfr;                /* AXFR/IXFR or a TSIG-signed query: the transport
				  * passes it to serve/xfr.c */
	uint8_t n_ep;            /* endpoints in the answer (first AUTH_RESULT_EPS) */
	uint8_t ep[AUTH_RESULT_EPS];
	uint8_t kind;            /* enum auth_kind */
	bool wildcard;           /* synthesised from a wildcard (RFC 4592) */
	uint8_t cookie;          /* enum cookie_status of the query's COOKIE option */
	uint16_t qend;           /* response offset just past the question */
	uint16_t opt_off;        /* response offset of the OPT RR; 0 = none */
	const struct znode *node; /* the node the query named (the wildcard
				   * that answered it), for the deletion guard;
				   * NULL for NXDOMAIN, referrals, errors */
};

/*
 * Answer `query` (`qlen` bytes) into `out` (`outcap` bytes, at least 512;
 * 65535 for TCP).  `tcp` lifts the UDP size limit.  `steer` and `client`
 * may be NULL (nothing is steered).  Returns the response length, or 0
 * when the packet must be dropped silently.
 */
size_t auth_answer(const struct zone_db *db, const struct auth_conf *conf,
		   const struct auth_steer *steer, const struct auth_client *client,
		   const uint8_t *query, size_t qlen, bool tcp,
		   uint8_t *out, size_t outcap, struct auth_result *res);
