/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * A control socket: a Unix stream socket on a libuv loop speaking one line
 * per connection.  A client sends `VERB [ARG ...]\n`, gets one reply line,
 * and the server closes.  What the line means is the owner's business
 * (ctl/ for vaned, resolverd/ for vane-resolver).
 *
 * A socket file left by a dead process is removed at start; one that a
 * live process answers on is never touched (connect first, unlink only if
 * nothing answers), so a second daemon on the same path fails instead of
 * stealing the first one's socket.
 */
#pragma once

#include <stdbool.h>
#include <uv.h>

#include "lib/errcode.h"

struct rt_ctl;
struct rt_ctl_conn;

struct rt_ctl_handlers {
	void *ctx;
	/* A complete line (no newline; at most 4095 bytes).  The owner must
	 * answer with rt_ctl_reply(), now or later, unless `gone` comes first. */
	void (*line)(void *ctx, struct rt_ctl_conn *c, char *line);
	/* The connection closes (client gone, timeout, or after the reply):
	 * forget it; no reply may follow. */
	void (*gone)(void *ctx, struct rt_ctl_conn *c);
};

/* Create `path` (and its directories) and listen.  Errors are logged. */
int rt_ctl_listen(uv_loop_t *loop, const char *path, const struct rt_ctl_handlers *h,
		  struct rt_ctl **out) VANE_WUR;

/* Send `text` (copied; a newline is added) and close; `written` (may be
 * NULL) runs once it is out, before `gone`. */
void rt_ctl_reply(struct rt_ctl_conn *c, const char *text, void (*written)(void *arg), void *arg);

/* The owner's per-connection pointer. */
void rt_ctl_set_user(struct rt_ctl_conn *c, void *user);
void *rt_ctl_user(const struct rt_ctl_conn *c);

/* Stop listening and close every connection still waiting for its line;
 * connections with a reply on the way finish it.  Loop thread. */
void rt_ctl_close(struct rt_ctl *s);
/* Free after the loop closed the handles; removes the socket file. */
void rt_ctl_free(struct rt_ctl *s);
