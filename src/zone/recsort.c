/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The order zone_build() compiles records in: by lower-cased wire owner,
 * then type, then RDATA (bytes, then length, as Knot keeps an RRset), then
 * file order.  The order is total, so any sort gives the same result.
 *
 * A natural merge sort: it finds the ascending runs the file already has
 * and merges neighbours until one is left.  Zone files are mostly written
 * (or generated, or dumped) in some order, so a reload of a large zone
 * usually finds a handful of runs and sorts in a pass or two, where a plain
 * merge sort takes log2(n) passes whatever the input (qsort of a 220k-record
 * zone was a third of a reload).  A random file costs what qsort did.
 */
#include <stdlib.h>
#include <string.h>

#include "zone/build.h"

static inline int rec_cmp(const uint8_t *pool, const struct zrec *a, const struct zrec *b)
{
	size_t l = a->owner_len < b->owner_len ? a->owner_len : b->owner_len;
	int c = memcmp(pool + a->lowner, pool + b->lowner, l);
	if (c == 0 && a->owner_len != b->owner_len)
		c = a->owner_len < b->owner_len ? -1 : 1;
	if (c)
		return c;
	if (a->type != b->type)
		return a->type < b->type ? -1 : 1;
	l = a->rdlen < b->rdlen ? a->rdlen : b->rdlen;
	c = memcmp(pool + a->rdata, pool + b->rdata, l);
	if (c == 0 && a->rdlen != b->rdlen)
		c = a->rdlen < b->rdlen ? -1 : 1;
	if (c)
		return c;
	return a->seq < b->seq ? -1 : (a->seq > b->seq);
}

/* Merge the sorted src[lo, mid) and src[mid, hi) into dst[lo, hi). */
static void merge(const uint8_t *pool, const struct zrec *src, struct zrec *dst, size_t lo,
		  size_t mid, size_t hi)
{
	size_t i = lo, j = mid, k = lo;
	/* Runs that are already in order across the seam just move. */
	if (mid < hi && mid > lo && rec_cmp(pool, &src[mid - 1], &src[mid]) <= 0) {
		memcpy(dst + lo, src + lo, (hi - lo) * sizeof(*dst));
		return;
	}
	while (i < mid && j < hi)
		dst[k++] = rec_cmp(pool, &src[i], &src[j]) <= 0 ? src[i++] : src[j++];
	if (i < mid)
		memcpy(dst + k, src + i, (mid - i) * sizeof(*dst));
	else if (j < hi)
		memcpy(dst + k, src + j, (hi - j) * sizeof(*dst));
}

int zrec_sort(struct zbuild *b)
{
	const uint8_t *pool = b->pool;
	size_t n = b->nrecs, nruns = 0;
	if (n < 2)
		return 0;
	/* Run starts, then n: at most n + 1 entries. */
	size_t *runs = malloc((n + 1) * sizeof(*runs));
	if (!runs)
		return VANE_ENOMEM;
	runs[nruns++] = 0;
	for (size_t i = 1; i < n; i++)
		if (rec_cmp(pool, &b->recs[i - 1], &b->recs[i]) > 0)
			runs[nruns++] = i;
	if (nruns == 1) {
		free(runs);
		return 0;
	}
	runs[nruns] = n;
	struct zrec *tmp = malloc(n * sizeof(*tmp));
	if (!tmp) {
		free(runs);
		return VANE_ENOMEM;
	}
	struct zrec *src = b->recs, *dst = tmp;
	while (nruns > 1) {
		size_t out = 0;
		for (size_t r = 0; r < nruns; r += 2) {
			size_t lo = runs[r], hi = runs[r + 2 <= nruns ? r + 2 : nruns];
			size_t mid = r + 1 < nruns ? runs[r + 1] : hi;
			merge(pool, src, dst, lo, mid, hi);
			runs[out++] = lo;
		}
		runs[out] = n;
		nruns = out;
		struct zrec *t = src;
		src = dst;
		dst = t;
	}
	if (src != b->recs)
		memcpy(b->recs, src, n * sizeof(*src));
	free(tmp);
	free(runs);
	return 0;
}
