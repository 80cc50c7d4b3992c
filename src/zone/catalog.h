/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Catalog zones, producer side (RFC 9432): the text of a catalog zone that
 * lists member zones, for a consumer (Knot's `catalog-role: interpret`)
 * to provision them by itself.  The text is loaded like any zone file, so
 * the catalog is served, transferred and notified like any zone.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/errcode.h"
#include "zone/zone.h"

#define CATALOG_ID_LEN 16 /* hex digits of a member's unique id */

/*
 * The member's unique-id label (RFC 9432 4.1): hex of the first 8 bytes
 * of SHA-256 over the member's lower-cased wire name.  Stable for the
 * name, so a reload or a restart never makes a consumer think a member
 * was removed and re-added (which would purge its data, RFC 9432 5.3).
 * `member` is a presentation name; `out` gets CATALOG_ID_LEN + 1 bytes.
 */
int catalog_member_id(const char *member, char *out) VANE_WUR;

/*
 * The zone text of catalog `catalog` (presentation form) with `members`
 * (presentation form, distinct) at `serial`: the SOA and NS that RFC 9432
 * 4 asks for (invalid. names, TTL 0), `version TXT "2"`, and one
 * `<id>.zones PTR <member>` per member.  Returns 0 and a malloc'd
 * `*text` of `*len` bytes, or a negative VANE_E* code.
 */
int catalog_text(const char *catalog, const char *const *members, unsigned n,
		 uint32_t serial, char **text, size_t *len) VANE_WUR;

/*
 * Whether `prev` (a loaded catalog, may be NULL) lists exactly `members`:
 * then the catalog keeps its serial and consumers have nothing to fetch.
 */
bool catalog_same(const struct zone *prev, const char *const *members, unsigned n);
