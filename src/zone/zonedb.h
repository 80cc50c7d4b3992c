/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The set of served zones: an immutable table from apex name to zone, with a
 * longest-match lookup for a query name.  A zone_db holds a reference on each
 * of its zones; freeing the db drops them.
 */
#pragma once

#include "zone/zone.h"

struct zone_db {
	struct zone **zones;     /* `count` zones, in configuration order */
	unsigned count;
	struct zone **table;     /* open-addressed by apex hash; NULL = empty */
	uint32_t tmask;
};

/* Build a db over `zones` (takes a new reference on each).  Returns 0 or
 * VANE_ENOMEM; duplicate apexes give VANE_EEXIST. */
int zone_db_new(struct zone *const *zones, unsigned count, struct zone_db **out) VANE_WUR;

void zone_db_free(struct zone_db *db);

/* The zone with the longest apex that `qname` (lower-cased) is at or below. */
const struct zone *zone_db_find(const struct zone_db *db, const uint8_t *qname);

/*
 * The same, from the name's label offsets and suffix hashes (see
 * dname_suffix_hashes); returns the zone and sets `*label` to the index of
 * the label where its apex starts.
 */
const struct zone *zone_db_find_h(const struct zone_db *db, const uint8_t *name,
				  const uint8_t *offs, unsigned nlabels,
				  const uint32_t *hashes, unsigned *label);

/* The zone whose apex is exactly `apex` (lower-cased), or NULL. */
struct zone *zone_db_get(const struct zone_db *db, const uint8_t *apex);
