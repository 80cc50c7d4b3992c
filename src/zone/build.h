/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Internal to src/zone: records collected from a zone file, before they are
 * compiled into a `struct zone` by zone_build().
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "lib/report.h"
#include "zone/zone.h"

struct zrec {
	uint32_t owner;      /* pool offset of the original-case owner */
	uint32_t lowner;     /* pool offset of the lower-cased owner */
	uint32_t rdata;      /* pool offset of the RDATA */
	uint32_t ttl;
	uint32_t line;
	uint32_t seq;        /* file order, for stable sorting */
	uint16_t type;
	uint16_t rdlen;
	uint16_t file;       /* index into zbuild.files */
	uint8_t owner_len;
};

struct zbuild {
	struct zrec *recs;
	size_t nrecs, caprecs;
	uint8_t *pool;
	size_t pool_len, pool_cap;
	char **files;        /* main file, then each $INCLUDE'd file */
	unsigned nfiles;
	uint8_t apex[DNAME_MAXLEN];
	size_t apex_len;
	const uint32_t *linemap; /* $GENERATE expansion: line -> original line */
	size_t nlines;
	struct znode **nodes;    /* every node, in allocation (so memory) order */
	size_t nnodes, capnodes;
	unsigned errors;
	vane_report_fn err;
	void *ctx;
};

/* Report a problem at record `r` (or the zone file when r is NULL). */
void zbuild_error(struct zbuild *b, const struct zrec *r, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Sort the records into the order zone_build compiles them in (recsort.c).
 * Returns 0 or VANE_ENOMEM (the records are then unchanged). */
int zrec_sort(struct zbuild *b) VANE_WUR;

/* Compile collected records into a zone, running the semantic checks. */
int zone_build(struct zbuild *b, struct zone **out) VANE_WUR;
