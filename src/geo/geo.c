/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Geo database front end: backend choice, overrides, the per-thread cache.
 *
 * A lookup first walks the overrides trie, then (if no override contains the
 * address) the database.  The scope is the longer of the two walks' scopes:
 * an override inside the database network punches a hole that the answer
 * must not be cached across.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <math.h>
#include <string.h>
#include <sys/socket.h>

#include "geo/internal.h"

struct geo_db {
	uint64_t gen;             /* unique per open; tags cache entries */
	struct geo_loc *loc;      /* exactly one of loc and mmdb */
	struct geo_mmdb *mmdb;
	struct geo_nets *nets;    /* NULL: no overrides */
};

struct geo_cache_ent {
	uint64_t key;             /* family tag + /24 or /48 */
	uint64_t gen;             /* 0 = empty */
	struct geo_info info;
};

struct geo_cache {
	unsigned shift;           /* 64 - log2(sets), for the multiplicative hash */
	uint64_t hits, misses;
	struct geo_cache_ent ent[];
};

/* Cache granularity: results are cached only when constant over the block. */
#define CACHE_V4_BITS 24
#define CACHE_V6_BITS 48

static uint64_t geo_generation; /* atomically incremented, never 0 */

void geo_error(struct geo_report *rep, const char *file, unsigned long line,
	       const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	rep->errors++;
	if (rep->fn != NULL)
		rep->fn(rep->ctx, file, line, msg);
	else if (line > 0)
		fprintf(stderr, "%s:%lu: %s\n", file, line, msg);
	else
		fprintf(stderr, "%s: %s\n", file, msg);
}

static bool has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && strcasecmp(s + n - m, suffix) == 0;
}

int geo_open(const char *path, const char *nets_path, struct geo_db **out,
	     vane_report_fn err, void *ctx)
{
	struct geo_report rep = { .fn = err, .ctx = ctx };
	struct geo_db *db = calloc(1, sizeof(*db));
	int ret;

	if (db == NULL)
		return VANE_ENOMEM;
	if (path == NULL || path[0] == 0)
		path = GEO_DEFAULT_DB;
	if (has_suffix(path, ".mmdb"))
		ret = geo_mmdb_open(path, &rep, &db->mmdb);
	else
		ret = geo_loc_open(path, &rep, &db->loc);
	if (ret != 0)
		goto fail;
	if (nets_path != NULL && nets_path[0]) {
		ret = geo_nets_load(nets_path, &rep, &db->nets);
		if (ret != 0)
			goto fail;
	}
	db->gen = __atomic_add_fetch(&geo_generation, 1, __ATOMIC_RELAXED);
	*out = db;
	return 0;
fail:
	if (rep.errors == 0)
		geo_error(&rep, path, 0, "cannot open geo database: %s",
			  vane_strerror(ret));
	geo_close(db);
	return ret;
}

void geo_close(struct geo_db *db)
{
	if (db == NULL)
		return;
	geo_loc_close(db->loc);
	geo_mmdb_close(db->mmdb);
	geo_nets_free(db->nets);
	free(db);
}

const char *geo_backend(const struct geo_db *db)
{
	return db->mmdb != NULL ? "mmdb" : "libloc";
}

/* The uncached path: overrides, then the database; depths in IPv6 terms. */
static void lookup_slow(const struct geo_db *db, const uint8_t a[16], struct geo_hit *hit)
{
	uint8_t nscope = 0;
	if (db->nets != NULL && geo_nets_lookup(db->nets, a, hit, &nscope)) {
		hit->scope = nscope;
		return;
	}
	if (db->loc != NULL)
		geo_loc_lookup(db->loc, a, hit);
	else
		geo_mmdb_lookup(db->mmdb, a, hit);
	if (nscope > hit->scope)
		hit->scope = nscope;
}

void geo_hit_set_coords(struct geo_hit *hit, double lat, double lon)
{
	const double rad = 3.14159265358979323846 / 180;
	hit->has_coords = true;
	hit->lat = lat;
	hit->lon = lon;
	hit->ux = cos(lat * rad) * cos(lon * rad);
	hit->uy = cos(lat * rad) * sin(lon * rad);
	hit->uz = sin(lat * rad);
}

static void hit_to_info(const struct geo_hit *hit, bool v4, struct geo_info *out)
{
	memset(out, 0, sizeof(*out));
	if (hit->continent[0])
		memcpy(out->continent, hit->continent, 2);
	if (hit->country[0])
		memcpy(out->country, hit->country, 2);
	out->has_coords = hit->has_coords;
	out->lat = hit->lat;
	out->lon = hit->lon;
	out->ux = hit->ux;
	out->uy = hit->uy;
	out->uz = hit->uz;
	unsigned scope = hit->scope;
	if (v4)
		scope = scope > GEO_V4_DEPTH ? scope - GEO_V4_DEPTH : 0;
	out->prefix = scope;
}

static inline uint64_t load_be(const uint8_t *p, unsigned n)
{
	uint64_t v = 0;
	for (unsigned i = 0; i < n; i++)
		v = (v << 8) | p[i];
	return v;
}

int geo_lookup(const struct geo_db *db, struct geo_cache *cache, int family,
	       const uint8_t *addr, struct geo_info *out)
{
	uint8_t a[16];
	uint64_t key;
	bool v4;

	if (family == AF_INET) {
		v4 = true;
		key = (4ull << 56) | load_be(addr, 3);
	} else if (family == AF_INET6) {
		v4 = false;
		key = (6ull << 56) | load_be(addr, 6);
	} else {
		return VANE_EINVAL;
	}

	struct geo_cache_ent *set = NULL;
	if (cache != NULL) {
		set = &cache->ent[((key * 0x9E3779B97F4A7C15ull) >> cache->shift) * 2];
		for (int w = 0; w < 2; w++)
			if (set[w].gen == db->gen && set[w].key == key) {
				cache->hits++;
				*out = set[w].info;
				return 0;
			}
		cache->misses++;
	}

	if (v4) {
		memset(a, 0, 10);
		a[10] = a[11] = 0xff;
		memcpy(a + 12, addr, 4);
	} else {
		memcpy(a, addr, 16);
	}
	struct geo_hit hit;
	lookup_slow(db, a, &hit);
	hit_to_info(&hit, v4, out);

	/* Only answers constant over the whole cached block may be cached;
	 * the rare longer scopes (a /29 customer network) stay uncached. */
	if (set != NULL && out->prefix <= (v4 ? CACHE_V4_BITS : CACHE_V6_BITS)) {
		/* Two-way sets, newest in way 0: an older entry gets a second
		 * chance, which halves conflict misses over direct mapping. */
		if (set[0].gen == db->gen)
			set[1] = set[0];
		set[0].key = key;
		set[0].gen = db->gen;
		set[0].info = *out;
	}
	return 0;
}

struct geo_cache *geo_cache_new(unsigned bits)
{
	if (bits == 0)
		bits = 12;
	if (bits < 2 || bits > 24)
		return NULL;
	size_t n = (size_t)1 << bits;
	struct geo_cache *c = calloc(1, sizeof(*c) + n * sizeof(c->ent[0]));
	if (c == NULL)
		return NULL;
	c->shift = 64 - (bits - 1); /* n / 2 sets of two ways */
	return c;
}

void geo_cache_free(struct geo_cache *cache)
{
	free(cache);
}

void geo_cache_stats(const struct geo_cache *cache, uint64_t *hits, uint64_t *misses)
{
	*hits = cache->hits;
	*misses = cache->misses;
}
