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

struct server;
struct ctl_server;
struct ctl_client;

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

/* Send `res` (stolen) to the client and close it. */
void ctl_reply(struct ctl_client *c, json_t *res);

/* `{"ok":false,"error":msg}` */
json_t *ctl_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
