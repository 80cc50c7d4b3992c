/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Steered names in zone transfers (`export:` of a zone).
 *
 * open exports every endpoint of each service inside the zone as A and
 * AAAA records; healthy exports those up now (steer/export.h), and gives
 * the zone a serial of its own when that set changes: at most once per
 * export-interval, the next serial after the last exported one (or the
 * zone file's, when that is ahead; RFC 1982).  vaned answers the exported
 * serial in its own SOA too, so that primary and secondaries agree on one
 * serial and a secondary's refresh sees it move.  Each new version adds
 * its difference to the IXFR journal, so a secondary follows by IXFR.
 *
 * A new version replaces the zone's entry in the serving xfr_set (a
 * release store); the old entry is dropped after an RCU grace period, and
 * transfers in progress hold their own reference.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "daemon/snapshot.h"
#include "serve/xfr.h"

/*
 * The records that stand for the steered names inside `z` in its
 * transfers: every endpoint, or with `healthy` those exported from `live`
 * (may be NULL: everything up) at `now_ms`.  Returns 0 and `*out`, `*n`
 * (malloc'd, see export_extra_free), or VANE_ENOMEM.
 */
int export_extra(const struct vane_snapshot *snap, const struct live_state *live,
		 const struct zone *z, bool healthy, uint64_t now_ms, struct xfr_extra **out,
		 unsigned *n) VANE_WUR;

void export_extra_free(struct xfr_extra *x, unsigned n);

/* True when both lists hold the same RRsets in the same order. */
bool export_extra_same(const struct xfr_extra *a, unsigned na, const struct xfr_extra *b,
		       unsigned nb);

/* The serial of a new exported version after `last`, for a zone file at
 * serial `file`: the file's when it is ahead, else last + 1. */
uint32_t export_next_serial(uint32_t last, uint32_t file);

/* Give `xz` an SOA of its own: the zone's with `serial`.  0 or VANE_ENOMEM. */
int export_set_soa(struct xfr_zone *xz, uint32_t serial) VANE_WUR;

/* The export-interval of zone `cz`, in ms. */
unsigned export_interval_ms(const struct vane_conf *conf, const struct conf_zone *cz);

/* Loop thread: make every zone of `snap` answer its exported serial in its
 * SOA (the file's when it has no transfers); what is replaced is freed
 * after a grace period on `loop`'s threadpool. */
void export_serve(uv_loop_t *loop, const struct vane_snapshot *snap);

/*
 * Loop thread, never while a reload builds from `snap`: for each zone with
 * export: healthy whose interval has passed since its last version, the
 * endpoints up in `live` at `now_ms`; where they changed, a new version
 * (serial, journal, served SOA).  Returns how many zones moved: the
 * caller then sends NOTIFY.
 */
unsigned export_refresh(uv_loop_t *loop, const struct vane_snapshot *snap,
			const struct live_state *live, uint64_t now_ms);

/* How often to call export_refresh: a quarter of the shortest
 * export-interval of an export: healthy zone, within 250 ms..5 s; 0 when
 * there is none. */
uint64_t export_tick_ms(const struct vane_snapshot *snap);

/* The serial last exported for `zone` (no final dot) before a restart,
 * from server.state-dir; false when there is none. */
bool export_saved_serial(const char *state_dir, const char *zone, uint32_t *serial);

/* Loop thread: keep the exported serial of every export: healthy zone in
 * server.state-dir, so that a restart continues above it (secondaries
 * ignore a serial that went back).  Problems are logged. */
void export_save(const struct vane_snapshot *snap);
