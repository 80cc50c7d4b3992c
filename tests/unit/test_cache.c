/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests for resolver/cache with a fake clock: storing and answering,
 * TTL countdown and clamps, RFC 2308 negative TTLs, serve-stale (RFC 8767),
 * prefetch, LRU under a byte budget, ECS scopes (RFC 7871 7.3), flush,
 * delegations, and a threaded smoke test.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <pthread.h>

#include <cmocka.h>

#include "lib/dname.h"
#include "lib/pkt.h"
#include "lib/wire.h"
#include "resolver/cache.h"

#define T0 1000000u

/* --- building messages -------------------------------------------------- */

struct msg {
	uint8_t buf[4096];
	size_t len;
	uint16_t count[4];
};

static void name_of(const char *str, uint8_t *out)
{
	assert_true(dname_from_str(str, NULL, out) > 0);
}

static void msg_init(struct msg *m, uint16_t id, uint16_t flags, const char *qname,
		     uint16_t qtype)
{
	memset(m, 0, sizeof(*m));
	wire_put_u16(m->buf, id);
	wire_put_u16(m->buf + 2, flags);
	uint8_t n[DNAME_MAXLEN];
	name_of(qname, n);
	size_t nl = dname_len(n);
	memcpy(m->buf + 12, n, nl);
	wire_put_u16(m->buf + 12 + nl, qtype);
	wire_put_u16(m->buf + 14 + nl, DNS_IN);
	m->len = 16 + nl;
	m->count[0] = 1;
}

static void msg_rr(struct msg *m, unsigned sec, const char *owner, uint16_t type,
		   uint32_t ttl, const void *rdata, uint16_t rdlen)
{
	uint8_t n[DNAME_MAXLEN];
	name_of(owner, n);
	size_t nl = dname_len(n);
	uint8_t *p = m->buf + m->len;
	memcpy(p, n, nl);
	wire_put_u16(p + nl, type);
	wire_put_u16(p + nl + 2, DNS_IN);
	wire_put_u32(p + nl + 4, ttl);
	wire_put_u16(p + nl + 8, rdlen);
	memcpy(p + nl + 10, rdata, rdlen);
	m->len += nl + 10 + rdlen;
	m->count[sec]++;
}

static void msg_a(struct msg *m, const char *owner, uint32_t ttl, uint8_t last)
{
	uint8_t a[4] = { 192, 0, 2, last };
	msg_rr(m, 1, owner, DNS_A, ttl, a, 4);
}

static void msg_soa(struct msg *m, const char *zone, uint32_t ttl, uint32_t minimum)
{
	uint8_t rd[600];
	name_of("ns.example.com.", rd);
	size_t o = dname_len(rd);
	name_of("host.example.com.", rd + o);
	o += dname_len(rd + o);
	uint32_t nums[5] = { 1, 3600, 600, 86400, minimum };
	for (unsigned i = 0; i < 5; i++, o += 4)
		wire_put_u32(rd + o, nums[i]);
	msg_rr(m, 2, zone, DNS_SOA, ttl, rd, (uint16_t)o);
}

/* Finish: write counts; sec index 1..3 = answer, authority, additional. */
static void msg_done(struct msg *m)
{
	for (unsigned i = 0; i < 4; i++)
		wire_put_u16(m->buf + 4 + 2 * i, m->count[i]);
}

static void msg_ecs(struct msg *m, uint8_t a, uint8_t b, uint8_t c, uint8_t source)
{
	uint8_t *p = m->buf + m->len;
	unsigned ab = (source + 7u) / 8u;
	p[0] = 0;
	wire_put_u16(p + 1, DNS_OPT);
	wire_put_u16(p + 3, 1232);
	wire_put_u32(p + 5, 0);
	wire_put_u16(p + 9, (uint16_t)(8 + ab));
	wire_put_u16(p + 11, EDNS_ECS);
	wire_put_u16(p + 13, (uint16_t)(4 + ab));
	wire_put_u16(p + 15, 1);
	p[17] = source;
	p[18] = 0;
	uint8_t addr[4] = { a, b, c, 0 };
	memcpy(p + 19, addr, ab);
	m->len += 19 + ab;
	m->count[3]++;
}

/* --- querying ----------------------------------------------------------- */

struct resp {
	int len;
	uint8_t buf[4096];
	struct cache_hit hit;
};

static struct cache_net net4(uint8_t a, uint8_t b, uint8_t c, uint8_t d, uint8_t bits)
{
	struct cache_net n = { .family = 1, .bits = bits, .addr = { a, b, c, d } };
	return n;
}

static int ask(struct cache *c, const char *name, uint16_t qtype,
	       const struct cache_net *cl, uint64_t now, unsigned flags, struct resp *r)
{
	struct msg m;
	msg_init(&m, 0x1234, DNS_RD, name, qtype);
	msg_done(&m);
	struct dns_query q;
	assert_int_equal(dns_query_parse(m.buf, m.len, &q), DNS_V_OK);
	memset(&r->hit, 0, sizeof(r->hit));
	r->len = cache_answer(c, &q, m.buf, cl, now, flags, r->buf, sizeof(r->buf), &r->hit);
	if (r->len > 0) {
		assert_int_equal(wire_get_u16(r->buf), 0x1234);
		assert_true(wire_get_u16(r->buf + 2) & DNS_QR);
		assert_true(wire_get_u16(r->buf + 2) & DNS_RA);
		assert_true(wire_get_u16(r->buf + 2) & DNS_RD);
		assert_memory_equal(r->buf + 12, m.buf + 12, q.question_end - 12u);
	}
	return r->len;
}

/* Parsed RR n of the response (all sections in order). */
struct rr {
	uint8_t owner[DNAME_MAXLEN];
	uint16_t type;
	uint32_t ttl;
	uint16_t rdlen;
	const uint8_t *rdata;
	size_t rdoff;
};

static void resp_rr(const struct resp *r, unsigned n, struct rr *out)
{
	size_t off = 12;
	uint8_t tmp[DNAME_MAXLEN];
	assert_true(dname_unpack(r->buf, (size_t)r->len, &off, tmp, false) > 0);
	off += 4;
	for (unsigned i = 0; i <= n; i++) {
		assert_true(dname_unpack(r->buf, (size_t)r->len, &off, out->owner, true) > 0);
		out->type = wire_get_u16(r->buf + off);
		out->ttl = wire_get_u32(r->buf + off + 4);
		out->rdlen = wire_get_u16(r->buf + off + 8);
		out->rdoff = off + 10;
		out->rdata = r->buf + off + 10;
		off += 10u + out->rdlen;
		assert_true(off <= (size_t)r->len);
	}
}

static uint32_t first_ttl(const struct resp *r)
{
	struct rr rr;
	resp_rr(r, 0, &rr);
	return rr.ttl;
}

static void put_a(struct cache *c, const char *name, uint32_t ttl, uint8_t last,
		  const struct cache_net *scope, uint64_t now)
{
	struct msg m;
	msg_init(&m, 1, DNS_QR, name, DNS_A);
	msg_a(&m, name, ttl, last);
	msg_done(&m);
	uint8_t qn[DNAME_MAXLEN];
	name_of(name, qn);
	dname_lower(qn);
	assert_int_equal(cache_put(c, qn, DNS_A, DNS_IN, scope, m.buf, m.len, now), 0);
}

static struct cache *new_cache(struct cache_conf *cf)
{
	struct cache *c = cache_new(cf);
	assert_non_null(c);
	return c;
}

/* --- tests -------------------------------------------------------------- */

static void put_get(void **state)
{
	struct cache *c = new_cache(NULL);
	struct resp r;
	assert_int_equal(ask(c, "www.example.com.", DNS_A, NULL, T0, 0, &r), VANE_ENOENT);
	put_a(c, "www.example.com.", 300, 7, NULL, T0);
	assert_true(ask(c, "WWW.Example.COM.", DNS_A, NULL, T0, 0, &r) > 0);
	assert_int_equal(wire_get_u16(r.buf + 6), 1);
	assert_int_equal(wire_get_u16(r.buf + 2) & 0xF, DNS_NOERROR);
	struct rr rr;
	resp_rr(&r, 0, &rr);
	assert_int_equal(rr.type, DNS_A);
	assert_int_equal(rr.ttl, 300);
	assert_int_equal(rr.rdata[3], 7);
	/* the owner is a pointer to the question: 2 bytes */
	assert_int_equal(wire_get_u16(r.buf + 33), 0xC00C);
	assert_int_equal(ask(c, "www.example.com.", DNS_AAAA, NULL, T0, 0, &r), VANE_ENOENT);
	struct cache_stats st;
	cache_stats(c, &st);
	assert_int_equal(st.hits, 1);
	assert_int_equal(st.misses, 2);
	assert_int_equal(st.entries, 1);
	cache_free(c);
}

static void ttl_countdown_and_expiry(void **state)
{
	struct cache *c = new_cache(NULL);
	struct resp r;
	put_a(c, "a.example.", 300, 1, NULL, T0);
	assert_true(ask(c, "a.example.", DNS_A, NULL, T0 + 100, 0, &r) > 0);
	assert_int_equal(first_ttl(&r), 200);
	assert_int_equal(r.hit.ttl, 200);
	assert_true(ask(c, "a.example.", DNS_A, NULL, T0 + 299, 0, &r) > 0);
	assert_int_equal(first_ttl(&r), 1);
	assert_int_equal(ask(c, "a.example.", DNS_A, NULL, T0 + 300, 0, &r), VANE_ENOENT);
	cache_free(c);
}

static void negative_ttl(void **state)
{
	struct cache_conf cf = { .neg_max_ttl = 900, .min_ttl = 5000 };
	struct cache *c = new_cache(&cf);
	uint8_t qn[DNAME_MAXLEN];
	struct msg m;
	struct resp r;

	/* NXDOMAIN: min(SOA TTL 3600, MINIMUM 60) = 60; min-ttl not applied */
	msg_init(&m, 1, DNS_QR | DNS_NXDOMAIN, "nx.example.com.", DNS_A);
	msg_soa(&m, "example.com.", 3600, 60);
	msg_done(&m);
	name_of("nx.example.com.", qn);
	assert_int_equal(cache_put(c, qn, DNS_A, DNS_IN, NULL, m.buf, m.len, T0), 0);
	assert_true(ask(c, "nx.example.com.", DNS_A, NULL, T0 + 10, 0, &r) > 0);
	assert_int_equal(wire_get_u16(r.buf + 2) & 0xF, DNS_NXDOMAIN);
	assert_int_equal(r.hit.kind, CACHE_NXDOMAIN);
	assert_int_equal(wire_get_u16(r.buf + 8), 1);
	struct rr rr;
	resp_rr(&r, 0, &rr);
	assert_int_equal(rr.type, DNS_SOA);
	assert_int_equal(rr.ttl, 50);        /* SOA shows the remaining negative TTL */
	assert_true(ask(c, "nx.example.com.", DNS_A, NULL, T0 + 59, 0, &r) > 0);
	assert_int_equal(ask(c, "nx.example.com.", DNS_A, NULL, T0 + 60, 0, &r), VANE_ENOENT);

	/* NODATA with SOA TTL 7200 / MINIMUM 7200: capped at negative-max-ttl */
	msg_init(&m, 1, DNS_QR, "www.example.com.", DNS_AAAA);
	msg_soa(&m, "example.com.", 7200, 7200);
	msg_done(&m);
	name_of("www.example.com.", qn);
	assert_int_equal(cache_put(c, qn, DNS_AAAA, DNS_IN, NULL, m.buf, m.len, T0), 0);
	assert_true(ask(c, "www.example.com.", DNS_AAAA, NULL, T0, 0, &r) > 0);
	assert_int_equal(r.hit.kind, CACHE_NODATA);
	assert_int_equal(r.hit.ttl, 900);
	assert_int_equal(wire_get_u16(r.buf + 2) & 0xF, DNS_NOERROR);
	assert_int_equal(ask(c, "www.example.com.", DNS_AAAA, NULL, T0 + 900, 0, &r),
			 VANE_ENOENT);

	/* RFC 2308 5: negative without SOA is not cached; SERVFAIL never */
	msg_init(&m, 1, DNS_QR | DNS_NXDOMAIN, "x.example.com.", DNS_A);
	msg_done(&m);
	name_of("x.example.com.", qn);
	assert_int_equal(cache_put(c, qn, DNS_A, DNS_IN, NULL, m.buf, m.len, T0),
			 VANE_ENOTSUP);
	msg_init(&m, 1, DNS_QR | DNS_SERVFAIL, "x.example.com.", DNS_A);
	msg_done(&m);
	assert_int_equal(cache_put(c, qn, DNS_A, DNS_IN, NULL, m.buf, m.len, T0),
			 VANE_ENOTSUP);
	cache_free(c);
}

static void min_max_ttl(void **state)
{
	struct cache_conf cf = { .min_ttl = 600, .max_ttl = 1000 };
	struct cache *c = new_cache(&cf);
	struct resp r;
	put_a(c, "short.example.", 60, 1, NULL, T0);
	put_a(c, "long.example.", 86400, 2, NULL, T0);
	/* min-ttl holds the record well past its own 60 s */
	assert_true(ask(c, "short.example.", DNS_A, NULL, T0 + 300, 0, &r) > 0);
	assert_int_equal(first_ttl(&r), 300);
	assert_int_equal(ask(c, "short.example.", DNS_A, NULL, T0 + 600, 0, &r), VANE_ENOENT);
	/* max-ttl caps */
	assert_true(ask(c, "long.example.", DNS_A, NULL, T0, 0, &r) > 0);
	assert_int_equal(first_ttl(&r), 1000);
	assert_int_equal(ask(c, "long.example.", DNS_A, NULL, T0 + 1000, 0, &r), VANE_ENOENT);
	/* TTL 0 with no min-ttl: not cached */
	cf.min_ttl = 0;
	cache_set_conf(c, &cf);
	struct msg m;
	msg_init(&m, 1, DNS_QR, "zero.example.", DNS_A);
	msg_a(&m, "zero.example.", 0, 1);
	msg_done(&m);
	uint8_t qn[DNAME_MAXLEN];
	name_of("zero.example.", qn);
	assert_int_equal(cache_put(c, qn, DNS_A, DNS_IN, NULL, m.buf, m.len, T0),
			 VANE_ENOTSUP);
	cache_free(c);
}

static void serve_stale(void **state)
{
	struct cache_conf cf = { .serve_stale = true, .stale_max_age = 3600 };
	struct cache *c = new_cache(&cf);
	struct resp r;
	put_a(c, "s.example.", 300, 1, NULL, T0);
	assert_int_equal(ask(c, "s.example.", DNS_A, NULL, T0 + 301, 0, &r), VANE_ENOENT);
	assert_true(ask(c, "s.example.", DNS_A, NULL, T0 + 301, CACHE_STALE_OK, &r) > 0);
	assert_true(r.hit.stale);
	assert_int_equal(first_ttl(&r), CACHE_STALE_TTL);
	assert_true(ask(c, "s.example.", DNS_A, NULL, T0 + 300 + 3599, CACHE_STALE_OK, &r) > 0);
	assert_int_equal(ask(c, "s.example.", DNS_A, NULL, T0 + 300 + 3600, CACHE_STALE_OK, &r),
			 VANE_ENOENT);
	struct cache_stats st;
	cache_stats(c, &st);
	assert_int_equal(st.stale_hits, 2);
	assert_int_equal(st.entries, 0);     /* dead entry removed on lookup */

	/* serve-stale off: never stale */
	cf.serve_stale = false;
	cache_set_conf(c, &cf);
	put_a(c, "s.example.", 300, 1, NULL, T0);
	assert_int_equal(ask(c, "s.example.", DNS_A, NULL, T0 + 301, CACHE_STALE_OK, &r),
			 VANE_ENOENT);
	cache_free(c);
}

static void prefetch(void **state)
{
	struct cache_conf cf = { .prefetch = true, .prefetch_min_hits = 2 };
	struct cache *c = new_cache(&cf);
	struct resp r;
	put_a(c, "p.example.", 100, 1, NULL, T0);
	assert_true(ask(c, "p.example.", DNS_A, NULL, T0 + 95, 0, &r) > 0);
	assert_false(r.hit.prefetch);       /* not popular yet */
	assert_true(ask(c, "p.example.", DNS_A, NULL, T0 + 10, 0, &r) > 0);
	assert_false(r.hit.prefetch);       /* plenty of TTL left */
	assert_true(ask(c, "p.example.", DNS_A, NULL, T0 + 91, 0, &r) > 0);
	assert_true(r.hit.prefetch);
	assert_true(ask(c, "p.example.", DNS_A, NULL, T0 + 92, 0, &r) > 0);
	assert_false(r.hit.prefetch);       /* signalled once */
	put_a(c, "p.example.", 100, 2, NULL, T0 + 92);  /* the refresh */
	assert_true(ask(c, "p.example.", DNS_A, NULL, T0 + 93, 0, &r) > 0);
	assert_int_equal(first_ttl(&r), 99);
	struct cache_stats st;
	cache_stats(c, &st);
	assert_int_equal(st.prefetches, 1);
	cache_free(c);
}

static void lru_budget(void **state)
{
	struct cache_conf cf = { .shards = 1, .max_bytes = 1000 };
	struct cache *c = new_cache(&cf);
	struct resp r;
	char name[64];
	for (unsigned i = 0; i < 40; i++) {
		snprintf(name, sizeof(name), "n%u.example.com.", i);
		put_a(c, name, 300, (uint8_t)i, NULL, T0);
		/* keep n0 hot: it must survive */
		assert_true(ask(c, "n0.example.com.", DNS_A, NULL, T0, 0, &r) > 0);
		struct cache_stats st;
		cache_stats(c, &st);
		assert_true(st.bytes <= 1000);
	}
	struct cache_stats st;
	cache_stats(c, &st);
	assert_true(st.evictions > 0);
	assert_true(st.entries > 1 && st.entries < 40);
	assert_true(ask(c, "n39.example.com.", DNS_A, NULL, T0, 0, &r) > 0);
	assert_int_equal(ask(c, "n1.example.com.", DNS_A, NULL, T0, 0, &r), VANE_ENOENT);
	assert_int_equal(cache_flush(c, NULL, false), st.entries);
	cache_stats(c, &st);
	assert_int_equal(st.bytes, 0);
	assert_int_equal(st.entries, 0);
	cache_free(c);
}

static void ecs_scopes(void **state)
{
	struct cache *c = new_cache(NULL);
	struct resp r;
	struct cache_net s1 = net4(10, 0, 1, 0, 24), s2 = net4(10, 0, 2, 0, 24);
	put_a(c, "geo.example.", 300, 1, &s1, T0);
	put_a(c, "geo.example.", 300, 2, &s2, T0);
	struct cache_net c1 = net4(10, 0, 1, 77, 24), c2 = net4(10, 0, 2, 9, 24);
	struct cache_net c3 = net4(10, 0, 3, 1, 24), c16 = net4(10, 0, 1, 5, 16);
	assert_true(ask(c, "geo.example.", DNS_A, &c1, T0, 0, &r) > 0);
	assert_int_equal(r.buf[r.len - 1], 1);
	assert_int_equal(r.hit.scope, 24);
	assert_true(ask(c, "geo.example.", DNS_A, &c2, T0, 0, &r) > 0);
	assert_int_equal(r.buf[r.len - 1], 2);
	assert_int_equal(ask(c, "geo.example.", DNS_A, &c3, T0, 0, &r), VANE_ENOENT);
	/* a /16 source cannot use /24-scoped answers */
	assert_int_equal(ask(c, "geo.example.", DNS_A, &c16, T0, 0, &r), VANE_ENOENT);
	/* scope 0 is shared, and the longest scope wins */
	put_a(c, "geo.example.", 300, 3, NULL, T0);
	struct cache_net s16 = net4(10, 0, 0, 0, 16);
	put_a(c, "geo.example.", 300, 4, &s16, T0);
	assert_true(ask(c, "geo.example.", DNS_A, &c3, T0, 0, &r) > 0);
	assert_int_equal(r.buf[r.len - 1], 4);
	assert_true(ask(c, "geo.example.", DNS_A, &c1, T0, 0, &r) > 0);
	assert_int_equal(r.buf[r.len - 1], 1);
	struct cache_net other = net4(192, 168, 0, 1, 24);
	assert_true(ask(c, "geo.example.", DNS_A, &other, T0, 0, &r) > 0);
	assert_int_equal(r.buf[r.len - 1], 3);
	assert_true(ask(c, "geo.example.", DNS_A, NULL, T0, 0, &r) > 0);
	assert_int_equal(r.buf[r.len - 1], 3);
	/* stale works per scope too */
	struct cache_conf cf = { .serve_stale = true, .stale_max_age = 100 };
	cache_set_conf(c, &cf);
	assert_true(ask(c, "geo.example.", DNS_A, &c2, T0 + 350, CACHE_STALE_OK, &r) > 0);
	assert_int_equal(r.buf[r.len - 1], 2);
	assert_true(r.hit.stale);
	/* same key and scope replaces */
	put_a(c, "geo.example.", 300, 9, &s1, T0);
	struct cache_stats st;
	cache_stats(c, &st);
	assert_int_equal(st.entries, 4);
	cache_free(c);
}

static void ecs_echo(void **state)
{
	struct cache *c = new_cache(NULL);
	struct cache_net s1 = net4(10, 0, 1, 0, 24);
	put_a(c, "geo.example.", 300, 1, &s1, T0);
	struct msg m;
	msg_init(&m, 7, DNS_RD, "geo.example.", DNS_A);
	msg_ecs(&m, 10, 0, 1, 24);
	msg_done(&m);
	struct dns_query q;
	assert_int_equal(dns_query_parse(m.buf, m.len, &q), DNS_V_OK);
	assert_true(q.ecs.present);
	struct cache_net cl = { .family = 1, .bits = q.ecs.source };
	memcpy(cl.addr, q.ecs.addr, 16);
	uint8_t out[512];
	struct cache_hit hit;
	int n = cache_answer(c, &q, m.buf, &cl, T0, 0, out, sizeof(out), &hit);
	assert_true(n > 0);
	assert_int_equal(wire_get_u16(out + 10), 1);       /* ARCOUNT: the OPT */
	/* OPT is last: ... ECS option: family 1, source 24, scope 24, 3 bytes */
	const uint8_t *ecs = out + n - 7;
	assert_int_equal(wire_get_u16(ecs - 4), EDNS_ECS);
	assert_int_equal(wire_get_u16(ecs), 1);
	assert_int_equal(ecs[2], 24);
	assert_int_equal(ecs[3], 24);
	/* the response parses as a query-shaped packet would: check via TC path */
	n = cache_answer(c, &q, m.buf, &cl, T0, 0, out, (size_t)q.question_end + 25, &hit);
	assert_true(n > 0);
	assert_true(hit.tc);
	assert_true(wire_get_u16(out + 2) & DNS_TC);
	assert_int_equal(wire_get_u16(out + 6), 0);
	cache_free(c);
}

static void cname_chain_compressed(void **state)
{
	struct cache *c = new_cache(NULL);
	struct msg m;
	msg_init(&m, 1, DNS_QR, "www.example.com.", DNS_A);
	uint8_t tgt[DNAME_MAXLEN];
	name_of("web.cdn.example.net.", tgt);
	msg_rr(&m, 1, "www.example.com.", DNS_CNAME, 600, tgt, (uint16_t)dname_len(tgt));
	msg_a(&m, "web.cdn.example.net.", 60, 5);
	uint8_t ns[DNAME_MAXLEN];
	name_of("ns1.cdn.example.net.", ns);
	msg_rr(&m, 2, "cdn.example.net.", DNS_NS, 3600, ns, (uint16_t)dname_len(ns));
	msg_ecs(&m, 1, 2, 3, 24);            /* OPT must not be stored */
	msg_done(&m);
	uint8_t qn[DNAME_MAXLEN];
	name_of("www.example.com.", qn);
	assert_int_equal(cache_put(c, qn, DNS_A, DNS_IN, NULL, m.buf, m.len, T0), 0);
	struct resp r;
	assert_true(ask(c, "www.example.com.", DNS_A, NULL, T0 + 10, 0, &r) > 0);
	assert_int_equal(wire_get_u16(r.buf + 6), 2);
	assert_int_equal(wire_get_u16(r.buf + 8), 1);
	assert_int_equal(wire_get_u16(r.buf + 10), 0);
	assert_int_equal(r.hit.ttl, 50);     /* the entry lives as long as its shortest RR */
	struct rr rr;
	resp_rr(&r, 0, &rr);
	assert_int_equal(rr.type, DNS_CNAME);
	assert_int_equal(rr.ttl, 590);
	size_t off = rr.rdoff;
	uint8_t n[DNAME_MAXLEN];
	assert_true(dname_unpack(r.buf, (size_t)r.len, &off, n, true) > 0);
	assert_true(dname_equal(n, tgt));
	resp_rr(&r, 1, &rr);
	assert_true(dname_equal(rr.owner, tgt));
	assert_int_equal(rr.ttl, 50);
	resp_rr(&r, 2, &rr);
	assert_int_equal(rr.type, DNS_NS);
	off = rr.rdoff;
	assert_true(dname_unpack(r.buf, (size_t)r.len, &off, n, true) > 0);
	assert_true(dname_equal(n, ns));
	assert_int_equal(rr.rdlen, 6);      /* "ns1" + pointer */
	assert_true((size_t)r.len < m.len); /* compressed below the uncompressed input */
	cache_free(c);
}

static void flush_name_vs_all(void **state)
{
	struct cache *c = new_cache(NULL);
	struct resp r;
	put_a(c, "www.example.com.", 300, 1, NULL, T0);
	put_a(c, "mail.example.com.", 300, 2, NULL, T0);
	put_a(c, "www.example.org.", 300, 3, NULL, T0);
	struct msg m;
	msg_init(&m, 1, DNS_QR, "www.example.com.", DNS_AAAA);
	msg_soa(&m, "example.com.", 300, 300);
	msg_done(&m);
	uint8_t qn[DNAME_MAXLEN];
	name_of("www.example.com.", qn);
	assert_int_equal(cache_put(c, qn, DNS_AAAA, DNS_IN, NULL, m.buf, m.len, T0), 0);
	assert_int_equal(cache_flush(c, qn, false), 2);
	assert_int_equal(ask(c, "www.example.com.", DNS_A, NULL, T0, 0, &r), VANE_ENOENT);
	assert_true(ask(c, "mail.example.com.", DNS_A, NULL, T0, 0, &r) > 0);
	name_of("example.com.", qn);
	assert_int_equal(cache_flush(c, qn, false), 0);
	assert_int_equal(cache_flush(c, qn, true), 1);
	assert_true(ask(c, "www.example.org.", DNS_A, NULL, T0, 0, &r) > 0);
	assert_int_equal(cache_flush(c, NULL, false), 1);
	struct cache_stats st;
	cache_stats(c, &st);
	assert_int_equal(st.entries, 0);
	assert_int_equal(st.bytes, 0);
	cache_free(c);
}

static int count_cb(const struct cache_info *in, void *ctx)
{
	(*(unsigned *)ctx)++;
	assert_true(in->bytes > 0);
	return 0;
}

static void deleg_and_dump(void **state)
{
	struct cache *c = new_cache(NULL);
	static struct cache_deleg d, out;
	memset(&d, 0, sizeof(d));
	name_of("example.com.", d.zone);
	d.nns = 2;
	name_of("ns1.example.com.", d.ns[0].name);
	d.ns[0].naddr = 1;
	d.ns[0].addr[0].family = 1;
	memcpy(d.ns[0].addr[0].addr, (uint8_t[]){ 127, 0, 0, 10 }, 4);
	name_of("ns.other.net.", d.ns[1].name);
	assert_int_equal(cache_put_deleg(c, &d, 3600, T0), 0);
	uint8_t qn[DNAME_MAXLEN];
	name_of("a.b.example.com.", qn);
	assert_int_equal(cache_get_deleg(c, qn, T0 + 10, 0, &out), 0);
	assert_true(dname_equal(out.zone, d.zone));
	assert_int_equal(out.nns, 2);
	assert_int_equal(out.ttl, 3590);
	assert_int_equal(out.ns[0].naddr, 1);
	assert_int_equal(out.ns[0].addr[0].addr[3], 10);
	assert_true(dname_equal(out.ns[1].name, d.ns[1].name));
	assert_int_equal(out.ns[1].naddr, 0);
	name_of("www.example.org.", qn);
	assert_int_equal(cache_get_deleg(c, qn, T0, 0, &out), VANE_ENOENT);
	/* a positive NS answer is not a delegation and vice versa */
	struct resp r;
	assert_int_equal(ask(c, "example.com.", DNS_NS, NULL, T0, 0, &r), VANE_ENOENT);
	name_of("example.com.", qn);
	assert_int_equal(cache_get_deleg(c, qn, T0 + 3600, 0, &out), VANE_ENOENT);
	put_a(c, "x.example.", 300, 1, NULL, T0);
	assert_int_equal(cache_put_deleg(c, &d, 3600, T0), 0);
	unsigned n = 0;
	assert_int_equal(cache_dump(c, T0, count_cb, &n), 0);
	assert_int_equal(n, 2);
	cache_free(c);
}

/* --- concurrency -------------------------------------------------------- */

struct smoke {
	struct cache *c;
	volatile int stop;
	unsigned hits;
};

static void *reader(void *arg)
{
	struct smoke *sm = arg;
	struct msg m;
	msg_init(&m, 0x4242, DNS_RD, "hot.example.", DNS_A);
	msg_done(&m);
	struct dns_query q;
	if (dns_query_parse(m.buf, m.len, &q) != DNS_V_OK)
		return NULL;
	uint8_t out[512];
	/* Look until 1000 lookups after the writer stopped, whatever the
	 * scheduling: a reader that ran ahead while the small cache had
	 * evicted hot.example. still looks after its last store. */
	for (unsigned after = 0; after < 1000;) {
		if (__atomic_load_n(&sm->stop, __ATOMIC_RELAXED))
			after++;
		struct cache_hit hit;
		int n = cache_answer(sm->c, &q, m.buf, NULL, T0, 0, out, sizeof(out), &hit);
		if (n > 0 && wire_get_u16(out) == 0x4242 && out[n - 4] == 192)
			__atomic_add_fetch(&sm->hits, 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

static void concurrency_smoke(void **state)
{
	struct cache_conf cf = { .shards = 2, .max_bytes = 20000 };
	struct smoke sm = { .c = new_cache(&cf) };
	put_a(sm.c, "hot.example.", 300, 1, NULL, T0);
	pthread_t th[3];
	for (unsigned i = 0; i < 3; i++)
		assert_int_equal(pthread_create(&th[i], NULL, reader, &sm), 0);
	char name[64];
	for (unsigned i = 0; i < 3000; i++) {
		snprintf(name, sizeof(name), "w%u.example.", i);
		put_a(sm.c, name, 300, 1, NULL, T0);
		if (i % 100 == 0)
			put_a(sm.c, "hot.example.", 300, (uint8_t)i, NULL, T0);
		if (i % 500 == 0)
			cache_flush(sm.c, NULL, false);
	}
	/* The last writes may have evicted the hot name (the cache is small
	 * on purpose): store it once more, so a reader that only gets the CPU
	 * now still finds it in its first 1000 lookups. */
	put_a(sm.c, "hot.example.", 300, 1, NULL, T0);
	__atomic_store_n(&sm.stop, 1, __ATOMIC_RELAXED);
	for (unsigned i = 0; i < 3; i++)
		pthread_join(th[i], NULL);
	assert_true(sm.hits > 0);
	struct cache_stats st;
	cache_stats(sm.c, &st);
	assert_true(st.bytes <= 20000);
	cache_free(sm.c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(put_get),
		cmocka_unit_test(ttl_countdown_and_expiry),
		cmocka_unit_test(negative_ttl),
		cmocka_unit_test(min_max_ttl),
		cmocka_unit_test(serve_stale),
		cmocka_unit_test(prefetch),
		cmocka_unit_test(lru_budget),
		cmocka_unit_test(ecs_scopes),
		cmocka_unit_test(ecs_echo),
		cmocka_unit_test(cname_chain_compressed),
		cmocka_unit_test(flush_name_vs_all),
		cmocka_unit_test(deleg_and_dump),
		cmocka_unit_test(concurrency_smoke),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
