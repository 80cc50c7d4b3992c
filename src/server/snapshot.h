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
#include "zone/zonedb.h"

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

/* Free a snapshot no reader can see any more. */
void snapshot_free(struct vane_snapshot *snap);

/* Fill answer settings from the config (NSID "hex:..." or text). */
int snapshot_auth_conf(const struct vane_conf *conf, struct auth_conf *auth) VANE_WUR;

const char *zone_load_status_name(enum zone_load_status st);
