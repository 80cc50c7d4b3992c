/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The authoritative answer path: query bytes plus a zone snapshot in,
 * response bytes out.  Pure: no I/O, no clock, no locks, no allocation.
 * Follows RFC 1034 4.3.2 with RFC 2308 (negative answers), RFC 4592
 * (wildcards), RFC 6891 (EDNS) and RFC 8482 (minimal ANY); where the RFCs
 * leave room it behaves as Knot DNS does.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/pkt.h"
#include "zone/zonedb.h"

/* Answer-path settings from the configuration. */
struct auth_conf {
	uint16_t max_udp;        /* largest UDP response we send (default 1232) */
	uint8_t nsid_len;        /* 0 = NSID disabled */
	uint8_t nsid[64];
	const char *identity;    /* CH TXT id.server / hostname.bind, NULL = REFUSED */
	const char *version;     /* CH TXT version.server / version.bind, NULL = REFUSED */
};

/* What the server needs to know about an answer, for statistics. */
struct auth_result {
	uint16_t qtype;
	uint8_t rcode;           /* full rcode, extended included */
	bool tc;
};

/*
 * Answer `query` (`qlen` bytes) into `out` (`outcap` bytes, at least 512;
 * 65535 for TCP).  `tcp` lifts the UDP size limit.  Returns the response
 * length, or 0 when the packet must be dropped silently.
 */
size_t auth_answer(const struct zone_db *db, const struct auth_conf *conf,
		   const uint8_t *query, size_t qlen, bool tcp,
		   uint8_t *out, size_t outcap, struct auth_result *res);
