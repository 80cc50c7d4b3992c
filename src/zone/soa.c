/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * A served SOA serial other than the zone file's (zone_serve_serial).  The
 * zone stays immutable but for one pointer: the SOA RRset's RDATA, swapped
 * whole, so a reader copies either the old or the new SOA.
 */
#include <stdlib.h>
#include <string.h>

#include "lib/wire.h"
#include "zone/zone.h"

/* Offset of SERIAL in an SOA RDATA that starts with its RDLENGTH. */
static size_t soa_serial_off(const uint8_t *rd)
{
	size_t off = 2;
	off += dname_len(rd + off);   /* MNAME */
	off += dname_len(rd + off);   /* RNAME */
	return off;
}

uint32_t zone_served_serial(const struct zone *z)
{
	const uint8_t *rd = __atomic_load_n(&z->soa->rdata, __ATOMIC_ACQUIRE);
	return wire_get_u32(rd + soa_serial_off(rd));
}

int zone_serve_serial(struct zone *z, uint32_t serial, uint8_t **retired)
{
	struct rrset *soa = (struct rrset *)z->soa;
	*retired = NULL;
	if (zone_served_serial(z) == serial)
		return 0;
	const uint8_t *file = z->soa_file ? z->soa_file : soa->rdata;
	uint8_t *next = (uint8_t *)file;
	if (serial != z->serial) {
		if ((next = malloc(soa->rdata_len)) == NULL)
			return VANE_ENOMEM;
		memcpy(next, file, soa->rdata_len);
		wire_put_u32(next + soa_serial_off(next), serial);
	}
	z->soa_file = (uint8_t *)file;
	*retired = z->soa_heap;
	z->soa_heap = next == file ? NULL : next;
	__atomic_store_n(&soa->rdata, next, __ATOMIC_RELEASE);
	return 0;
}
