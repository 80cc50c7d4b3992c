/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests for resolver/iter over a fake transport and clock: a referral
 * chain root -> TLD -> authority, QNAME minimisation on the way down, a
 * CNAME chased across zones, NXDOMAIN with its SOA (and the negative cache
 * entry it leaves), a timeout and the retry on the other server, a lame
 * delegation, and responses the iterator must drop (wrong ID, wrong 0x20
 * case); the work limits against NXNS and cyclic delegations.  Each test plays the authorities by hand: it looks at the query
 * the iterator sent and answers it.
 */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lib/dname.h"
#include "lib/pkt.h"
#include "lib/wire.h"
#include "resolver/iter.h"
#include "resolver/reply.h"

#define T0 1000000u

/* ---- the fake world ---- */

struct sent {
	struct itq *q;
	bool live;
	bool tcp;
	struct iter_addr to;
	size_t len;
	uint8_t wire[600];
};

struct world {
	struct resolver_conf conf;
	struct cache *cache;
	struct iter_env env;
	struct resolver r;
	uint64_t now;
	uint32_t rnd;
	struct sent sent[64];
	unsigned nsent, cancels;
	/* the result */
	bool done;
	int rcode;
	struct rmsg *res;
};

static int w_send(void *ctx, struct itq *q, const uint8_t *wire, size_t len,
		  const struct iter_addr *to, bool tcp, uint32_t timeout_ms, void **tx)
{
	struct world *w = ctx;
	assert_true(w->nsent < 64);
	assert_true(timeout_ms > 0);
	struct sent *s = &w->sent[w->nsent++];
	s->q = q;
	s->live = true;
	s->tcp = tcp;
	s->to = *to;
	s->len = len;
	memcpy(s->wire, wire, len);
	*tx = s;
	return 0;
}

static void w_cancel(void *ctx, struct itq *q, void *tx)
{
	struct world *w = ctx;
	struct sent *s = tx;
	assert_true(s->live);
	assert_ptr_equal(s->q, q);
	s->live = false;
	w->cancels++;
}

static uint64_t w_now(void *ctx)
{
	return ((struct world *)ctx)->now;
}

static uint64_t w_now_ms(void *ctx)
{
	return ((struct world *)ctx)->now * 1000;
}

static void w_random(void *ctx, void *buf, size_t len)
{
	struct world *w = ctx;
	uint8_t *p = buf;
	for (size_t i = 0; i < len; i++) {
		w->rnd = w->rnd * 1103515245u + 12345u;
		p[i] = (uint8_t)(w->rnd >> 16);
	}
}

static void name_of(const char *str, uint8_t *out)
{
	assert_true(dname_from_str(str, NULL, out) > 0);
}

static void addr_of(const char *text, struct iter_addr *a)
{
	memset(a, 0, sizeof(*a));
	a->family = 1;
	assert_int_equal(inet_pton(AF_INET, text, a->addr), 1);
}

static void hint(struct world *w, const char *ns, const char *addr)
{
	struct cache_deleg_ns *n = &w->r.hints.ns[w->r.hints.nns++];
	struct iter_addr a;
	name_of(ns, n->name);
	addr_of(addr, &a);
	n->addr[0].family = a.family;
	memcpy(n->addr[0].addr, a.addr, 16);
	n->naddr = 1;
}

static struct world *world_new(bool qname_min)
{
	struct world *w = calloc(1, sizeof(*w));
	struct cache_conf cc;
	assert_non_null(w);
	w->conf.qname_min = qname_min;
	w->conf.max_upstream = 64;
	w->conf.upstream_timeout_ms = 800;
	w->conf.max_ttl_ms = 86400 * 1000u;
	w->conf.neg_max_ttl_ms = 3600 * 1000u;
	resolver_cache_conf(&w->conf, 7, &cc);
	w->cache = cache_new(&cc);
	assert_non_null(w->cache);
	w->now = T0;
	w->rnd = 1;
	w->env = (struct iter_env){ .ctx = w, .send = w_send, .cancel = w_cancel,
		.now = w_now, .now_ms = w_now_ms, .random = w_random };
	resolver_init(&w->r, &w->conf, w->cache, &w->env);
	hint(w, "a.root.test.", "10.0.0.1");
	return w;
}

static void world_free(struct world *w)
{
	for (unsigned i = 0; i < w->nsent; i++)
		assert_false(w->sent[i].live);
	cache_free(w->cache);
	free(w->res);
	free(w);
}

static void on_done(void *ctx, int rcode, const struct rmsg *m)
{
	struct world *w = ctx;
	assert_false(w->done);
	w->done = true;
	w->rcode = rcode;
	if (m) {
		w->res = malloc(sizeof(*m));
		assert_non_null(w->res);
		memcpy(w->res, m, offsetof(struct rmsg, buf) + m->used);
	}
}

static void resolve(struct world *w, const char *qname, uint16_t qtype)
{
	uint8_t n[DNAME_MAXLEN];
	name_of(qname, n);
	dname_lower(n);
	assert_int_equal(iter_resolve(&w->r, n, qtype, NULL, on_done, w), 0);
}

/* The one query in flight: check where it went and what it asks. */
static struct sent *expect(struct world *w, const char *addr, const char *qname, uint16_t qtype)
{
	struct sent *s = NULL;
	for (unsigned i = 0; i < w->nsent; i++)
		if (w->sent[i].live) {
			assert_null(s);     /* one at a time */
			s = &w->sent[i];
		}
	assert_non_null(s);
	struct iter_addr a;
	addr_of(addr, &a);
	assert_memory_equal(s->to.addr, a.addr, 4);
	struct dns_query q;
	assert_int_equal(dns_query_parse(s->wire, s->len, &q), DNS_V_OK);
	assert_false(q.flags & DNS_RD);          /* iterative */
	uint8_t want[DNAME_MAXLEN];
	name_of(qname, want);
	dname_lower(want);
	if (!dname_equal(q.qname, want)) {
		char got[DNAME_MAXSTR];
		fail_msg("query for %s, want %s", dname_to_str(q.qname, got, sizeof(got)), qname);
	}
	assert_int_equal(q.qtype, qtype);
	return s;
}

/* ---- building responses ---- */

struct resp {
	uint8_t buf[4096];
	struct wire w;
	uint16_t count[3];
	unsigned sec;
};

/* A response to `s`: its ID and question (0x20 case kept), flags, rcode. */
static void resp_begin(struct resp *r, const struct sent *s, uint16_t flags, uint8_t rcode)
{
	struct dns_query q;
	assert_int_equal(dns_query_parse(s->wire, s->len, &q), DNS_V_OK);
	memset(r, 0, sizeof(*r));
	r->w = wire_init(r->buf, sizeof(r->buf));
	wire_write_u16(&r->w, wire_get_u16(s->wire));
	wire_write_u16(&r->w, (uint16_t)(DNS_QR | flags | rcode));
	wire_write_u16(&r->w, 1);
	wire_write_u16(&r->w, 0);
	wire_write_u16(&r->w, 0);
	wire_write_u16(&r->w, 0);
	wire_write(&r->w, s->wire + DNS_HDRLEN, q.question_end - DNS_HDRLEN);
}

/* Records must come in section order: 0 answer, 1 authority, 2 additional. */
static void resp_rr(struct resp *r, unsigned sec, const char *owner, uint16_t type,
		    uint32_t ttl, const void *rd, uint16_t rdlen)
{
	uint8_t n[DNAME_MAXLEN];
	assert_true(sec >= r->sec);
	r->sec = sec;
	name_of(owner, n);
	wire_write(&r->w, n, dname_len(n));
	wire_write_u16(&r->w, type);
	wire_write_u16(&r->w, DNS_IN);
	wire_write_u32(&r->w, ttl);
	wire_write_u16(&r->w, rdlen);
	wire_write(&r->w, rd, rdlen);
	r->count[sec]++;
}

static void resp_a(struct resp *r, unsigned sec, const char *owner, const char *addr)
{
	struct iter_addr a;
	addr_of(addr, &a);
	resp_rr(r, sec, owner, DNS_A, 3600, a.addr, 4);
}

static void resp_name(struct resp *r, unsigned sec, const char *owner, uint16_t type,
		      const char *target)
{
	uint8_t n[DNAME_MAXLEN];
	name_of(target, n);
	resp_rr(r, sec, owner, type, 3600, n, (uint16_t)dname_len(n));
}

static void resp_soa(struct resp *r, const char *zone, uint32_t minimum)
{
	uint8_t rd[600];
	size_t o;
	name_of("ns.nic.test.", rd);
	o = dname_len(rd);
	name_of("admin.nic.test.", rd + o);
	o += dname_len(rd + o);
	uint32_t nums[5] = { 1, 3600, 600, 86400, minimum };
	for (unsigned i = 0; i < 5; i++, o += 4)
		wire_put_u32(rd + o, nums[i]);
	resp_rr(r, 1, zone, DNS_SOA, 3600, rd, (uint16_t)o);
}

/* Hand the response in; the iterator must take it. */
static void resp_send(struct world *w, struct resp *r, struct sent *s)
{
	for (unsigned i = 0; i < 3; i++)
		wire_put_u16(r->buf + 6 + 2 * i, r->count[i]);
	assert_int_equal(r->w.err, 0);
	assert_int_equal(iter_on_packet(s->q, r->buf, wire_offset(&r->w)), 0);
	assert_false(s->live);    /* taken: cancelled by the iterator */
}

/* A referral from `s` to `zone` served by `ns` at `addr`. */
static void refer(struct world *w, struct sent *s, const char *zone, const char *ns,
		  const char *addr)
{
	struct resp r;
	resp_begin(&r, s, 0, DNS_NOERROR);
	resp_name(&r, 1, zone, DNS_NS, ns);
	resp_a(&r, 2, ns, addr);
	resp_send(w, &r, s);
}

static bool res_has_a(const struct world *w, const char *owner, const char *addr)
{
	uint8_t n[DNAME_MAXLEN];
	struct iter_addr a;
	name_of(owner, n);
	dname_lower(n);
	addr_of(addr, &a);
	for (unsigned i = 0; i < w->res->nrr; i++) {
		const struct rrec *rr = &w->res->rr[i];
		if (rr->sec == RSEC_AN && rr->type == DNS_A && rr->rdlen == 4 &&
		    dname_equal(rr_owner(w->res, rr), n) && !memcmp(rr_rdata(w->res, rr), a.addr, 4))
			return true;
	}
	return false;
}

/* ---- tests ---- */

/* root -> test. -> example.test.: each referral followed, glue used. */
static void test_referral_chain(void **state)
{
	struct world *w = world_new(false);
	struct sent *s;
	struct resp r;

	resolve(w, "www.example.test.", DNS_A);
	s = expect(w, "10.0.0.1", "www.example.test.", DNS_A);
	refer(w, s, "test.", "ns.nic.test.", "10.0.1.1");
	s = expect(w, "10.0.1.1", "www.example.test.", DNS_A);
	refer(w, s, "example.test.", "ns.example.test.", "10.0.2.1");
	s = expect(w, "10.0.2.1", "www.example.test.", DNS_A);
	assert_false(w->done);
	resp_begin(&r, s, DNS_AA, DNS_NOERROR);
	resp_a(&r, 0, "www.example.test.", "192.0.2.80");
	resp_send(w, &r, s);
	assert_true(w->done);
	assert_int_equal(w->rcode, DNS_NOERROR);
	assert_true(res_has_a(w, "www.example.test.", "192.0.2.80"));
	assert_int_equal(w->r.st.upstream_queries, 3);

	/* The delegation is cached: the next name in the zone goes straight
	 * to the zone's server. */
	free(w->res);
	w->res = NULL;
	w->done = false;
	resolve(w, "mail.example.test.", DNS_A);
	s = expect(w, "10.0.2.1", "mail.example.test.", DNS_A);
	resp_begin(&r, s, DNS_AA, DNS_NOERROR);
	resp_a(&r, 0, "mail.example.test.", "192.0.2.25");
	resp_send(w, &r, s);
	assert_true(w->done);
	assert_true(res_has_a(w, "mail.example.test.", "192.0.2.25"));
	world_free(w);
}

/* RFC 9156: the root sees one label below its cut, then the next zone one
 * more; the full name only reaches the zone that holds it. */
static void test_qname_minimisation(void **state)
{
	struct world *w = world_new(true);
	struct sent *s;
	struct resp r;

	resolve(w, "www.example.test.", DNS_AAAA);
	s = expect(w, "10.0.0.1", "test.", DNS_A);
	refer(w, s, "test.", "ns.nic.test.", "10.0.1.1");
	s = expect(w, "10.0.1.1", "example.test.", DNS_A);
	refer(w, s, "example.test.", "ns.example.test.", "10.0.2.1");
	s = expect(w, "10.0.2.1", "www.example.test.", DNS_AAAA);
	resp_begin(&r, s, DNS_AA, DNS_NOERROR);
	uint8_t v6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };
	resp_rr(&r, 0, "www.example.test.", DNS_AAAA, 300, v6, 16);
	resp_send(w, &r, s);
	assert_true(w->done);
	assert_int_equal(w->rcode, DNS_NOERROR);
	world_free(w);
}

/* A CNAME into another zone is chased from the root; the client gets the
 * chain and the final address. */
static void test_cname_chase(void **state)
{
	struct world *w = world_new(false);
	struct sent *s;
	struct resp r;

	resolve(w, "www.example.test.", DNS_A);
	s = expect(w, "10.0.0.1", "www.example.test.", DNS_A);
	refer(w, s, "example.test.", "ns.example.test.", "10.0.2.1");
	s = expect(w, "10.0.2.1", "www.example.test.", DNS_A);
	resp_begin(&r, s, DNS_AA, DNS_NOERROR);
	resp_name(&r, 0, "www.example.test.", DNS_CNAME, "edge.cdn.net.");
	resp_send(w, &r, s);
	assert_false(w->done);
	s = expect(w, "10.0.0.1", "edge.cdn.net.", DNS_A);
	refer(w, s, "cdn.net.", "ns.cdn.net.", "10.0.3.1");
	s = expect(w, "10.0.3.1", "edge.cdn.net.", DNS_A);
	resp_begin(&r, s, DNS_AA, DNS_NOERROR);
	resp_a(&r, 0, "edge.cdn.net.", "198.51.100.7");
	resp_send(w, &r, s);
	assert_true(w->done);
	assert_int_equal(w->rcode, DNS_NOERROR);
	assert_true(res_has_a(w, "edge.cdn.net.", "198.51.100.7"));
	bool cname = false;
	for (unsigned i = 0; i < w->res->nrr; i++)
		cname |= w->res->rr[i].sec == RSEC_AN && w->res->rr[i].type == DNS_CNAME;
	assert_true(cname);
	world_free(w);
}

/* NXDOMAIN: the SOA comes along (RFC 2308 3) and the negative answer is
 * cached: a second client is answered without any upstream query. */
static void test_nxdomain_soa(void **state)
{
	struct world *w = world_new(false);
	struct sent *s;
	struct resp r;

	resolve(w, "nope.example.test.", DNS_A);
	s = expect(w, "10.0.0.1", "nope.example.test.", DNS_A);
	refer(w, s, "example.test.", "ns.example.test.", "10.0.2.1");
	s = expect(w, "10.0.2.1", "nope.example.test.", DNS_A);
	resp_begin(&r, s, DNS_AA, DNS_NXDOMAIN);
	resp_soa(&r, "example.test.", 300);
	resp_send(w, &r, s);
	assert_true(w->done);
	assert_int_equal(w->rcode, DNS_NXDOMAIN);
	bool soa = false;
	for (unsigned i = 0; i < w->res->nrr; i++)
		soa |= w->res->rr[i].sec == RSEC_NS && w->res->rr[i].type == DNS_SOA;
	assert_true(soa);

	/* The client's answer comes from the negative cache entry. */
	uint8_t qbuf[512], out[1024];
	uint8_t n[DNAME_MAXLEN];
	struct dns_query q;
	name_of("nope.example.test.", n);
	int qlen = rquery_build(qbuf, sizeof(qbuf), 42, n, DNS_A, false, NULL);
	assert_true(qlen > 0);
	qbuf[2] |= DNS_RD >> 8;
	assert_int_equal(dns_query_parse(qbuf, (size_t)qlen, &q), DNS_V_OK);
	unsigned before = w->nsent;
	w->now += 10;
	int len = cache_answer(w->cache, &q, qbuf, NULL, w->now, 0, out, sizeof(out), NULL);
	assert_true(len > 0);
	assert_int_equal(out[3] & 0xF, DNS_NXDOMAIN);
	assert_int_equal(w->nsent, before);
	world_free(w);
}

/* Two servers for the zone: the first times out, the query goes to the
 * second, whose answer ends the resolution; the timeout is counted. */
static void test_timeout_retry(void **state)
{
	struct world *w = world_new(false);
	struct sent *s;
	struct resp r;

	resolve(w, "www.example.test.", DNS_A);
	s = expect(w, "10.0.0.1", "www.example.test.", DNS_A);
	resp_begin(&r, s, 0, DNS_NOERROR);
	resp_name(&r, 1, "example.test.", DNS_NS, "ns1.example.test.");
	resp_name(&r, 1, "example.test.", DNS_NS, "ns2.example.test.");
	resp_a(&r, 2, "ns1.example.test.", "10.0.2.1");
	resp_a(&r, 2, "ns2.example.test.", "10.0.2.2");
	resp_send(w, &r, s);

	s = expect(w, "10.0.2.1", "www.example.test.", DNS_A);
	s->live = false;          /* the transport gave up on it */
	iter_on_timeout(s->q);
	assert_false(w->done);
	assert_int_equal(w->r.st.upstream_timeouts, 1);
	s = expect(w, "10.0.2.2", "www.example.test.", DNS_A);
	resp_begin(&r, s, DNS_AA, DNS_NOERROR);
	resp_a(&r, 0, "www.example.test.", "192.0.2.80");
	resp_send(w, &r, s);
	assert_true(w->done);
	assert_int_equal(w->rcode, DNS_NOERROR);
	assert_true(res_has_a(w, "www.example.test.", "192.0.2.80"));
	/* The dead server now ranks behind the live one. */
	struct iter_addr a1, a2;
	addr_of("10.0.2.1", &a1);
	addr_of("10.0.2.2", &a2);
	assert_true(infra_rtt(&w->r, 1, a1.addr) > infra_rtt(&w->r, 1, a2.addr));
	world_free(w);
}

/* Lame delegation: the first server answers REFUSED, the second a
 * non-authoritative nothing (no answer, no referral); the third one
 * answers.  Every server of the cut is tried, once enough. */
static void test_lame_delegation(void **state)
{
	struct world *w = world_new(false);
	struct sent *s;
	struct resp r;
	const char *addrs[3] = { "10.0.2.1", "10.0.2.2", "10.0.2.3" };
	bool used[3] = { false, false, false };

	resolve(w, "www.example.test.", DNS_A);
	s = expect(w, "10.0.0.1", "www.example.test.", DNS_A);
	resp_begin(&r, s, 0, DNS_NOERROR);
	resp_name(&r, 1, "example.test.", DNS_NS, "ns1.example.test.");
	resp_name(&r, 1, "example.test.", DNS_NS, "ns2.example.test.");
	resp_name(&r, 1, "example.test.", DNS_NS, "ns3.example.test.");
	resp_a(&r, 2, "ns1.example.test.", addrs[0]);
	resp_a(&r, 2, "ns2.example.test.", addrs[1]);
	resp_a(&r, 2, "ns3.example.test.", addrs[2]);
	resp_send(w, &r, s);

	for (unsigned round = 0; round < 3; round++) {
		s = NULL;
		for (unsigned i = 0; i < w->nsent; i++)
			if (w->sent[i].live)
				s = &w->sent[i];
		assert_non_null(s);
		unsigned k;
		for (k = 0; k < 3; k++) {
			struct iter_addr a;
			addr_of(addrs[k], &a);
			if (!memcmp(a.addr, s->to.addr, 4))
				break;
		}
		assert_true(k < 3);
		assert_false(used[k]);   /* a lame server is not asked again */
		used[k] = true;
		if (round == 0) {
			resp_begin(&r, s, 0, DNS_REFUSED);
		} else if (round == 1) {
			resp_begin(&r, s, 0, DNS_NOERROR);   /* no AA, nothing */
		} else {
			resp_begin(&r, s, DNS_AA, DNS_NOERROR);
			resp_a(&r, 0, "www.example.test.", "192.0.2.80");
		}
		resp_send(w, &r, s);
	}
	assert_true(w->done);
	assert_int_equal(w->rcode, DNS_NOERROR);
	assert_true(res_has_a(w, "www.example.test.", "192.0.2.80"));
	world_free(w);
}

/* Every server lame: SERVFAIL (rcode < 0), and the client's answer says so. */
static void test_all_lame_servfail(void **state)
{
	struct world *w = world_new(false);
	struct sent *s;
	struct resp r;

	resolve(w, "www.example.test.", DNS_A);
	s = expect(w, "10.0.0.1", "www.example.test.", DNS_A);
	refer(w, s, "example.test.", "ns.example.test.", "10.0.2.1");
	s = expect(w, "10.0.2.1", "www.example.test.", DNS_A);
	resp_begin(&r, s, 0, DNS_SERVFAIL);
	resp_send(w, &r, s);
	assert_true(w->done);
	assert_true(w->rcode < 0);
	assert_null(w->res);
	world_free(w);
}

/* RFC 5452 9.1: a wrong ID or a question in other case is dropped and the
 * query stays outstanding; the right one is then taken. */
static void test_spoof_checks(void **state)
{
	struct world *w = world_new(false);
	struct sent *s;
	struct resp r;

	resolve(w, "www.example.test.", DNS_A);
	s = expect(w, "10.0.0.1", "www.example.test.", DNS_A);

	resp_begin(&r, s, DNS_AA, DNS_NOERROR);
	resp_a(&r, 0, "www.example.test.", "6.6.6.6");
	wire_put_u16(r.buf, (uint16_t)(wire_get_u16(r.buf) + 1));
	r.count[0] = 1;
	wire_put_u16(r.buf + 6, 1);
	assert_int_equal(iter_on_packet(s->q, r.buf, wire_offset(&r.w)), VANE_EAGAIN);
	assert_true(s->live);

	/* Same ID, the question's case flipped where 0x20 made it differ. */
	resp_begin(&r, s, DNS_AA, DNS_NOERROR);
	bool flipped = false;
	for (uint8_t *p = r.buf + DNS_HDRLEN; *p && !flipped; p += *p + 1)
		for (unsigned i = 1; i <= *p && !flipped; i++)
			if ((p[i] | 0x20) >= 'a' && (p[i] | 0x20) <= 'z') {
				p[i] ^= 0x20;
				flipped = true;
			}
	assert_true(flipped);
	resp_a(&r, 0, "www.example.test.", "6.6.6.6");
	wire_put_u16(r.buf + 6, 1);
	assert_int_equal(iter_on_packet(s->q, r.buf, wire_offset(&r.w)), VANE_EAGAIN);
	assert_true(s->live);
	assert_false(w->done);

	resp_begin(&r, s, DNS_AA, DNS_NOERROR);
	resp_a(&r, 0, "www.example.test.", "192.0.2.80");
	resp_send(w, &r, s);
	assert_true(w->done);
	assert_true(res_has_a(w, "www.example.test.", "192.0.2.80"));
	assert_false(res_has_a(w, "www.example.test.", "6.6.6.6"));
	world_free(w);
}

/* TC=1 over UDP: the same query again over TCP. */
static void test_truncated_retries_tcp(void **state)
{
	struct world *w = world_new(false);
	struct sent *s;
	struct resp r;

	resolve(w, "www.example.test.", DNS_A);
	s = expect(w, "10.0.0.1", "www.example.test.", DNS_A);
	assert_false(s->tcp);
	resp_begin(&r, s, DNS_TC, DNS_NOERROR);
	resp_send(w, &r, s);
	s = expect(w, "10.0.0.1", "www.example.test.", DNS_A);
	assert_true(s->tcp);
	assert_int_equal(w->r.st.upstream_tcp, 1);
	resp_begin(&r, s, DNS_AA, DNS_NOERROR);
	resp_a(&r, 0, "www.example.test.", "192.0.2.80");
	resp_send(w, &r, s);
	assert_true(w->done);
	assert_int_equal(w->rcode, DNS_NOERROR);
	world_free(w);
}

/* ---- work limits: authorities played by a function ---- */

/* Answer the live queries one by one with `auth` until the resolution
 * ends or nothing is in flight; `max` bounds the rounds. */
static void serve_all(struct world *w, void (*auth)(struct world *, struct sent *),
		      unsigned max)
{
	for (unsigned round = 0; round < max && !w->done; round++) {
		struct sent *s = NULL;
		for (unsigned i = 0; i < w->nsent && !s; i++)
			if (w->sent[i].live)
				s = &w->sent[i];
		if (s == NULL)
			break;
		auth(w, s);
	}
}

static bool sent_to(const struct sent *s, const char *addr)
{
	struct iter_addr a;
	addr_of(addr, &a);
	return memcmp(s->to.addr, a.addr, 4) == 0;
}

static bool asks_under(const struct sent *s, const char *zone)
{
	struct dns_query q;
	uint8_t z[DNAME_MAXLEN];
	assert_int_equal(dns_query_parse(s->wire, s->len, &q), DNS_V_OK);
	name_of(zone, z);
	dname_lower(z);
	uint8_t n[DNAME_MAXLEN];
	memcpy(n, q.qname, dname_len(q.qname));
	dname_lower(n);
	return dname_is_sub(n, z);
}

#define NXNS_NAMES 40

/* NXNS (Afek et al. 2020): the root refers attack.test. to 40 NS names
 * in victim.test. with no glue; the victim's server says NXDOMAIN to all. */
static void nxns_auth(struct world *w, struct sent *s)
{
	struct resp r;
	char ns[64];
	if (sent_to(s, "10.0.9.9")) {
		resp_begin(&r, s, DNS_AA, DNS_NXDOMAIN);
		resp_soa(&r, "victim.test.", 300);
		resp_send(w, &r, s);
	} else if (asks_under(s, "attack.test.")) {
		resp_begin(&r, s, 0, DNS_NOERROR);
		for (unsigned i = 0; i < NXNS_NAMES; i++) {
			snprintf(ns, sizeof(ns), "ns%u.victim.test.", i);
			resp_name(&r, 1, "attack.test.", DNS_NS, ns);
		}
		resp_send(w, &r, s);
	} else {
		refer(w, s, "victim.test.", "ns.victim.test.", "10.0.9.9");
	}
}

/* A client query costs at most max-upstream-queries (default 20) however
 * many glueless NS names a referral lists, and ends in SERVFAIL. */
static void test_nxns_bounded(void **state)
{
	struct world *w = world_new(false);
	w->conf.max_upstream = 20;     /* the default of max-upstream-queries */
	resolve(w, "www.attack.test.", DNS_A);
	serve_all(w, nxns_auth, 200);
	assert_true(w->done);
	assert_true(w->rcode < 0);
	assert_true(w->nsent <= 20);
	unsigned victim = 0;
	for (unsigned i = 0; i < w->nsent; i++)
		victim += sent_to(&w->sent[i], "10.0.9.9");
	assert_true(victim <= 20);
	world_free(w);
}

/* a.test. is served by ns.b.test. and b.test. by ns.a.test., no glue: a
 * cycle.  It ends in SERVFAIL within the work limit. */
static void cycle_auth(struct world *w, struct sent *s)
{
	struct resp r;
	resp_begin(&r, s, 0, DNS_NOERROR);
	if (asks_under(s, "a.test."))
		resp_name(&r, 1, "a.test.", DNS_NS, "ns.b.test.");
	else if (asks_under(s, "b.test."))
		resp_name(&r, 1, "b.test.", DNS_NS, "ns.a.test.");
	else
		fail_msg("unexpected query");
	resp_send(w, &r, s);
}

static void test_cyclic_delegation_servfail(void **state)
{
	struct world *w = world_new(false);
	w->conf.max_upstream = 20;
	resolve(w, "www.a.test.", DNS_A);
	serve_all(w, cycle_auth, 200);
	assert_true(w->done);
	assert_true(w->rcode < 0);
	assert_true(w->nsent <= 20);
	world_free(w);
}

/* ---- forward:, stub:, zones-ttl: (resolver/zones.h) ---- */

static void zone_conf(struct rconf_zone *z, struct conf_listen *to, const char *zone,
		      const char *addr, uint16_t port)
{
	struct sockaddr_in *s4 = (struct sockaddr_in *)&to->addr;
	memset(z, 0, sizeof(*z));
	memset(to, 0, sizeof(*to));
	s4->sin_family = AF_INET;
	s4->sin_port = htons(port);
	assert_int_equal(inet_pton(AF_INET, addr, &s4->sin_addr), 1);
	z->zone = (char *)zone;
	z->to = to;
	z->nto = 1;
}

/* The query in flight, RD and port included (expect() wants RD clear). */
static struct sent *expect_rd(struct world *w, const char *addr, uint16_t port,
			      const char *qname, bool rd)
{
	struct sent *s = NULL;
	for (unsigned i = 0; i < w->nsent; i++)
		if (w->sent[i].live)
			s = &w->sent[i];
	assert_non_null(s);
	struct iter_addr a;
	addr_of(addr, &a);
	assert_memory_equal(s->to.addr, a.addr, 4);
	assert_int_equal(s->to.port ? s->to.port : 53, port);
	struct dns_query q;
	assert_int_equal(dns_query_parse(s->wire, s->len, &q), DNS_V_OK);
	assert_int_equal(!!(q.flags & DNS_RD), rd);
	uint8_t want[DNAME_MAXLEN];
	name_of(qname, want);
	dname_lower(want);
	assert_true(dname_equal(q.qname, want));
	return s;
}

/* A forward zone: the full name (no minimisation) with RD=1 to the
 * forwarder's address and port; its RA answer without AA is final. */
static void test_forward_zone(void **state)
{
	struct world *w = world_new(true);
	struct rconf_zone fz;
	struct conf_listen to;
	struct resp r;
	zone_conf(&fz, &to, "example.test.", "10.0.9.1", 5300);
	w->conf.forward = &fz;
	w->conf.nforward = 1;
	assert_int_equal(resolver_zones_init(&w->r), 0);

	resolve(w, "www.Sub.example.test.", DNS_A);
	struct sent *s = expect_rd(w, "10.0.9.1", 5300, "www.sub.example.test.", true);
	resp_begin(&r, s, DNS_RD | DNS_RA, DNS_NOERROR);
	resp_a(&r, 0, "www.sub.example.test.", "192.0.2.9");
	resp_send(w, &r, s);
	assert_true(w->done);
	assert_int_equal(w->rcode, DNS_NOERROR);
	assert_true(res_has_a(w, "www.sub.example.test.", "192.0.2.9"));
	assert_int_equal(w->r.st.upstream_queries, 1);

	/* Outside the zone: iteration from the root, RD clear, port 53. */
	free(w->res);
	w->res = NULL;
	w->done = false;
	resolve(w, "other.test.", DNS_A);
	s = expect_rd(w, "10.0.0.1", 53, "test.", false);
	resp_begin(&r, s, DNS_AA, DNS_NOERROR);
	resp_send(w, &r, s);
	s = expect_rd(w, "10.0.0.1", 53, "other.test.", false);
	resp_begin(&r, s, DNS_AA, DNS_NOERROR);
	resp_a(&r, 0, "other.test.", "192.0.2.10");
	resp_send(w, &r, s);
	assert_true(w->done);
	assert_true(res_has_a(w, "other.test.", "192.0.2.10"));
	resolver_zones_free(&w->r);
	world_free(w);
}

/* A stub zone: iteration starts at its server (RD=0, minimised below the
 * stub zone, its port); a referral from there is followed on upstream-port. */
static void test_stub_zone(void **state)
{
	struct world *w = world_new(true);
	struct rconf_zone sz;
	struct conf_listen to;
	struct resp r;
	zone_conf(&sz, &to, "corp.test.", "10.0.8.1", 5301);
	w->conf.stub = &sz;
	w->conf.nstub = 1;
	w->conf.upstream_port = 5302;
	assert_int_equal(resolver_zones_init(&w->r), 0);

	resolve(w, "www.sub.corp.test.", DNS_A);
	struct sent *s = expect_rd(w, "10.0.8.1", 5301, "sub.corp.test.", false);
	refer(w, s, "sub.corp.test.", "ns.sub.corp.test.", "10.0.8.2");
	s = expect_rd(w, "10.0.8.2", 5302, "www.sub.corp.test.", false);
	resp_begin(&r, s, DNS_AA, DNS_NOERROR);
	resp_a(&r, 0, "www.sub.corp.test.", "192.0.2.8");
	resp_send(w, &r, s);
	assert_true(w->done);
	assert_true(res_has_a(w, "www.sub.corp.test.", "192.0.2.8"));
	resolver_zones_free(&w->r);
	world_free(w);
}

/* The longest forward:/stub: zone wins; zones-ttl's longest match too. */
static void test_zone_longest_match(void **state)
{
	struct world *w = world_new(false);
	struct rconf_zone fz, sz;
	struct conf_listen fto, sto;
	struct rconf_zone_ttl zt[2] = {
		{ .zone = (char *)"slow.test.", .min_ttl_ms = 300000 },
		{ .zone = (char *)"fast.slow.test.", .min_ttl_ms = 10000 },
	};
	uint8_t n[DNAME_MAXLEN];
	zone_conf(&fz, &fto, "a.b.test.", "10.0.9.1", 53);
	zone_conf(&sz, &sto, "b.test.", "10.0.8.1", 53);
	w->conf.forward = &fz;
	w->conf.nforward = 1;
	w->conf.stub = &sz;
	w->conf.nstub = 1;
	w->conf.zones_ttl = zt;
	w->conf.nzones_ttl = 2;
	w->conf.min_ttl_ms = 5000;
	assert_int_equal(resolver_zones_init(&w->r), 0);
	name_of("x.a.b.test.", n);
	assert_int_equal(rzones_match(&w->r.zones, n)->kind, RZONE_FORWARD);
	name_of("x.b.test.", n);
	assert_int_equal(rzones_match(&w->r.zones, n)->kind, RZONE_STUB);
	name_of("b.test.", n);
	assert_int_equal(rzones_match(&w->r.zones, n)->kind, RZONE_STUB);
	name_of("test.", n);
	assert_null(rzones_match(&w->r.zones, n));
	name_of("www.slow.test.", n);
	assert_int_equal(resolver_min_ttl(&w->r, n), 300);
	name_of("www.fast.slow.test.", n);
	assert_int_equal(resolver_min_ttl(&w->r, n), 10);
	name_of("slowtest.", n);
	assert_int_equal(resolver_min_ttl(&w->r, n), 5);
	resolver_zones_free(&w->r);
	world_free(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_referral_chain),
		cmocka_unit_test(test_qname_minimisation),
		cmocka_unit_test(test_cname_chase),
		cmocka_unit_test(test_nxdomain_soa),
		cmocka_unit_test(test_timeout_retry),
		cmocka_unit_test(test_lame_delegation),
		cmocka_unit_test(test_all_lame_servfail),
		cmocka_unit_test(test_spoof_checks),
		cmocka_unit_test(test_truncated_retries_tcp),
		cmocka_unit_test(test_nxns_bounded),
		cmocka_unit_test(test_cyclic_delegation_servfail),
		cmocka_unit_test(test_forward_zone),
		cmocka_unit_test(test_stub_zone),
		cmocka_unit_test(test_zone_longest_match),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
