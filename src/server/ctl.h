/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The control socket (vanectl): a Unix stream socket on the loop thread.
 * A client sends one line `VERB [ARG ...]`, gets one JSON object and a
 * newline, and the server closes the connection.  Verbs come from one
 * command table (ctl_commands), which later also backs the HTTP API.
 */
#pragma once

#include <jansson.h>

#include "lib/errcode.h"
#include "server/server.h"

struct ctl_server;

/*
 * Where a command's reply goes: a control-socket client (ctl.c) or an HTTP
 * request (http.c).  Handlers see only this, so both front ends run the
 * same table on the loop thread.  Embed it in the front end's own struct.
 */
struct ctl_client {
	struct server *srv;
	/* Take the reply (stolen, never NULL); called at most once, on the
	 * loop thread. */
	void (*deliver)(struct ctl_client *c, json_t *res);
	struct reload_waiter waiter;     /* reload answers later */
	bool replied;
	bool stop_after;                 /* `stop`: stop the server once delivered */
};

/* A command handler returns the reply (reference passed to the caller), or
 * NULL when it answers later through ctl_reply (e.g. reload). */
typedef json_t *(*ctl_handler)(struct ctl_client *c, int argc, char **argv);

struct ctl_cmd {
	const char *name;
	ctl_handler fn;
	const char *args;            /* argument synopsis, "" for none */
	const char *help;
};

/* The command table, terminated by a NULL name. */
extern const struct ctl_cmd ctl_commands[];

/* Create the socket (directories included, stale socket removed) and listen. */
int ctl_start(struct server *srv, const char *path, struct ctl_server **out) VANE_WUR;
/* Close the listener and every client (loop thread). */
void ctl_close(struct ctl_server *cs);
/* Free after the loop has closed the handles; removes the socket file. */
void ctl_free(struct ctl_server *cs);

/* Send `res` (stolen) to the client's sink, once; NULL = out of memory. */
void ctl_reply(struct ctl_client *c, json_t *res);

/* Run argv[0] from the command table for `c` (loop thread).  The reply goes
 * to ctl_reply now, or later for asynchronous commands (reload). */
void ctl_run(struct ctl_client *c, int argc, char **argv);

/* The sink is going away before its reply: forget a pending reload wait. */
void ctl_cancel(struct ctl_client *c);

/* `{"ok":false,"error":msg}` */
json_t *ctl_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
