/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The HTTP API, /metrics and the dashboard (libmicrohttpd, its own thread).
 *
 * The HTTP thread parses requests, finds the command of the route in the
 * table (ctl/cmd.h), checks the bearer token for commands that write (before
 * it looks at the body), and turns path, query and body into the command's
 * typed arguments.  It never touches server state: the call is queued to
 * the loop thread (uv_async) and the connection is suspended until the
 * loop thread has the reply; so HTTP writes are serialized with vanectl's
 * and the health probes' on one thread, and concurrent writers cannot lose
 * an update.  Routes: docs/api.md.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>
#include <uv.h>

#include "ctl/cmd.h"
#include "ctl/ctl.h"

struct http_server;

/* An embedded static file (the dashboard), generated at build time. */
struct http_asset {
	const char *path;                /* "/", "/assets/app.js" */
	const char *type;                /* Content-Type */
	const unsigned char *data;
	size_t len;
};
/* Terminated by a NULL path (http_assets.c, generated). */
extern const struct http_asset http_assets[];

struct http_conf {
	const struct sockaddr_storage *addr;   /* where to listen */
	const char *text;                      /* the same, for logs */
	const char *token_file;                /* NULL: every write is refused */
	const char *lab_reports;               /* vane-lab's reports; NULL: not served */
};

/* Start the HTTP server; calls run on `loop` through `host`.  Reads the
 * token file. */
int http_start(uv_loop_t *loop, const struct http_conf *conf, const struct ctl_host *host,
	       struct http_server **out) VANE_WUR;
/* Stop taking calls (loop thread); queued calls get 503. */
void http_close(struct http_server *hs);
/* Stop the HTTP thread and free (after the loop ended). */
void http_free(struct http_server *hs);

/* ---- routing (routes.c); pure, used by the HTTP thread ---- */

#define HTTP_STR_MAX 12

/* A routed request: the command and its arguments, with the strings they
 * borrow. */
struct http_call {
	struct ctl_args args;
	char *str[HTTP_STR_MAX];         /* malloc'd strings the args point at */
	int nstr;
	char *words[CTL_ARGS_MAX][4];    /* repeat arguments */
};

/* Lookup of a query-string argument (NULL when absent). */
typedef const char *(*http_arg_fn)(void *ctx, const char *name);

/* Find the command of `method` `url`: NULL with *status 404 (no such
 * route) or 405 (`allow` gets the method the route takes). */
const struct ctl_cmd *http_find(const char *method, const char *url, unsigned *status,
				const char **allow);

/*
 * Fill `call` for `cmd` from `url` (path parameters), the query string
 * (`arg`) and `body` (may be NULL or empty; JSON object).  `peer` is the
 * client's address (defaults such as explain's client).  Returns 200, or
 * 400 with the message in `err`.  Free with http_call_clear.
 */
int http_bind(const struct ctl_cmd *cmd, const char *url, const char *body, http_arg_fn arg,
	      void *ctx, const char *peer, struct http_call *call, char *err, size_t errsize);
void http_call_clear(struct http_call *call);
