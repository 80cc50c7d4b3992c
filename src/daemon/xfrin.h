/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Zone transfers in, for a secondary zone: one refresh (RFC 1034 4.3.5)
 * against the zone's primaries, tried in order.  Ask for the SOA over
 * UDP; when the primary's serial is newer, take IXFR over TCP (RFC 1995)
 * and fall back to AXFR (RFC 5936) when the primary cannot send the
 * differences or they do not apply; TSIG (RFC 8945) on every message when
 * the zone has a key.  The result is saved as a zone file, written to a
 * temporary file and renamed over the saved copy, so a crash leaves the
 * old copy or the new one, never half of one.
 *
 * Blocking, with deadlines: runs on libuv's threadpool, never on the query
 * path nor on the loop thread.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "lib/dname.h"
#include "lib/tsig.h"
#include "zone/zone.h"

#define XFRIN_MAX_PRIMARIES 16

enum xfrin_outcome {
	XFRIN_FAILED = 0,   /* no primary answered usably: `error` says why */
	XFRIN_UPTODATE,     /* the serving serial is the primary's */
	XFRIN_SAVED,        /* a new version was saved to `path` */
};

struct xfrin_req {
	/* In, owned by the caller for the duration of the run. */
	uint8_t apex[DNAME_MAXLEN];
	char name[DNAME_MAXSTR];            /* for messages */
	struct sockaddr_storage primary[XFRIN_MAX_PRIMARIES];
	socklen_t primary_len[XFRIN_MAX_PRIMARIES];
	char primary_text[XFRIN_MAX_PRIMARIES][64];
	unsigned nprimary;
	bool have_key;
	struct tsig_key key;
	const struct zone *cur;             /* serving version (a reference), or NULL */
	const char *path;                   /* the saved copy */
	unsigned timeout_ms;                /* per step: SOA query, connect, each read */
	int cancel;                         /* set (atomically) to give up: the daemon stops */

	/* Out. */
	enum xfrin_outcome outcome;
	uint32_t serial;                    /* the primary's serial */
	uint32_t refresh, retry, expire;    /* its SOA timers, seconds */
	const char *kind;                   /* "IXFR", "AXFR" or "SOA" */
	unsigned from;                      /* which primary answered */
	unsigned records;                   /* in the saved version */
	char error[256];
};

/* One refresh; fills the outputs. */
void xfrin_run(struct xfrin_req *r);
