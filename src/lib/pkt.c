/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <string.h>

#include "lib/pkt.h"
#include "lib/wire.h"

/* RFC 7871 6: family, prefix bounds, exact address length, zero padding. */
static bool ecs_parse(const uint8_t *p, uint16_t len, struct dns_ecs *ecs)
{
	if (len < 4)
		return false;
	ecs->family = wire_get_u16(p);
	ecs->source = p[2];
	ecs->scope = p[3];
	unsigned maxbits;
	if (ecs->family == 1)
		maxbits = 32;
	else if (ecs->family == 2)
		maxbits = 128;
	else
		return false;
	if (ecs->source > maxbits)
		return false;
	/* RFC 7871 7.1.2: SCOPE PREFIX-LENGTH MUST be 0 in queries. */
	if (ecs->scope != 0)
		return false;
	unsigned nbytes = ecs_addr_bytes(ecs->source);
	if (len != 4 + nbytes)
		return false;
	memset(ecs->addr, 0, sizeof(ecs->addr));
	memcpy(ecs->addr, p + 4, nbytes);
	/* Bits past the prefix MUST be zero (RFC 7871 6, ADDRESS). */
	if (ecs->source % 8) {
		uint8_t mask = (uint8_t)(0xFF >> (ecs->source % 8));
		if (ecs->addr[nbytes - 1] & mask)
			return false;
	}
	ecs->present = true;
	return true;
}

static bool opt_parse(const uint8_t *rdata, uint16_t rdlen, struct dns_query *q)
{
	struct wire w = wire_init_ro(rdata, rdlen);
	while (wire_avail(&w) > 0) {
		uint16_t code = wire_read_u16(&w);
		uint16_t olen = wire_read_u16(&w);
		if (w.err || wire_avail(&w) < olen)
			return false;
		const uint8_t *val = w.pos;
		switch (code) {
		case EDNS_NSID:
			/* RFC 5001 2.3: the request carries an empty payload. */
			if (olen != 0)
				return false;
			q->nsid = true;
			break;
		case EDNS_ECS:
			if (q->ecs.present || !ecs_parse(val, olen, &q->ecs))
				return false;
			break;
		case EDNS_COOKIE: {
			/* RFC 7873 5.2.2: a malformed length is FORMERR; only
			 * the first option counts, but all must be well formed. */
			struct dns_cookie tmp;
			if (cookie_parse(val, olen, q->cookie.present ? &tmp : &q->cookie) < 0)
				return false;
			break;
		}
		default:
			break; /* RFC 6891 6.1.2: unknown options are ignored */
		}
		wire_skip(&w, olen);
	}
	return !w.err;
}

/*
 * The question name, lower-cased, with its label offsets.  It is the first
 * name in the message, so a compression pointer could only aim into the
 * header: any pointer (or obsolete label type) is malformed (Knot: FORMERR).
 */
static int qname_parse(const uint8_t *pkt, size_t len, struct dns_query *q)
{
	size_t pos = DNS_HDRLEN;
	unsigned n = 0;

	/* Pass 1: validate the labels and note where each starts. */
	for (;;) {
		if (pos >= len)
			return -1;
		uint8_t l = pkt[pos];
		if (l == 0)
			break;
		if (l > DNAME_MAXLABEL || pos - DNS_HDRLEN + 1u + l + 1u > DNAME_MAXLEN ||
		    pos + 1u + l >= len)
			return -1;
		q->qname_offs[n++] = (uint8_t)(pos - DNS_HDRLEN);
		pos += 1u + l;
	}
	size_t nlen = pos - DNS_HDRLEN + 1;
	q->qname_offs[n] = (uint8_t)(nlen - 1);
	q->qname_labels = (uint8_t)n;

	/* Pass 2: copy and lower-case eight bytes at a time.  Length bytes
	 * (0..63) are below 'A', so they pass through unchanged. */
	const uint8_t *src = pkt + DNS_HDRLEN;
	size_t i = 0;
	for (; i + 8 <= nlen; i += 8) {
		uint64_t x;
		memcpy(&x, src + i, 8);
		uint64_t h = x & 0x7F7F7F7F7F7F7F7Full;
		uint64_t ge_a = h + 0x3F3F3F3F3F3F3F3Full;  /* high bit set if >= 'A' */
		uint64_t gt_z = h + 0x2525252525252525ull;  /* high bit set if >  'Z' */
		uint64_t upper = ge_a & ~gt_z & ~x & 0x8080808080808080ull;
		x |= upper >> 2;                            /* 0x80 >> 2 = 0x20 */
		memcpy(q->qname + i, &x, 8);
	}
	for (; i < nlen; i++)
		q->qname[i] = dname_lower_tab[src[i]];
	return (int)nlen;
}

/* Skip one resource record; if it is an OPT, record it in `q`. */
static enum dns_verdict rr_skip(const uint8_t *pkt, size_t len, size_t *off,
				bool additional, struct dns_query *q)
{
	uint8_t owner[DNAME_MAXLEN];
	int r = dname_unpack(pkt, len, off, owner, true);
	if (r < 0)
		return DNS_V_FORMERR;
	if (*off + 10 > len)
		return DNS_V_FORMERR;
	const uint8_t *h = pkt + *off;
	uint16_t type = wire_get_u16(h);
	uint16_t rdlen = wire_get_u16(h + 8);
	*off += 10;
	if (*off + rdlen > len)
		return DNS_V_FORMERR;
	if (type == DNS_TSIG) {
		/* RFC 8945 5.1: the last record; checked by the caller. */
		if (!additional)
			return DNS_V_FORMERR;
		q->tsig = true;
	} else if (q->tsig) {
		return DNS_V_FORMERR;
	}
	if (type == DNS_OPT) {
		/* RFC 6891 6.1.1: one OPT, in the additional section, owner root. */
		if (!additional || q->edns || r != 1)
			return DNS_V_FORMERR;
		q->edns = true;
		uint16_t udp = wire_get_u16(h + 2);
		q->edns_udp = udp < DNS_UDP_MIN ? DNS_UDP_MIN : udp;
		q->edns_version = h[5];
		q->edns_do = (h[6] & 0x80) != 0;
		if (!opt_parse(pkt + *off, rdlen, q))
			return DNS_V_FORMERR;
	}
	*off += rdlen;
	return DNS_V_OK;
}

/* The SOA an IXFR carries: its serial is all we need. */
static int ixfr_soa(const uint8_t *pkt, size_t len, size_t *off, struct dns_query *q)
{
	uint8_t name[DNAME_MAXLEN];
	if (dname_unpack(pkt, len, off, name, true) < 0 || *off + 10 > len)
		return -1;
	uint16_t type = wire_get_u16(pkt + *off);
	size_t rdlen = wire_get_u16(pkt + *off + 8);
	*off += 10;
	size_t end = *off + rdlen, p = *off;
	if (type != DNS_SOA || end > len)
		return -1;
	if (dname_unpack(pkt, end, &p, name, false) < 0 ||
	    dname_unpack(pkt, end, &p, name, false) < 0 || p + 20 != end)
		return -1;
	q->ixfr_serial = wire_get_u32(pkt + p);
	q->ixfr_soa = true;
	*off = end;
	return 0;
}

enum dns_verdict dns_query_parse(const uint8_t *pkt, size_t len,
				 struct dns_query *q)
{
	q->qname_len = 0;
	q->qtype = 0;
	q->qclass = 0;
	q->question_end = DNS_HDRLEN;
	q->edns = false;
	q->edns_version = 0;
	q->edns_do = false;
	q->nsid = false;
	q->edns_udp = DNS_UDP_MIN;
	q->ecs.present = false;
	q->cookie.present = false;
	q->tsig = false;
	q->ixfr_soa = false;
	q->ixfr_serial = 0;

	if (len < DNS_HDRLEN)
		return DNS_V_DROP;
	q->id = wire_get_u16(pkt);
	q->flags = wire_get_u16(pkt + 2);
	if (q->flags & DNS_QR)
		return DNS_V_DROP; /* never answer a response (RFC 1035 4.1.1) */

	uint16_t qd = wire_get_u16(pkt + 4);
	uint16_t an = wire_get_u16(pkt + 6);
	uint16_t ns = wire_get_u16(pkt + 8);
	uint16_t ar = wire_get_u16(pkt + 10);

	/* Unknown opcodes get NOTIMP, with the question echoed if it parses. */
	enum dns_verdict bad = DNS_OPCODE(q->flags) == DNS_OP_QUERY ?
			       DNS_V_FORMERR : DNS_V_NOTIMP;
	if (qd != 1)
		return bad;

	int r = qname_parse(pkt, len, q);
	size_t off = DNS_HDRLEN + (size_t)(r > 0 ? r : 0);
	if (r < 0 || off + 4 > len)
		return bad;
	q->qname_len = (uint8_t)r;
	q->qtype = wire_get_u16(pkt + off);
	q->qclass = wire_get_u16(pkt + off + 2);
	off += 4;
	q->question_end = (uint16_t)off;
	if (bad == DNS_V_NOTIMP)
		return bad;

	/* A query has no answer or authority records (RFC 1035 4.1.1), but
	 * for the SOA of the client's version in an IXFR (RFC 1995 3). */
	if (an != 0 || ns > (q->qtype == DNS_IXFR ? 1 : 0))
		return DNS_V_FORMERR;
	if (ns == 1 && ixfr_soa(pkt, len, &off, q) != 0)
		return DNS_V_FORMERR;
	for (unsigned i = 0; i < ar; i++) {
		enum dns_verdict v = rr_skip(pkt, len, &off, true, q);
		if (v != DNS_V_OK)
			return v;
	}
	if (off != len)
		return DNS_V_FORMERR; /* trailing garbage */
	if (q->edns && q->edns_version > 0)
		return DNS_V_BADVERS;
	return DNS_V_OK;
}
