/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests for lib/pkt: query validation (RFC 1035 4.1), EDNS(0)
 * (RFC 6891), NSID (RFC 5001) and Client Subnet (RFC 7871).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "lib/pkt.h"
#include "lib/wire.h"

/* A small query builder on top of the wire cursor. */
struct qb {
	uint8_t buf[1024];
	struct wire w;
};

static void qb_header(struct qb *b, uint16_t id, uint16_t flags, uint16_t qd,
		      uint16_t an, uint16_t ns, uint16_t ar)
{
	b->w = wire_init(b->buf, sizeof(b->buf));
	wire_write_u16(&b->w, id);
	wire_write_u16(&b->w, flags);
	wire_write_u16(&b->w, qd);
	wire_write_u16(&b->w, an);
	wire_write_u16(&b->w, ns);
	wire_write_u16(&b->w, ar);
}

static void qb_question(struct qb *b, const void *wname, size_t wlen,
			uint16_t type, uint16_t cls)
{
	wire_write(&b->w, wname, wlen);
	wire_write_u16(&b->w, type);
	wire_write_u16(&b->w, cls);
}

#define WWW "\x03WwW\x07" "Example\x03" "COM"
#define WWW_LEN 17

/* A standard query header + "WwW.Example.COM. A IN", `ar` additionals. */
static void qb_query(struct qb *b, uint16_t ar)
{
	qb_header(b, 0xBEEF, DNS_RD, 1, 0, 0, ar);
	qb_question(b, WWW, WWW_LEN, DNS_A, DNS_IN);
}

/* OPT RR header with `rdlen` bytes of options to follow. */
static void qb_opt(struct qb *b, uint16_t udp, uint8_t version, bool dobit,
		   uint16_t rdlen)
{
	wire_write_u8(&b->w, 0);             /* owner: root */
	wire_write_u16(&b->w, DNS_OPT);
	wire_write_u16(&b->w, udp);
	wire_write_u8(&b->w, 0);             /* extended rcode */
	wire_write_u8(&b->w, version);
	wire_write_u16(&b->w, dobit ? 0x8000 : 0);
	wire_write_u16(&b->w, rdlen);
}

static void qb_option(struct qb *b, uint16_t code, const void *val, uint16_t len)
{
	wire_write_u16(&b->w, code);
	wire_write_u16(&b->w, len);
	wire_write(&b->w, val, len);
}

static enum dns_verdict qb_parse(struct qb *b, struct dns_query *q)
{
	assert_int_equal(b->w.err, 0);
	memset(q, 0xA5, sizeof(*q)); /* the parser must set what it reports */
	return dns_query_parse(b->buf, wire_offset(&b->w), q);
}

/* A query with just an ECS option of the given raw body. */
static enum dns_verdict parse_ecs(const void *body, uint16_t len, struct dns_query *q)
{
	struct qb b;
	qb_query(&b, 1);
	qb_opt(&b, 1232, 0, false, (uint16_t)(4 + len));
	qb_option(&b, EDNS_ECS, body, len);
	return qb_parse(&b, q);
}

/* --- plain queries ------------------------------------------------------ */

static void good_query(void **state)
{
	struct qb b;
	struct dns_query q;
	qb_query(&b, 0);
	assert_int_equal(qb_parse(&b, &q), DNS_V_OK);
	assert_int_equal(q.id, 0xBEEF);
	assert_int_equal(q.flags, DNS_RD);
	assert_int_equal(q.qtype, DNS_A);
	assert_int_equal(q.qclass, DNS_IN);
	assert_int_equal(q.qname_len, WWW_LEN);
	assert_memory_equal(q.qname, "\x03www\x07" "example\x03" "com", WWW_LEN);
	assert_int_equal(q.question_end, DNS_HDRLEN + WWW_LEN + 4);
	assert_false(q.edns);
	assert_false(q.edns_do);
	assert_false(q.nsid);
	assert_false(q.ecs.present);
	assert_int_equal(q.edns_udp, DNS_UDP_MIN);
}

static void root_query(void **state)
{
	struct qb b;
	struct dns_query q;
	qb_header(&b, 1, 0, 1, 0, 0, 0);
	qb_question(&b, "", 1, DNS_NS, DNS_IN);
	assert_int_equal(qb_parse(&b, &q), DNS_V_OK);
	assert_int_equal(q.qname_len, 1);
	assert_int_equal(q.qtype, DNS_NS);
}

static void short_packet_dropped(void **state)
{
	uint8_t pkt[DNS_HDRLEN] = { 0x12, 0x34 };
	struct dns_query q;
	for (size_t len = 0; len < DNS_HDRLEN; len++)
		assert_int_equal(dns_query_parse(pkt, len, &q), DNS_V_DROP);
}

static void response_dropped(void **state)
{
	struct qb b;
	struct dns_query q;
	qb_header(&b, 7, DNS_QR | DNS_AA, 1, 0, 0, 0);
	qb_question(&b, WWW, WWW_LEN, DNS_A, DNS_IN);
	assert_int_equal(qb_parse(&b, &q), DNS_V_DROP);

	/* Even a bare header with QR=1 is dropped, not FORMERR'd. */
	qb_header(&b, 7, DNS_QR, 0, 0, 0, 0);
	assert_int_equal(qb_parse(&b, &q), DNS_V_DROP);
}

static void opcode_notimp(void **state)
{
	struct qb b;
	struct dns_query q;
	for (unsigned op = 1; op < 16; op++) {
		qb_header(&b, 9, (uint16_t)(op << 11), 1, 0, 0, 0);
		qb_question(&b, WWW, WWW_LEN, DNS_A, DNS_IN);
		assert_int_equal(qb_parse(&b, &q), DNS_V_NOTIMP);
		assert_int_equal(q.id, 9);
		assert_int_equal(DNS_OPCODE(q.flags), op);
	}
}

static void qdcount_wrong(void **state)
{
	struct qb b;
	struct dns_query q;

	qb_header(&b, 3, 0, 0, 0, 0, 0);
	assert_int_equal(qb_parse(&b, &q), DNS_V_FORMERR);
	assert_int_equal(q.id, 3);

	qb_header(&b, 3, 0, 2, 0, 0, 0);
	qb_question(&b, WWW, WWW_LEN, DNS_A, DNS_IN);
	qb_question(&b, WWW, WWW_LEN, DNS_AAAA, DNS_IN);
	assert_int_equal(qb_parse(&b, &q), DNS_V_FORMERR);
}

static void answer_or_authority_present(void **state)
{
	struct qb b;
	struct dns_query q;

	qb_header(&b, 3, 0, 1, 1, 0, 0);
	qb_question(&b, WWW, WWW_LEN, DNS_A, DNS_IN);
	assert_int_equal(qb_parse(&b, &q), DNS_V_FORMERR);

	qb_header(&b, 3, 0, 1, 0, 1, 0);
	qb_question(&b, WWW, WWW_LEN, DNS_A, DNS_IN);
	assert_int_equal(qb_parse(&b, &q), DNS_V_FORMERR);
}

static void trailing_garbage(void **state)
{
	struct qb b;
	struct dns_query q;
	qb_query(&b, 0);
	wire_write_u8(&b.w, 0);
	assert_int_equal(qb_parse(&b, &q), DNS_V_FORMERR);
	/* The question was parsed, so an error answer can echo it. */
	assert_int_equal(q.qtype, DNS_A);
	assert_int_equal(q.qname_len, WWW_LEN);

	/* Garbage after a valid OPT as well. */
	qb_query(&b, 1);
	qb_opt(&b, 1232, 0, false, 0);
	wire_write_u16(&b.w, 0xFFFF);
	assert_int_equal(qb_parse(&b, &q), DNS_V_FORMERR);
}

static void truncated_question(void **state)
{
	struct qb b;
	struct dns_query q;
	qb_query(&b, 0);
	size_t full = wire_offset(&b.w);
	for (size_t len = DNS_HDRLEN; len < full; len++)
		assert_int_equal(dns_query_parse(b.buf, len, &q), DNS_V_FORMERR);
	assert_int_equal(dns_query_parse(b.buf, full, &q), DNS_V_OK);
}

static void bad_qname(void **state)
{
	struct qb b;
	struct dns_query q;

	/* Compression pointer to itself. */
	qb_header(&b, 3, 0, 1, 0, 0, 0);
	qb_question(&b, "\xC0\x0C", 2, DNS_A, DNS_IN);
	assert_int_equal(qb_parse(&b, &q), DNS_V_FORMERR);

	/* Forward pointer. */
	qb_header(&b, 3, 0, 1, 0, 0, 0);
	qb_question(&b, "\xC0\x0E\x00", 3, DNS_A, DNS_IN);
	assert_int_equal(qb_parse(&b, &q), DNS_V_FORMERR);

	/* Label of 64. */
	uint8_t name[80] = { 64 };
	memset(name + 1, 'a', 64);
	qb_header(&b, 3, 0, 1, 0, 0, 0);
	qb_question(&b, name, 66, DNS_A, DNS_IN);
	assert_int_equal(qb_parse(&b, &q), DNS_V_FORMERR);

	/* Name of 257 bytes. */
	uint8_t lname[300];
	size_t o = 0;
	for (int i = 0; i < 4; i++) {
		lname[o++] = 63;
		memset(lname + o, 'a', 63);
		o += 63;
	}
	lname[o++] = 0;
	qb_header(&b, 3, 0, 1, 0, 0, 0);
	qb_question(&b, lname, o, DNS_A, DNS_IN);
	assert_int_equal(qb_parse(&b, &q), DNS_V_FORMERR);
}

static void compressed_qname(void **state)
{
	/*
	 * The only bytes before the question are the header, so a compressed
	 * question name points into the header.  Echoing it raw would point
	 * into the response's header, which differs; Knot answers FORMERR.
	 */
	struct qb b;
	struct dns_query q;
	qb_header(&b, 3, DNS_RD, 1, 0, 0, 0);
	qb_question(&b, "\x03www\xC0\x02", 6, DNS_A, DNS_IN);
	assert_int_equal(qb_parse(&b, &q), DNS_V_FORMERR);
	/* Not reported as a parsed question, so an error answer won't echo it. */
	assert_int_equal(q.qname_len, 0);
}

static void counts_larger_than_data(void **state)
{
	struct qb b;
	struct dns_query q;

	/* Two additional records announced, one present. */
	qb_query(&b, 2);
	qb_opt(&b, 1232, 0, false, 0);
	assert_int_equal(qb_parse(&b, &q), DNS_V_FORMERR);

	/* One announced, none present. */
	qb_query(&b, 1);
	assert_int_equal(qb_parse(&b, &q), DNS_V_FORMERR);

	/* RDLENGTH past the end of the packet. */
	qb_query(&b, 1);
	qb_opt(&b, 1232, 0, false, 10);
	wire_write_u16(&b.w, 3);
	assert_int_equal(qb_parse(&b, &q), DNS_V_FORMERR);

	/* RR header cut short. */
	qb_query(&b, 1);
	wire_write(&b.w, "\x00\x00\x29\x04", 4);
	assert_int_equal(qb_parse(&b, &q), DNS_V_FORMERR);
}

static void non_opt_additional(void **state)
{
	/* An unrelated additional record (e.g. a TSIG-like RR) is skipped. */
	struct qb b;
	struct dns_query q;
	qb_query(&b, 1);
	wire_write(&b.w, "\xC0\x0C", 2);      /* owner: pointer to qname */
	wire_write_u16(&b.w, DNS_A);
	wire_write_u16(&b.w, DNS_IN);
	wire_write_u32(&b.w, 300);
	wire_write_u16(&b.w, 4);
	wire_write(&b.w, "\x7F\x00\x00\x01", 4);
	assert_int_equal(qb_parse(&b, &q), DNS_V_OK);
	assert_false(q.edns);
}

/* --- EDNS ----------------------------------------------------------------- */

static void edns_basic(void **state)
{
	struct qb b;
	struct dns_query q;
	qb_query(&b, 1);
	qb_opt(&b, 4096, 0, true, 0);
	assert_int_equal(qb_parse(&b, &q), DNS_V_OK);
	assert_true(q.edns);
	assert_true(q.edns_do);
	assert_int_equal(q.edns_version, 0);
	assert_int_equal(q.edns_udp, 4096);
	assert_false(q.nsid);
	assert_false(q.ecs.present);

	qb_query(&b, 1);
	qb_opt(&b, 1232, 0, false, 0);
	assert_int_equal(qb_parse(&b, &q), DNS_V_OK);
	assert_true(q.edns);
	assert_false(q.edns_do);
	assert_int_equal(q.edns_udp, 1232);
}

static void edns_udp_clamped(void **state)
{
	/* RFC 6891 6.2.3: values below 512 are treated as 512. */
	const uint16_t in[] = { 0, 1, 511, 512, 513, 65535 };
	const uint16_t want[] = { 512, 512, 512, 512, 513, 65535 };
	for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
		struct qb b;
		struct dns_query q;
		qb_query(&b, 1);
		qb_opt(&b, in[i], 0, false, 0);
		assert_int_equal(qb_parse(&b, &q), DNS_V_OK);
		assert_int_equal(q.edns_udp, want[i]);
	}
}

static void edns_badvers(void **state)
{
	struct qb b;
	struct dns_query q;
	qb_query(&b, 1);
	qb_opt(&b, 1232, 1, true, 0);
	assert_int_equal(qb_parse(&b, &q), DNS_V_BADVERS);
	/* Everything needed for the BADVERS answer is filled in. */
	assert_int_equal(q.id, 0xBEEF);
	assert_true(q.edns);
	assert_true(q.edns_do);
	assert_int_equal(q.edns_version, 1);
	assert_int_equal(q.qtype, DNS_A);

	qb_query(&b, 1);
	qb_opt(&b, 1232, 255, false, 0);
	assert_int_equal(qb_parse(&b, &q), DNS_V_BADVERS);

	/* A malformed OPT is FORMERR even with a high version. */
	qb_query(&b, 1);
	qb_opt(&b, 1232, 1, false, 2);
	wire_write_u16(&b.w, EDNS_NSID);
	assert_int_equal(qb_parse(&b, &q), DNS_V_FORMERR);
}

static void edns_two_opts(void **state)
{
	struct qb b;
	struct dns_query q;
	qb_query(&b, 2);
	qb_opt(&b, 1232, 0, false, 0);
	qb_opt(&b, 1232, 0, false, 0);
	assert_int_equal(qb_parse(&b, &q), DNS_V_FORMERR);
}

static void edns_owner_not_root(void **state)
{
	struct qb b;
	struct dns_query q;
	qb_query(&b, 1);
	wire_write(&b.w, "\x01" "a", 2); /* owner "a.", then the rest of an OPT */
	qb_opt(&b, 1232, 0, false, 0);
	assert_int_equal(qb_parse(&b, &q), DNS_V_FORMERR);

	/* Owner compressed to the qname. */
	qb_query(&b, 1);
	wire_write(&b.w, "\xC0\x0C", 2);
	wire_write_u16(&b.w, DNS_OPT);
	wire_write_u16(&b.w, 1232);
	wire_write_u32(&b.w, 0);
	wire_write_u16(&b.w, 0);
	assert_int_equal(qb_parse(&b, &q), DNS_V_FORMERR);
}

static void edns_unknown_option_ignored(void **state)
{
	struct qb b;
	struct dns_query q;
	qb_query(&b, 1);
	qb_opt(&b, 1232, 0, false, 4 + 3 + 4);
	qb_option(&b, 65001, "xyz", 3);
	qb_option(&b, 12, "", 0); /* padding, empty */
	assert_int_equal(qb_parse(&b, &q), DNS_V_OK);
	assert_true(q.edns);
}

static void edns_option_overruns(void **state)
{
	struct qb b;
	struct dns_query q;

	/* Option length beyond the RDATA. */
	qb_query(&b, 1);
	qb_opt(&b, 1232, 0, false, 4 + 2);
	wire_write_u16(&b.w, 65001);
	wire_write_u16(&b.w, 3);
	wire_write(&b.w, "xy", 2);
	assert_int_equal(qb_parse(&b, &q), DNS_V_FORMERR);

	/* Half an option header. */
	qb_query(&b, 1);
	qb_opt(&b, 1232, 0, false, 3);
	wire_write(&b.w, "\x00\x03\x00", 3);
	assert_int_equal(qb_parse(&b, &q), DNS_V_FORMERR);
}

static void edns_nsid(void **state)
{
	struct qb b;
	struct dns_query q;
	qb_query(&b, 1);
	qb_opt(&b, 1232, 0, false, 4);
	qb_option(&b, EDNS_NSID, "", 0);
	assert_int_equal(qb_parse(&b, &q), DNS_V_OK);
	assert_true(q.nsid);

	/* RFC 5001 2.3: a request with a payload is malformed. */
	qb_query(&b, 1);
	qb_opt(&b, 1232, 0, false, 6);
	qb_option(&b, EDNS_NSID, "ab", 2);
	assert_int_equal(qb_parse(&b, &q), DNS_V_FORMERR);
}

static void edns_cookie(void **state)
{
	const uint8_t cookie[40] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	const struct { uint16_t len; enum dns_verdict v; } cases[] = {
		{ 8, DNS_V_OK }, { 16, DNS_V_OK }, { 40, DNS_V_OK },
		{ 0, DNS_V_FORMERR }, { 7, DNS_V_FORMERR }, { 9, DNS_V_FORMERR },
		{ 15, DNS_V_FORMERR },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct qb b;
		struct dns_query q;
		qb_query(&b, 1);
		qb_opt(&b, 1232, 0, false, (uint16_t)(4 + cases[i].len));
		qb_option(&b, EDNS_COOKIE, cookie, cases[i].len);
		assert_int_equal(qb_parse(&b, &q), cases[i].v);
	}
}

/* --- Client Subnet -------------------------------------------------------- */

static void ecs_v4(void **state)
{
	struct dns_query q;
	/* 192.0.2.0/24 */
	assert_int_equal(parse_ecs("\x00\x01\x18\x00\xC0\x00\x02", 7, &q), DNS_V_OK);
	assert_true(q.ecs.present);
	assert_int_equal(q.ecs.family, 1);
	assert_int_equal(q.ecs.source, 24);
	assert_int_equal(q.ecs.scope, 0);
	assert_memory_equal(q.ecs.addr, "\xC0\x00\x02\x00", 4);

	/* 10.128.0.0/9: partial byte with its trailing bits clear. */
	assert_int_equal(parse_ecs("\x00\x01\x09\x00\x0A\x80", 6, &q), DNS_V_OK);
	assert_int_equal(q.ecs.source, 9);
	assert_memory_equal(q.ecs.addr, "\x0A\x80\x00\x00", 4);

	/* /32 and /0 (no address bytes at all, RFC 7871 7.1.2). */
	assert_int_equal(parse_ecs("\x00\x01\x20\x00\x01\x02\x03\x04", 8, &q), DNS_V_OK);
	assert_memory_equal(q.ecs.addr, "\x01\x02\x03\x04", 4);
	assert_int_equal(parse_ecs("\x00\x01\x00\x00", 4, &q), DNS_V_OK);
	assert_true(q.ecs.present);
	assert_int_equal(q.ecs.source, 0);
}

static void ecs_v6(void **state)
{
	struct dns_query q;
	/* 2001:db8::/56 */
	assert_int_equal(parse_ecs("\x00\x02\x38\x00\x20\x01\x0d\xb8\x00\x00\x00", 11, &q),
			 DNS_V_OK);
	assert_true(q.ecs.present);
	assert_int_equal(q.ecs.family, 2);
	assert_int_equal(q.ecs.source, 56);
	assert_memory_equal(q.ecs.addr,
			    "\x20\x01\x0d\xb8\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00", 16);

	uint8_t full[4 + 16] = { 0, 2, 128, 0 };
	memset(full + 4, 0xFF, 16);
	assert_int_equal(parse_ecs(full, sizeof(full), &q), DNS_V_OK);
	assert_int_equal(q.ecs.source, 128);
}

static void ecs_invalid(void **state)
{
	struct dns_query q;
	const struct { const char *body; uint16_t len; const char *why; } cases[] = {
		{ "\x00\x01\x18", 3, "shorter than the fixed part" },
		{ "", 0, "empty" },
		{ "\x00\x03\x00\x00", 4, "unknown family" },
		{ "\x00\x00\x00\x00", 4, "family 0" },
		{ "\x00\x01\x21\x00\x01\x02\x03\x04\x05", 9, "v4 source > 32" },
		{ "\x00\x02\x81\x00" "0123456789abcdefg", 21, "v6 source > 128" },
		{ "\x00\x01\x18\x10\xC0\x00\x02", 7, "scope != 0 in a query" },
		{ "\x00\x01\x18\x00\xC0\x00", 6, "address too short for /24" },
		{ "\x00\x01\x18\x00\xC0\x00\x02\x00", 8, "address too long for /24" },
		{ "\x00\x01\x00\x00\x00", 5, "address bytes with /0" },
		{ "\x00\x01\x09\x00\x0A\xC0", 6, "bits set past /9" },
		{ "\x00\x01\x17\x00\xC0\x00\x03", 7, "bit set past /23" },
		{ "\x00\x02\x38\x00\x20\x01\x0d\xb8\x00\x00", 10, "v6 /56 short" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enum dns_verdict v = parse_ecs(cases[i].body, cases[i].len, &q);
		if (v != DNS_V_FORMERR)
			fail_msg("ECS case '%s': verdict %d, want FORMERR", cases[i].why, v);
	}
}

static void ecs_twice(void **state)
{
	struct qb b;
	struct dns_query q;
	const char *ecs = "\x00\x01\x18\x00\xC0\x00\x02";
	qb_query(&b, 1);
	qb_opt(&b, 1232, 0, false, 2 * (4 + 7));
	qb_option(&b, EDNS_ECS, ecs, 7);
	qb_option(&b, EDNS_ECS, ecs, 7);
	assert_int_equal(qb_parse(&b, &q), DNS_V_FORMERR);
}

static void ecs_with_nsid_and_do(void **state)
{
	struct qb b;
	struct dns_query q;
	qb_query(&b, 1);
	qb_opt(&b, 1400, 0, true, 4 + 4 + 7);
	qb_option(&b, EDNS_NSID, "", 0);
	qb_option(&b, EDNS_ECS, "\x00\x01\x18\x00\xC6\x33\x64", 7);
	assert_int_equal(qb_parse(&b, &q), DNS_V_OK);
	assert_true(q.nsid);
	assert_true(q.edns_do);
	assert_int_equal(q.edns_udp, 1400);
	assert_true(q.ecs.present);
	assert_memory_equal(q.ecs.addr, "\xC6\x33\x64\x00", 4);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(good_query),
		cmocka_unit_test(root_query),
		cmocka_unit_test(short_packet_dropped),
		cmocka_unit_test(response_dropped),
		cmocka_unit_test(opcode_notimp),
		cmocka_unit_test(qdcount_wrong),
		cmocka_unit_test(answer_or_authority_present),
		cmocka_unit_test(trailing_garbage),
		cmocka_unit_test(truncated_question),
		cmocka_unit_test(bad_qname),
		cmocka_unit_test(compressed_qname),
		cmocka_unit_test(counts_larger_than_data),
		cmocka_unit_test(non_opt_additional),
		cmocka_unit_test(edns_basic),
		cmocka_unit_test(edns_udp_clamped),
		cmocka_unit_test(edns_badvers),
		cmocka_unit_test(edns_two_opts),
		cmocka_unit_test(edns_owner_not_root),
		cmocka_unit_test(edns_unknown_option_ignored),
		cmocka_unit_test(edns_option_overruns),
		cmocka_unit_test(edns_nsid),
		cmocka_unit_test(edns_cookie),
		cmocka_unit_test(ecs_v4),
		cmocka_unit_test(ecs_v6),
		cmocka_unit_test(ecs_invalid),
		cmocka_unit_test(ecs_twice),
		cmocka_unit_test(ecs_with_nsid_and_do),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
