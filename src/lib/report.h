/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Reporting problems in an input file as `file:line: message`, through a
 * callback the caller chooses (vaned --check prints, a reload logs).  Every
 * module that reads operator input (config, zones, services, latency and
 * geo files) takes a function of this shape.
 */
#pragma once

#include <stdarg.h>

typedef void (*vane_report_fn)(void *ctx, const char *file, unsigned long line,
			       const char *msg);

struct report {
	const char *file;      /* what the messages name */
	vane_report_fn fn;     /* NULL: print to stderr */
	void *ctx;
	unsigned errors;       /* how many were reported */
};

/* Format and report one problem at `line` (0: the whole file); counts it. */
void report_error(struct report *r, unsigned long line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
