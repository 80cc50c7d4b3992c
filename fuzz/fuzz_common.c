/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "fuzz/fuzz_common.h"

#ifndef FUZZ_ZONE_FILE
#define FUZZ_ZONE_FILE "fuzz/zones/fuzz.zone"
#endif

static void print_error(void *ctx, const char *file, unsigned long line,
			const char *msg)
{
	fprintf(stderr, "%s:%lu: %s\n", file, line, msg);
}

struct zone_db *fuzz_load_fixture(void)
{
	const char *path = getenv("VANE_FUZZ_ZONE");
	if (!path)
		path = FUZZ_ZONE_FILE;
	struct zone *z = NULL;
	struct zone_db *db = NULL;
	int r = zone_load(FUZZ_ORIGIN, path, print_error, NULL, &z);
	if (r != 0) {
		fprintf(stderr, "fuzz: cannot load fixture %s: %s\n", path,
			vane_strerror(r));
		exit(2);
	}
	r = zone_db_new(&z, 1, &db);
	zone_unref(z); /* the db holds its own reference */
	if (r != 0) {
		fprintf(stderr, "fuzz: zone_db_new: %s\n", vane_strerror(r));
		exit(2);
	}
	return db;
}
