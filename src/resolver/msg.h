/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Resolver-side messages: parse an authority's response into flat records
 * with names decompressed (owners lower-cased), so records can be kept and
 * re-emitted in any packet; build upstream queries and client answers.
 * Pure: no I/O, no clock.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/dname.h"
#include "lib/pkt.h"
#include "lib/wire.h"

#define RMSG_MAXRR 256
#define RMSG_BUFSIZE 65536

enum rsec { RSEC_AN = 0, RSEC_NS = 1, RSEC_AR = 2 };

struct rrec {
	uint16_t owner;          /* offset of the owner in buf (lower-cased) */
	uint16_t type, cls;
	uint32_t ttl;
	uint16_t rdata, rdlen;   /* offset in buf; names inside decompressed */
	uint8_t sec;             /* enum rsec */
};

struct rmsg {
	uint16_t id, flags;
	uint8_t rcode;
	uint8_t qname[DNAME_MAXLEN]; /* as sent, case kept */
	uint16_t qtype, qclass;
	bool has_question;
	bool edns;
	bool ecs;                /* an ECS option came back */
	uint8_t ecs_scope;
	unsigned nrr;
	struct rrec rr[RMSG_MAXRR];
	size_t used;
	uint8_t buf[RMSG_BUFSIZE];
};

static inline const uint8_t *rr_owner(const struct rmsg *m, const struct rrec *r)
{
	return m->buf + r->owner;
}

static inline const uint8_t *rr_rdata(const struct rmsg *m, const struct rrec *r)
{
	return m->buf + r->rdata;
}

/* Parse a response.  Returns 0 or VANE_EMALF (also for QR=0). */
int rmsg_parse(const uint8_t *pkt, size_t len, struct rmsg *m) VANE_WUR;

/* Reset to an empty message. */
void rmsg_clear(struct rmsg *m);

/* Append a record (rdata already uncompressed).  Returns 0 or VANE_ESPACE. */
int rmsg_add(struct rmsg *m, enum rsec sec, const uint8_t *owner, uint16_t type,
	     uint16_t cls, uint32_t ttl, const uint8_t *rdata, uint16_t rdlen) VANE_WUR;

/* Append a record of another message. */
int rmsg_copy_rr(struct rmsg *dst, enum rsec sec, const struct rmsg *src,
		 const struct rrec *r) VANE_WUR;

/* The name inside NS/CNAME/DNAME/PTR rdata, or NULL for other types. */
const uint8_t *rr_target(const struct rmsg *m, const struct rrec *r);

/* SOA MINIMUM of a SOA record, for RFC 2308 negative TTLs. */
uint32_t rr_soa_minimum(const struct rmsg *m, const struct rrec *r);

/* An upstream query with EDNS (1232, DO clear) and optionally an ECS option
 * (family 1/2, source bits, address).  Returns the length or < 0. */
int rquery_build(uint8_t *buf, size_t size, uint16_t id, const uint8_t *qname,
		 uint16_t qtype, bool edns, const struct dns_ecs *ecs) VANE_WUR;

/*
 * A client answer to the parsed query `q` (question copied from `qpkt`):
 * rcode and the records of `m`, TTLs lowered by `age` seconds (or set to
 * `fixed_ttl` when non-zero, for serve-stale), RA set, OPT echoed when the
 * client sent one, ECS echoed with `scope`.  Sets TC and drops the records
 * when they do not fit `maxlen`.  Returns the length or < 0.
 */
int ranswer_build(uint8_t *out, size_t maxlen, const struct dns_query *q,
		  const uint8_t *qpkt, uint8_t rcode, const struct rmsg *m,
		  uint32_t age, uint32_t fixed_ttl, uint8_t scope) VANE_WUR;

/* A records-free answer (SERVFAIL, REFUSED, FORMERR ...). */
int ranswer_error(uint8_t *out, size_t maxlen, const struct dns_query *q,
		  const uint8_t *qpkt, size_t qlen, uint8_t rcode) VANE_WUR;

/* A whole message (header, question, sections) for cache_put: QR, AA
 * clear, `m->rcode`.  Returns the length or < 0. */
int rmsg_encode(const struct rmsg *m, const uint8_t *qname, uint16_t qtype,
		uint8_t *out, size_t size) VANE_WUR;
