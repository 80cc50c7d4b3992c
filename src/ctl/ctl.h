/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Running commands of the table (ctl/cmd.h) for any front end: the control
 * socket (here) and the HTTP API (ctl/http.h).  The host (daemon/) supplies
 * one handler per command; a handler answers through ctl_reply() or
 * ctl_fail(), now or later (reload).  Loop thread only.  JSON is the reply
 * format of both edges: it is built here and in ctl/encode.h, nowhere below.
 */
#pragma once

#include <stdbool.h>
#include <uv.h>

#include <jansson.h>

#include "ctl/cmd.h"

struct ctl_client;

typedef void (*ctl_handler)(void *ctx, struct ctl_client *c, const struct ctl_args *a);

struct ctl_host {
	void *ctx;
	ctl_handler fn[CMD_COUNT];
	/* `stop` was answered: stop the daemon. */
	void (*stop)(void *ctx);
};

/* Where a command's reply goes.  Embed it in the front end's own struct. */
struct ctl_client {
	const struct ctl_host *host;
	/* Take the reply (stolen, never NULL); called at most once. */
	void (*deliver)(struct ctl_client *c, json_t *res, enum ctl_status st);
	const char *peer;                /* HTTP: the client's address; else NULL */
	bool replied;
	bool stop_after;                 /* `stop`: stop the daemon once delivered */
	/* Set by a handler that answers later: told when the client goes
	 * away first (and then must not reply). */
	void (*on_gone)(struct ctl_client *c);
	void *pending;
	char *text;                      /* a text reply (metrics), owned by the sink */
};

/* Reply `res` (stolen; "ok": true is added; NULL = out of memory). */
void ctl_reply(struct ctl_client *c, json_t *res);
/* Reply with `text` (stolen: a text body, not JSON; HTTP only). */
void ctl_reply_text(struct ctl_client *c, char *text);
/* Reply an error of class ctl_status_of(vane_err). */
void ctl_fail(struct ctl_client *c, int vane_err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Parse argv for its command and run it.  Unknown commands and bad
 * arguments are answered here. */
void ctl_run_argv(struct ctl_client *c, int argc, char **argv);
/* Run a parsed command. */
void ctl_run(struct ctl_client *c, const struct ctl_args *a);
/* The sink goes away before its reply. */
void ctl_gone(struct ctl_client *c);

/* `{"ok":false,"code":...,"error":msg}` */
json_t *ctl_error_json(int vane_err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- the control socket front end ---- */

struct ctl_sock;

/* Listen on `path` (see rt/ctlsock.h) and run each line through `host`. */
int ctl_sock_start(uv_loop_t *loop, const char *path, const struct ctl_host *host,
		   struct ctl_sock **out) VANE_WUR;
void ctl_sock_close(struct ctl_sock *s);
void ctl_sock_free(struct ctl_sock *s);
