/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Turning a DNS message into a cache entry: parse the sections once, drop
 * what must not be replayed (OPT, TSIG, SIG(0)), decompress every name and
 * compress it again for the layout of the response the entry will answer,
 * so answering later is a memcpy plus TTL patches.
 */
#include <stdlib.h>
#include <string.h>

#include "lib/pkt.h"
#include "lib/wire.h"
#include "resolver/cache_int.h"

#define MAX_RRS 512          /* RRs kept per entry */
#define COMP_SLOTS 256       /* compression targets remembered */
#define WIRE_CAP 65535

/* Compression state: suffixes already written and their response offsets. */
struct builder {
	uint8_t wire[WIRE_CAP];
	size_t len;
	size_t base;                     /* response offset of wire[0] */
	unsigned nslot;
	const uint8_t *slot_name[COMP_SLOTS];
	uint16_t slot_off[COMP_SLOTS];
	uint8_t names[COMP_SLOTS][DNAME_MAXLEN]; /* copies the slots point into */
	unsigned nnames;
	unsigned nrr;
	uint32_t ttl[MAX_RRS];
	uint16_t off[MAX_RRS];
	int err;
};

/* Remember every suffix of `name` written at response offset `at`. */
static void remember(struct builder *b, const uint8_t *name, unsigned nlabels,
		     const uint8_t *offs, size_t at)
{
	if (b->nnames >= COMP_SLOTS)
		return;
	uint8_t *copy = b->names[b->nnames++];
	memcpy(copy, name, dname_len(name));
	for (unsigned i = 0; i < nlabels && b->nslot < COMP_SLOTS; i++) {
		if (at + offs[i] >= 0x4000)
			break;                   /* a pointer holds 14 bits */
		b->slot_name[b->nslot] = copy + offs[i];
		b->slot_off[b->nslot++] = (uint16_t)(at + offs[i]);
	}
}

static void put_bytes(struct builder *b, const void *p, size_t n)
{
	if (b->err)
		return;
	if (b->len + n > WIRE_CAP) {
		b->err = VANE_ESPACE;
		return;
	}
	memcpy(b->wire + b->len, p, n);
	b->len += n;
}

/* Write `name` (uncompressed, validated); compress it when `compress`. */
static void put_name(struct builder *b, const uint8_t *name, bool compress)
{
	uint8_t offs[DNAME_MAXLABELS];
	unsigned n = dname_label_offsets(name, offs);
	unsigned cut = n;                /* labels written before a pointer */
	uint16_t ptr = 0;
	for (unsigned i = 0; compress && i < n && cut == n; i++) {
		for (unsigned s = 0; s < b->nslot; s++) {
			if (dname_equal(b->slot_name[s], name + offs[i])) {
				cut = i;
				ptr = b->slot_off[s];
				break;
			}
		}
	}
	size_t at = b->base + b->len;
	remember(b, name, cut, offs, at);
	if (cut < n) {
		put_bytes(b, name, offs[cut]);
		uint8_t p[2] = { (uint8_t)(0xC0 | ptr >> 8), (uint8_t)ptr };
		put_bytes(b, p, 2);
	} else {
		put_bytes(b, name, offs[n] + 1u);
	}
}

/* How a type's RDATA holds names (RFC 3597 4: compress only RFC 1035 types). */
struct rdata_shape {
	uint8_t prefix;   /* fixed bytes before the first name */
	uint8_t names;    /* consecutive names */
	bool compress;    /* may be compressed on output */
};

static struct rdata_shape rdata_shape(uint16_t type)
{
	switch (type) {
	case DNS_NS: case 3: case 4: case DNS_CNAME: case 7: case 8: case 9:
	case DNS_PTR:
		return (struct rdata_shape){ 0, 1, true };
	case DNS_DNAME:
		return (struct rdata_shape){ 0, 1, false };
	case DNS_SOA: case 14: /* MINFO */
		return (struct rdata_shape){ 0, 2, true };
	case DNS_RP:
		return (struct rdata_shape){ 0, 2, false };
	case DNS_MX:
		return (struct rdata_shape){ 2, 1, true };
	case DNS_AFSDB: case 21: case DNS_KX:
		return (struct rdata_shape){ 2, 1, false };
	case DNS_SRV:
		return (struct rdata_shape){ 6, 1, false };
	default:
		return (struct rdata_shape){ 0, 0, false };
	}
}

/* Copy RDATA at msg[off..off+rdlen), rewriting the names in it. */
static int put_rdata(struct builder *b, const uint8_t *msg, size_t len, size_t off,
		     uint16_t rdlen, uint16_t type)
{
	size_t end = off + rdlen;
	struct rdata_shape sh = rdata_shape(type);
	if (sh.names == 0 || rdlen < sh.prefix) {
		put_bytes(b, msg + off, rdlen);
		return 0;
	}
	put_bytes(b, msg + off, sh.prefix);
	off += sh.prefix;
	for (unsigned i = 0; i < sh.names; i++) {
		uint8_t name[DNAME_MAXLEN];
		int r = dname_unpack(msg, end, &off, name, false);
		if (r < 0)
			return r;
		put_name(b, name, sh.compress);
	}
	put_bytes(b, msg + off, end - off);  /* e.g. SOA's five numbers */
	return 0;
}

/* Per-message facts gathered while copying. */
struct msg_facts {
	bool has_answer;     /* an RR of qtype (or CNAME) in the answer */
	bool has_soa;
	uint32_t soa_ttl, soa_min;
	unsigned soa_idx;    /* the RR index of that SOA */
};

/* Copy one RR from msg at *off (section `sec`). */
static int put_rr(struct builder *b, const uint8_t *msg, size_t len, size_t *off,
		  unsigned sec, uint16_t qtype, struct msg_facts *f, uint16_t *count)
{
	uint8_t owner[DNAME_MAXLEN];
	int r = dname_unpack(msg, len, off, owner, false);
	if (r < 0)
		return r;
	struct wire w = wire_init_ro(msg, len);
	wire_seek(&w, *off);
	uint16_t type = wire_read_u16(&w);
	uint16_t klass = wire_read_u16(&w);
	uint32_t ttl = wire_read_u32(&w);
	uint16_t rdlen = wire_read_u16(&w);
	size_t rd = wire_offset(&w);
	wire_skip(&w, rdlen);
	if (w.err)
		return VANE_EMALF;
	*off = wire_offset(&w);
	if (type == DNS_OPT || type == DNS_TSIG || type == 24 /* SIG(0) */)
		return 0;
	if (ttl > 0x7FFFFFFFu)
		ttl = 0;                 /* RFC 2181 8: treat as zero */
	if (sec == 0 && (type == qtype || type == DNS_CNAME || qtype == DNS_ANY))
		f->has_answer = true;
	if (sec == 1 && type == DNS_SOA && rdlen >= 22) {
		f->has_soa = true;
		f->soa_ttl = ttl;
		f->soa_min = wire_get_u32(msg + rd + rdlen - 4);
		f->soa_idx = b->nrr;
	}
	if (b->nrr >= MAX_RRS)
		return VANE_ENOTSUP;
	put_name(b, owner, true);
	uint8_t hdr[10];
	wire_put_u16(hdr, type);
	wire_put_u16(hdr + 2, klass);
	wire_put_u32(hdr + 4, ttl);
	b->ttl[b->nrr] = ttl;
	b->off[b->nrr++] = (uint16_t)(b->len + 4);
	size_t rdlen_at = b->len + 8;
	put_bytes(b, hdr, 10);
	r = put_rdata(b, msg, len, rd, rdlen, type);
	if (r < 0)
		return r;
	if (b->err)
		return b->err;
	wire_put_u16(b->wire + rdlen_at, (uint16_t)(b->len - rdlen_at - 2));
	(*count)++;
	return 0;
}

/* Not calloc: the builder is large and only its counters need zeroing. */
static struct builder *builder_new(size_t base)
{
	struct builder *b = malloc(sizeof(*b));
	if (b) {
		b->len = 0;
		b->base = base;
		b->nslot = 0;
		b->nnames = 0;
		b->nrr = 0;
		b->err = 0;
	}
	return b;
}

static uint32_t min_u32(uint32_t a, uint32_t b)
{
	return a < b ? a : b;
}

/*
 * Clamp the RR TTLs and return the entry's TTL.  Positive: every TTL into
 * [min_ttl, max_ttl].  Negative (RFC 2308 5): the SOA gets min(SOA TTL,
 * SOA MINIMUM) capped by neg_max_ttl; other RRs (a CNAME chain leading to
 * the negative answer) keep their own TTLs under max_ttl, as Unbound shows
 * them.  The entry lives for the smallest TTL, so never past the SOA's.
 */
static uint32_t clamp_ttls(struct builder *b, const struct cache_limits *lim,
			   bool negative, const struct msg_facts *f)
{
	uint32_t neg = cache_ttl_negative(f->soa_ttl, f->soa_min, lim->neg_max_ttl);
	uint32_t entry = UINT32_MAX;
	for (unsigned i = 0; i < b->nrr; i++) {
		uint32_t t;
		if (!negative)
			t = cache_ttl_positive(b->ttl[i], lim->min_ttl, lim->max_ttl);
		else
			t = min_u32(b->ttl[i], i == f->soa_idx ? neg : lim->max_ttl);
		b->ttl[i] = t;
		entry = min_u32(entry, t);
	}
	return b->nrr ? entry : 0;
}

static int alloc_entry(const struct builder *b, const uint8_t *name, size_t name_len,
		       struct cache_entry **out)
{
	size_t size = sizeof(struct cache_entry) + 6u * b->nrr + b->len + name_len;
	struct cache_entry *e = calloc(1, size);
	if (!e)
		return VANE_ENOMEM;
	e->bytes = (uint32_t)size;
	e->nrr = (uint16_t)b->nrr;
	e->wire_len = (uint16_t)b->len;
	e->name_len = (uint8_t)name_len;
	memcpy(entry_ttls(e), b->ttl, 4u * b->nrr);
	memcpy(entry_offs(e), b->off, 2u * b->nrr);
	memcpy(entry_wire(e), b->wire, b->len);
	memcpy(entry_name(e), name, name_len);
	*out = e;
	return 0;
}

static int skip_question(const uint8_t *msg, size_t len, size_t *off, uint16_t qd)
{
	for (unsigned i = 0; i < qd; i++) {
		uint8_t name[DNAME_MAXLEN];
		int r = dname_unpack(msg, len, off, name, false);
		if (r < 0)
			return r;
		*off += 4;
		if (*off > len)
			return VANE_EMALF;
	}
	return 0;
}

int cache_entry_from_msg(const struct cache_limits *lim, const uint8_t *qname,
			 uint16_t qtype, uint16_t qclass, const uint8_t *msg,
			 size_t len, uint64_t now, struct cache_entry **out)
{
	if (len < DNS_HDRLEN)
		return VANE_EMALF;
	uint8_t rcode = msg[3] & 0xF;
	if (rcode != DNS_NOERROR && rcode != DNS_NXDOMAIN)
		return VANE_ENOTSUP;
	size_t qlen = dname_len(qname);
	struct builder *b = builder_new(DNS_HDRLEN + qlen + 4);
	if (!b)
		return VANE_ENOMEM;
	uint8_t offs[DNAME_MAXLABELS];
	unsigned n = dname_label_offsets(qname, offs);
	remember(b, qname, n, offs, DNS_HDRLEN);

	struct msg_facts f = { 0 };
	uint16_t count[3] = { 0 };
	size_t off = DNS_HDRLEN;
	int ret = skip_question(msg, len, &off, wire_get_u16(msg + 4));
	for (unsigned sec = 0; sec < 3 && ret == 0; sec++) {
		uint16_t cnt = wire_get_u16(msg + 6 + 2 * sec);
		for (unsigned i = 0; i < cnt && ret == 0; i++)
			ret = put_rr(b, msg, len, &off, sec, qtype, &f, &count[sec]);
	}
	if (ret < 0)
		goto fail;
	bool negative = rcode == DNS_NXDOMAIN || !f.has_answer;
	ret = VANE_ENOTSUP;
	if (negative && !f.has_soa)
		goto fail;               /* RFC 2308 5: no SOA, no caching */
	uint32_t ttl = clamp_ttls(b, lim, negative, &f);
	if (ttl == 0)
		goto fail;
	struct cache_entry *e = NULL;
	ret = alloc_entry(b, qname, qlen, &e);
	if (ret < 0)
		goto fail;
	e->qtype = qtype;
	e->qclass = qclass;
	memcpy(e->count, count, sizeof(count));
	e->rcode = rcode;
	e->kind = rcode == DNS_NXDOMAIN ? CACHE_NXDOMAIN :
		  negative ? CACHE_NODATA : CACHE_POSITIVE;
	e->ttl = ttl;
	e->stored = now;
	e->expire = now + ttl;
	*out = e;
fail:
	free(b);
	return ret;
}

/* Delegation wire: nns, then per NS: name, naddr, per address: family, bytes. */
int cache_entry_from_deleg(const struct cache_deleg *d, uint32_t ttl, uint64_t now,
			   struct cache_entry **out)
{
	struct builder *b = builder_new(0);
	if (!b)
		return VANE_ENOMEM;
	unsigned nns = d->nns < CACHE_DELEG_MAXNS ? d->nns : CACHE_DELEG_MAXNS;
	uint8_t u8 = (uint8_t)nns;
	put_bytes(b, &u8, 1);
	for (unsigned i = 0; i < nns; i++) {
		const struct cache_deleg_ns *ns = &d->ns[i];
		unsigned na = ns->naddr < CACHE_DELEG_MAXADDR ? ns->naddr : CACHE_DELEG_MAXADDR;
		put_bytes(b, ns->name, dname_len(ns->name));
		u8 = (uint8_t)na;
		put_bytes(b, &u8, 1);
		for (unsigned a = 0; a < na; a++) {
			put_bytes(b, &ns->addr[a].family, 1);
			put_bytes(b, ns->addr[a].addr, ns->addr[a].family == 1 ? 4 : 16);
		}
	}
	struct cache_entry *e = NULL;
	int ret = alloc_entry(b, d->zone, dname_len(d->zone), &e);
	if (ret == 0) {
		e->qtype = DNS_NS;
		e->qclass = DNS_IN;
		e->kind = CACHE_DELEG;
		e->ttl = ttl;
		e->stored = now;
		e->expire = now + ttl;
		*out = e;
	}
	free(b);
	return ret;
}

void cache_entry_to_deleg(struct cache_entry *e, struct cache_deleg *d)
{
	const uint8_t *p = entry_wire(e);
	memcpy(d->zone, entry_name(e), e->name_len);
	d->nns = *p++;
	for (unsigned i = 0; i < d->nns; i++) {
		struct cache_deleg_ns *ns = &d->ns[i];
		size_t nl = dname_len(p);
		memcpy(ns->name, p, nl);
		p += nl;
		ns->naddr = *p++;
		for (unsigned a = 0; a < ns->naddr; a++) {
			ns->addr[a].family = *p++;
			size_t al = ns->addr[a].family == 1 ? 4 : 16;
			memset(ns->addr[a].addr, 0, sizeof(ns->addr[a].addr));
			memcpy(ns->addr[a].addr, p, al);
			p += al;
		}
	}
}
