/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Geo database: client address -> continent, country, coordinates, and the
 * ECS scope over which that answer holds (RFC 7871 section 7.2.1).
 *
 * Backends: libloc (Debian's libloc-database, the default) and MaxMind DB
 * (*.mmdb, libmaxminddb).  An optional "nets" text file of operator
 * overrides wins over the database.  A geo_db is immutable after geo_open,
 * so it can be part of an RCU snapshot; any number of threads may call
 * geo_lookup on it at once without locks.
 *
 * Database lookups are cached per /24 (IPv4) or /48 (IPv6) in a small
 * two-way set-associative cache owned by the calling thread (struct
 * geo_cache), so the query path never locks and never allocates.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "lib/errcode.h"
#include "lib/report.h"

/* Where Debian's libloc-database installs the database. */
#define GEO_DEFAULT_DB "/var/lib/location/database.db"

/*
 * The result of a lookup.  geo.h owns this struct; steering uses it as is.
 * Empty strings mean "unknown" (address not in the database).
 *
 * `prefix` is the ECS scope, in the terms of the looked-up family (0..32 for
 * IPv4, 0..128 for IPv6): every address that shares its first `prefix` bits
 * with the looked-up one gets the same continent, country and coordinates.
 * It is at least the length of the database network that matched, and longer
 * only where that network contains more-specific networks (or nets
 * overrides) that could answer differently: scoping to the matched network
 * alone would let a resolver reuse the answer for a sub-network that has a
 * different country.
 */
struct geo_info {
	char continent[3];   /* "EU", "NA", ... */
	char country[3];     /* ISO 3166-1 alpha-2, "DE" */
	bool has_coords;     /* lat/lon valid (mmdb and nets overrides only) */
	double lat, lon;
	double ux, uy, uz;   /* unit vector of lat/lon (when has_coords) */
	uint8_t prefix;      /* ECS scope, see above */
};

struct geo_db;
struct geo_cache;

/*
 * Open a geo database.  `path` ending in ".mmdb" uses libmaxminddb, anything
 * else libloc; NULL means GEO_DEFAULT_DB.  `nets_path` (may be NULL) names a
 * file of overrides, one per line: "CIDR CONTINENT COUNTRY [LAT LON]", with
 * '#' comments; the longest matching override wins over the database.
 * Every problem goes to `err` (NULL: stderr).  Returns 0 and `*out`, or a
 * negative VANE_E* code after reporting at least one error.
 * Not for the query path: it reads files and allocates.
 */
int geo_open(const char *path, const char *nets_path, struct geo_db **out,
	     vane_report_fn err, void *ctx) VANE_WUR;

/* Free a database.  Callers must ensure no thread still looks it up (RCU). */
void geo_close(struct geo_db *db);

/* "libloc" or "mmdb": which backend serves `db`. */
const char *geo_backend(const struct geo_db *db);

/*
 * Look up `addr` (4 bytes for AF_INET, 16 for AF_INET6, network order).
 * `cache` may be NULL (always uncached); otherwise it must be owned by the
 * calling thread.  Thread-safe for concurrent readers of `db`; no locks, no
 * allocation.  Returns 0, or VANE_EINVAL for an unknown family.
 */
int geo_lookup(const struct geo_db *db, struct geo_cache *cache, int family,
	       const uint8_t *addr, struct geo_info *out) VANE_WUR;

/*
 * A per-thread lookup cache of 2^bits entries (0: default 4096, ~200 KB).
 * Entries are tagged with the database generation, so one cache serves any
 * number of successive snapshots; a new database simply misses.
 */
struct geo_cache *geo_cache_new(unsigned bits);
void geo_cache_free(struct geo_cache *cache);

/* Hit and miss counters of one cache (for stats; not synchronised). */
void geo_cache_stats(const struct geo_cache *cache, uint64_t *hits,
		     uint64_t *misses);
