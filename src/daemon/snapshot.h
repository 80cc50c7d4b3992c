/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Everything the query path reads, as one immutable snapshot published with
 * RCU (QSBR): the zone db, answer settings, the config it came from, and the
 * per-zone load state that `zone-status` reports.  A reload builds a new
 * snapshot next to the serving one (carrying over unchanged zones and the
 * old version of zones that failed), swaps the pointer, and frees the old
 * snapshot after a grace period.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "auth/answer.h"
#include "conf/conf.h"
#include "daemon/guard.h"
#include "geo/geo.h"
#include "lib/report.h"
#include "ops/live.h"
#include "serve/view.h"
#include "steer/build.h"
#include "steer/latency_load.h"
#include "zone/zonedb.h"

/* ZS_PENDING: a secondary zone before its first transfer (not an error). */
enum zone_load_status { ZS_LOADED = 0, ZS_UNCHANGED, ZS_FAILED, ZS_PENDING };

/* Load state of one configured zone. */
struct zone_state {
	char *name;                  /* apex as configured */
	char *file;
	enum zone_load_status status; /* outcome of the load that built this snapshot */
	char *error;                 /* first `file:line: message` of a failed load */
	struct zone *zone;           /* serving version (ref held by the db), or NULL */
	/* Identity of the file the serving version came from, to skip reloading
	 * unchanged files (mtime and size, like make). */
	struct timespec mtime;
	off_t size;
	ino_t ino;
};

struct vane_snapshot {
	struct zone_db *db;
	struct auth_conf auth;
	struct vane_conf *conf;      /* owned; auth.identity/version point into it */
	struct zone_state *zones;    /* one per conf->zones entry */
	unsigned nzones;
	unsigned nserving;           /* zones in `db` */
	unsigned nfailed;            /* zones whose last load failed */

	/* Steering (NULL / 0 when no services are configured). */
	struct steer_set *steer;     /* prepared services, owned via `build` */
	struct geo_db *geo;          /* opened when a service uses geo/latency or geo: is set */
	struct steer_latency_table *latency0; /* from latency.file, or NULL */
	uint32_t nhealth;            /* endpoints with a check; ep.health indexes these */
	struct steer_build build;    /* owns steer and the health targets */
	struct live_layout layout;   /* what live states for this snapshot follow */
	struct live_state *live0;    /* initial live state (live_initial), owned */
	struct serve_stat_slots *stat_slots; /* [steer->n] */

	struct xfr_set *xfr;         /* transfers: keys, ACLs, exports, journals */

	/* Services recent reloads deleted (guard_removed_services): names and
	 * TTLs only, for the answer path's negative TTL cap, each kept until
	 * removed_until_ms[i] (rt clock); NULL = none. */
	struct steer_set *removed;
	uint64_t *removed_until_ms;
};

/* How to build: what to carry, and where problems go. */
struct snapshot_opts {
	/* The live state serving now (a private copy the caller keeps alive),
	 * to carry health and operator state by name; NULL at first start:
	 * then from the state file in server.state-dir. */
	const struct live_state *prev;
	/* Every config, zone and service problem as `file:line: message`;
	 * NULL: logged (zone problems with the zone's name). */
	vane_report_fn err;
	void *ctx;
	/* vaned --check: no state file is read. */
	bool check;
	/* Load a zone whose serial is lower than the serving one's (an
	 * operator's deliberate roll-back); otherwise that zone keeps serving
	 * its old version and is reported as failed.  Also lifts the
	 * deletion guard. */
	bool force;
	/* The deletion guard's view of recent queries (daemon/guard.h);
	 * NULL: no guard (first start, --check). */
	const struct guard_ctx *guard;
};

/*
 * Build a snapshot from the config at `path`.  `old` (may be NULL) supplies
 * unchanged zones and fallbacks for zones that fail.  Zone errors are
 * reported and recorded in the zone states; they do not fail the build.
 * Service errors (including the zone rules: inside a served zone, not at
 * or below a cut, no CNAME there), a geo database that does not open and a
 * bad latency file are config errors: the build fails, returns a negative
 * code, and sets `*conf_err` to the first error (malloc'd, caller frees),
 * and the old snapshot keeps serving.  Not thread-safe against another
 * build using the same `old` (zone refcounts are plain ints).
 */
int snapshot_build(const char *path, const struct vane_snapshot *old,
		   const struct snapshot_opts *opts, struct vane_snapshot **out,
		   char **conf_err) VANE_WUR;

/* Free a snapshot no reader can see any more. */
void snapshot_free(struct vane_snapshot *snap);

/* Fill answer settings from the config (NSID "hex:..." or text). */
int snapshot_auth_conf(const struct vane_conf *conf, struct auth_conf *auth) VANE_WUR;

/* The transfer side of `snap` (xfrbuild.c), the journals carried from and
 * extended past `old` (may be NULL). */
int snapshot_build_xfr(struct vane_snapshot *snap, const struct vane_snapshot *old) VANE_WUR;

const char *zone_load_status_name(enum zone_load_status st);

/* The zone's apex as "example.com." */
const char *snapshot_zone_fqdn(const struct zone_state *st, char *buf, size_t size);
