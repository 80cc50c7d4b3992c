/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * ZONEMD (RFC 8976): a digest of the whole zone, in the zone, at its apex.
 * vaned computes it at load with the SIMPLE scheme and SHA-384, so a
 * secondary or a consumer of the zone file can check that what it holds
 * is what the primary loaded.
 */
#pragma once

#include <stdint.h>

#include "lib/errcode.h"
#include "zone/zone.h"

#define ZONEMD_TYPE 63
#define ZONEMD_SCHEME_SIMPLE 1     /* RFC 8976 5.2 */
#define ZONEMD_HASH_SHA384 1       /* RFC 8976 5.3 */
#define ZONEMD_SHA384_LEN 48

/*
 * The SIMPLE digest (RFC 8976 3.3.1) of `z` with SHA-384: every RR of the
 * zone in canonical form and order (RFC 4034 6), glue and occluded data
 * included, duplicates once, but the apex ZONEMD RRset and the apex RRSIGs
 * that cover it left out.  Returns 0 and `out`, or a negative VANE_E* code.
 */
int zonemd_digest(const struct zone *z, uint8_t out[ZONEMD_SHA384_LEN]) VANE_WUR;

/*
 * Put the apex ZONEMD of `z` (serial of its SOA, SIMPLE, SHA-384, the
 * digest above; TTL of the SOA, RFC 8976 2) in place of any there.  Only
 * while the zone is not yet published: it changes the apex node.
 */
int zonemd_add(struct zone *z) VANE_WUR;
