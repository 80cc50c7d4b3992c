/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <string.h>

#include "resolver/msg.h"

void rmsg_clear(struct rmsg *m)
{
	m->nrr = 0;
	m->used = 0;
	m->rcode = 0;
	m->ecs = false;
	m->ecs_scope = 0;
}

static int buf_put(struct rmsg *m, const void *p, size_t n, uint16_t *off)
{
	if (m->used + n > RMSG_BUFSIZE)
		return VANE_ESPACE;
	*off = (uint16_t)m->used;
	memcpy(m->buf + m->used, p, n);
	m->used += n;
	return 0;
}

int rmsg_add(struct rmsg *m, enum rsec sec, const uint8_t *owner, uint16_t type,
	     uint16_t cls, uint32_t ttl, const uint8_t *rdata, uint16_t rdlen)
{
	if (m->nrr >= RMSG_MAXRR)
		return VANE_ESPACE;
	struct rrec *r = &m->rr[m->nrr];
	uint8_t low[DNAME_MAXLEN];
	size_t olen = dname_len(owner);
	memcpy(low, owner, olen);
	dname_lower(low);
	if (buf_put(m, low, olen, &r->owner) != 0 ||
	    buf_put(m, rdata, rdlen, &r->rdata) != 0)
		return VANE_ESPACE;
	r->type = type;
	r->cls = cls;
	r->ttl = ttl;
	r->rdlen = rdlen;
	r->sec = (uint8_t)sec;
	m->nrr++;
	return 0;
}

int rmsg_copy_rr(struct rmsg *dst, enum rsec sec, const struct rmsg *src,
		 const struct rrec *r)
{
	return rmsg_add(dst, sec, rr_owner(src, r), r->type, r->cls, r->ttl,
			rr_rdata(src, r), r->rdlen);
}

/*
 * Layout of rdata with compressible names (RFC 3597 4: only the RFC 1035
 * era types may be compressed): number of leading fixed bytes, names,
 * then the rest copied.
 */
static int rdata_names(uint16_t type, unsigned *skip)
{
	*skip = 0;
	switch (type) {
	case DNS_NS: case DNS_CNAME: case DNS_PTR: case DNS_DNAME:
		return 1;
	case DNS_MX: case DNS_AFSDB: case DNS_KX:
		*skip = 2;
		return 1;
	case DNS_SOA: case DNS_RP:
		return 2;
	case DNS_SRV:
		*skip = 6;
		return 1;
	default:
		return 0;
	}
}

/* The label `i` (0 = leftmost) of a wire name. */
static uint8_t *label_at(uint8_t *name, unsigned i)
{
	while (i-- > 0)
		name += *name + 1;
	return name;
}

/*
 * Undo our 0x20 case (RFC 5452 9.1 / draft-vixie-dnsext-dns0x20) in a name
 * taken from rdata: an authority that compresses against the question (or
 * copies it) hands back the random case we invented, which must reach
 * neither clients nor the cache.  Walking from the root, every label equal
 * to the matching label of the sent name byte for byte is lower-cased; the
 * walk stops at the first label that differs beyond case.  A label that
 * differs only in case is the authority's own spelling and is kept.
 */
static void unrandomise_case(uint8_t *name, const uint8_t *sent)
{
	unsigned nl = dname_labels(name), sl = dname_labels(sent);
	for (unsigned k = 1; k <= nl && k <= sl; k++) {
		uint8_t *a = label_at(name, nl - k);
		const uint8_t *b = label_at((uint8_t *)sent, sl - k);
		if (*a != *b)
			return;
		bool exact = memcmp(a + 1, b + 1, *a) == 0;
		for (unsigned i = 1; i <= *a; i++)
			if (dname_lower_tab[a[i]] != dname_lower_tab[b[i]])
				return;
		if (exact)
			for (unsigned i = 1; i <= *a; i++)
				a[i] = dname_lower_tab[a[i]];
	}
}

/*
 * The exact RDATA length of a fixed-size type, or of what follows the names
 * of a type with names (SOA: the five 32-bit fields; RP: none), or -1 when
 * the type's RDATA may be any length.  RFC 1035 3.3/3.4 fix these layouts:
 * a record whose RDLENGTH disagrees is malformed, and kept it would be
 * re-emitted to clients as a record their parsers reject (as Knot's and
 * Unbound's parsers reject it).
 */
static int rdata_fixed(uint16_t type, int names)
{
	switch (type) {
	case DNS_A: return 4;
	case DNS_AAAA: return 16;
	case DNS_SOA: return 20;
	default: return names > 0 ? 0 : -1;
	}
}

/*
 * Copy RDATA with its names decompressed into `out` (RMSG_RDATA_MAX bytes).
 * Decompression can grow a 2-byte pointer into a 255-byte name, so an
 * authority can make the result longer than any RDATA may be: such a record
 * is malformed (the result must fit RDLENGTH's 16 bits).
 */
#define RMSG_RDATA_MAX (UINT16_MAX + 2 * DNAME_MAXLEN)

static int read_rdata(const uint8_t *pkt, size_t len, size_t off, uint16_t rdlen,
		      uint16_t type, const uint8_t *sent, uint8_t *out, uint16_t *outlen)
{
	unsigned skip;
	int names = rdata_names(type, &skip);
	size_t end = off + rdlen, o = off, w = 0;

	int fixed = rdata_fixed(type, names);

	if (end > len)
		return VANE_EMALF;
	if (names == 0) {
		if (fixed >= 0 && rdlen != fixed)
			return VANE_EMALF;
		memcpy(out, pkt + off, rdlen);
		*outlen = rdlen;
		return 0;
	}
	if (skip > rdlen)
		return VANE_EMALF;
	memcpy(out, pkt + o, skip);
	o += skip;
	w += skip;
	for (int i = 0; i < names; i++) {
		if (w + DNAME_MAXLEN > RMSG_RDATA_MAX)
			return VANE_EMALF;
		int n = dname_unpack(pkt, end, &o, out + w, false);
		if (n < 0)
			return n;
		if (sent)
			unrandomise_case(out + w, sent);
		w += (size_t)n;
	}
	if (o > end || w + (end - o) > UINT16_MAX || end - o != (size_t)fixed)
		return VANE_EMALF;
	memcpy(out + w, pkt + o, end - o);
	w += end - o;
	*outlen = (uint16_t)w;
	return 0;
}

static void parse_opt(struct rmsg *m, const uint8_t *rd, uint16_t rdlen)
{
	struct wire w = wire_init_ro(rd, rdlen);
	m->edns = true;
	while (wire_avail(&w) >= 4) {
		uint16_t code = wire_read_u16(&w), olen = wire_read_u16(&w);
		const uint8_t *p = w.pos;
		wire_skip(&w, olen);
		if (w.err)
			return;
		if (code == EDNS_ECS && olen >= 4) {
			m->ecs = true;
			m->ecs_scope = p[3];
		}
	}
}

int rmsg_parse(const uint8_t *pkt, size_t len, struct rmsg *m)
{
	uint8_t name[DNAME_MAXLEN];
	static __thread uint8_t rd[RMSG_RDATA_MAX];

	rmsg_clear(m);
	m->edns = false;
	m->has_question = false;
	if (len < DNS_HDRLEN)
		return VANE_EMALF;
	m->id = wire_get_u16(pkt);
	m->flags = wire_get_u16(pkt + 2);
	m->rcode = m->flags & 0xF;
	if (!(m->flags & DNS_QR))
		return VANE_EMALF;
	unsigned qd = wire_get_u16(pkt + 4);
	unsigned counts[3] = { wire_get_u16(pkt + 6), wire_get_u16(pkt + 8),
			       wire_get_u16(pkt + 10) };
	size_t off = DNS_HDRLEN;
	if (qd > 1)
		return VANE_EMALF;
	if (qd == 1) {
		if (dname_unpack(pkt, len, &off, m->qname, false) < 0 || off + 4 > len)
			return VANE_EMALF;
		m->qtype = wire_get_u16(pkt + off);
		m->qclass = wire_get_u16(pkt + off + 2);
		off += 4;
		m->has_question = true;
	}
	for (unsigned s = 0; s < 3; s++) {
		for (unsigned i = 0; i < counts[s]; i++) {
			if (dname_unpack(pkt, len, &off, name, true) < 0 || off + 10 > len)
				return VANE_EMALF;
			uint16_t type = wire_get_u16(pkt + off);
			uint16_t cls = wire_get_u16(pkt + off + 2);
			uint32_t ttl = wire_get_u32(pkt + off + 4);
			uint16_t rdlen = wire_get_u16(pkt + off + 8);
			off += 10;
			if (off + rdlen > len)
				return VANE_EMALF;
			if (type == DNS_OPT) {
				m->rcode |= (uint8_t)((ttl >> 24) << 4);
				parse_opt(m, pkt + off, rdlen);
				off += rdlen;
				continue;
			}
			uint16_t outlen;
			if (read_rdata(pkt, len, off, rdlen, type,
				       m->has_question ? m->qname : NULL, rd, &outlen) != 0)
				return VANE_EMALF;
			off += rdlen;
			if (ttl > 0x7fffffffu) /* RFC 2181 8 */
				ttl = 0;
			if (rmsg_add(m, (enum rsec)s, name, type, cls, ttl, rd, outlen) != 0)
				return VANE_EMALF;
		}
	}
	return 0;
}

const uint8_t *rr_target(const struct rmsg *m, const struct rrec *r)
{
	switch (r->type) {
	case DNS_NS: case DNS_CNAME: case DNS_DNAME: case DNS_PTR:
		return rr_rdata(m, r);
	default:
		return NULL;
	}
}

uint32_t rr_soa_minimum(const struct rmsg *m, const struct rrec *r)
{
	if (r->rdlen < 20)
		return 0;
	return wire_get_u32(rr_rdata(m, r) + r->rdlen - 4);
}

int rquery_build(uint8_t *buf, size_t size, uint16_t id, const uint8_t *qname,
		 uint16_t qtype, bool edns, const struct dns_ecs *ecs)
{
	struct wire w = wire_init(buf, size);
	wire_write_u16(&w, id);
	wire_write_u16(&w, 0);            /* RD clear: iterative */
	wire_write_u16(&w, 1);
	wire_write_u16(&w, 0);
	wire_write_u16(&w, 0);
	wire_write_u16(&w, edns ? 1 : 0);
	wire_write(&w, qname, dname_len(qname));
	wire_write_u16(&w, qtype);
	wire_write_u16(&w, DNS_IN);
	if (edns) {
		unsigned ab = ecs && ecs->present ? ecs_addr_bytes(ecs->source) : 0;
		wire_write_u8(&w, 0);
		wire_write_u16(&w, DNS_OPT);
		wire_write_u16(&w, DNS_EDNS_DEFAULT);
		wire_write_u32(&w, 0);
		if (ecs && ecs->present) {
			wire_write_u16(&w, (uint16_t)(8 + ab));
			wire_write_u16(&w, EDNS_ECS);
			wire_write_u16(&w, (uint16_t)(4 + ab));
			wire_write_u16(&w, ecs->family);
			wire_write_u8(&w, ecs->source);
			wire_write_u8(&w, 0);
			wire_write(&w, ecs->addr, ab);
		} else {
			wire_write_u16(&w, 0);
		}
	}
	return w.err ? w.err : (int)wire_offset(&w);
}

static void write_header(struct wire *w, const struct dns_query *q, uint8_t rcode)
{
	uint16_t flags = DNS_QR | DNS_RA | (q->flags & (DNS_RD | DNS_CD)) | (rcode & 0xF);
	flags |= (uint16_t)(q->flags & 0x7800); /* opcode */
	wire_write_u16(w, q->id);
	wire_write_u16(w, flags);
}

static void write_opt(struct wire *w, const struct dns_query *q, uint8_t rcode, uint8_t scope)
{
	wire_write_u8(w, 0);
	wire_write_u16(w, DNS_OPT);
	wire_write_u16(w, DNS_EDNS_DEFAULT);
	wire_write_u8(w, (uint8_t)(rcode >> 4));
	wire_write_u8(w, 0);
	wire_write_u16(w, 0);
	if (q->ecs.present) {
		unsigned ab = ecs_addr_bytes(q->ecs.source);
		wire_write_u16(w, (uint16_t)(8 + ab));
		wire_write_u16(w, EDNS_ECS);
		wire_write_u16(w, (uint16_t)(4 + ab));
		wire_write_u16(w, q->ecs.family);
		wire_write_u8(w, q->ecs.source);
		wire_write_u8(w, scope);
		wire_write(w, q->ecs.addr, ab);
	} else {
		wire_write_u16(w, 0);
	}
}

static size_t opt_size(const struct dns_query *q)
{
	if (!q->edns)
		return 0;
	return 11 + (q->ecs.present ? 8 + ecs_addr_bytes(q->ecs.source) : 0);
}

int ranswer_error(uint8_t *out, size_t maxlen, const struct dns_query *q,
		  const uint8_t *qpkt, size_t qlen, uint8_t rcode)
{
	struct wire w = wire_init(out, maxlen);
	bool has_q = q->question_end > DNS_HDRLEN && q->question_end <= qlen;
	write_header(&w, q, rcode);
	wire_write_u16(&w, has_q ? 1 : 0);
	wire_write_u16(&w, 0);
	wire_write_u16(&w, 0);
	wire_write_u16(&w, q->edns ? 1 : 0);
	if (has_q)
		wire_write(&w, qpkt + DNS_HDRLEN, q->question_end - DNS_HDRLEN);
	if (q->edns)
		write_opt(&w, q, rcode, 0);
	return w.err ? w.err : (int)wire_offset(&w);
}

/* Owner equal to the question name compresses to a pointer at offset 12. */
static void write_owner(struct wire *w, const struct dns_query *q, const uint8_t *owner)
{
	size_t n = dname_len(owner);
	if (n == q->qname_len && memcmp(owner, q->qname, n) == 0)
		wire_write_u16(w, 0xC00C);
	else
		wire_write(w, owner, n);
}

int ranswer_build(uint8_t *out, size_t maxlen, const struct dns_query *q,
		  const uint8_t *qpkt, uint8_t rcode, const struct rmsg *m,
		  uint32_t age, uint32_t fixed_ttl, uint8_t scope)
{
	struct wire w = wire_init(out, maxlen);
	uint16_t counts[3] = { 0, 0, 0 };
	size_t limit = maxlen - opt_size(q);

	write_header(&w, q, rcode);
	wire_write_u16(&w, 1);
	wire_skip(&w, 6);
	wire_write(&w, qpkt + DNS_HDRLEN, q->question_end - DNS_HDRLEN);
	if (w.err)
		return w.err;
	struct wire body = wire_init(out, limit);
	body.pos = w.pos;
	for (unsigned s = 0; s < 3; s++) {
		for (unsigned i = 0; i < m->nrr; i++) {
			const struct rrec *r = &m->rr[i];
			if (r->sec != s)
				continue;
			uint32_t ttl = fixed_ttl ? fixed_ttl : (r->ttl > age ? r->ttl - age : 0);
			uint8_t *mark = body.pos;
			write_owner(&body, q, rr_owner(m, r));
			wire_write_u16(&body, r->type);
			wire_write_u16(&body, r->cls);
			wire_write_u32(&body, ttl);
			wire_write_u16(&body, r->rdlen);
			wire_write(&body, rr_rdata(m, r), r->rdlen);
			if (body.err) {
				if (s == RSEC_AR) { /* additional data is optional */
					body.err = 0;
					body.pos = mark;
					goto done;
				}
				/* RFC 2181 9: TC when required data does not fit. */
				out[2] |= DNS_TC >> 8;
				counts[0] = counts[1] = counts[2] = 0;
				body.pos = out + q->question_end;
				body.err = 0;
				goto done;
			}
			counts[s]++;
		}
	}
done:
	wire_put_u16(out + 6, counts[0]);
	wire_put_u16(out + 8, counts[1]);
	wire_put_u16(out + 10, (uint16_t)(counts[2] + (q->edns ? 1 : 0)));
	w.pos = body.pos;
	if (q->edns)
		write_opt(&w, q, rcode, scope);
	return w.err ? w.err : (int)wire_offset(&w);
}

int rmsg_encode(const struct rmsg *m, const uint8_t *qname, uint16_t qtype,
		uint8_t *out, size_t size)
{
	struct wire w = wire_init(out, size);
	uint16_t counts[3] = { 0, 0, 0 };

	wire_write_u16(&w, 0);
	wire_write_u16(&w, (uint16_t)(DNS_QR | DNS_RA | (m->rcode & 0xF)));
	wire_write_u16(&w, 1);
	wire_skip(&w, 6);
	wire_write(&w, qname, dname_len(qname));
	wire_write_u16(&w, qtype);
	wire_write_u16(&w, DNS_IN);
	for (unsigned s = 0; s < 3; s++) {
		for (unsigned i = 0; i < m->nrr; i++) {
			const struct rrec *r = &m->rr[i];
			if (r->sec != s)
				continue;
			const uint8_t *o = rr_owner(m, r);
			wire_write(&w, o, dname_len(o));
			wire_write_u16(&w, r->type);
			wire_write_u16(&w, r->cls);
			wire_write_u32(&w, r->ttl);
			wire_write_u16(&w, r->rdlen);
			wire_write(&w, rr_rdata(m, r), r->rdlen);
			counts[s]++;
		}
	}
	if (w.err)
		return w.err;
	wire_put_u16(out + 6, counts[0]);
	wire_put_u16(out + 8, counts[1]);
	wire_put_u16(out + 10, counts[2]);
	return (int)wire_offset(&w);
}
