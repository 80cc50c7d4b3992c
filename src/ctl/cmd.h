/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The one command table of vaned, in the spirit of Knot's control table:
 * each command has a name, typed arguments, whether it writes, its HTTP
 * method and routes, and its help.  `vanectl help`, the HTTP router, the
 * table in docs/api.md and the one in vanectl(8) all come from it
 * (`vanectl --commands md|man` prints the docs' tables).
 *
 * Errors are typed: a handler fails with a VANE_E* code, which maps once,
 * here, to a class (not_found, bad_input, conflict, unavailable,
 * internal), an HTTP status and a vanectl exit code.  Replies carry the
 * class as "code" next to "error".
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/errcode.h"

enum ctl_arg_type {
	CA_STR = 0,      /* any word */
	CA_KEY,          /* SERVICE/ENDPOINT; over HTTP {service, endpoint} */
	CA_UINT,         /* a non-negative integer (HTTP: integer or decimal string) */
	CA_DURATION,     /* 60s, 500ms, 2m, 1h, 1d or seconds */
	CA_STEPS,        /* percentages 5,25,50,100 (HTTP: also an array) */
	CA_NAME,         /* a domain name */
	CA_TYPE,         /* an RR type name */
	CA_ADDR,         /* an IPv4 or IPv6 address */
	CA_PREFIX,       /* ADDRESS/LEN */
	CA_RTT,          /* milliseconds, or "unknown" */
	CA_FILE,         /* a path on the server */
	CA_FLAG,         /* a bare option (--resume); over HTTP true/false; u = 1 when on */
};

struct ctl_arg {
	const char *name;        /* HTTP body or query field; vanectl placeholder */
	enum ctl_arg_type type;
	const char *flag;        /* "--steps": an option; NULL: positional */
	bool optional;
	bool repeat;             /* takes every remaining positional word */
	const char *http_default; /* HTTP only, when absent; "@peer": the client's address */
};

#define CTL_ARGS_MAX 6
#define CTL_STEPS_MAX 16

enum ctl_cmd_id {
	CMD_STATUS = 0, CMD_RELOAD, CMD_ZONE_STATUS, CMD_STATS, CMD_DRAIN, CMD_UNDRAIN,
	CMD_WEIGHT, CMD_RAMP, CMD_LOAD, CMD_HEALTH, CMD_EXPLAIN, CMD_LATENCY,
	CMD_LATENCY_LOAD, CMD_STOP, CMD_HELP, CMD_SERVICES, CMD_EVENTS, CMD_METRICS, CMD_ANYCAST,
	CMD_CLUSTER, CMD_PLAN_CHANGE, CMD_PROVIDERS,
	CMD_COUNT
};

struct ctl_cmd {
	const char *name;        /* vanectl verb; NULL: HTTP only */
	enum ctl_cmd_id id;
	bool writes;             /* changes state: HTTP needs the bearer token */
	const char *method;      /* "GET" or "POST" */
	const char *route;       /* HTTP path, NULL: control socket only */
	const char *route2;      /* another path ({service}/{endpoint} from the path) */
	struct ctl_arg args[CTL_ARGS_MAX];
	const char *help;
	const char *reply;       /* what the reply holds, for the docs */
};

/* The table, terminated by an entry with a NULL help. */
extern const struct ctl_cmd ctl_cmds[];

const struct ctl_cmd *ctl_cmd_by_name(const char *name);

/* Split a control line into at most `max` words on spaces and tabs, in
 * place (the socket's one tokeniser); returns the word count. */
int ctl_split_words(char *line, char **argv, int max);
const struct ctl_cmd *ctl_cmd_by_id(enum ctl_cmd_id id);

/* Parsed arguments: `str` always holds the text; `u` the number (UINT,
 * DURATION in ms, RTT), `steps` the percentages. */
struct ctl_val {
	bool set;
	const char *str;
	uint64_t u;
	uint8_t steps[CTL_STEPS_MAX];
	unsigned nsteps;
	char **rest;             /* repeat: the words */
	int nrest;
};

struct ctl_args {
	const struct ctl_cmd *cmd;
	struct ctl_val v[CTL_ARGS_MAX];
};

/* "usage: weight SERVICE/ENDPOINT WEIGHT" into `buf`. */
const char *ctl_usage(const struct ctl_cmd *cmd, char *buf, size_t size);

/* Parse `argv[1..argc)` for `cmd` (argv[0] is the verb; strings borrowed).
 * VANE_EINVAL with a message (the usage) in `err`. */
int ctl_parse(const struct ctl_cmd *cmd, int argc, char **argv, struct ctl_args *out,
	      char *err, size_t errsize) VANE_WUR;

/* Check one value of `type` (the same rules for vanectl and HTTP). */
int ctl_value(enum ctl_arg_type type, const char *s, struct ctl_val *v) VANE_WUR;

/* ---- errors ---- */

enum ctl_status {
	CTL_OK = 0, CTL_NOT_FOUND, CTL_BAD_INPUT, CTL_CONFLICT, CTL_UNAVAILABLE, CTL_INTERNAL,
	CTL_STATUS_COUNT
};

/* The class of a VANE_E* code (0 is CTL_OK). */
enum ctl_status ctl_status_of(int vane_err);
/* "ok", "not_found", ... and back (CTL_INTERNAL for an unknown name). */
const char *ctl_status_name(enum ctl_status st);
enum ctl_status ctl_status_from_name(const char *name);
unsigned ctl_http_status(enum ctl_status st);
int ctl_exit_code(enum ctl_status st);

/* ---- generated documentation ---- */

/* The command tables of docs/api.md ("md") and vanectl(8) ("man"). */
int ctl_write_reference(void *file, const char *format);
