/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Private to src/geo: the backend interface and the overrides table.
 * Addresses are always 16 bytes here, IPv4 mapped to ::ffff:a.b.c.d, and
 * prefix lengths ("depths") are in IPv6 terms (IPv4 /24 = depth 120).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "geo/geo.h"
#include "lib/report.h"

#define GEO_V4_DEPTH 96 /* depth of ::ffff:0:0/96, where IPv4 starts */

/* One answer from a backend or an override. */
struct geo_hit {
	char continent[2];
	char country[2];
	bool has_coords;
	double lat, lon;
	double ux, uy, uz; /* unit vector of lat/lon, set with has_coords */
	uint8_t scope;   /* depth over which the answer is constant */
};

/* Set lat/lon and the unit vector steering's nearest-first sort uses, so
 * it is computed once per database network, not once per query. */
void geo_hit_set_coords(struct geo_hit *hit, double lat, double lon);

/* Report through the caller's error function (printf-style message). */
struct geo_report {
	vane_report_fn fn;
	void *ctx;
	unsigned errors;
};
void geo_error(struct geo_report *rep, const char *file, unsigned long line,
	       const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static inline int geo_bit(const uint8_t a[16], unsigned i)
{
	return (a[i >> 3] >> (7 - (i & 7))) & 1;
}

/* Backends: open reports its own errors; lookup must be thread-safe. */
struct geo_loc;
int geo_loc_open(const char *path, struct geo_report *rep, struct geo_loc **out);
void geo_loc_close(struct geo_loc *l);
void geo_loc_lookup(const struct geo_loc *l, const uint8_t a[16], struct geo_hit *hit);

struct geo_mmdb;
int geo_mmdb_open(const char *path, struct geo_report *rep, struct geo_mmdb **out);
void geo_mmdb_close(struct geo_mmdb *m);
void geo_mmdb_lookup(const struct geo_mmdb *m, const uint8_t a[16], struct geo_hit *hit);

/* Overrides ("nets" file) in a binary trie over 128-bit keys. */
struct geo_nets;
int geo_nets_load(const char *path, struct geo_report *rep, struct geo_nets **out);
void geo_nets_free(struct geo_nets *n);
/* Fills `hit` and returns true if an override contains `a`; either way
 * `*scope` is the depth beyond which the override answer could change. */
bool geo_nets_lookup(const struct geo_nets *n, const uint8_t a[16],
		     struct geo_hit *hit, uint8_t *scope);
