/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <string.h>

#include "auth/resp.h"

/* Remember that the suffix `name` (`len` bytes) sits at offset `off`. */
static inline void ctab_add(struct resp *r, const uint8_t *name, size_t len, size_t off)
{
	if (off < 0x3FFF && r->nc < RESP_CTAB) {
		r->ctab[r->nc].name = name;
		r->ctab[r->nc].off = (uint16_t)off;
		r->ctab[r->nc].len = (uint8_t)len;
		r->nc++;
	}
}

void resp_init(struct resp *r, uint8_t *buf, size_t limit, const uint8_t *query,
	       size_t qlen, const struct dns_query *q)
{
	r->w = wire_init(buf, limit);
	r->counts[0] = r->counts[1] = r->counts[2] = 0;
	r->tc = false;
	r->ecs_scope = 0;
	r->nc = 0;
	r->q_pending = NULL;
	wire_write(&r->w, query, qlen);
	if (q->qname_len && q->qname_labels && !r->w.err) {
		/* The question name sits uncompressed at offset 12: every suffix
		 * of it (lower-cased copy from the parse) is a target.  The whole
		 * name is the first; the others are written by ctab_fill when
		 * needed, but their slots are taken now, so marks and rewinds see
		 * the same table either way. */
		ctab_add(r, q->qname, q->qname_len, DNS_HDRLEN);
		r->nc = q->qname_labels < RESP_CTAB ? q->qname_labels : RESP_CTAB;
		if (r->nc > 1)
			r->q_pending = q;
	}
}

/* Write the question's suffixes into the slots resp_init kept for them. */
static void ctab_fill(struct resp *r)
{
	const struct dns_query *q = r->q_pending;
	unsigned n = q->qname_labels < RESP_CTAB ? q->qname_labels : RESP_CTAB;
	r->q_pending = NULL;
	for (unsigned i = 1; i < n; i++) {
		r->ctab[i].name = q->qname + q->qname_offs[i];
		r->ctab[i].off = (uint16_t)(DNS_HDRLEN + q->qname_offs[i]);
		r->ctab[i].len = (uint8_t)(q->qname_len - q->qname_offs[i]);
	}
}

/* Offset of `name` (`len` bytes) if the response already holds it, else 0.
 * The same pointer (owner names are mostly the question) needs no compare. */
static inline uint16_t ctab_find(const struct resp *r, const uint8_t *name, size_t len)
{
	for (unsigned i = 0; i < r->nc; i++) {
		const uint8_t *t = r->ctab[i].name;
		if (r->ctab[i].len != len)
			continue;
		if (t == name)
			return r->ctab[i].off;
		/* The first label's length and last byte reject most of the
		 * same-length names of a zone transfer (host1, host2, ...)
		 * before the full compare. */
		if (t[0] == name[0] && dname_lower_tab[t[t[0]]] == dname_lower_tab[name[name[0]]] &&
		    dname_equal(t, name))
			return r->ctab[i].off;
	}
	return 0;
}

void resp_put_name(struct resp *r, const uint8_t *name)
{
	/* Most owners are the question name itself (the first target). */
	if (r->nc > 0 && name == r->ctab[0].name) {
		wire_write_u16(&r->w, (uint16_t)(0xC000 | r->ctab[0].off));
		return;
	}
	if (r->q_pending)
		ctab_fill(r);
	size_t len = dname_len(name);
	const uint8_t *p = name;
	size_t plen = len;
	size_t start = wire_offset(&r->w);
	uint16_t ptr = 0;

	/* Longest suffix already written wins (RFC 1035 4.1.4). */
	while (*p && !(ptr = ctab_find(r, p, plen))) {
		plen -= 1u + *p;
		p += 1u + *p;
	}
	size_t lit = (size_t)(p - name);
	if (ptr) {
		wire_write(&r->w, name, lit);
		wire_write_u16(&r->w, (uint16_t)(0xC000 | ptr));
	} else {
		wire_write(&r->w, name, len);
	}
	if (r->w.err)
		return;
	/* Each label written out in full starts a new target. */
	for (const uint8_t *s = name; s < p; s += 1u + *s)
		ctab_add(r, s, len - (size_t)(s - name), start + (size_t)(s - name));
}

/* Types whose RDATA names may be compressed (RFC 3597 4: only those of
 * RFC 1035), and where in the RDATA those names are. */
static void put_rdata(struct resp *r, uint16_t type, const uint8_t *rd, uint16_t rdlen)
{
	switch (type) {
	case DNS_NS:
	case DNS_CNAME:
	case DNS_PTR:
		resp_put_name(r, rd);
		return;
	case DNS_MX:
		wire_write(&r->w, rd, 2);
		resp_put_name(r, rd + 2);
		return;
	case DNS_SOA: {
		size_t l1 = dname_len(rd);
		size_t l2 = dname_len(rd + l1);
		resp_put_name(r, rd);
		resp_put_name(r, rd + l1);
		wire_write(&r->w, rd + l1 + l2, 20);
		return;
	}
	default:
		wire_write(&r->w, rd, rdlen);
	}
}

static bool put_one(struct resp *r, const uint8_t *owner, uint16_t type,
		    uint16_t rclass, uint32_t ttl, const uint8_t *rd, uint16_t rdlen,
		    bool compress)
{
	resp_put_name(r, owner);
	wire_write_u16(&r->w, type);
	wire_write_u16(&r->w, rclass);
	wire_write_u32(&r->w, ttl);
	uint8_t *lenpos = r->w.pos;
	wire_write_u16(&r->w, 0);
	if (compress)
		put_rdata(r, type, rd, rdlen);
	else
		wire_write(&r->w, rd, rdlen);
	if (r->w.err)
		return false;
	wire_put_u16(lenpos, (uint16_t)(r->w.pos - lenpos - 2));
	return true;
}

static bool rewind_to(struct resp *r, uint8_t *pos, unsigned nc, enum resp_section sec)
{
	r->w.err = 0;
	r->w.pos = pos;
	r->nc = nc;
	if (sec != SEC_AR)
		r->tc = true;
	return false;
}

bool resp_put_rrset(struct resp *r, enum resp_section sec, const uint8_t *owner,
		    const struct rrset *rs, uint32_t ttl)
{
	uint8_t *start = r->w.pos;
	unsigned nc = r->nc;
	const uint8_t *p = rs->rdata;
	if (r->w.err)
		return false;
	for (unsigned i = 0; i < rs->count; i++) {
		uint16_t rdlen = wire_get_u16(p);
		if (!put_one(r, owner, rs->type, DNS_IN, ttl, p + 2, rdlen, true))
			return rewind_to(r, start, nc, sec);
		p += 2 + rdlen;
	}
	r->counts[sec] = (uint16_t)(r->counts[sec] + rs->count);
	return true;
}

bool resp_put_rr(struct resp *r, enum resp_section sec, const uint8_t *owner,
		 uint16_t type, uint16_t rclass, uint32_t ttl,
		 const uint8_t *rdata, uint16_t rdlen)
{
	uint8_t *start = r->w.pos;
	unsigned nc = r->nc;
	if (r->w.err)
		return false;
	if (!put_one(r, owner, type, rclass, ttl, rdata, rdlen, false))
		return rewind_to(r, start, nc, sec);
	r->counts[sec]++;
	return true;
}

size_t resp_finish(struct resp *r)
{
	uint8_t *h = r->w.start;
	wire_put_u16(h + 6, r->counts[SEC_AN]);
	wire_put_u16(h + 8, r->counts[SEC_NS]);
	wire_put_u16(h + 10, r->counts[SEC_AR]);
	if (r->tc)
		h[2] |= DNS_TC >> 8;
	return wire_offset(&r->w);
}
