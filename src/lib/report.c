/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <stdio.h>

#include "lib/report.h"

void report_error(struct report *r, unsigned long line, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	r->errors++;
	if (r->fn)
		r->fn(r->ctx, r->file, line, msg);
	else if (line)
		fprintf(stderr, "%s:%lu: %s\n", r->file, line, msg);
	else
		fprintf(stderr, "%s: %s\n", r->file, msg);
}
