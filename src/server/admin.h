/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Control verbs of the steering runtime that need the whole server (loop
 * thread).  The runtime verbs themselves are in server/health.h.
 */
#pragma once

#include <jansson.h>

struct server;

/* `explain NAME TYPE --client IP [--ecs PREFIX]` (argv[0] is the verb). */
json_t *admin_explain(struct server *srv, int argc, char **argv);
