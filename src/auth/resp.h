/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Response writer: header, question, RRs with name compression (RFC 1035
 * 4.1.4), section counts and all-or-nothing RRsets.  Works in the caller's
 * buffer; nothing is allocated.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "lib/pkt.h"
#include "lib/wire.h"
#include "zone/zone.h"

#define RESP_CTAB 48 /* compression targets remembered per response */

enum resp_section { SEC_AN, SEC_NS, SEC_AR };

struct resp {
	struct wire w;             /* end = the size limit for this transport */
	uint16_t counts[3];        /* AN, NS, AR */
	bool tc;                   /* something did not fit */
	uint8_t ecs_scope;         /* SCOPE PREFIX-LENGTH to echo (RFC 7871 7.2.1) */
	unsigned nc;
	/* The question's suffixes hold slots 1..nc at the start but are
	 * written there only when a name first misses the fast paths (most
	 * answers never need them): the question until then, else NULL. */
	const struct dns_query *q_pending;
	struct {
		const uint8_t *name;   /* uncompressed wire name, any case */
		uint16_t off;          /* where it sits in the response */
		uint8_t len;
	} ctab[RESP_CTAB];
};

/* Start a response in `buf` limited to `limit` bytes, copying the question
 * (`qlen` bytes after the header) from the query so its case is kept. */
void resp_init(struct resp *r, uint8_t *buf, size_t limit, const uint8_t *query,
	       size_t qlen, const struct dns_query *q);

/* Write a name, compressed against what the response already holds. */
void resp_put_name(struct resp *r, const uint8_t *name);

/*
 * Append a whole RRset to `sec` with owner `owner` and TTL `ttl`.  On no
 * space the response is rewound to before the RRset and false returned;
 * `r->tc` is set unless the section is the additional one.
 */
bool resp_put_rrset(struct resp *r, enum resp_section sec, const uint8_t *owner,
		    const struct rrset *rs, uint32_t ttl);

/* Append one RR of class `rclass` with raw RDATA (no compression inside). */
bool resp_put_rr(struct resp *r, enum resp_section sec, const uint8_t *owner,
		 uint16_t type, uint16_t rclass, uint32_t ttl,
		 const uint8_t *rdata, uint16_t rdlen);

/* A point to go back to when a group of RRs must be all or nothing. */
struct resp_mark {
	uint8_t *pos;
	unsigned nc;
	uint16_t counts[3];
};

static inline struct resp_mark resp_mark(const struct resp *r)
{
	struct resp_mark m = { r->w.pos, r->nc, { r->counts[0], r->counts[1], r->counts[2] } };
	return m;
}

/* Undo everything written since `m`; the response is marked truncated. */
static inline void resp_rewind(struct resp *r, const struct resp_mark *m)
{
	r->w.err = 0;
	r->w.pos = m->pos;
	r->nc = m->nc;
	for (int i = 0; i < 3; i++)
		r->counts[i] = m->counts[i];
	r->tc = true;
}

/* Write the section counts into the header; returns the response length. */
size_t resp_finish(struct resp *r);
