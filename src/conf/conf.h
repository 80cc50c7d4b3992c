/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Vane's configuration: YAML read through one schema table (conf/schema.c)
 * into the structs below.  The same table drives validation (`vaned --check`),
 * the reference documentation, and error messages that name the key and the
 * line.  Unknown keys and bad values are errors; nothing is ignored.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>

#include "lib/errcode.h"

#define CONF_NSID_MAX 64 /* what auth/answer.h carries */

/* A listen address, "ADDR@PORT" (or "ADDR" for port 53). */
struct conf_listen {
	char *text;                      /* as written */
	struct sockaddr_storage addr;
	socklen_t addrlen;
};

struct conf_zone {
	char *name;                      /* apex, presentation form */
	char *file;                      /* resolved against the config's directory */
	unsigned line;                   /* where the entry starts, for messages */
};

struct vane_conf {
	char *path;                      /* the config file itself, absolute */
	char *dir;                       /* its directory: base for relative paths */

	/* server: */
	struct conf_listen *listen;
	unsigned nlisten;
	unsigned udp_workers;            /* default: number of CPUs */
	unsigned tcp_workers;            /* reserved; TCP runs on the loop thread */
	unsigned tcp_max_clients;        /* default 1000 */
	unsigned tcp_idle_timeout_ms;    /* default 10s */
	unsigned max_udp_payload;        /* default 1232 */
	char *control;                   /* control socket path, resolved; default run/vaned.sock */
	char *state_dir;                 /* resolved; default "state" next to the config */
	char *nsid;                      /* NULL = off; "hex:..." or text */
	uint8_t nsid_data[CONF_NSID_MAX];  /* nsid decoded: the EDNS NSID payload */
	unsigned nsid_len;               /* 0 = off */
	char *identity;                  /* CH TXT id.server; NULL = refuse */
	char *version;                   /* CH TXT version.server; NULL = refuse */
	char *log_level;                 /* error|warning|info|debug, default info */

	struct conf_zone *zones;
	unsigned nzones;
};

/* Receives each problem as file, line and message (`file:line: message`).
 * `file` is the path as given to conf_load; line 0 means the whole file. */
typedef void (*conf_err_fn)(void *ctx, const char *file, unsigned long line,
			    const char *msg);

/*
 * Read and validate `path`.  Every problem goes to `err` (NULL: stderr).
 * Returns 0 and `*out`, or a negative VANE_E* code after reporting at least
 * one error.  Checks only the config itself, not the zone files.
 */
int conf_load(const char *path, conf_err_fn err, void *ctx,
	      struct vane_conf **out) VANE_WUR;

void conf_free(struct vane_conf *conf);

/* Write the configuration reference (vaned.conf(5) body) generated from the
 * schema table, in the given format: "man" (roff) or "md". */
void conf_write_reference(FILE *out, const char *format);
