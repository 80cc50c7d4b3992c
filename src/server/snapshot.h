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
#include "geo/geo.h"
#include "steer/build.h"
#include "steer/latency_load.h"
#include "zone/zonedb.h"

struct live_state;

/* Per-thread counter slots of a service (server/stats.h): kept by name
 * across reloads so counters stay with their service and endpoint. */
#define SNAP_NO_SLOT 0xFFFF
struct snap_stat_slots {
	uint16_t svc;                        /* SNAP_NO_SLOT: not counted */
	uint8_t ep[STEER_MAX_ENDPOINTS];     /* endpoint index -> slot */
};

enum zone_load_status { ZS_LOADED = 0, ZS_UNCHANGED, ZS_FAILED };

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
	const struct conf_check *checks;      /* check templates = conf->checks */
	unsigned nchecks;
	uint32_t nhealth;            /* endpoints with a check; ep.health indexes these */
	char **health_key;           /* [nhealth] "service/endpoint" */
	const struct steer_health_target *htarget; /* [nhealth] what to probe */
	struct steer_build build;    /* owns steer, health_key, htarget */
	struct live_state *live0;    /* initial live state (live_initial), owned */
	struct snap_stat_slots *stat_slots; /* [steer->n] */
};

/*
 * Build a snapshot from the config at `path`.  `old` (may be NULL) supplies
 * unchanged zones and fallbacks for zones that fail.  Zone errors are logged
 * and recorded in the zone states; they do not fail the build.  When the
 * config itself fails, returns a negative code and sets `*conf_err` to the
 * first error (malloc'd, caller frees).  Not thread-safe against another
 * build using the same `old` (zone refcounts are plain ints).
 */
int snapshot_build(const char *path, const struct vane_snapshot *old,
		   struct vane_snapshot **out, char **conf_err) VANE_WUR;

/*
 * snapshot_build() that also builds `live0` with live_initial() from
 * `prev_live`, the live state serving now (NULL at first start: then from
 * the state file in server.state-dir).  The caller keeps `prev_live` alive
 * during the call.  snapshot_build() is this with prev_live NULL.
 * Service errors (including the zone rules: inside a served zone, not at or
 * below a cut, no CNAME there), a geo database that does not open and a bad
 * latency file are config errors: the build fails and the old snapshot
 * keeps serving.
 */
int snapshot_build_live(const char *path, const struct vane_snapshot *old,
			const struct live_state *prev_live,
			struct vane_snapshot **out, char **conf_err) VANE_WUR;

/* The services, geo database and latency table of `snap` (zones and
 * config already in it); what snapshot_build_live() runs after the zones.
 * Also usable by `vaned --check` with a snapshot holding conf and db.
 * Errors go to `err`. */
int snapshot_build_steer(struct vane_snapshot *snap, const struct vane_snapshot *old,
			 conf_err_fn err, void *ctx) VANE_WUR;

/*
 * The steering view of one batch of queries: `snap`'s services, geo and
 * latency with the health and admin state of `live` when it was built for
 * `snap`, else of snap->live0.  Returns `st`, or NULL when nothing is
 * steered (auth_answer then does no steering work at all).
 */
const struct auth_steer *snapshot_steer_view(const struct vane_snapshot *snap,
					     const struct live_state *live,
					     struct auth_steer *st);

/* Free a snapshot no reader can see any more. */
void snapshot_free(struct vane_snapshot *snap);

/* Fill answer settings from the config (NSID "hex:..." or text). */
int snapshot_auth_conf(const struct vane_conf *conf, struct auth_conf *auth) VANE_WUR;

const char *zone_load_status_name(enum zone_load_status st);
