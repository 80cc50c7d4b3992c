/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The replies' JSON, built from the C structs the layers below return:
 * endpoint rows (ops/), explain results (serve/), counters (serve/stats.h),
 * events, and the zone and status rows the daemon fills in.  The shapes are
 * documented in docs/api.md.
 */
#pragma once

#include "serve/notify.h"

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "anycast/anycast.h"
#include "ops/ops.h"
#include "serve/explain.h"
#include "serve/stats.h"

/* One endpoint row. */
json_t *encode_endpoint(const struct ops_ep_view *v);
/* `health`: every endpoint's row and the runtime's totals. */
json_t *encode_health(const struct ops_rt *rt, uint64_t now);
/* `{last_id, events: [...]}` with ids above `since`, oldest first, at most
 * `limit` (0: all in the ring). */
json_t *encode_events(const struct events *ev, uint64_t since, unsigned limit);
/* `explain`: rcode, scope, fallback, answer, service, trace, trace_text. */
json_t *encode_explain(const struct serve_explain *x, const struct ops_ep_view *rows,
		       unsigned nrows, uint64_t now);

/* `stats`: counters summed over `n` blocks (queries, rcode, qtype,
 * transport, dropped), NULL without memory; then the steering counters and
 * histograms with names from `view` (may be NULL). */
json_t *stats_to_json(struct srv_stats *const *blocks, unsigned n);
int stats_steer_json(json_t *out, struct srv_stats *const *blocks, unsigned n,
		     const struct serve_view *view) VANE_WUR;

/* A zone as `zone-status` and `reload` show it. */
#define CTL_MAX_SECONDARIES 16

struct ctl_zone_row {
	const char *name;                /* "example.com." */
	const char *file;
	const char *load;                /* "loaded", "unchanged" or "failed" */
	bool failed;                     /* the last load failed */
	bool serving;
	const char *error;               /* first error of a failed load, or NULL */
	uint32_t serial, records;        /* when serving */
	uint32_t file_serial;            /* the zone file's; `serial` may be above
					  * it (export: healthy) */
	long long loaded_at;             /* Unix time, when serving */
	char zonemd[2 * 48 + 1];         /* the apex ZONEMD digest in hex, or "" */
	unsigned zonemd_scheme, zonemd_hash;
	/* notify: targets, with what each last reported (serve/notify.h). */
	struct notify_peer_info sec[CTL_MAX_SECONDARIES];
	unsigned nsec;
	/* A secondary zone (primary: in the config); the rest only then. */
	bool secondary;
	const char *primary;             /* the one that answered last */
	bool sec_have_serial;
	uint32_t sec_serial;             /* of the version held (may not serve yet) */
	long long last_refresh;          /* Unix time, 0: never */
	long long expires_in;            /* seconds; valid with sec_have_serial */
	bool expired;
	const char *last_error;          /* of the last refresh, NULL: it worked */
	unsigned long transfers, refresh_failures; /* since start */
};

/* `reply` (of encode_zone_status) turned into an error (ok false, code
 * internal, the zones kept) when any of `rows` failed to load. */
json_t *encode_zone_status_failed(json_t *reply, const struct ctl_zone_row *rows, unsigned n);

json_t *encode_zone_status(const struct ctl_zone_row *rows, unsigned n);
/* The reply of a reload: the zones, and ok unless `conf_error` or a zone
 * failed (the message then names the first). */
json_t *encode_reload(const struct ctl_zone_row *rows, unsigned n, const char *conf_error);

struct ctl_status_info {
	const char *version, *config;
	long long pid, uptime_s;
	unsigned zones, zones_serving, zones_failed, udp_workers, tcp_clients;
	const char *const *listen;
	unsigned nlisten;
};

json_t *encode_status(const struct ctl_status_info *s);

/* `anycast`: the announcement state, its last transition and why. */
json_t *encode_anycast(const struct anycast_status *s);
