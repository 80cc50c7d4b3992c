/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The records of one zone version as a set a transfer can edit: filled
 * from a loaded zone or from an AXFR, changed by the deletions and
 * additions of an IXFR (RFC 1995), then written out as a zone file.
 * Records are matched on owner (lower-cased), type and RDATA bytes, as
 * RFC 1995 4 compares them.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/errcode.h"
#include "zone/zone.h"

struct rrl_rec {
	uint8_t *owner;          /* lower-cased wire name */
	uint8_t *rdata;          /* uncompressed */
	uint32_t ttl;
	uint16_t type, rdlen;
	bool gone;               /* deleted by an IXFR */
};

struct rrlist {
	struct rrl_rec *rec;
	size_t n, cap, live;
	uint32_t *slot;          /* hash index: record index + 1, 0 empty */
	size_t nslot;
};

void rrlist_init(struct rrlist *l);
void rrlist_free(struct rrlist *l);

/* Add a record (copied).  Returns 0 or VANE_ENOMEM. */
int rrlist_add(struct rrlist *l, const uint8_t *owner, uint16_t type, uint32_t ttl,
	       const uint8_t *rdata, uint16_t rdlen) VANE_WUR;

/* Delete the record equal to this one; VANE_ENOENT when there is none
 * (the IXFR does not apply to this version). */
int rrlist_del(struct rrlist *l, const uint8_t *owner, uint16_t type, const uint8_t *rdata,
	       uint16_t rdlen) VANE_WUR;

/* Every record of `z`, its apex SOA included. */
int rrlist_from_zone(struct rrlist *l, const struct zone *z) VANE_WUR;

/*
 * Write the records as a zone file to `path`: to `path`.tmp first, synced,
 * then renamed over `path` (its directory created when missing).  RDATA is
 * written in the RFC 3597 generic form, so every type round-trips without
 * knowing its presentation format.  Returns 0 or a VANE_E* code.
 */
int rrlist_save(const struct rrlist *l, const char *path, const char *origin) VANE_WUR;
