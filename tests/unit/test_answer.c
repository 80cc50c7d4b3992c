/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests for src/auth: auth_answer() from query bytes to response bytes
 * over a fixture zone that covers RFC 1034 4.3.2 (exact match, CNAME chains,
 * referrals with glue, additional-section processing), RFC 2308 negative
 * answers, RFC 4592 wildcards, RFC 6891 EDNS (payload, DO, NSID, ECS,
 * BADVERS), RFC 8482 ANY, CH TXT, transfers refused, and truncation.
 * Where the RFCs leave room the expectation is what Knot DNS 3.2 does.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <cmocka.h>

#include "auth/answer.h"
#include "lib/pkt.h"
#include "lib/wire.h"
#include "zone/zonedb.h"

/* --- the fixture zones --------------------------------------------------- */

static const char parent_zone[] =
	"$ORIGIN example.com.\n"
	"$TTL 3600\n"
	"@ 86400 SOA ns1 hostmaster 2024010101 7200 3600 1209600 300\n"
	"@ NS ns1\n"
	"@ NS ns2\n"
	"@ MX 10 mail\n"
	"@ A 192.0.2.1\n"
	"ns1 A 192.0.2.53\n"
	"ns2 AAAA 2001:db8::53\n"
	"mail A 192.0.2.25\n"
	"www A 192.0.2.80\n"
	"www 120 AAAA 2001:db8::80\n"
	"alias 600 CNAME www\n"
	"alias2 CNAME alias\n"
	"loop1 CNAME loop2\n"
	"loop2 CNAME loop1\n"
	"ext CNAME www.example.net.\n"
	"dangling CNAME nothere\n"
	"tosub CNAME host.sub\n"
	"*.wild 900 A 192.0.2.99\n"
	"*.wildcn CNAME www\n"
	"a.b.ent A 192.0.2.7\n"
	"sub NS ns.sub\n"
	"sub NS ns.other.net.\n"
	"sub 7200 DS 12345 8 1 49FD46E6C4B45C55D4AC69CBD3CD34AC1AFE51DE\n"
	"ns.sub A 192.0.2.100\n"
	"ns.sub AAAA 2001:db8::100\n"
	"nods NS ns.other.net.\n"
	"child NS ns.child\n"
	"ns.child A 192.0.2.101\n"
	"mx2 MX 10 ns.sub\n"
	"mx2 MX 20 www\n"
	"_sip._tcp SRV 0 0 5060 www\n"
	"*.star.sub A 192.0.2.9\n";            /* occluded by the cut */

/* The child of "child.example.com", served too. */
static const char child_zone[] =
	"$ORIGIN child.example.com.\n"
	"$TTL 300\n"
	"@ SOA ns hostmaster 9 1 1 1 60\n"
	"@ NS ns\n"
	"@ DS 1 8 1 49FD46E6C4B45C55D4AC69CBD3CD34AC1AFE51DE\n" /* wrong side */
	"ns A 192.0.2.101\n"
	"www A 192.0.2.102\n";

static struct zone_db *db;
static struct zone *zones[2];
static char tmpdir[64];

/* TXT RRsets: "big" needs EDNS (>512, <1232), "huge" needs TCP (>1232). */
static void write_big(FILE *fp, const char *owner, int count)
{
	for (int i = 0; i < count; i++)
		fprintf(fp, "%s TXT \"%02d-abcdefghijklmnopqrstuvwxyz0123456789\"\n",
			owner, i);
}

static struct zone *load(const char *origin, const char *name, const char *text,
			 int bigs)
{
	char path[128];
	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	FILE *fp = fopen(path, "w");
	if (!fp)
		return NULL;
	fputs(text, fp);
	if (bigs) {
		write_big(fp, "big", 20);
		write_big(fp, "huge", 40);
	}
	fclose(fp);
	struct zone *z = NULL;
	int ret = zone_load(origin, path, NULL, NULL, &z);
	if (ret != 0)
		fprintf(stderr, "loading %s: %s\n", path, vane_strerror(ret));
	return z;
}

static int group_setup(void **state)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/vane-test-answer-XXXXXX");
	if (!mkdtemp(tmpdir))
		return -1;
	zones[0] = load("example.com", "parent.zone", parent_zone, 1);
	zones[1] = load("child.example.com", "child.zone", child_zone, 0);
	if (!zones[0] || !zones[1])
		return -1;
	if (zone_db_new(zones, 2, &db) != 0)
		return -1;
	return 0;
}

static int group_teardown(void **state)
{
	char cmd[128];
	zone_db_free(db);
	zone_unref(zones[0]);
	zone_unref(zones[1]);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

/* --- query builder ------------------------------------------------------- */

struct qopt {
	bool edns;
	uint16_t udp;
	bool dobit;
	uint8_t version;
	const uint8_t *options; /* raw EDNS options */
	uint16_t options_len;
};

struct query {
	uint8_t buf[512];
	size_t len;
};

/* Header + question for `name` (presentation form, any case). */
static void build_query(struct query *q, uint16_t id, uint16_t flags, const char *name,
			uint16_t type, uint16_t cls, const struct qopt *o)
{
	uint8_t wname[DNAME_MAXLEN];
	assert_true(dname_from_str(name, NULL, wname) > 0);
	memset(q->buf, 0, sizeof(q->buf));
	struct wire w = wire_init(q->buf, sizeof(q->buf));
	wire_write_u16(&w, id);
	wire_write_u16(&w, flags);
	wire_write_u16(&w, 1);
	wire_write_u16(&w, 0);
	wire_write_u16(&w, 0);
	wire_write_u16(&w, o && o->edns ? 1 : 0);
	wire_write(&w, wname, dname_len(wname));
	wire_write_u16(&w, type);
	wire_write_u16(&w, cls);
	if (o && o->edns) {
		wire_write_u8(&w, 0);
		wire_write_u16(&w, DNS_OPT);
		wire_write_u16(&w, o->udp);
		wire_write_u8(&w, 0);
		wire_write_u8(&w, o->version);
		wire_write_u16(&w, o->dobit ? 0x8000 : 0);
		wire_write_u16(&w, o->options_len);
		if (o->options_len)
			wire_write(&w, o->options, o->options_len);
	}
	assert_int_equal(w.err, 0);
	q->len = wire_offset(&w);
}

/* --- response parser ----------------------------------------------------- */

#define MAX_RRS 80

struct rr {
	char owner[DNAME_MAXSTR];  /* as in the packet, case kept */
	uint16_t type, cls;
	uint32_t ttl;
	uint16_t rdlen;
	size_t rdoff;              /* offset of RDATA in the packet */
	bool owner_ptr;            /* the owner used a compression pointer */
};

struct msg {
	uint8_t buf[DNS_MAXMSG];
	size_t len;
	struct auth_result res;
	uint16_t id, flags, qd, an, ns, ar;
	char qname[DNAME_MAXSTR];
	uint16_t qtype, qclass;
	struct rr rr[MAX_RRS];     /* answer, authority, additional in order */
	unsigned nrr;
	size_t expanded;           /* length with every name written out */
	const struct rr *opt;      /* the OPT in the additional section */
};

#define RCODE(m) ((m)->flags & 0x0F)
#define AA(m) (((m)->flags & DNS_AA) != 0)
#define TC(m) (((m)->flags & DNS_TC) != 0)

/* A name at `*off`; adds its uncompressed length to m->expanded. */
static void read_name(struct msg *m, size_t *off, char *str, bool *ptr)
{
	uint8_t name[DNAME_MAXLEN];
	size_t start = *off;
	int len = dname_unpack(m->buf, m->len, off, name, false);
	assert_true(len > 0);
	m->expanded += (size_t)len;
	if (ptr)
		*ptr = (size_t)len != *off - start;
	if (str)
		dname_to_str(name, str, DNAME_MAXSTR);
}

static void parse_rdata_names(struct msg *m, const struct rr *r)
{
	size_t off = r->rdoff, end = r->rdoff + r->rdlen;
	switch (r->type) {
	case DNS_NS:
	case DNS_CNAME:
	case DNS_PTR:
		read_name(m, &off, NULL, NULL);
		break;
	case DNS_MX:
		off += 2;
		m->expanded += 2;
		read_name(m, &off, NULL, NULL);
		break;
	case DNS_SOA:
		read_name(m, &off, NULL, NULL);
		read_name(m, &off, NULL, NULL);
		off += 20;
		m->expanded += 20;
		break;
	default:
		off = end;
		m->expanded += r->rdlen;
	}
	assert_int_equal(off, end);
}

static void parse_msg(struct msg *m)
{
	assert_true(m->len >= DNS_HDRLEN);
	m->id = wire_get_u16(m->buf);
	m->flags = wire_get_u16(m->buf + 2);
	m->qd = wire_get_u16(m->buf + 4);
	m->an = wire_get_u16(m->buf + 6);
	m->ns = wire_get_u16(m->buf + 8);
	m->ar = wire_get_u16(m->buf + 10);
	m->expanded = DNS_HDRLEN;
	m->nrr = 0;
	m->opt = NULL;
	m->qname[0] = 0;
	size_t off = DNS_HDRLEN;
	if (m->qd) {
		assert_int_equal(m->qd, 1);
		read_name(m, &off, m->qname, NULL);
		assert_true(off + 4 <= m->len);
		m->qtype = wire_get_u16(m->buf + off);
		m->qclass = wire_get_u16(m->buf + off + 2);
		off += 4;
		m->expanded += 4;
	}
	unsigned total = m->an + m->ns + m->ar;
	assert_true(total <= MAX_RRS);
	for (unsigned i = 0; i < total; i++) {
		struct rr *r = &m->rr[m->nrr++];
		read_name(m, &off, r->owner, &r->owner_ptr);
		assert_true(off + 10 <= m->len);
		r->type = wire_get_u16(m->buf + off);
		r->cls = wire_get_u16(m->buf + off + 2);
		r->ttl = wire_get_u32(m->buf + off + 4);
		r->rdlen = wire_get_u16(m->buf + off + 8);
		off += 10;
		m->expanded += 10;
		r->rdoff = off;
		assert_true(off + r->rdlen <= m->len);
		parse_rdata_names(m, r);
		off += r->rdlen;
		if (r->type == DNS_OPT) {
			/* RFC 6891 6.1.1: one OPT, in the additional section. */
			assert_true(i >= (unsigned)(m->an + m->ns));
			assert_null(m->opt);
			m->opt = r;
		}
	}
	assert_int_equal(off, m->len); /* nothing after the last RR */
}

static const struct auth_conf default_conf = {
	.max_udp = DNS_EDNS_DEFAULT,
	.version = "vane-test-1",
	.identity = NULL,
};

/* Steering state for the steered-name tests; NULL elsewhere. */
static const struct auth_steer *cur_steer;

static void ask_raw(struct msg *m, const struct auth_conf *conf, const uint8_t *q,
		    size_t qlen, bool tcp)
{
	memset(&m->res, 0xA5, sizeof(m->res));
	m->len = auth_answer(db, conf, cur_steer, NULL, q, qlen, tcp, m->buf, sizeof(m->buf),
			     &m->res);
	assert_true(m->len > 0);
	parse_msg(m);
	/* The result struct agrees with the wire. */
	assert_int_equal(m->res.tc, TC(m));
	if (!m->opt)
		assert_int_equal(m->res.rcode, RCODE(m));
}

static struct msg *ask_full(const struct auth_conf *conf, const char *name, uint16_t type,
			    uint16_t cls, const struct qopt *o, bool tcp)
{
	static struct msg m;
	struct query q;
	build_query(&q, 0x1234, DNS_RD, name, type, cls, o);
	ask_raw(&m, conf, q.buf, q.len, tcp);
	assert_int_equal(m.id, 0x1234);
	assert_true(m.flags & DNS_QR);
	assert_true(m.flags & DNS_RD);
	assert_int_equal(DNS_OPCODE(m.flags), 0);
	assert_false(m.flags & DNS_RA);
	assert_int_equal(m.qd, 1);
	assert_int_equal(m.qtype, type);
	assert_int_equal(m.qclass, cls);
	assert_int_equal(m.res.qtype, type);
	return &m;
}

static struct msg *ask(const char *name, uint16_t type)
{
	return ask_full(&default_conf, name, type, DNS_IN, NULL, false);
}

/* Assert the i-th RR (0-based across all sections).  Owners compare without
 * case: a compressed suffix takes the case of the name it points to. */
static void expect_rr(const struct msg *m, unsigned i, const char *owner,
		      uint16_t type, uint32_t ttl)
{
	assert_true(i < m->nrr);
	const struct rr *r = &m->rr[i];
	if (strcasecmp(r->owner, owner) != 0)
		assert_string_equal(r->owner, owner); /* fails, showing both */
	assert_int_equal(r->type, type);
	assert_int_equal(r->ttl, ttl);
	if (type != DNS_OPT)
		assert_int_equal(r->cls, DNS_IN);
}

static void expect_counts(const struct msg *m, unsigned rcode, bool aa,
			  uint16_t an, uint16_t ns, uint16_t ar)
{
	assert_int_equal(RCODE(m), rcode);
	assert_int_equal(AA(m), aa);
	assert_false(TC(m));
	assert_int_equal(m->an, an);
	assert_int_equal(m->ns, ns);
	assert_int_equal(m->ar, ar);
}

/* The RFC 2308 negative-answer SOA: apex owner, TTL min(86400, 300). */
static void expect_neg_soa(const struct msg *m, unsigned i)
{
	expect_rr(m, i, "example.com.", DNS_SOA, 300);
}

/* --- positive answers ------------------------------------------------------ */

static void exact_match_case_and_compression(void **state)
{
	struct msg *m = ask("WwW.ExAmPlE.cOm.", DNS_A);
	expect_counts(m, DNS_NOERROR, true, 1, 0, 0);
	/* The question is echoed as sent (RFC 1035 4.1.1, 0x20 resolvers). */
	assert_string_equal(m->qname, "WwW.ExAmPlE.cOm.");
	/* The answer owner points at the question, so it reads the same. */
	expect_rr(m, 0, "WwW.ExAmPlE.cOm.", DNS_A, 3600);
	assert_string_equal(m->rr[0].owner, "WwW.ExAmPlE.cOm.");
	assert_true(m->rr[0].owner_ptr);
	assert_int_equal(m->rr[0].rdlen, 4);
	assert_memory_equal(m->buf + m->rr[0].rdoff, "\xc0\0\2\x50", 4);
	assert_true(m->len < m->expanded);
	assert_int_equal(m->res.rcode, DNS_NOERROR);
}

static void header_bits_copied(void **state)
{
	struct query q;
	struct msg *m = calloc(1, sizeof(*m));
	assert_non_null(m);
	build_query(&q, 0xBEEF, DNS_CD, "www.example.com.", DNS_A, DNS_IN, NULL);
	ask_raw(m, &default_conf, q.buf, q.len, false);
	assert_int_equal(m->id, 0xBEEF);
	assert_true(m->flags & DNS_QR);
	assert_true(m->flags & DNS_CD);
	assert_false(m->flags & DNS_RD);
	assert_false(m->flags & DNS_AD);
	assert_int_equal(m->an, 1);
	free(m);
}

/* RFC 1034 4.3.2 step 6: MX and NS targets' addresses in additional. */
static void additional_processing(void **state)
{
	struct msg *m = ask("example.com.", DNS_MX);
	expect_counts(m, DNS_NOERROR, true, 1, 0, 1);
	expect_rr(m, 0, "example.com.", DNS_MX, 3600);
	expect_rr(m, 1, "mail.example.com.", DNS_A, 3600);
	assert_true(m->len < m->expanded);

	m = ask("example.com.", DNS_NS);
	expect_counts(m, DNS_NOERROR, true, 2, 0, 2);
	expect_rr(m, 0, "example.com.", DNS_NS, 3600);
	expect_rr(m, 1, "example.com.", DNS_NS, 3600);
	expect_rr(m, 2, "ns1.example.com.", DNS_A, 3600);
	expect_rr(m, 3, "ns2.example.com.", DNS_AAAA, 3600);
}

/* MX/SRV targets below a cut get their glue, as Knot adds it; the
 * RRset's TTL stays per RRset (www AAAA has 120). */
static void additional_glue_and_srv(void **state)
{
	struct msg *m = ask("mx2.example.com.", DNS_MX);
	expect_counts(m, DNS_NOERROR, true, 2, 0, 4);
	expect_rr(m, 0, "mx2.example.com.", DNS_MX, 3600);
	expect_rr(m, 1, "mx2.example.com.", DNS_MX, 3600);
	expect_rr(m, 2, "ns.sub.example.com.", DNS_A, 3600);
	expect_rr(m, 3, "ns.sub.example.com.", DNS_AAAA, 3600);
	expect_rr(m, 4, "www.example.com.", DNS_A, 3600);
	expect_rr(m, 5, "www.example.com.", DNS_AAAA, 120);

	m = ask("_sip._tcp.example.com.", DNS_SRV);
	expect_counts(m, DNS_NOERROR, true, 1, 0, 2);
	expect_rr(m, 0, "_sip._tcp.example.com.", DNS_SRV, 3600);
	expect_rr(m, 1, "www.example.com.", DNS_A, 3600);
	expect_rr(m, 2, "www.example.com.", DNS_AAAA, 120);

	/* A wildcard below a cut is never synthesised: referral. */
	m = ask("x.star.sub.example.com.", DNS_A);
	expect_counts(m, DNS_NOERROR, false, 0, 2, 2);
	expect_rr(m, 0, "sub.example.com.", DNS_NS, 3600);
}

/* RFC 8482 / Knot: ANY gets the first RRset by type value, UDP or TCP. */
static void any_first_rrset(void **state)
{
	struct msg *m = ask("www.example.com.", DNS_ANY);
	expect_counts(m, DNS_NOERROR, true, 1, 0, 0);
	expect_rr(m, 0, "www.example.com.", DNS_A, 3600);

	m = ask_full(&default_conf, "example.com.", DNS_ANY, DNS_IN, NULL, true);
	expect_counts(m, DNS_NOERROR, true, 1, 0, 0);
	expect_rr(m, 0, "example.com.", DNS_A, 3600);

	/* ANY at an empty non-terminal is NODATA. */
	m = ask("ent.example.com.", DNS_ANY);
	expect_counts(m, DNS_NOERROR, true, 0, 1, 0);
	expect_neg_soa(m, 0);
}

/* Class ANY in the question is answered like IN. */
static void class_any(void **state)
{
	struct msg *m = ask_full(&default_conf, "www.example.com.", DNS_A,
				 DNS_ANYCLASS, NULL, false);
	expect_counts(m, DNS_NOERROR, true, 1, 0, 0);
	expect_rr(m, 0, "www.example.com.", DNS_A, 3600);
}

/* --- CNAME ----------------------------------------------------------------- */

static void cname_chain(void **state)
{
	struct msg *m = ask("Alias2.Example.com.", DNS_A);
	expect_counts(m, DNS_NOERROR, true, 3, 0, 0);
	expect_rr(m, 0, "Alias2.Example.com.", DNS_CNAME, 3600);
	expect_rr(m, 1, "alias.example.com.", DNS_CNAME, 600);
	expect_rr(m, 2, "www.example.com.", DNS_A, 3600);

	/* Asking for the CNAME itself does not follow it. */
	m = ask("alias.example.com.", DNS_CNAME);
	expect_counts(m, DNS_NOERROR, true, 1, 0, 0);
	expect_rr(m, 0, "alias.example.com.", DNS_CNAME, 600);

	/* NODATA at the end of a chain: SOA in authority, NOERROR. */
	m = ask("alias.example.com.", DNS_MX);
	expect_counts(m, DNS_NOERROR, true, 1, 1, 0);
	expect_rr(m, 0, "alias.example.com.", DNS_CNAME, 600);
	expect_neg_soa(m, 1);
}

static void cname_loop(void **state)
{
	struct msg *m = ask("loop1.example.com.", DNS_A);
	expect_counts(m, DNS_NOERROR, true, 2, 0, 0);
	expect_rr(m, 0, "loop1.example.com.", DNS_CNAME, 3600);
	expect_rr(m, 1, "loop2.example.com.", DNS_CNAME, 3600);
}

/* Knot follows CNAMEs only inside the zone. */
static void cname_out_of_zone(void **state)
{
	struct msg *m = ask("ext.example.com.", DNS_A);
	expect_counts(m, DNS_NOERROR, true, 1, 0, 0);
	expect_rr(m, 0, "ext.example.com.", DNS_CNAME, 3600);
}

/* RFC 6604 2.1: the rcode describes the last name of the chain. */
static void cname_to_nxdomain(void **state)
{
	struct msg *m = ask("dangling.example.com.", DNS_A);
	expect_counts(m, DNS_NXDOMAIN, true, 1, 1, 0);
	expect_rr(m, 0, "dangling.example.com.", DNS_CNAME, 3600);
	expect_neg_soa(m, 1);
}

/* A chain into a delegation: CNAME authoritative, then the referral. */
static void cname_into_delegation(void **state)
{
	struct msg *m = ask("tosub.example.com.", DNS_A);
	expect_counts(m, DNS_NOERROR, true, 1, 2, 2);
	expect_rr(m, 0, "tosub.example.com.", DNS_CNAME, 3600);
	expect_rr(m, 1, "sub.example.com.", DNS_NS, 3600);
	expect_rr(m, 2, "sub.example.com.", DNS_NS, 3600);
	expect_rr(m, 3, "ns.sub.example.com.", DNS_A, 3600);
	expect_rr(m, 4, "ns.sub.example.com.", DNS_AAAA, 3600);
}

/* --- negative answers (RFC 2308) -------------------------------------------- */

static void nxdomain(void **state)
{
	struct msg *m = ask("nope.example.com.", DNS_A);
	expect_counts(m, DNS_NXDOMAIN, true, 0, 1, 0);
	expect_neg_soa(m, 0);
	assert_int_equal(m->res.rcode, DNS_NXDOMAIN);

	/* Below an empty non-terminal without a wildcard. */
	m = ask("x.b.ent.example.com.", DNS_A);
	expect_counts(m, DNS_NXDOMAIN, true, 0, 1, 0);
	expect_neg_soa(m, 0);
}

static void nodata(void **state)
{
	struct msg *m = ask("www.example.com.", DNS_TXT);
	expect_counts(m, DNS_NOERROR, true, 0, 1, 0);
	expect_neg_soa(m, 0);
}

static void ent_nodata(void **state)
{
	struct msg *m = ask("b.ent.example.com.", DNS_A);
	expect_counts(m, DNS_NOERROR, true, 0, 1, 0);
	expect_neg_soa(m, 0);

	m = ask("ent.example.com.", DNS_AAAA);
	expect_counts(m, DNS_NOERROR, true, 0, 1, 0);
	expect_neg_soa(m, 0);
}

/* --- wildcards (RFC 4592) ---------------------------------------------------- */

static void wildcard(void **state)
{
	struct msg *m = ask("Foo.Wild.example.com.", DNS_A);
	expect_counts(m, DNS_NOERROR, true, 1, 0, 0);
	/* 3.3.1: the owner is the query name, never "*". */
	expect_rr(m, 0, "Foo.Wild.example.com.", DNS_A, 900);
	assert_string_equal(m->rr[0].owner, "Foo.Wild.example.com.");
	assert_memory_equal(m->buf + m->rr[0].rdoff, "\xc0\0\2\x63", 4);

	/* Several labels below the wildcard's parent match too. */
	m = ask("a.b.wild.example.com.", DNS_A);
	expect_counts(m, DNS_NOERROR, true, 1, 0, 0);
	expect_rr(m, 0, "a.b.wild.example.com.", DNS_A, 900);

	/* Wildcard NODATA. */
	m = ask("foo.wild.example.com.", DNS_TXT);
	expect_counts(m, DNS_NOERROR, true, 0, 1, 0);
	expect_neg_soa(m, 0);

	/* The wildcard's parent itself is an ENT, not synthesised. */
	m = ask("wild.example.com.", DNS_A);
	expect_counts(m, DNS_NOERROR, true, 0, 1, 0);
	expect_neg_soa(m, 0);
}

static void wildcard_cname(void **state)
{
	struct msg *m = ask("x.wildcn.example.com.", DNS_A);
	expect_counts(m, DNS_NOERROR, true, 2, 0, 0);
	expect_rr(m, 0, "x.wildcn.example.com.", DNS_CNAME, 3600);
	expect_rr(m, 1, "www.example.com.", DNS_A, 3600);
}

/* --- delegations ------------------------------------------------------------ */

static void referral(void **state)
{
	const char *names[] = { "sub.example.com.", "www.sub.example.com.",
				"a.b.sub.example.com.", "ns.sub.example.com." };
	for (unsigned i = 0; i < 4; i++) {
		struct msg *m = ask(names[i], DNS_A);
		/* RFC 1034 4.3.2 3b: not authoritative, NS in authority, glue. */
		expect_counts(m, DNS_NOERROR, false, 0, 2, 2);
		expect_rr(m, 0, "sub.example.com.", DNS_NS, 3600);
		expect_rr(m, 1, "sub.example.com.", DNS_NS, 3600);
		expect_rr(m, 2, "ns.sub.example.com.", DNS_A, 3600);
		expect_rr(m, 3, "ns.sub.example.com.", DNS_AAAA, 3600);
	}
	/* NS at the cut is a referral too (the child is authoritative). */
	struct msg *m = ask("sub.example.com.", DNS_NS);
	expect_counts(m, DNS_NOERROR, false, 0, 2, 2);
}

/* RFC 4035 3.1.4.1: DS is the parent's data, answered authoritatively. */
static void ds_at_cut(void **state)
{
	struct msg *m = ask("sub.example.com.", DNS_DS);
	expect_counts(m, DNS_NOERROR, true, 1, 0, 0);
	expect_rr(m, 0, "sub.example.com.", DNS_DS, 7200);

	/* No DS at the cut: authoritative NODATA from the parent. */
	m = ask("nods.example.com.", DNS_DS);
	expect_counts(m, DNS_NOERROR, true, 0, 1, 0);
	expect_neg_soa(m, 0);

	/* Below the cut DS is a referral like any other type. */
	m = ask("x.sub.example.com.", DNS_DS);
	expect_counts(m, DNS_NOERROR, false, 0, 2, 2);
}

/* Both sides served: DS at the child apex comes from the parent. */
static void ds_both_sides(void **state)
{
	struct msg *m = ask("child.example.com.", DNS_DS);
	expect_counts(m, DNS_NOERROR, true, 0, 1, 0);
	expect_neg_soa(m, 0); /* the parent's SOA: the parent has no DS */

	/* Everything else at and below the child apex is the child's. */
	m = ask("child.example.com.", DNS_NS);
	expect_counts(m, DNS_NOERROR, true, 1, 0, 1);
	expect_rr(m, 0, "child.example.com.", DNS_NS, 300);
	expect_rr(m, 1, "ns.child.example.com.", DNS_A, 300);
	m = ask("www.child.example.com.", DNS_A);
	expect_counts(m, DNS_NOERROR, true, 1, 0, 0);
	expect_rr(m, 0, "www.child.example.com.", DNS_A, 300);
	m = ask("nope.child.example.com.", DNS_A);
	expect_counts(m, DNS_NXDOMAIN, true, 0, 1, 0);
	expect_rr(m, 0, "child.example.com.", DNS_SOA, 60);
}

/* --- refused, CH, transfers, malformed ------------------------------------ */

static void refused(void **state)
{
	struct msg *m = ask("www.example.org.", DNS_A);
	expect_counts(m, DNS_REFUSED, false, 0, 0, 0);
	m = ask("com.", DNS_NS);
	expect_counts(m, DNS_REFUSED, false, 0, 0, 0);
	/* Classes other than IN, ANY (and CH for the server names). */
	m = ask_full(&default_conf, "www.example.com.", DNS_A, 4 /* HS */, NULL, false);
	expect_counts(m, DNS_REFUSED, false, 0, 0, 0);
	m = ask_full(&default_conf, "www.example.com.", DNS_A, DNS_CH, NULL, false);
	expect_counts(m, DNS_REFUSED, false, 0, 0, 0);
}

static void chaos(void **state)
{
	struct msg *m = ask_full(&default_conf, "VERSION.bind.", DNS_TXT, DNS_CH,
				 NULL, false);
	assert_int_equal(RCODE(m), DNS_NOERROR);
	assert_int_equal(m->an, 1);
	assert_string_equal(m->rr[0].owner, "VERSION.bind.");
	assert_int_equal(m->rr[0].type, DNS_TXT);
	assert_int_equal(m->rr[0].cls, DNS_CH);
	assert_int_equal(m->rr[0].rdlen, 12);
	assert_memory_equal(m->buf + m->rr[0].rdoff, "\x0bvane-test-1", 12);

	m = ask_full(&default_conf, "version.server.", DNS_TXT, DNS_CH, NULL, false);
	assert_int_equal(RCODE(m), DNS_NOERROR);
	assert_int_equal(m->an, 1);

	/* No identity configured: refused. */
	m = ask_full(&default_conf, "id.server.", DNS_TXT, DNS_CH, NULL, false);
	expect_counts(m, DNS_REFUSED, false, 0, 0, 0);

	struct auth_conf conf = default_conf;
	conf.identity = "ns1.test";
	m = ask_full(&conf, "id.server.", DNS_TXT, DNS_CH, NULL, false);
	assert_int_equal(RCODE(m), DNS_NOERROR);
	assert_int_equal(m->an, 1);
	assert_memory_equal(m->buf + m->rr[0].rdoff, "\x08ns1.test", 9);
	m = ask_full(&conf, "hostname.bind.", DNS_TXT, DNS_CH, NULL, false);
	assert_int_equal(m->an, 1);

	/* Other CH names and types. */
	m = ask_full(&conf, "authors.bind.", DNS_TXT, DNS_CH, NULL, false);
	assert_int_equal(RCODE(m), DNS_REFUSED);
	m = ask_full(&conf, "version.bind.", DNS_A, DNS_CH, NULL, false);
	assert_int_equal(RCODE(m), DNS_REFUSED);
}

static void transfers(void **state)
{
	struct msg *m = ask_full(&default_conf, "example.com.", DNS_AXFR, DNS_IN,
				 NULL, false);
	expect_counts(m, DNS_NOTIMP, false, 0, 0, 0);
	m = ask_full(&default_conf, "example.com.", DNS_AXFR, DNS_IN, NULL, true);
	expect_counts(m, DNS_NOTAUTH, false, 0, 0, 0);
	assert_int_equal(m->res.rcode, DNS_NOTAUTH);
}

static void malformed(void **state)
{
	struct msg *m = calloc(1, sizeof(*m));
	struct query q;
	assert_non_null(m);

	/* No question: FORMERR with an empty question section. */
	build_query(&q, 7, 0, "www.example.com.", DNS_A, DNS_IN, NULL);
	wire_put_u16(q.buf + 4, 0);
	ask_raw(m, &default_conf, q.buf, DNS_HDRLEN, false);
	assert_int_equal(m->id, 7);
	assert_int_equal(RCODE(m), DNS_FORMERR);
	assert_int_equal(m->qd, 0);
	assert_int_equal(m->an + m->ns + m->ar, 0);

	/* Truncated question. */
	build_query(&q, 8, 0, "www.example.com.", DNS_A, DNS_IN, NULL);
	ask_raw(m, &default_conf, q.buf, q.len - 2, false);
	assert_int_equal(RCODE(m), DNS_FORMERR);
	assert_int_equal(m->qd, 0);

	/* Trailing garbage. */
	build_query(&q, 9, 0, "www.example.com.", DNS_A, DNS_IN, NULL);
	ask_raw(m, &default_conf, q.buf, q.len + 3, false);
	assert_int_equal(RCODE(m), DNS_FORMERR);

	/* UPDATE and STATUS opcodes: NOTIMP, question echoed, opcode kept. */
	build_query(&q, 10, DNS_OP_UPDATE << 11, "www.example.com.", DNS_SOA,
		    DNS_IN, NULL);
	ask_raw(m, &default_conf, q.buf, q.len, false);
	assert_int_equal(RCODE(m), DNS_NOTIMP);
	assert_int_equal(DNS_OPCODE(m->flags), DNS_OP_UPDATE);
	assert_int_equal(m->qd, 1);
	build_query(&q, 11, 2 << 11, "www.example.com.", DNS_A, DNS_IN, NULL);
	ask_raw(m, &default_conf, q.buf, q.len, false);
	assert_int_equal(RCODE(m), DNS_NOTIMP);

	/* Responses and runts are dropped. */
	struct auth_result res;
	build_query(&q, 12, DNS_QR, "www.example.com.", DNS_A, DNS_IN, NULL);
	assert_int_equal(auth_answer(db, &default_conf, NULL, NULL, q.buf, q.len, false,
				     m->buf, sizeof(m->buf), &res), 0);
	assert_int_equal(auth_answer(db, &default_conf, NULL, NULL, q.buf, 5, false,
				     m->buf, sizeof(m->buf), &res), 0);
	free(m);
}

/* --- EDNS (RFC 6891) -------------------------------------------------------- */

static uint16_t opt_payload(const struct msg *m)
{
	return m->opt->cls;
}

static void edns_basic(void **state)
{
	struct qopt o = { .edns = true, .udp = 4096, .dobit = true };
	struct msg *m = ask_full(&default_conf, "www.example.com.", DNS_A, DNS_IN, &o, false);
	expect_counts(m, DNS_NOERROR, true, 1, 0, 1);
	assert_non_null(m->opt);
	assert_string_equal(m->opt->owner, ".");
	assert_int_equal(opt_payload(m), 1232);
	assert_int_equal(m->opt->ttl, 0x00008000); /* ext rcode 0, v0, DO */
	assert_int_equal(m->opt->rdlen, 0);        /* no NSID unless asked */

	o.dobit = false;
	o.udp = 512;
	m = ask_full(&default_conf, "www.example.com.", DNS_A, DNS_IN, &o, false);
	assert_non_null(m->opt);
	assert_int_equal(opt_payload(m), 1232);
	assert_int_equal(m->opt->ttl, 0);

	/* Negative answers carry the OPT after the SOA. */
	m = ask_full(&default_conf, "nope.example.com.", DNS_A, DNS_IN, &o, false);
	expect_counts(m, DNS_NXDOMAIN, true, 0, 1, 1);
	expect_neg_soa(m, 0);
	assert_int_equal(m->rr[1].type, DNS_OPT);

	/* Without EDNS in the query, none in the answer. */
	m = ask("www.example.com.", DNS_A);
	assert_null(m->opt);
}

/* ISC genreport's opcodeflg: opcode 15, header only, AA TC RD RA Z AD CD
 * all set.  NOTIMP, opcode echoed, no flag of a QUERY kept, no records. */
static void opcodeflg(void **state)
{
	struct msg *m = calloc(1, sizeof(*m));
	uint8_t q[DNS_HDRLEN] = { 0xab, 0xcd, 0x78 | 0x07, 0xF0, 0, 0, 0, 0, 0, 0, 0, 0 };
	assert_non_null(m);
	ask_raw(m, &default_conf, q, sizeof(q), false);
	assert_int_equal(m->id, 0xabcd);
	assert_int_equal(m->flags, DNS_QR | 15 << 11 | DNS_NOTIMP);
	assert_int_equal(m->qd + m->an + m->ns + m->ar, 0);
	assert_int_equal(m->len, DNS_HDRLEN);
	free(m);
}

static void edns_nsid(void **state)
{
	static const uint8_t nsid_req[] = { 0, 3, 0, 0 };
	struct qopt o = { .edns = true, .udp = 1232, .options = nsid_req,
			  .options_len = sizeof(nsid_req) };
	struct auth_conf conf = default_conf;
	conf.nsid_len = 5;
	memcpy(conf.nsid, "node1", 5);

	struct msg *m = ask_full(&conf, "www.example.com.", DNS_A, DNS_IN, &o, false);
	assert_non_null(m->opt);
	assert_int_equal(m->opt->rdlen, 4 + 5);
	assert_memory_equal(m->buf + m->opt->rdoff, "\0\3\0\5node1", 9);

	/* Not configured: no option, still an answer. */
	m = ask_full(&default_conf, "www.example.com.", DNS_A, DNS_IN, &o, false);
	assert_int_equal(RCODE(m), DNS_NOERROR);
	assert_non_null(m->opt);
	assert_int_equal(m->opt->rdlen, 0);

	/* Configured but not asked for. */
	o.options_len = 0;
	m = ask_full(&conf, "www.example.com.", DNS_A, DNS_IN, &o, false);
	assert_int_equal(m->opt->rdlen, 0);
}

static void edns_ecs(void **state)
{
	/* ECS 192.0.2.0/24, scope 0, plus an unknown option that is ignored. */
	static const uint8_t opts[] = { 0, 8, 0, 7, 0, 1, 24, 0, 192, 0, 2,
					0xfd, 0xe9, 0, 1, 0xaa };
	struct qopt o = { .edns = true, .udp = 1232, .options = opts,
			  .options_len = sizeof(opts) };
	struct msg *m = ask_full(&default_conf, "www.example.com.", DNS_A, DNS_IN, &o, false);
	expect_counts(m, DNS_NOERROR, true, 1, 0, 1);
	assert_non_null(m->opt);
	/* RFC 7871 7.2.1: echoed, SCOPE PREFIX-LENGTH 0 for static data. */
	assert_int_equal(m->opt->rdlen, 11);
	assert_memory_equal(m->buf + m->opt->rdoff, "\0\x08\0\x07\0\x01\x18\0\xc0\0\2", 11);

	/* IPv6 /56. */
	static const uint8_t opts6[] = { 0, 8, 0, 11, 0, 2, 56, 0,
					 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0 };
	o.options = opts6;
	o.options_len = sizeof(opts6);
	m = ask_full(&default_conf, "www.example.com.", DNS_AAAA, DNS_IN, &o, false);
	assert_int_equal(m->opt->rdlen, sizeof(opts6));
	assert_memory_equal(m->buf + m->opt->rdoff, opts6, sizeof(opts6));
}

static void edns_badvers(void **state)
{
	struct qopt o = { .edns = true, .udp = 1232, .version = 1, .dobit = true };
	struct msg *m = ask_full(&default_conf, "www.example.com.", DNS_A, DNS_IN, &o, false);
	/* RFC 6891 6.1.3: BADVERS = 16 = extended rcode 1, header rcode 0. */
	assert_int_equal(RCODE(m), 0);
	assert_int_equal(m->an, 0);
	assert_int_equal(m->ns, 0);
	assert_int_equal(m->ar, 1);
	assert_non_null(m->opt);
	assert_int_equal(m->opt->ttl >> 24, 1);
	assert_int_equal((m->opt->ttl >> 16) & 0xFF, 0); /* our version: 0 */
	assert_int_equal(opt_payload(m), 1232);
	assert_int_equal(m->res.rcode, DNS_BADVERS);
	assert_false(AA(m));
}

/* A broken OPT gets FORMERR without an OPT (it may be the broken part). */
static void edns_formerr(void **state)
{
	static const uint8_t bad_ecs[] = { 0, 8, 0, 4, 0, 9, 0, 0 };
	struct qopt o = { .edns = true, .udp = 1232, .options = bad_ecs,
			  .options_len = sizeof(bad_ecs) };
	struct msg *m = ask_full(&default_conf, "www.example.com.", DNS_A, DNS_IN, &o, false);
	assert_int_equal(RCODE(m), DNS_FORMERR);
	assert_null(m->opt);
	assert_int_equal(m->an, 0);
}

/* --- steered names ------------------------------------------------------------- */

enum { OPEN_EPS = 40 };
static struct steer_endpoint st_eps[3 + OPEN_EPS];
static struct steer_service st_svc[4];
static struct steer_set st_set;
static struct steer_health_state st_hstate[OPEN_EPS];
static struct steer_health st_health = { OPEN_EPS, st_hstate };
static struct steer_admin_ep st_aeps[OPEN_EPS];
static struct steer_admin st_admin = { OPEN_EPS, st_aeps, false, 0, 0 };
static const struct steer_admin *st_admins[4] = { NULL, NULL, NULL, &st_admin };
static const struct auth_steer st_steer = {
	.set = &st_set, .health = &st_health, .admin = st_admins,
};

static void st_service(unsigned k, const char *name, uint32_t ttl, struct steer_endpoint *eps,
		       unsigned n)
{
	struct steer_service *svc = &st_svc[k];
	steer_service_init(svc);
	int len = dname_from_str(name, NULL, svc->name);
	assert_true(len > 0);
	svc->name_len = (uint8_t)len;
	svc->ttl = ttl;
	svc->policy[0] = STEER_F_HEALTH;
	svc->policy[1] = STEER_F_WEIGHTED;
	svc->n_policy = 2;
	svc->ep = eps;
	svc->n_ep = n;
	assert_int_equal(steer_service_prepare(svc), 0);
}

/* Services: api (no zone data, v4 only, ttl 30), mail (A in the zone too,
 * ttl 20), slow (ttl 3600, above the SOA's 300) and open (all-down open,
 * OPEN_EPS endpoints of two addresses each, health-checked). */
static int steer_setup(void **state)
{
	for (unsigned i = 0; i < 3; i++) {
		struct steer_endpoint *e = &st_eps[i];
		memset(e, 0, sizeof(*e));
		snprintf(e->id, sizeof(e->id), "e%u", i);
		e->weight = 1;
		e->check = e->health = STEER_NONE;
		e->n_v4 = 1;
		memcpy(e->v4[0], (uint8_t[]){ 192, 0, 2, (uint8_t)(200 + i) }, 4);
	}
	st_service(0, "api.example.com.", 30, &st_eps[0], 1);
	st_service(1, "mail.example.com.", 20, &st_eps[1], 1);
	st_service(2, "slow.example.com.", 3600, &st_eps[2], 1);
	for (unsigned i = 0; i < OPEN_EPS; i++) {
		struct steer_endpoint *e = &st_eps[3 + i];
		memset(e, 0, sizeof(*e));
		snprintf(e->id, sizeof(e->id), "o%u", i);
		e->weight = 1;
		e->check = 0;
		e->health = i;
		e->n_v4 = 2;
		memcpy(e->v4[0], (uint8_t[]){ 198, 51, 100, (uint8_t)i }, 4);
		memcpy(e->v4[1], (uint8_t[]){ 198, 51, 100, (uint8_t)(100 + i) }, 4);
	}
	st_service(3, "open.example.com.", 40, &st_eps[3], OPEN_EPS);
	st_set.svc = st_svc;
	st_set.n = 4;
	assert_int_equal(steer_set_index(&st_set), 0);
	cur_steer = &st_steer;
	return 0;
}

static int steer_teardown(void **state)
{
	free(st_set.table);
	st_set.table = NULL;
	cur_steer = NULL;
	return 0;
}

static uint32_t neg_soa_ttl(const struct msg *m)
{
	assert_int_equal(m->an, 0);
	assert_int_equal(m->ns, 1);
	assert_int_equal(m->rr[0].type, DNS_SOA);
	return m->rr[0].ttl;
}

/* RFC 2308 3/5 with steering: every negative answer at or below a steered
 * name carries min(SOA MINIMUM, SOA TTL, service TTL), whatever the type. */
static void steered_negative_ttl(void **state)
{
	struct msg *m = ask("api.example.com.", DNS_AAAA);   /* no v6 endpoint */
	expect_counts(m, DNS_NOERROR, true, 0, 1, 0);
	assert_int_equal(neg_soa_ttl(m), 30);
	m = ask("api.example.com.", DNS_TXT);                 /* not steered, no data */
	expect_counts(m, DNS_NOERROR, true, 0, 1, 0);
	assert_int_equal(neg_soa_ttl(m), 30);
	m = ask("x.api.example.com.", DNS_A);                 /* below: NXDOMAIN */
	expect_counts(m, DNS_NXDOMAIN, true, 0, 1, 0);
	assert_int_equal(neg_soa_ttl(m), 30);
	m = ask("y.x.API.example.com.", DNS_MX);
	expect_counts(m, DNS_NXDOMAIN, true, 0, 1, 0);
	assert_int_equal(neg_soa_ttl(m), 30);
	m = ask("mail.example.com.", DNS_TXT);                /* zone node, NODATA */
	expect_counts(m, DNS_NOERROR, true, 0, 1, 0);
	assert_int_equal(neg_soa_ttl(m), 20);
	m = ask("mail.example.com.", DNS_AAAA);               /* steered NODATA */
	expect_counts(m, DNS_NOERROR, true, 0, 1, 0);
	assert_int_equal(neg_soa_ttl(m), 20);
	m = ask("slow.example.com.", DNS_AAAA);               /* the SOA's 300 is lower */
	assert_int_equal(neg_soa_ttl(m), 300);
	m = ask("www.example.com.", DNS_TXT);                 /* not steered: unchanged */
	expect_neg_soa(m, 0);
	m = ask("alias2.example.com.", DNS_A);                /* sanity: positive answers */
	assert_int_equal(RCODE(m), DNS_NOERROR);
	assert_true(m->an >= 2);
}

/* A service a reload deleted (auth_steer.removed: name and TTL only) caps
 * negative answers at and below its name like a live one, and nowhere
 * else; with no steered set at all as well. */
static void removed_service_negative_ttl(void **state)
{
	struct steer_service gone[1];
	memset(gone, 0, sizeof(gone));
	int len = dname_from_str("gone.example.com.", NULL, gone[0].name);
	assert_true(len > 0);
	gone[0].name_len = (uint8_t)len;
	gone[0].ttl = 7;
	struct steer_set removed = { .svc = gone, .n = 1 };
	assert_int_equal(steer_set_index(&removed), 0);
	const struct auth_steer with_set = { .set = &st_set, .health = &st_health,
					     .admin = st_admins, .removed = &removed };
	const struct auth_steer only_removed = { .removed = &removed };
	const struct auth_steer *was = cur_steer;
	const struct auth_steer *views[] = { &with_set, &only_removed };
	for (unsigned v = 0; v < 2; v++) {
		cur_steer = views[v];
		struct msg *m = ask("gone.example.com.", DNS_A);
		expect_counts(m, DNS_NXDOMAIN, true, 0, 1, 0);
		assert_int_equal(neg_soa_ttl(m), 7);
		m = ask("x.GONE.example.com.", DNS_AAAA);
		expect_counts(m, DNS_NXDOMAIN, true, 0, 1, 0);
		assert_int_equal(neg_soa_ttl(m), 7);
		m = ask("nothere.example.com.", DNS_A);           /* elsewhere: unchanged */
		expect_neg_soa(m, 0);
	}
	cur_steer = &with_set;                                     /* live caps still apply */
	assert_int_equal(neg_soa_ttl(ask("x.api.example.com.", DNS_A)), 30);
	cur_steer = was;
	free(removed.table);
}

/* all-down open answers every endpoint not drained, as many whole
 * endpoints as fit; all drained answers as empty. */
static void steered_all_down_open(void **state)
{
	for (unsigned i = 0; i < OPEN_EPS; i++) {
		st_hstate[i].up = false;
		st_aeps[i].drained = false;
	}
	st_aeps[5].drained = true;
	steer_admin_prepare(&st_admin);
	struct msg *m = ask("open.example.com.", DNS_A);     /* 512 bytes, no EDNS */
	assert_int_equal(RCODE(m), DNS_NOERROR);
	assert_false(TC(m));
	assert_true(m->res.fallback);
	assert_true(m->an >= 2 && m->an % 2 == 0);           /* whole endpoints */
	assert_true(m->an < 2 * (OPEN_EPS - 1));
	m = ask_full(&default_conf, "open.example.com.", DNS_A, DNS_IN, NULL, true);
	assert_false(TC(m));
	assert_int_equal(m->an, 2 * (OPEN_EPS - 1));          /* all but the drained */
	for (unsigned i = 0; i < m->an; i++) {
		expect_rr(m, i, "open.example.com.", DNS_A, 40);
		assert_int_not_equal(m->buf[m->rr[i].rdoff + 3] % 100, 5);
	}
	for (unsigned i = 0; i < OPEN_EPS; i++)
		st_aeps[i].drained = true;
	steer_admin_prepare(&st_admin);
	m = ask("open.example.com.", DNS_A);
	expect_counts(m, DNS_NOERROR, true, 0, 1, 0);
	assert_int_equal(neg_soa_ttl(m), 40);
	assert_true(m->res.fallback);
	assert_true(m->res.all_drained);
	for (unsigned i = 0; i < OPEN_EPS; i++) {
		st_hstate[i].up = true;
		st_aeps[i].drained = false;
	}
	steer_admin_prepare(&st_admin);
}

/* --- truncation --------------------------------------------------------------- */

static void truncation(void **state)
{
	/* "big" (20 TXT, ~1.1 KB) does not fit 512 bytes without EDNS:
	 * TC=1 and no partial RRset (RFC 2181 9). */
	struct msg *m = ask("big.example.com.", DNS_TXT);
	assert_true(TC(m));
	assert_true(m->res.tc);
	assert_true(AA(m));
	assert_int_equal(RCODE(m), DNS_NOERROR);
	assert_int_equal(m->an, 0);
	assert_true(m->len <= 512);

	/* With EDNS 1232 it fits. */
	struct qopt o = { .edns = true, .udp = 1232 };
	m = ask_full(&default_conf, "big.example.com.", DNS_TXT, DNS_IN, &o, false);
	assert_false(TC(m));
	assert_int_equal(m->an, 20);
	assert_non_null(m->opt);
	assert_true(m->len > 512 && m->len <= 1232);

	/* A smaller advertised size is honoured, and the OPT still fits. */
	o.udp = 600;
	m = ask_full(&default_conf, "big.example.com.", DNS_TXT, DNS_IN, &o, false);
	assert_true(TC(m));
	assert_int_equal(m->an, 0);
	assert_non_null(m->opt);
	assert_true(m->len <= 600);

	/* A larger one is capped at our max_udp. */
	o.udp = 65000;
	m = ask_full(&default_conf, "huge.example.com.", DNS_TXT, DNS_IN, &o, false);
	assert_true(TC(m));
	assert_int_equal(m->an, 0);
	assert_non_null(m->opt);
	assert_true(m->len <= 1232);

	/* Over TCP everything is there. */
	m = ask_full(&default_conf, "huge.example.com.", DNS_TXT, DNS_IN, &o, true);
	assert_false(TC(m));
	assert_false(m->res.tc);
	assert_int_equal(m->an, 40);
	assert_non_null(m->opt);
	assert_true(m->len > 1232);
	for (unsigned i = 0; i < 40; i++)
		expect_rr(m, i, "huge.example.com.", DNS_TXT, 3600);
	m = ask_full(&default_conf, "big.example.com.", DNS_TXT, DNS_IN, NULL, true);
	assert_false(TC(m));
	assert_int_equal(m->an, 20);
	assert_null(m->opt);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(exact_match_case_and_compression),
		cmocka_unit_test(header_bits_copied),
		cmocka_unit_test(additional_processing),
		cmocka_unit_test(additional_glue_and_srv),
		cmocka_unit_test(any_first_rrset),
		cmocka_unit_test(class_any),
		cmocka_unit_test(cname_chain),
		cmocka_unit_test(cname_loop),
		cmocka_unit_test(cname_out_of_zone),
		cmocka_unit_test(cname_to_nxdomain),
		cmocka_unit_test(cname_into_delegation),
		cmocka_unit_test(nxdomain),
		cmocka_unit_test(nodata),
		cmocka_unit_test(ent_nodata),
		cmocka_unit_test(wildcard),
		cmocka_unit_test(wildcard_cname),
		cmocka_unit_test(referral),
		cmocka_unit_test(ds_at_cut),
		cmocka_unit_test(ds_both_sides),
		cmocka_unit_test(refused),
		cmocka_unit_test(chaos),
		cmocka_unit_test(transfers),
		cmocka_unit_test(malformed),
		cmocka_unit_test(opcodeflg),
		cmocka_unit_test(edns_basic),
		cmocka_unit_test(edns_nsid),
		cmocka_unit_test(edns_ecs),
		cmocka_unit_test(edns_badvers),
		cmocka_unit_test(edns_formerr),
		cmocka_unit_test(truncation),
		cmocka_unit_test_setup_teardown(steered_negative_ttl, steer_setup, steer_teardown),
		cmocka_unit_test_setup_teardown(removed_service_negative_ttl, steer_setup, steer_teardown),
		cmocka_unit_test_setup_teardown(steered_all_down_open, steer_setup, steer_teardown),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
