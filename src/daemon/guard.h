/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The deletion guard (server.deletion-guard): a reload must not silently
 * delete a name that clients still ask for.  Resolvers cache the NXDOMAIN
 * that follows for the zone's negative TTL (RFC 2308 section 5), so the
 * name stays dead that long after the operator puts it back: the brief's
 * "zombie" outage.  And `vaned --check`'s warning for zones whose negative
 * TTL dwarfs their services' TTLs.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "conf/conf.h"
#include "lib/report.h"
#include "zone/zone.h"

struct vane_snapshot;

/* What one reload's guard knows: the time, and when each service of the
 * serving snapshot was last answered (ms, rt clock; 0 = not in the window
 * or unknown), indexed like old->steer->svc. */
struct guard_ctx {
	uint64_t now_ms;
	const uint64_t *svc_queried_ms;
};

/*
 * Names `prev` has, that a query named within `window_ms` of `now_ms`, and
 * that neither `z` nor a service of `conf` has any more.  Writes "NAME
 * (queried N s ago), ..." for the first few into `buf`; returns how many.
 * The names `z` keeps carry their marks over to it.
 */
unsigned guard_zone_removed(const struct zone *prev, const struct zone *z,
			    const struct vane_conf *conf, uint64_t now_ms, unsigned window_ms,
			    char *buf, size_t cap);

/*
 * Services of `old` answered within the window that `snap` deletes: no
 * service and no record left at their name.  Same output as above.
 */
unsigned guard_services_removed(const struct vane_snapshot *old, const struct vane_snapshot *snap,
				const struct guard_ctx *g, char *buf, size_t cap);

/*
 * The services deleted within the deletion-guard window, as of `now_ms`,
 * into snap->removed: those `old` served that `snap` no longer answers for
 * (kept for the window from now), and old->removed's that are still gone
 * and not yet due.  Their TTLs keep capping negative answers there, so a
 * forced deletion undone within the window costs the service TTL, not the
 * zone's negative TTL.  Nothing with the guard off (window 0).  Returns 0,
 * or VANE_ENOMEM (snap->removed then stays NULL).
 */
int guard_removed_services(const struct vane_snapshot *old, struct vane_snapshot *snap,
			   uint64_t now_ms);

/*
 * vaned --check: for each zone whose negative TTL is more than 10 times the
 * smallest TTL of a service in it, one warning naming the services at risk.
 * Returns the number of warnings.
 */
unsigned guard_warn_negative_ttl(const struct vane_snapshot *snap, vane_report_fn warn, void *ctx);
