/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * vaned as a secondary: the refresh, retry and expire timers of every zone
 * with `primary:` (RFC 1034 4.3.5, RFC 1996), on the loop thread.  Each
 * refresh runs xfrin_run on libuv's threadpool; a new version it saved is
 * taken in by an ordinary reload (the saved copy is the zone's file), so
 * it is swapped in like any zone change and steering applies to it.
 *
 * At start the saved copy serves at once; its file's mtime is the time of
 * the last successful refresh (touched on every refresh that found the
 * serial current), so the expire timer survives restarts.  An expired
 * zone answers SERVFAIL (zone->expired) and raises a zone-expired event.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <time.h>
#include <uv.h>

#include "daemon/snapshot.h"
#include "ops/events.h"

struct secondaries;

/* What zone-status and /metrics show of one secondary zone. */
struct secondary_info {
	const char *primary;           /* the one that answered last, or the first */
	bool have_serial;
	uint32_t serial;
	long long last_refresh;        /* Unix time of the last success, 0: never */
	long long expires_in;          /* seconds; < 0: expired; only with have_serial */
	bool expired;
	bool refreshing;
	const char *last_error;        /* NULL: the last attempt worked */
	unsigned long transfers, failures;
};

/* `reload` starts a daemon reload (loop thread). */
struct secondaries *secondaries_new(uv_loop_t *loop, struct events *ev,
				    void (*reload)(void *ctx), void *ctx);
/* The loop thread: closes the handles; free after the loop closed them. */
void secondaries_close(struct secondaries *s);
void secondaries_free(struct secondaries *s);

/* A snapshot now serves (at start and after every reload): follow its
 * secondary zones, adopt the versions it serves, start timers. */
void secondaries_sync(struct secondaries *s, const struct vane_snapshot *snap);

/* Zone `name` (as configured) if it is a secondary; false otherwise. */
bool secondaries_info(const struct secondaries *s, const char *name,
		      struct secondary_info *out);
