/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * What a zone transfer sends, and the IXFR journal (RFC 1995).
 *
 * The transferred content of a zone is the zone itself plus "extra" RRsets
 * (steered names exported as plain records) that replace the zone's RRsets
 * of the same owner and type.  zone_walk_xfr enumerates it; zdiff_compute
 * turns two versions into the RRs deleted and added, computed at reload,
 * off the query path.  A journal is an immutable, reference-counted chain
 * of differences, oldest first, each taking serial `from` to `to`; a reload
 * makes a new journal sharing the old differences.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "zone/zone.h"

/* An RRset that transfers carry in place of the zone's (export:). */
struct xfr_extra {
	uint8_t owner[DNAME_MAXLEN];   /* lower-cased wire name */
	uint8_t owner_len;
	struct rrset rs;               /* rdata malloc'd; addl NULL */
};

/* One RRset of the transferred content: `owner` as the zone file wrote it,
 * `lower` the same lower-cased. */
typedef int (*zone_rrset_fn)(void *ctx, const uint8_t *owner, const uint8_t *lower,
			     const struct rrset *rs);

/* A resumable walk over the transferred content (see zone_walk_xfr). */
struct zone_xfr_iter {
	uint32_t bucket;
	const struct znode *node;
	unsigned idx;
	unsigned extra;
	const struct znode **order;    /* z->order, or NULL: hash order */
	uint32_t norder, pos;
};

/* Start a walk.  With `ordered`, the nodes are visited in the order the
 * zone allocated them (z->order), not in hash order: a large zone is then
 * read sequentially, several times faster than with a cache miss per node.
 * Returns 0. */
int zone_xfr_iter_init(struct zone_xfr_iter *it, const struct zone *z, bool ordered);
void zone_xfr_iter_free(struct zone_xfr_iter *it);

/* The next RRset: `*owner` as written in the zone, `*lower` (may be NULL)
 * lower-cased.  False at the end. */
bool zone_xfr_iter_next(struct zone_xfr_iter *it, const struct zone *z,
			const struct xfr_extra *extra, unsigned nextra, const uint8_t **owner,
			const uint8_t **lower, const struct rrset **rs);

/* Call `fn` for every RRset of `z` but the apex SOA, with `extra` in place of
 * the zone's RRsets of the same owner and type.  Stops at, and returns, the
 * first non-zero value `fn` returns. */
int zone_walk_xfr(const struct zone *z, const struct xfr_extra *extra, unsigned nextra,
		  zone_rrset_fn fn, void *ctx);

/* RRs in wire form, one after another: owner (uncompressed), type, class
 * (IN), TTL, RDLENGTH, RDATA. */
struct zrrs {
	uint8_t *data;
	size_t len;
	uint32_t count;
};

/* The difference between two versions of a zone (RFC 1995 4). */
struct zdiff {
	int refcount;
	uint32_t from, to;             /* serials */
	struct zrrs soa_from, soa_to;  /* one RR each */
	struct zrrs del, add;
};

/* Compute the difference from (`oz`, `oextra`) to (`nz`, `nextra`).
 * Returns 0 and `*out` (refcount 1), or VANE_ENOMEM. */
int zdiff_compute(const struct zone *oz, const struct xfr_extra *oextra, unsigned on,
		  const struct zone *nz, const struct xfr_extra *nextra, unsigned nn,
		  struct zdiff **out) VANE_WUR;

/* One version of a zone's transferred content: the zone, the SOA and
 * serial it is sent with (export: healthy moves them past the zone
 * file's), and the extra RRsets. */
struct zversion {
	const struct zone *z;
	const struct rrset *soa;
	uint32_t serial;
	const struct xfr_extra *extra;
	unsigned nextra;
};

/* zdiff_compute between two versions whose SOA may not be their zone's. */
int zdiff_versions(const struct zversion *o, const struct zversion *n,
		   struct zdiff **out) VANE_WUR;

void zdiff_ref(struct zdiff *d);
void zdiff_unref(struct zdiff *d);
size_t zdiff_bytes(const struct zdiff *d);

#define ZJOURNAL_MAX_VERSIONS 1000

struct zjournal {
	int refcount;
	unsigned n;
	size_t bytes;
	struct zdiff **diffs;          /* oldest first; diffs[i].to == diffs[i+1].from */
};

/*
 * The journal after `old` (may be NULL) with `d` appended (may be NULL:
 * then the journal starts over, e.g. when the serial went backwards), then
 * trimmed from the oldest end to `max_bytes` and ZJOURNAL_MAX_VERSIONS.
 * A difference that does not follow the last one also starts it over.
 * Returns 0 and `*out` (refcount 1; NULL when empty), or VANE_ENOMEM.
 */
int zjournal_next(const struct zjournal *old, struct zdiff *d, size_t max_bytes,
		  struct zjournal **out) VANE_WUR;

void zjournal_ref(struct zjournal *j);
void zjournal_unref(struct zjournal *j);

/* Index of the difference starting at `serial`, or -1. */
int zjournal_find(const struct zjournal *j, uint32_t serial);

/* RFC 1982 serial arithmetic: a < b. */
static inline bool serial_lt(uint32_t a, uint32_t b)
{
	return a != b && (uint32_t)(b - a) < 0x80000000u;
}
