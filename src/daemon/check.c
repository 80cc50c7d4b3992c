/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * vaned --check: build the snapshot exactly as a reload would (config,
 * every zone, services, geo database, latency table), with every problem
 * printed as `file:line: message`, and nothing started.
 */
#include <stdio.h>
#include <stdlib.h>

#include "daemon/guard.h"
#include "daemon/server.h"

struct check_ctx {
	unsigned errors;
};

static void print_err(void *ctx, const char *file, unsigned long line, const char *msg)
{
	struct check_ctx *c = ctx;
	if (line > 0)
		fprintf(stderr, "%s:%lu: %s\n", file ? file : "-", line, msg);
	else
		fprintf(stderr, "%s: %s\n", file ? file : "-", msg);
	c->errors++;
}

int server_check(const char *path)
{
	struct check_ctx ctx = { 0 };
	struct snapshot_opts opts = { .err = print_err, .ctx = &ctx, .check = true };
	struct vane_snapshot *snap = NULL;
	char *err = NULL;
	if (snapshot_build(path, NULL, &opts, &snap, &err) != 0) {
		if (ctx.errors == 0)
			fprintf(stderr, "%s: %s\n", path, err ? err : "cannot load configuration");
		free(err);
		return 1;
	}
	/* Warnings do not fail the check: the config is valid, only risky. */
	struct check_ctx warnings = { 0 };
	guard_warn_negative_ttl(snap, print_err, &warnings);
	int status = 0;
	unsigned records = 0;
	for (unsigned i = 0; i < snap->nzones; i++)
		if (snap->zones[i].zone)
			records += snap->zones[i].zone->nrecords;
	if (snap->nfailed > 0) {
		fprintf(stderr, "%s: %u of %u zones failed\n", path, snap->nfailed, snap->nzones);
		status = 1;
	} else {
		printf("%s: configuration OK, %u zones, %u records, %u services\n", path,
		       snap->nzones, records, snap->conf->nservices);
	}
	snapshot_free(snap);
	return status;
}
