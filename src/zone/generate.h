/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * $GENERATE (BIND's extension, also in NSD and PowerDNS) expanded before
 * the text reaches libzscanner, which has no such directive.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "lib/errcode.h"

struct gen_text {
	char *text;          /* expanded zone text */
	size_t len;
	uint32_t *linemap;   /* expanded line (1-based index - 1) -> original line */
	size_t nlines;
};

/* True when `text` has a $GENERATE line (so expansion is needed). */
int gen_needed(const char *text, size_t len);

/*
 * Expand every `$GENERATE start-stop[/step] lhs rest...` line, replacing `$`
 * with the iterator and `${offset,width,base}` (base d, o, x, X, n, N) with
 * the formatted value; `\$` is a literal dollar.  On a bad directive returns
 * VANE_ESYNTAX with `*errline` and `errmsg` (at least 128 bytes) set.
 */
int gen_expand(const char *text, size_t len, struct gen_text *out,
	       uint32_t *errline, char *errmsg) VANE_WUR;

void gen_free(struct gen_text *g);
