/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The view the query workers read (serve/view.h), as the daemon builds it:
 * one config snapshot paired with one live state laid out for it.  Every
 * publication makes a new view and swaps one RCU pointer; the previous
 * view (and the live state it owns) is freed after a grace period on the
 * threadpool, so the loop thread never waits for the workers.
 */
#pragma once

#include <uv.h>

#include "daemon/snapshot.h"
#include "ops/live.h"
#include "serve/view.h"

struct daemon_view {
	struct serve_view sv;            /* first: the workers see only this */
	struct auth_steer steer;
	const struct vane_snapshot *snap; /* not owned: the reload frees it */
	struct live_state *live;         /* owned; NULL: snap->live0 */
};

struct view_root {
	struct serve_view *rcu;          /* published pointer (&view->sv) */
	struct daemon_view *cur;         /* the same, for the loop thread */
	uv_loop_t *loop;
};

/* Publish (snap, live) as the view (loop thread).  `live` (may be NULL:
 * the snapshot's initial state) is owned by the view from now on.  Returns
 * 0 or VANE_ENOMEM (then `live` is freed and the old view stays). */
int view_publish(struct view_root *root, const struct vane_snapshot *snap,
		 struct live_state *live) VANE_WUR;

/* Free the current view at exit (no reader left). */
void view_root_free(struct view_root *root);
