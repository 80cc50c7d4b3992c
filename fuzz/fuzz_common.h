/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Shared helpers of the fuzz targets. */
#pragma once

#include <stdio.h>
#include <stdlib.h>

#include "zone/zonedb.h"

/* A broken invariant: say which, then abort so libFuzzer saves the input. */
#define FUZZ_FAIL(...)                                                      \
	do {                                                                \
		fprintf(stderr, "INVARIANT: " __VA_ARGS__);                 \
		fputc('\n', stderr);                                        \
		abort();                                                    \
	} while (0)

/*
 * Load fuzz/zones/fuzz.zone as example.com. into a zone_db, once.  The file
 * is found through $VANE_FUZZ_ZONE, else the path compiled in by build.sh.
 * Exits the process when the fixture does not load (a setup error, not a
 * finding).
 */
struct zone_db *fuzz_load_fixture(void);

/* The fixture zone's origin. */
#define FUZZ_ORIGIN "example.com."
