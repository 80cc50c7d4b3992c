/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The HTTP API, /metrics and the dashboard (libmicrohttpd, its own thread).
 *
 * The HTTP thread parses requests, checks the bearer token and the JSON
 * body, and maps each API route to a command line of the control table
 * (ctl.h) or to a read-only builder.  It never touches server state: the
 * call is queued to the loop thread (uv_async) and the connection is
 * suspended until the loop thread has the reply; so HTTP writes are
 * serialized with vanectl's and the health probes' on one thread, and
 * concurrent writers cannot lose an update.  Routes: docs/api.md.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "lib/errcode.h"

struct server;
struct vane_conf;
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

/* Start the HTTP server of conf->http_listen (loop thread, at start).
 * Reads the token file.  Returns 0 with *out NULL when not configured. */
int http_start(struct server *srv, const struct vane_conf *conf,
	       struct http_server **out) VANE_WUR;
/* Stop taking calls (loop thread, from server_stop); queued calls get 503. */
void http_close(struct http_server *hs);
/* Stop the HTTP thread and free (after the loop ended). */
void http_free(struct http_server *hs);

/* ---- routing (http_api.c); pure, used by the HTTP thread ---- */

#define HTTP_ARGS_MAX 12

enum http_call_kind {
	HC_CTL = 0,       /* argv through the control table */
	HC_SERVICES,      /* services with endpoints and answer shares */
	HC_EVENTS,        /* since = argv[0] */
	HC_METRICS,       /* Prometheus text */
};

struct http_call {
	enum http_call_kind kind;
	int argc;
	char *argv[HTTP_ARGS_MAX];       /* malloc'd */
	bool write;                      /* needs the bearer token */
};

/* Lookup of a query-string argument (NULL when absent). */
typedef const char *(*http_arg_fn)(void *ctx, const char *name);

/*
 * Map a request to a call.  `body` (may be NULL or empty) is the POST body.
 * Returns 200 with *call filled (free with http_call_clear), or an HTTP
 * status (400, 404, 405) with the message in `err`.
 */
int http_route(const char *method, const char *url, const char *body, http_arg_fn arg,
	       void *ctx, const char *peer, struct http_call *call, char *err, size_t errsize);
void http_call_clear(struct http_call *call);

/* ---- loop-thread builders (http_api.c) ---- */

/* GET /api/v1/services */
json_t *http_services_json(struct server *srv);
