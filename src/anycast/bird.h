/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * A client of BIRD's control socket, speaking the line protocol birdc
 * speaks (BIRD's doc/prog "Remote control" and sysdep/unix/main.c): on
 * connect BIRD greets with "0001 BIRD x.y ready."; each command is one
 * line; each reply line starts with a four-digit code, followed by '-' when
 * more lines follow and by ' ' on the last one (a line starting with a
 * space continues the previous code).  0xxx are OK replies (0000 ends a
 * listing), 1xxx and 2xxx table rows and headers, 8xxx run-time errors,
 * 9xxx parse errors.
 *
 * On the libuv loop: one command in flight, a short queue behind it, a
 * timeout per command (the connection is then dropped, since a late reply
 * would be taken for the next command's), and reconnects with backoff.
 * Loop thread only.
 */
#pragma once

#include <stdbool.h>
#include <uv.h>

#include "lib/errcode.h"

struct bird_client;

/* A reply: `err` 0 and the last line's `code` with the whole `text` (the
 * reply's lines as BIRD sent them, codes included), or `err` < 0 (VANE_ETIMEDOUT,
 * VANE_ECONNREFUSED, ...) and no text.  An 8xxx/9xxx reply is err 0 with
 * that code: the caller decides. */
typedef void (*bird_reply_fn)(void *ctx, int err, int code, const char *text);

/* Told when the connection comes up (`up`) or goes down. */
typedef void (*bird_conn_fn)(void *ctx, bool up);

/* Connect (and keep reconnecting) to `path`.  `timeout_ms` bounds each
 * command.  Returns 0 and `*out`, or a VANE_E* code. */
int bird_open(uv_loop_t *loop, const char *path, unsigned timeout_ms, bird_conn_fn on_conn,
	      void *ctx, struct bird_client **out) VANE_WUR;

/* Queue `cmd` (one line, no newline); `fn` gets the reply, or an error
 * when the connection fails or the queue is full (VANE_EBUSY). */
void bird_send(struct bird_client *b, const char *cmd, bird_reply_fn fn, void *ctx);

/* Connected and greeted: commands go out now rather than wait (b may be NULL). */
bool bird_connected(const struct bird_client *b);

/* From `show protocols NAME` output: 1 when NAME's state column is "up",
 * 0 when it is something else, VANE_ENOENT when NAME is not listed. */
int bird_protocol_up(const char *text, const char *name);

/* Close: queued commands are dropped without a call (their owner is going
 * away too).  Frees itself once libuv has closed the handles. */
void bird_close(struct bird_client *b);
