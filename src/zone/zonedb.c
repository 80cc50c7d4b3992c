/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <stdlib.h>
#include <string.h>

#include "zone/zonedb.h"

static struct zone **slot_h(const struct zone_db *db, const uint8_t *apex, size_t len,
			    uint32_t h)
{
	uint32_t i = h & db->tmask;
	for (;;) {
		struct zone **s = &db->table[i];
		if (!*s || ((*s)->apex_len == len && memcmp((*s)->apex, apex, len) == 0))
			return s;
		i = (i + 1) & db->tmask;
	}
}

static struct zone **slot(const struct zone_db *db, const uint8_t *apex, size_t len)
{
	return slot_h(db, apex, len, dname_hash(apex, len));
}

int zone_db_new(struct zone *const *zones, unsigned count, struct zone_db **out)
{
	struct zone_db *db = calloc(1, sizeof(*db));
	if (!db)
		return VANE_ENOMEM;
	uint32_t size = 16;
	while (size < count * 2u)
		size <<= 1;
	db->table = calloc(size, sizeof(*db->table));
	db->zones = calloc(count ? count : 1, sizeof(*db->zones));
	if (!db->table || !db->zones) {
		zone_db_free(db);
		return VANE_ENOMEM;
	}
	db->tmask = size - 1;
	for (unsigned i = 0; i < count; i++) {
		struct zone **s = slot(db, zones[i]->apex, zones[i]->apex_len);
		if (*s) {
			zone_db_free(db);
			return VANE_EEXIST;
		}
		zone_ref(zones[i]);
		*s = zones[i];
		db->zones[db->count++] = zones[i];
	}
	*out = db;
	return 0;
}

void zone_db_free(struct zone_db *db)
{
	if (!db)
		return;
	for (unsigned i = 0; i < db->count; i++)
		zone_unref(db->zones[i]);
	free(db->zones);
	free(db->table);
	free(db);
}

const struct zone *zone_db_find(const struct zone_db *db, const uint8_t *qname)
{
	size_t len = dname_len(qname);
	const uint8_t *p = qname;
	for (;;) {
		const struct zone *z = *slot(db, p, len);
		if (z)
			return z;
		if (!p[0])
			return NULL;
		len -= 1 + p[0];
		p += 1 + p[0];
	}
}

const struct zone *zone_db_find_h(const struct zone_db *db, const uint8_t *name,
				  const uint8_t *offs, unsigned nlabels,
				  const uint32_t *hashes, unsigned *label)
{
	size_t len = (size_t)offs[nlabels] + 1;
	for (unsigned i = 0; i <= nlabels; i++) {
		const struct zone *z = *slot_h(db, name + offs[i], len - offs[i], hashes[i]);
		if (z) {
			*label = i;
			return z;
		}
	}
	return NULL;
}

struct zone *zone_db_get(const struct zone_db *db, const uint8_t *apex)
{
	return *slot(db, apex, dname_len(apex));
}
